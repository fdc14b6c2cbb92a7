/**
 * gossip/serf/relay: serf's relayed query responses (query.go relayResponse,
 * delegate.go messageRelayType): `[9]` + msgpack relayHeader {DestAddr: {IP, Port,
 * Zone}, DestName} + the inner typed message. A responder asked for RelayFactor k also
 * sends its response through k random other alive members (protocol max >= 5); a
 * member receiving a relay message forwards the inner message to DestAddr.
 *
 * Must never: forward anything but the bytes after the header, or pick itself or a
 * member that is not alive as a relay.
 */

import {
  asMap,
  ByteReader,
  ByteWriter,
  fieldBytes,
  fieldStr,
  fieldUint,
  readValue,
  writeBytesOrNil,
  writeInt,
  writeMapHeader,
  writeStr,
} from "../msgpack.ts";
import { SERF_MSG } from "./messages.ts";

export interface RelayTarget {
  /** IP bytes (4 or 16) and port the inner message goes to. */
  addr: Uint8Array;
  port: number;
  name: string;
}

/** `[relay][header][inner]`. */
export function encodeRelayMessage(dest: RelayTarget, inner: Uint8Array): Uint8Array {
  const w = new ByteWriter(64 + inner.length);
  w.u8(SERF_MSG.relay);
  writeMapHeader(w, 2);
  writeStr(w, "DestAddr");
  writeMapHeader(w, 3);
  writeStr(w, "IP"), writeBytesOrNil(w, dest.addr);
  writeStr(w, "Port"), writeInt(w, dest.port);
  writeStr(w, "Zone"), writeStr(w, "");
  writeStr(w, "DestName"), writeStr(w, dest.name);
  const head = w.finish();
  const out = new Uint8Array(head.length + inner.length);
  out.set(head, 0);
  out.set(inner, head.length);
  return out;
}

/** The destination and the inner message of a relay message; throws on a malformed one. */
export function decodeRelayMessage(buf: Uint8Array): { dest: RelayTarget; inner: Uint8Array } {
  if (buf.length < 1 || buf[0] !== SERF_MSG.relay) throw new Error("not a relay message");
  const r = new ByteReader(buf, 1);
  const h = asMap(readValue(r), "relay header");
  const d = asMap(h.get("DestAddr") ?? null, "relay DestAddr");
  const addr = fieldBytes(d, "IP") ?? new Uint8Array(0);
  if (addr.length !== 4 && addr.length !== 16) throw new Error("relay DestAddr: bad IP");
  return { dest: { addr, port: fieldUint(d, "Port"), name: fieldStr(h, "DestName") }, inner: buf.slice(r.pos) };
}
