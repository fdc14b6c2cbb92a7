/**
 * gossip/serf/messages: serf's messages as they travel inside memberlist user messages
 * (`[serf type][msgpack]`, keys in go-msgpack's sorted Go field order), the push/pull
 * user state, query filters and the member tags carried in memberlist node meta
 * (`[0xFF]` + msgpack map, or a bare role string from serf protocol < 3).
 *
 * Must never: do I/O, emit str8/bin msgpack, or throw anything but CairnError on bad input.
 */

import { CairnError } from "../../shared/errors.ts";
import {
  asMap,
  ByteReader,
  ByteWriter,
  fieldBool,
  fieldBytes,
  fieldStr,
  fieldUint,
  fromUtf8,
  readValue,
  writeArrayHeader,
  writeBool,
  writeBytesOrNil,
  writeInt,
  writeMapHeader,
  writeNil,
  writeRaw,
  writeStr,
} from "../msgpack.ts";
import type { MsgValue } from "../msgpack.ts";

/** serf messageType values (messages.go). Append only. */
export const SERF_MSG = {
  leave: 0,
  join: 1,
  pushPull: 2,
  userEvent: 3,
  query: 4,
  queryResponse: 5,
  conflictResponse: 6,
  keyRequest: 7,
  keyResponse: 8,
  relay: 9,
} as const;

/** Tag meta starts with this byte (serf tagMagicByte). */
export const TAG_MAGIC = 0xff;
/** Query flags. */
export const QUERY_FLAG_ACK = 1;
export const QUERY_FLAG_NO_BROADCAST = 2;
/** Filter kinds inside a query. */
export const FILTER_NODE = 0;
export const FILTER_TAG = 1;

export interface JoinMsg { type: "join"; ltime: number; node: string }
export interface LeaveMsg { type: "leave"; ltime: number; node: string; prune: boolean }
export interface UserEventMsg { type: "userEvent"; ltime: number; name: string; payload: Uint8Array | null; cc: boolean }
export interface QueryMsg {
  type: "query";
  ltime: number;
  id: number;
  addr: Uint8Array;
  port: number;
  sourceNode: string;
  filters: Uint8Array[] | null;
  flags: number;
  relayFactor: number;
  /** Go time.Duration in nanoseconds. */
  timeoutNs: number;
  name: string;
  payload: Uint8Array | null;
}
export interface QueryResponseMsg { type: "queryResponse"; ltime: number; id: number; from: string; flags: number; payload: Uint8Array | null }

export type SerfMessage = JoinMsg | LeaveMsg | UserEventMsg | QueryMsg | QueryResponseMsg;

export interface BufferedEvents { ltime: number; events: { name: string; payload: Uint8Array | null }[] }

/** serf messagePushPull, carried as memberlist's push/pull user state. */
export interface SerfPushPull {
  ltime: number;
  statusLTimes: Map<string, number>;
  leftMembers: string[];
  eventLTime: number;
  events: (BufferedEvents | null)[];
  queryLTime: number;
}

function bad(message: string): CairnError {
  return new CairnError("bad-request", `serf: ${message}`);
}

export function encodeSerfMessage(m: SerfMessage): Uint8Array {
  const w = new ByteWriter(64);
  w.u8(SERF_MSG[m.type]);
  switch (m.type) {
    case "join":
      writeMapHeader(w, 2);
      writeStr(w, "LTime"), writeInt(w, m.ltime);
      writeStr(w, "Node"), writeStr(w, m.node);
      break;
    case "leave":
      writeMapHeader(w, 3);
      writeStr(w, "LTime"), writeInt(w, m.ltime);
      writeStr(w, "Node"), writeStr(w, m.node);
      writeStr(w, "Prune"), writeBool(w, m.prune);
      break;
    case "userEvent":
      writeMapHeader(w, 4);
      writeStr(w, "CC"), writeBool(w, m.cc);
      writeStr(w, "LTime"), writeInt(w, m.ltime);
      writeStr(w, "Name"), writeStr(w, m.name);
      writeStr(w, "Payload"), writeBytesOrNil(w, m.payload);
      break;
    case "query":
      writeMapHeader(w, 11);
      writeStr(w, "Addr"), writeBytesOrNil(w, m.addr);
      writeStr(w, "Filters");
      if (m.filters === null) writeNil(w);
      else {
        writeArrayHeader(w, m.filters.length);
        for (const f of m.filters) writeRaw(w, f);
      }
      writeStr(w, "Flags"), writeInt(w, m.flags);
      writeStr(w, "ID"), writeInt(w, m.id);
      writeStr(w, "LTime"), writeInt(w, m.ltime);
      writeStr(w, "Name"), writeStr(w, m.name);
      writeStr(w, "Payload"), writeBytesOrNil(w, m.payload);
      writeStr(w, "Port"), writeInt(w, m.port);
      writeStr(w, "RelayFactor"), writeInt(w, m.relayFactor);
      writeStr(w, "SourceNode"), writeStr(w, m.sourceNode);
      writeStr(w, "Timeout"), writeInt(w, m.timeoutNs);
      break;
    case "queryResponse":
      writeMapHeader(w, 5);
      writeStr(w, "Flags"), writeInt(w, m.flags);
      writeStr(w, "From"), writeStr(w, m.from);
      writeStr(w, "ID"), writeInt(w, m.id);
      writeStr(w, "LTime"), writeInt(w, m.ltime);
      writeStr(w, "Payload"), writeBytesOrNil(w, m.payload);
      break;
  }
  return w.finish();
}

/** Signed Go int64 (time.Duration) read leniently. */
function fieldInt(m: Map<string, MsgValue>, key: string): number {
  const v = m.get(key);
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  return 0;
}

/** `[type][msgpack]` -> a message, or null for serf types this layer does not handle. */
export function decodeSerfMessage(buf: Uint8Array): SerfMessage | null {
  if (buf.length < 1) throw bad("empty message");
  const type = buf[0] ?? 0;
  if (type !== SERF_MSG.join && type !== SERF_MSG.leave && type !== SERF_MSG.userEvent &&
    type !== SERF_MSG.query && type !== SERF_MSG.queryResponse) return null;
  const m = asMap(readValue(new ByteReader(buf, 1)), "serf message");
  switch (type) {
    case SERF_MSG.join:
      return { type: "join", ltime: fieldUint(m, "LTime"), node: fieldStr(m, "Node") };
    case SERF_MSG.leave:
      return { type: "leave", ltime: fieldUint(m, "LTime"), node: fieldStr(m, "Node"), prune: fieldBool(m, "Prune") };
    case SERF_MSG.userEvent:
      return {
        type: "userEvent", ltime: fieldUint(m, "LTime"), name: fieldStr(m, "Name"),
        payload: fieldBytes(m, "Payload") ?? null, cc: fieldBool(m, "CC"),
      };
    case SERF_MSG.query: {
      const fv = m.get("Filters");
      let filters: Uint8Array[] | null = null;
      if (Array.isArray(fv)) filters = fv.filter((x): x is Uint8Array => x instanceof Uint8Array);
      return {
        type: "query", ltime: fieldUint(m, "LTime"), id: fieldUint(m, "ID"),
        addr: fieldBytes(m, "Addr") ?? new Uint8Array(0), port: fieldUint(m, "Port"),
        sourceNode: fieldStr(m, "SourceNode"), filters, flags: fieldUint(m, "Flags"),
        relayFactor: fieldUint(m, "RelayFactor"), timeoutNs: fieldInt(m, "Timeout"),
        name: fieldStr(m, "Name"), payload: fieldBytes(m, "Payload") ?? null,
      };
    }
    default:
      return {
        type: "queryResponse", ltime: fieldUint(m, "LTime"), id: fieldUint(m, "ID"), from: fieldStr(m, "From"),
        flags: fieldUint(m, "Flags"), payload: fieldBytes(m, "Payload") ?? null,
      };
  }
}

export function encodePushPull(pp: SerfPushPull): Uint8Array {
  const w = new ByteWriter(512);
  w.u8(SERF_MSG.pushPull);
  writeMapHeader(w, 6);
  writeStr(w, "EventLTime"), writeInt(w, pp.eventLTime);
  writeStr(w, "Events");
  writeArrayHeader(w, pp.events.length);
  for (const e of pp.events) {
    if (e === null) {
      writeNil(w);
      continue;
    }
    writeMapHeader(w, 2);
    writeStr(w, "Events");
    writeArrayHeader(w, e.events.length);
    for (const ev of e.events) {
      writeMapHeader(w, 2);
      writeStr(w, "Name"), writeStr(w, ev.name);
      writeStr(w, "Payload"), writeBytesOrNil(w, ev.payload);
    }
    writeStr(w, "LTime"), writeInt(w, e.ltime);
  }
  writeStr(w, "LTime"), writeInt(w, pp.ltime);
  writeStr(w, "LeftMembers");
  writeArrayHeader(w, pp.leftMembers.length);
  for (const n of pp.leftMembers) writeStr(w, n);
  writeStr(w, "QueryLTime"), writeInt(w, pp.queryLTime);
  writeStr(w, "StatusLTimes");
  writeMapHeader(w, pp.statusLTimes.size);
  for (const [k, v] of pp.statusLTimes) (writeStr(w, k), writeInt(w, v));
  return w.finish();
}

/** The push/pull user state (`[2]` + msgpack); null when it is not serf's. */
export function decodePushPull(buf: Uint8Array): SerfPushPull | null {
  if (buf.length < 1 || buf[0] !== SERF_MSG.pushPull) return null;
  const m = asMap(readValue(new ByteReader(buf, 1)), "serf push/pull");
  const statusLTimes = new Map<string, number>();
  const st = m.get("StatusLTimes");
  if (st instanceof Map) for (const [k, v] of st) if (typeof v === "number") statusLTimes.set(k, v);
  const left = m.get("LeftMembers");
  const leftMembers = Array.isArray(left) ? left.filter((x): x is Uint8Array => x instanceof Uint8Array).map(fromUtf8) : [];
  const events: (BufferedEvents | null)[] = [];
  const evs = m.get("Events");
  if (Array.isArray(evs)) {
    for (const e of evs) {
      if (!(e instanceof Map)) {
        events.push(null);
        continue;
      }
      const list = e.get("Events");
      const out: { name: string; payload: Uint8Array | null }[] = [];
      if (Array.isArray(list)) {
        for (const x of list) if (x instanceof Map) out.push({ name: fieldStr(x, "Name"), payload: fieldBytes(x, "Payload") ?? null });
      }
      events.push({ ltime: fieldUint(e, "LTime"), events: out });
    }
  }
  return {
    ltime: fieldUint(m, "LTime"), statusLTimes, leftMembers, eventLTime: fieldUint(m, "EventLTime"), events,
    queryLTime: fieldUint(m, "QueryLTime"),
  };
}

// ---------------------------------------------------------------- tags

/** Tags -> node meta (`[0xFF]` + msgpack map, keys sorted for stable bytes). */
export function encodeTags(tags: Readonly<Record<string, string>>): Uint8Array {
  const w = new ByteWriter(128);
  w.u8(TAG_MAGIC);
  const keys = Object.keys(tags).sort();
  writeMapHeader(w, keys.length);
  for (const k of keys) (writeStr(w, k), writeStr(w, tags[k] ?? ""));
  return w.finish();
}

/** Node meta -> tags; old serf protocols send a bare role string. Bad meta gives {}. */
export function decodeTags(meta: Uint8Array | null): Record<string, string> {
  const out: Record<string, string> = {};
  if (meta === null || meta.length === 0) return out;
  if (meta[0] !== TAG_MAGIC) {
    out["role"] = fromUtf8(meta);
    return out;
  }
  try {
    const m = asMap(readValue(new ByteReader(meta, 1)), "tags");
    for (const [k, v] of m) if (v instanceof Uint8Array) out[k] = fromUtf8(v);
  } catch {
    // a peer with undecodable tags is still a member, just without tags
  }
  return out;
}

// ---------------------------------------------------------------- filters

export type QueryFilter = { kind: "node"; nodes: string[] } | { kind: "tag"; tag: string; expr: string };

export function encodeFilter(f: QueryFilter): Uint8Array {
  const w = new ByteWriter(64);
  if (f.kind === "node") {
    w.u8(FILTER_NODE);
    writeArrayHeader(w, f.nodes.length);
    for (const n of f.nodes) writeStr(w, n);
  } else {
    w.u8(FILTER_TAG);
    writeMapHeader(w, 2);
    writeStr(w, "Expr"), writeStr(w, f.expr);
    writeStr(w, "Tag"), writeStr(w, f.tag);
  }
  return w.finish();
}

export function decodeFilter(buf: Uint8Array): QueryFilter | null {
  if (buf.length < 1) return null;
  const v = readValue(new ByteReader(buf, 1));
  if (buf[0] === FILTER_NODE && Array.isArray(v)) {
    return { kind: "node", nodes: v.filter((x): x is Uint8Array => x instanceof Uint8Array).map(fromUtf8) };
  }
  if (buf[0] === FILTER_TAG && v instanceof Map) return { kind: "tag", tag: fieldStr(v, "Tag"), expr: fieldStr(v, "Expr") };
  return null;
}
