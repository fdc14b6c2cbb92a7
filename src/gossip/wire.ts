/**
 * gossip/wire: memberlist's UDP message types and their encodings: the typed messages
 * (msgpack maps with Go field names in sorted order), compound packets, the hasCrc
 * header, LZW compression frames and label headers.
 *
 * Send order on UDP is compound -> compress -> CRC -> encrypt -> label (see packet.ts
 * for the last two); the receiver peels the layers in reverse. Message type numbers
 * are on the wire and must only ever be appended to.
 *
 * Must never: do I/O, emit str8/bin msgpack, or trust a length field without checking it.
 */

import { CairnError } from "../shared/errors.ts";
import {
  GOSSIP_MAX_COMPOUND_PARTS,
  GOSSIP_MAX_DECOMPRESSED_BYTES,
  GOSSIP_MAX_LABEL_BYTES,
} from "../shared/limits.ts";
import { crc32Ieee } from "./crc.ts";
import { lzwCompress, lzwDecompress } from "./lzw.ts";
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
  utf8,
  writeBool,
  writeBytesOrNil,
  writeInt,
  writeMapHeader,
  writeRaw,
  writeStr,
} from "./msgpack.ts";

/** memberlist messageType values (net.go). Append only. */
export const MSG = {
  ping: 0,
  indirectPing: 1,
  ack: 2,
  suspect: 3,
  alive: 4,
  dead: 5,
  pushPull: 6,
  compound: 7,
  user: 8,
  compress: 9,
  encrypt: 10,
  nack: 11,
  hasCrc: 12,
  err: 13,
} as const;
/** Label header type byte (memberlist >= 0.3.0). */
export const HAS_LABEL = 244;
/** LZW is the only compression algorithm memberlist defines. */
export const LZW_ALGO = 0;
/** Bytes a compound adds per part (u16 length) and once (type + count). */
export const COMPOUND_PART_OVERHEAD = 2;
export const COMPOUND_HEADER_OVERHEAD = 2;
/** Bytes the hasCrc header adds. */
export const CRC_OVERHEAD = 5;

export interface Ping {
  type: "ping";
  seqNo: number;
  /** Name of the node the ping is meant for ("" from very old peers). */
  node: string;
  sourceAddr?: Uint8Array;
  sourcePort?: number;
  sourceNode?: string;
}

export interface IndirectPing {
  type: "indirectPing";
  seqNo: number;
  target: Uint8Array;
  port: number;
  node: string;
  nack: boolean;
  sourceAddr?: Uint8Array;
  sourcePort?: number;
  sourceNode?: string;
}

export interface Ack {
  type: "ack";
  seqNo: number;
  payload: Uint8Array | null;
}

export interface Nack {
  type: "nack";
  seqNo: number;
}

export interface Suspect {
  type: "suspect";
  incarnation: number;
  node: string;
  from: string;
}

export interface Alive {
  type: "alive";
  incarnation: number;
  node: string;
  addr: Uint8Array;
  port: number;
  meta: Uint8Array | null;
  /** [pmin, pmax, pcur, dmin, dmax, dcur], raw bytes on the wire. */
  vsn: Uint8Array | null;
}

/** A dead message; `from === node` means the node left gracefully. */
export interface Dead {
  type: "dead";
  incarnation: number;
  node: string;
  from: string;
}

/** UDP user message: `[8]` + the delegate's raw bytes. */
export interface UserMsg {
  type: "user";
  payload: Uint8Array;
}

export interface ErrResp {
  type: "err";
  error: string;
}

export type Message = Ping | IndirectPing | Ack | Nack | Suspect | Alive | Dead | UserMsg | ErrResp;

export function wireError(message: string): CairnError {
  return new CairnError("bad-request", `memberlist wire: ${message}`);
}

function writeSourceFields(w: ByteWriter, m: Ping | IndirectPing): void {
  if (m.sourceAddr !== undefined && m.sourceAddr.length > 0) (writeStr(w, "SourceAddr"), writeRaw(w, m.sourceAddr));
  if (m.sourceNode !== undefined && m.sourceNode !== "") (writeStr(w, "SourceNode"), writeStr(w, m.sourceNode));
  if (m.sourcePort !== undefined && m.sourcePort !== 0) (writeStr(w, "SourcePort"), writeInt(w, m.sourcePort));
}

function sourceCount(m: Ping | IndirectPing): number {
  return (m.sourceAddr !== undefined && m.sourceAddr.length > 0 ? 1 : 0) +
    (m.sourceNode !== undefined && m.sourceNode !== "" ? 1 : 0) +
    (m.sourcePort !== undefined && m.sourcePort !== 0 ? 1 : 0);
}

/** Writes a message body (no type byte), keys in go-msgpack's sorted order. */
export function writeMessageBody(w: ByteWriter, m: Message): void {
  switch (m.type) {
    case "ping":
      writeMapHeader(w, 2 + sourceCount(m));
      writeStr(w, "Node"), writeStr(w, m.node);
      writeStr(w, "SeqNo"), writeInt(w, m.seqNo);
      writeSourceFields(w, m);
      return;
    case "indirectPing":
      writeMapHeader(w, 5 + sourceCount(m));
      writeStr(w, "Nack"), writeBool(w, m.nack);
      writeStr(w, "Node"), writeStr(w, m.node);
      writeStr(w, "Port"), writeInt(w, m.port);
      writeStr(w, "SeqNo"), writeInt(w, m.seqNo);
      writeSourceFields(w, m);
      writeStr(w, "Target"), writeRaw(w, m.target);
      return;
    case "ack":
      writeMapHeader(w, 2);
      writeStr(w, "Payload"), writeBytesOrNil(w, m.payload);
      writeStr(w, "SeqNo"), writeInt(w, m.seqNo);
      return;
    case "nack":
      writeMapHeader(w, 1);
      writeStr(w, "SeqNo"), writeInt(w, m.seqNo);
      return;
    case "suspect":
    case "dead":
      writeMapHeader(w, 3);
      writeStr(w, "From"), writeStr(w, m.from);
      writeStr(w, "Incarnation"), writeInt(w, m.incarnation);
      writeStr(w, "Node"), writeStr(w, m.node);
      return;
    case "alive":
      writeMapHeader(w, 6);
      writeStr(w, "Addr"), writeBytesOrNil(w, m.addr);
      writeStr(w, "Incarnation"), writeInt(w, m.incarnation);
      writeStr(w, "Meta"), writeBytesOrNil(w, m.meta);
      writeStr(w, "Node"), writeStr(w, m.node);
      writeStr(w, "Port"), writeInt(w, m.port);
      writeStr(w, "Vsn"), writeBytesOrNil(w, m.vsn);
      return;
    case "user":
      w.bytes(m.payload);
      return;
    case "err":
      writeMapHeader(w, 1);
      writeStr(w, "Error"), writeStr(w, m.error);
      return;
  }
}

export function messageTypeByte(m: Message): number {
  return MSG[m.type];
}

/** `[type][body]`: one message as it travels alone or as a compound part. */
export function encodeMessage(m: Message): Uint8Array {
  const w = new ByteWriter(64);
  w.u8(messageTypeByte(m));
  writeMessageBody(w, m);
  return w.finish();
}

function optBytes(v: Uint8Array | null | undefined): Uint8Array | undefined {
  return v === null || v === undefined || v.length === 0 ? undefined : v;
}

function optStr(m: Map<string, unknown>, key: string, v: string): string | undefined {
  return m.has(key) && v !== "" ? v : undefined;
}

function optPort(m: Map<string, unknown>, key: string, v: number): number | undefined {
  return m.has(key) && v !== 0 ? v : undefined;
}

/** Decodes a body of the given message type (not compound/compress/crc). */
export function decodeMessageBody(type: number, body: Uint8Array): Message {
  if (type === MSG.user) return { type: "user", payload: body };
  const r = new ByteReader(body);
  const m = asMap(readValue(r), "message body");
  switch (type) {
    case MSG.ping: {
      const ping: Ping = { type: "ping", seqNo: fieldUint(m, "SeqNo"), node: fieldStr(m, "Node") };
      const sa = optBytes(fieldBytes(m, "SourceAddr"));
      if (sa !== undefined) ping.sourceAddr = sa;
      const sp = optPort(m, "SourcePort", fieldUint(m, "SourcePort"));
      if (sp !== undefined) ping.sourcePort = sp;
      const sn = optStr(m, "SourceNode", fieldStr(m, "SourceNode"));
      if (sn !== undefined) ping.sourceNode = sn;
      return ping;
    }
    case MSG.indirectPing: {
      const ind: IndirectPing = {
        type: "indirectPing",
        seqNo: fieldUint(m, "SeqNo"),
        target: fieldBytes(m, "Target") ?? new Uint8Array(0),
        port: fieldUint(m, "Port"),
        node: fieldStr(m, "Node"),
        nack: fieldBool(m, "Nack"),
      };
      const sa = optBytes(fieldBytes(m, "SourceAddr"));
      if (sa !== undefined) ind.sourceAddr = sa;
      const sp = optPort(m, "SourcePort", fieldUint(m, "SourcePort"));
      if (sp !== undefined) ind.sourcePort = sp;
      const sn = optStr(m, "SourceNode", fieldStr(m, "SourceNode"));
      if (sn !== undefined) ind.sourceNode = sn;
      return ind;
    }
    case MSG.ack:
      return { type: "ack", seqNo: fieldUint(m, "SeqNo"), payload: fieldBytes(m, "Payload") ?? null };
    case MSG.nack:
      return { type: "nack", seqNo: fieldUint(m, "SeqNo") };
    case MSG.suspect:
    case MSG.dead:
      return {
        type: type === MSG.suspect ? "suspect" : "dead",
        incarnation: fieldUint(m, "Incarnation"),
        node: fieldStr(m, "Node"),
        from: fieldStr(m, "From"),
      };
    case MSG.alive:
      return {
        type: "alive",
        incarnation: fieldUint(m, "Incarnation"),
        node: fieldStr(m, "Node"),
        addr: fieldBytes(m, "Addr") ?? new Uint8Array(0),
        port: fieldUint(m, "Port"),
        meta: fieldBytes(m, "Meta") ?? null,
        vsn: fieldBytes(m, "Vsn") ?? null,
      };
    case MSG.err:
      return { type: "err", error: fieldStr(m, "Error") };
    default:
      throw wireError(`unexpected message type ${type}`);
  }
}

// ---------------------------------------------------------------- frames

/** A UDP payload after label and encryption are removed: messages and their wrappers. */
export type Frame =
  | { kind: "msg"; msg: Message }
  | { kind: "compound"; parts: Frame[]; truncated: number }
  | { kind: "compress"; inner: Frame }
  | { kind: "crc"; inner: Frame };

/** Decodes a UDP payload into frames. CRC mismatches and bad lengths throw. */
export function decodeFrame(buf: Uint8Array, depth = 0): Frame {
  if (buf.length < 1) throw wireError("empty packet");
  if (depth > 4) throw wireError("frames nested too deep");
  const type = buf[0] ?? 0;
  const body = buf.subarray(1);
  switch (type) {
    case MSG.compound: {
      const { parts, truncated } = splitCompound(body);
      return { kind: "compound", parts: parts.map((p) => decodeFrame(p, depth + 1)), truncated };
    }
    case MSG.compress:
      return { kind: "compress", inner: decodeFrame(decompressBody(body), depth + 1) };
    case MSG.hasCrc:
      return { kind: "crc", inner: decodeFrame(checkCrcBody(body), depth + 1) };
    case MSG.pushPull:
    case MSG.encrypt:
      throw wireError(`message type ${type} is not valid in a packet`);
    default:
      return { kind: "msg", msg: decodeMessageBody(type, body) };
  }
}

export function encodeFrame(f: Frame): Uint8Array {
  switch (f.kind) {
    case "msg": return encodeMessage(f.msg);
    case "compound": return makeCompound(f.parts.map(encodeFrame));
    case "compress": return compressPayload(encodeFrame(f.inner));
    case "crc": return addCrc(encodeFrame(f.inner));
  }
}

/** All messages of a frame tree in order (compound parts flattened). */
export function frameMessages(f: Frame, out: Message[] = []): Message[] {
  switch (f.kind) {
    case "msg": out.push(f.msg); break;
    case "compound": for (const p of f.parts) frameMessages(p, out); break;
    case "compress":
    case "crc": frameMessages(f.inner, out); break;
  }
  return out;
}

/** `[7][n][n x u16 len][parts]` (at most 255 parts; see makeCompounds to split). */
export function makeCompound(parts: Uint8Array[]): Uint8Array {
  if (parts.length > GOSSIP_MAX_COMPOUND_PARTS) throw wireError("too many compound parts");
  let total = 2 + parts.length * 2;
  for (const p of parts) {
    if (p.length > 0xffff) throw wireError("compound part too large");
    total += p.length;
  }
  const out = new Uint8Array(total);
  out[0] = MSG.compound;
  out[1] = parts.length;
  let o = 2;
  for (const p of parts) ((out[o] = p.length >> 8), (out[o + 1] = p.length & 0xff), (o += 2));
  for (const p of parts) (out.set(p, o), (o += p.length));
  return out;
}

/** Splits parts into as many compounds of at most 255 parts as needed. */
export function makeCompounds(parts: Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < parts.length; i += GOSSIP_MAX_COMPOUND_PARTS) {
    out.push(makeCompound(parts.slice(i, i + GOSSIP_MAX_COMPOUND_PARTS)));
  }
  return out;
}

/** Compound body (after the type byte) -> parts; parts cut short by the packet are counted. */
export function splitCompound(body: Uint8Array): { parts: Uint8Array[]; truncated: number } {
  if (body.length < 1) throw wireError("missing compound length byte");
  const n = body[0] ?? 0;
  if (body.length < 1 + n * 2) throw wireError("truncated compound header");
  let o = 1 + n * 2;
  const parts: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const len = ((body[1 + i * 2] ?? 0) << 8) | (body[2 + i * 2] ?? 0);
    if (o + len > body.length) return { parts, truncated: n - i };
    parts.push(body.subarray(o, o + len));
    o += len;
  }
  return { parts, truncated: 0 };
}

/** `[12][crc32 BE of rest][rest]`. */
export function addCrc(buf: Uint8Array): Uint8Array {
  const out = new Uint8Array(buf.length + CRC_OVERHEAD);
  out[0] = MSG.hasCrc;
  new DataView(out.buffer).setUint32(1, crc32Ieee(buf));
  out.set(buf, CRC_OVERHEAD);
  return out;
}

function checkCrcBody(body: Uint8Array): Uint8Array {
  if (body.length < 4) throw wireError("truncated CRC header");
  const want = new DataView(body.buffer, body.byteOffset, 4).getUint32(0);
  const rest = body.subarray(4);
  if (crc32Ieee(rest) !== want) throw wireError("CRC mismatch");
  return rest;
}

/** `[9]` + msgpack {Algo: 0, Buf: lzw(buf)}. */
export function compressPayload(buf: Uint8Array): Uint8Array {
  const w = new ByteWriter(buf.length + 16);
  w.u8(MSG.compress);
  writeMapHeader(w, 2);
  writeStr(w, "Algo"), writeInt(w, LZW_ALGO);
  writeStr(w, "Buf"), writeRaw(w, lzwCompress(buf));
  return w.finish();
}

/** Compress body (after the type byte) -> the decompressed inner payload. */
export function decompressBody(body: Uint8Array, maxOut = GOSSIP_MAX_DECOMPRESSED_BYTES): Uint8Array {
  const r = new ByteReader(body);
  const m = asMap(readValue(r), "compress");
  const algo = fieldUint(m, "Algo");
  if (algo !== LZW_ALGO) throw wireError(`cannot decompress unknown algorithm ${algo}`);
  const data = fieldBytes(m, "Buf");
  if (!data) throw wireError("compress frame without Buf");
  const out = lzwDecompress(data, maxOut);
  if (out.length < 1) throw wireError("empty decompressed payload");
  return out;
}

// ---------------------------------------------------------------- labels

/** `[244][len][label]` + buf; an empty label adds nothing. */
export function addLabel(buf: Uint8Array, label: string): Uint8Array {
  if (label === "") return buf;
  const lb = utf8(label);
  if (lb.length > GOSSIP_MAX_LABEL_BYTES) throw wireError(`label "${label}" is too long`);
  const out = new Uint8Array(2 + lb.length + buf.length);
  out[0] = HAS_LABEL;
  out[1] = lb.length;
  out.set(lb, 2);
  out.set(buf, 2 + lb.length);
  return out;
}

/** The label header bytes alone (for streams, sent once by the dialer). */
export function labelHeader(label: string): Uint8Array {
  return addLabel(new Uint8Array(0), label);
}

/** Removes a label header if present; returns the label ("" when none) and the rest. */
export function stripLabel(buf: Uint8Array): { label: string; rest: Uint8Array } {
  if (buf.length < 1 || buf[0] !== HAS_LABEL) return { label: "", rest: buf };
  if (buf.length < 2) throw wireError("label header is truncated");
  const n = buf[1] ?? 0;
  if (n < 1) throw wireError("label header cannot be empty when present");
  if (buf.length < 2 + n) throw wireError("label header is truncated");
  return { label: fromUtf8(buf.subarray(2, 2 + n)), rest: buf.subarray(2 + n) };
}
