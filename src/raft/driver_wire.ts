/**
 * raft/driver_wire: what the Raft driver puts on the wire and on disk besides
 * log entries: the wire form and shape check of Raft message batches sent over
 * RPC, and the envelope of a snapshot in the WAL (the cluster configuration at
 * the snapshot index travels with the FSM image, which the WAL does not know of).
 *
 * On the wire an append's entries travel as one byte string (`eb`: per entry a
 * type byte, the term as a float64 and the data length as a uint32, then the
 * data; indexes follow from prevIndex) instead of an array of maps: the leader
 * encodes a slice once for every follower it goes to, and a follower decodes it
 * without building a map per entry. Plain `entries` arrays are still accepted.
 *
 * Must never: hand the core a message it could assert on (wrong addressee,
 * missing or mistyped fields, entries out of bounds of their byte string), or
 * interpret the FSM image.
 */

import { decodeMembership, encodeMembership } from "./membership.ts";
import type { AppendMessage, EntryType, LogEntry, Membership, Message, NodeId } from "./types.ts";

/** The body of a "Raft.Msgs" cast: messages from one server, with its RPC address. */
export interface RaftBatch {
  readonly from: NodeId;
  readonly addr: string;
  readonly msgs: readonly Message[];
}

type Obj = Record<string, unknown>;

const isObj = (x: unknown): x is Obj => typeof x === "object" && x !== null && !Array.isArray(x);
const isNat = (x: unknown): x is number => typeof x === "number" && Number.isSafeInteger(x) && x >= 0;
const isStr = (x: unknown): x is string => typeof x === "string";
const isBool = (x: unknown): x is boolean => typeof x === "boolean";
const isBytes = (x: unknown): x is Uint8Array => x instanceof Uint8Array;
const isIds = (x: unknown): x is NodeId[] => Array.isArray(x) && x.every(isStr);

function isEntry(x: unknown): x is LogEntry {
  return (
    isObj(x) &&
    isNat(x.index) &&
    x.index > 0 &&
    isNat(x.term) &&
    (x.type === "command" || x.type === "noop" || x.type === "config") &&
    isBytes(x.data)
  );
}

function isMembership(x: unknown): x is Membership {
  return isObj(x) && isIds(x.voters) && isIds(x.learners) && isIds(x.staging);
}

/** Check one message's shape for its type. */
export function isMessage(x: unknown): x is Message {
  if (!isObj(x) || !isStr(x.from) || !isStr(x.to) || !isNat(x.term) || !isStr(x.type)) return false;
  switch (x.type) {
    case "vote":
      return isBool(x.preVote) && isNat(x.lastIndex) && isNat(x.lastTerm) && isBool(x.transfer);
    case "vote-resp":
      return isBool(x.preVote) && isBool(x.granted);
    case "append": {
      if (!isNat(x.prevIndex) || !isNat(x.prevTerm) || !isNat(x.commit)) return false;
      if (isBytes(x.eb) && x.entries === undefined) {
        const es = decodeEntries(x.eb, x.prevIndex);
        if (es === undefined) return false;
        x.entries = es;
        delete x.eb;
        return true;
      }
      if (!Array.isArray(x.entries)) return false;
      const es: unknown[] = x.entries;
      for (let i = 0; i < es.length; i++) {
        const e = es[i];
        if (!isEntry(e) || e.index !== x.prevIndex + 1 + i) return false;
      }
      return true;
    }
    case "append-resp":
      return isBool(x.success) && isNat(x.index) && isNat(x.hintIndex) && isNat(x.hintTerm);
    case "heartbeat":
      return isNat(x.commit) && isNat(x.seq);
    case "heartbeat-resp":
      return isNat(x.seq);
    case "snapshot":
      return (
        isNat(x.index) &&
        isNat(x.snapTerm) &&
        isMembership(x.config) &&
        isNat(x.offset) &&
        isNat(x.total) &&
        isBytes(x.chunk) &&
        x.offset + x.chunk.byteLength <= x.total
      );
    case "snapshot-resp":
      return isNat(x.index) && isNat(x.offset) && isBool(x.done);
    case "timeout-now":
      return true;
    default:
      return false;
  }
}

const ENTRY_HEADER = 13;
const TYPE_CODES: readonly EntryType[] = ["command", "noop", "config"];

function typeCodeOf(t: EntryType): number {
  switch (t) {
    case "command":
      return 0;
    case "noop":
      return 1;
    case "config":
      return 2;
  }
}

/** Entries -> one byte string (see the header). */
export function encodeEntries(es: readonly LogEntry[]): Uint8Array {
  let size = 0;
  for (const e of es) size += ENTRY_HEADER + e.data.byteLength;
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  let o = 0;
  for (const e of es) {
    out[o] = typeCodeOf(e.type);
    dv.setFloat64(o + 1, e.term);
    dv.setUint32(o + 9, e.data.byteLength);
    out.set(e.data, o + ENTRY_HEADER);
    o += ENTRY_HEADER + e.data.byteLength;
  }
  return out;
}

/** The byte string of entries following prevIndex -> entries (data are views into it); undefined when malformed. */
export function decodeEntries(b: Uint8Array, prevIndex: number): LogEntry[] | undefined {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: LogEntry[] = [];
  let o = 0;
  while (o < b.byteLength) {
    if (o + ENTRY_HEADER > b.byteLength) return undefined;
    const type = TYPE_CODES[b[o]!];
    const term = dv.getFloat64(o + 1);
    const len = dv.getUint32(o + 9);
    if (type === undefined || !isNat(term) || o + ENTRY_HEADER + len > b.byteLength) return undefined;
    out.push({ index: prevIndex + 1 + out.length, term, type, data: b.subarray(o + ENTRY_HEADER, o + ENTRY_HEADER + len) });
    o += ENTRY_HEADER + len;
  }
  return out;
}

/**
 * A message as it goes on the wire: an append's entries as one byte string.
 * `cache` (one per send) lets the same slice sent to several followers be encoded once.
 */
export function toWire(m: Message, cache: Map<string, Uint8Array>): unknown {
  if (m.type !== "append" || m.entries.length === 0) return m;
  const es = m.entries;
  const key = `${es[0]!.index}:${es.length}:${es[es.length - 1]!.term}`;
  let eb = cache.get(key);
  if (eb === undefined) cache.set(key, (eb = encodeEntries(es)));
  const w: Omit<AppendMessage, "entries"> & { eb: Uint8Array } = {
    type: "append",
    from: m.from,
    to: m.to,
    term: m.term,
    prevIndex: m.prevIndex,
    prevTerm: m.prevTerm,
    commit: m.commit,
    eb,
  };
  return w;
}

/**
 * Parse a batch addressed to `self`; undefined when anything in it is malformed.
 * Appends in wire form get their entries decoded in place.
 */
export function parseBatch(x: unknown, self: NodeId): RaftBatch | undefined {
  if (!isObj(x) || !isStr(x.from) || x.from === "" || x.from === self || !isStr(x.addr) || !Array.isArray(x.msgs)) return undefined;
  const msgs: unknown[] = x.msgs;
  for (const m of msgs) {
    if (!isMessage(m) || m.to !== self || m.from !== x.from) return undefined;
  }
  return { from: x.from, addr: x.addr, msgs: msgs as Message[] };
}

/** A rough byte size of a message, for packing batches into frames. */
export function messageBytes(m: Message): number {
  let n = 96;
  if (m.type === "append") for (const e of m.entries) n += e.data.byteLength + 32;
  else if (m.type === "snapshot") n += m.chunk.byteLength;
  return n;
}

const MAGIC = [0x43, 0x52, 0x53, 0x31]; // "CRS1": cairn raft snapshot, version 1

/** FSM image + configuration -> the bytes stored as the WAL snapshot. */
export function encodeSnapshotEnvelope(config: Membership, data: Uint8Array): Uint8Array {
  const cfg = encodeMembership(config);
  const out = new Uint8Array(8 + cfg.byteLength + data.byteLength);
  out.set(MAGIC, 0);
  new DataView(out.buffer).setUint32(4, cfg.byteLength);
  out.set(cfg, 8);
  out.set(data, 8 + cfg.byteLength);
  return out;
}

/**
 * The WAL snapshot bytes -> configuration + FSM image (a view, not a copy).
 * Undefined when the bytes carry no envelope (a snapshot written by the
 * single-voter server).
 */
export function decodeSnapshotEnvelope(bytes: Uint8Array): { config: Membership; data: Uint8Array } | undefined {
  if (bytes.byteLength < 8 || MAGIC.some((b, i) => bytes[i] !== b)) return undefined;
  const n = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4);
  if (8 + n > bytes.byteLength) return undefined;
  return { config: decodeMembership(bytes.subarray(8, 8 + n)), data: bytes.subarray(8 + n) };
}
