/**
 * snapshot: the state store's tables as one compact byte string, and back.
 *
 * Layout (little-endian), columnar so a million keys cost a handful of bulk
 * copies instead of a million msgpack objects:
 *
 *   "CRSN" | version u8 | 3 zero bytes | header length u32 | header (msgpack)
 *   then 8-byte aligned sections, in this order:
 *     kv key lengths u32[n] (UTF-16 units) | kv keys (one UTF-8 string)
 *     kv value lengths u32[n] | kv values (concatenated bytes)
 *     kv flags u64[n] | kv lockIndex f64[n] | kv createIndex f64[n] | kv modifyIndex f64[n]
 *     kv session lengths u32[n] | kv sessions (one UTF-8 string)
 *     tombstone key lengths u32[m] | tombstone keys | tombstone indexes f64[m]
 *     catalog (version 2+): one msgpack array [nodes, services, checks, named indexes]
 *     connect CA (version 3+): one msgpack array [roots, config row or nil, roots index, config index]
 *     sessions (version 4+): one msgpack array [session rows, lock-delays [key, expiresMs or nil, delayMs]]
 *     coordinates (version 5+): one msgpack array [rows [node, segment, vec, error, adjustment, height], table index]
 *   checksum u32 (FNV-1a over 32-bit words of everything before it)
 *
 * The header holds lastIndex, the table indexes and the section sizes.
 * Version 1 snapshots (no catalog section), 2 (no CA section), 3 (no sessions) and 4 (no coordinates) are still read.
 * The autopilot configuration row rides in the header as an optional `autopilot` field
 * ([config, createIndex, modifyIndex]); snapshots without it read as "no row".
 * Decoding checks magic, version, sizes, checksum and key order and throws a
 * CairnError("bad-request", "invalid snapshot: ...") on any mismatch.
 *
 * Must never: trust a size field before checking it against the input length,
 * or return rows whose value bytes alias the input.
 */

import { Packr } from "msgpackr";
import type { KVEntry } from "./types.ts";
import type { TableName } from "./tables.ts";
import type { ValueArena } from "./arena.ts";
import { BTree } from "./btree.ts";
import { CairnError } from "../shared/errors.ts";
import { compareKeys, isPlainKey } from "./keyorder.ts";
import { EMPTY_VALUE } from "./arena.ts";
import { TABLE_NAMES } from "./tables.ts";
import { CatalogTables } from "./catalog_tables.ts";
import { checkRowIn, checkRowOut, nodeRowIn, nodeRowOut, serviceRowIn, serviceRowOut } from "./catalog_codec.ts";
import { CATables } from "./ca_tables.ts";
import { caConfigRowIn, caConfigRowOut, caRootIn, caRootOut } from "./ca_codec.ts";
import { SessionTables } from "./session_tables.ts";
import { sessionRowIn, sessionRowOut } from "./session_codec.ts";
import { CoordTables, coordRowIn, coordRowOut } from "./coord_tables.ts";
import { autopilotRowIn, autopilotRowOut, type AutopilotRow } from "./autopilot_table.ts";

const MAGIC = [0x43, 0x52, 0x53, 0x4e]; // "CRSN"
export const SNAPSHOT_VERSION = 5;
/** Versions decodeSnapshot reads (1: KV only; 2: KV + catalog; 3: + connect CA; 4: + sessions; 5: + coordinates). */
const READABLE_VERSIONS: ReadonlySet<number> = new Set([1, 2, 3, 4, 5]);
const TABLES: readonly TableName[] = TABLE_NAMES;
const ZERO_FLAGS = 0n;

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error("state/snapshot: big-endian platforms are not supported");
}

const packr = new Packr({ useRecords: false });

interface Header {
  lastIndex: number;
  indexes: [string, number][];
  kvCount: number;
  keyBytes: number;
  valueBytes: number;
  sessionBytes: number;
  tombCount: number;
  tombKeyBytes: number;
  /** Version 2+: bytes of the catalog section (absent in version 1 = 0). */
  catalogBytes: number;
  /** Version 3+: bytes of the connect CA section (absent before = 0). */
  caBytes: number;
  /** Version 4+: bytes of the sessions section (absent before = 0). */
  sessionsTableBytes: number;
  /** Version 5+: bytes of the coordinates section (absent before = 0). */
  coordBytes: number;
  /** Optional: the autopilot configuration row (autopilotRowOut). */
  autopilot?: unknown;
}

export interface SnapshotTables {
  readonly lastIndex: number;
  readonly indexes: ReadonlyMap<TableName, number>;
  readonly kvs: BTree<KVEntry>;
  readonly tombstones: BTree<number>;
  readonly catalog: CatalogTables;
  /** Absent = empty CA tables. */
  readonly ca?: CATables;
  /** Absent = no sessions. */
  readonly sessions?: SessionTables;
  /** Absent = no coordinates. */
  readonly coordinates?: CoordTables;
  /** Absent = no autopilot configuration stored. */
  readonly autopilot?: AutopilotRow | undefined;
}

function bad(msg: string): CairnError {
  return new CairnError("bad-request", `invalid snapshot: ${msg}`);
}

const align8 = (n: number): number => (n + 7) & ~7;

/** FNV-1a over 32-bit words (len must be a multiple of 4, data 4-aligned). */
function checksum(buf: ArrayBufferLike, byteOffset: number, len: number): number {
  const words = new Uint32Array(buf, byteOffset, len >>> 2);
  let h = 0x811c9dc5;
  for (let i = 0; i < words.length; i++) h = Math.imul(h ^ words[i]!, 0x01000193);
  return h >>> 0;
}

export function encodeSnapshot(s: SnapshotTables): Uint8Array {
  const n = s.kvs.size;
  const keys: string[] = new Array<string>(n);
  const rows: KVEntry[] = new Array<KVEntry>(n);
  let i = 0;
  let valueBytes = 0;
  s.kvs.forEach((k, row) => {
    keys[i] = k;
    rows[i++] = row;
    valueBytes += row.value.byteLength;
  });
  const enc = new TextEncoder();
  const keyBlob = enc.encode(keys.join(""));
  const sessions: string[] = [];
  for (const r of rows) if (r.session !== "") sessions.push(r.session);
  const sessionBlob = enc.encode(sessions.join(""));
  const tkeys: string[] = [];
  const tidx: number[] = [];
  s.tombstones.forEach((k, idx) => {
    tkeys.push(k);
    tidx.push(idx);
  });
  const tombBlob = enc.encode(tkeys.join(""));
  const m = tkeys.length;
  const cat = s.catalog;
  const nodes: unknown[] = [];
  const services: unknown[] = [];
  const checks: unknown[] = [];
  cat.nodes.forEach((_k, r) => void nodes.push(nodeRowOut(r)));
  cat.services.forEach((_k, r) => void services.push(serviceRowOut(r)));
  cat.checks.forEach((_k, r) => void checks.push(checkRowOut(r)));
  const catalogBlob = packr.pack([nodes, services, checks, [...cat.named]]);
  const ca = s.ca ?? new CATables();
  const caBlob = packr.pack([
    ca.roots.map(caRootOut),
    ca.config === undefined ? null : caConfigRowOut(ca.config),
    ca.rootsIndex,
    ca.configIndex,
  ]);

  const sess = s.sessions ?? new SessionTables();
  const sessionRows: unknown[] = [];
  sess.rows.forEach((_k, r) => void sessionRows.push(sessionRowOut(r)));
  const delays: unknown[] = [];
  for (const [k, d] of [...sess.lockDelays].sort((a, b) => compareKeys(a[0], b[0]))) delays.push([k, d.expiresMs, d.delayMs]);
  const sessBlob = packr.pack([sessionRows, delays]);
  const coords = s.coordinates ?? new CoordTables();
  // An empty, never-written table takes no bytes (as in a version 4 snapshot).
  const coordBlob = coords.rows.size === 0 && coords.index === 0 ? new Uint8Array(0) : packr.pack([coords.all().map(coordRowOut), coords.index]);

  const header: Header = {
    lastIndex: s.lastIndex,
    indexes: TABLES.map((t): [string, number] => [t, s.indexes.get(t) ?? 0]),
    kvCount: n,
    keyBytes: keyBlob.byteLength,
    valueBytes,
    sessionBytes: sessionBlob.byteLength,
    tombCount: m,
    tombKeyBytes: tombBlob.byteLength,
    catalogBytes: catalogBlob.byteLength,
    caBytes: caBlob.byteLength,
    sessionsTableBytes: sessBlob.byteLength,
    coordBytes: coordBlob.byteLength,
  };
  if (s.autopilot !== undefined) header.autopilot = autopilotRowOut(s.autopilot);
  const head = packr.pack(header);
  const layout = sections(header, 12 + head.byteLength);
  const total = layout.end + 4;
  const out = new Uint8Array(new ArrayBuffer(total));
  const buf = out.buffer;
  out.set(MAGIC, 0);
  out[4] = SNAPSHOT_VERSION;
  new DataView(buf).setUint32(8, head.byteLength, true);
  out.set(head, 12);

  const keyLens = new Uint32Array(buf, layout.keyLens, n);
  const valLens = new Uint32Array(buf, layout.valLens, n);
  const flags = new BigUint64Array(buf, layout.flags, n);
  const lock = new Float64Array(buf, layout.lock, n);
  const create = new Float64Array(buf, layout.create, n);
  const modify = new Float64Array(buf, layout.modify, n);
  const sessLens = new Uint32Array(buf, layout.sessLens, n);
  let voff = layout.values;
  for (let j = 0; j < n; j++) {
    const r = rows[j]!;
    keyLens[j] = keys[j]!.length;
    const v = r.value;
    valLens[j] = v.byteLength;
    if (v.byteLength > 0) {
      out.set(v, voff);
      voff += v.byteLength;
    }
    if (r.flags !== 0n) flags[j] = r.flags;
    lock[j] = r.lockIndex;
    create[j] = r.createIndex;
    modify[j] = r.modifyIndex;
    sessLens[j] = r.session.length;
  }
  out.set(keyBlob, layout.keys);
  out.set(sessionBlob, layout.sessions);
  const tLens = new Uint32Array(buf, layout.tombLens, m);
  const tIdx = new Float64Array(buf, layout.tombIdx, m);
  for (let j = 0; j < m; j++) {
    tLens[j] = tkeys[j]!.length;
    tIdx[j] = tidx[j]!;
  }
  out.set(tombBlob, layout.tombKeys);
  out.set(catalogBlob, layout.catalog);
  out.set(caBlob, layout.ca);
  out.set(sessBlob, layout.sess);
  out.set(coordBlob, layout.coord);
  new DataView(buf).setUint32(layout.end, checksum(buf, 0, layout.end), true);
  return out;
}

interface Layout {
  keyLens: number;
  keys: number;
  valLens: number;
  values: number;
  flags: number;
  lock: number;
  create: number;
  modify: number;
  sessLens: number;
  sessions: number;
  tombLens: number;
  tombKeys: number;
  tombIdx: number;
  catalog: number;
  ca: number;
  sess: number;
  coord: number;
  end: number;
}

function sections(h: Header, start: number): Layout {
  let off = align8(start);
  const take = (bytes: number): number => {
    const at = off;
    off = align8(off + bytes);
    return at;
  };
  const n = h.kvCount;
  const m = h.tombCount;
  const l: Layout = {
    keyLens: take(4 * n),
    keys: take(h.keyBytes),
    valLens: take(4 * n),
    values: take(h.valueBytes),
    flags: take(8 * n),
    lock: take(8 * n),
    create: take(8 * n),
    modify: take(8 * n),
    sessLens: take(4 * n),
    sessions: take(h.sessionBytes),
    tombLens: take(4 * m),
    tombKeys: take(h.tombKeyBytes),
    tombIdx: take(8 * m),
    catalog: take(h.catalogBytes),
    ca: take(h.caBytes),
    sess: take(h.sessionsTableBytes),
    coord: take(h.coordBytes),
    end: 0,
  };
  l.end = off;
  return l;
}

function isCount(x: unknown): x is number {
  return typeof x === "number" && Number.isSafeInteger(x) && x >= 0;
}

function parseHeader(x: unknown): Header {
  if (typeof x !== "object" || x === null) throw bad("header is not a map");
  const h = x as Record<string, unknown>;
  for (const f of ["lastIndex", "kvCount", "keyBytes", "valueBytes", "sessionBytes", "tombCount", "tombKeyBytes"]) {
    if (!isCount(h[f])) throw bad(`header field ${f}`);
  }
  if (h["catalogBytes"] === undefined) h["catalogBytes"] = 0;
  if (!isCount(h["catalogBytes"])) throw bad("header field catalogBytes");
  if (h["caBytes"] === undefined) h["caBytes"] = 0;
  if (!isCount(h["caBytes"])) throw bad("header field caBytes");
  if (h["sessionsTableBytes"] === undefined) h["sessionsTableBytes"] = 0;
  if (!isCount(h["sessionsTableBytes"])) throw bad("header field sessionsTableBytes");
  if (h["coordBytes"] === undefined) h["coordBytes"] = 0;
  if (!isCount(h["coordBytes"])) throw bad("header field coordBytes");
  const idx = h["indexes"];
  if (!Array.isArray(idx)) throw bad("header field indexes");
  const indexes: [string, number][] = [];
  for (const e of idx as unknown[]) {
    if (!Array.isArray(e) || e.length !== 2 || typeof e[0] !== "string" || !isCount(e[1])) throw bad("table index entry");
    indexes.push([e[0], e[1]]);
  }
  return { ...(h as unknown as Header), indexes };
}

/** Splits one decoded string into pieces of the given UTF-16 lengths. */
function splitBlob(blob: string, lens: Uint32Array, what: string): string[] {
  const out = new Array<string>(lens.length);
  let off = 0;
  for (let i = 0; i < lens.length; i++) {
    const end = off + lens[i]!;
    if (end > blob.length) throw bad(`${what} lengths overrun`);
    out[i] = lens[i] === 0 ? "" : blob.slice(off, end);
    off = end;
  }
  if (off !== blob.length) throw bad(`${what} lengths do not add up`);
  return out;
}

export interface DecodedSnapshot {
  lastIndex: number;
  indexes: Map<TableName, number>;
  kvs: BTree<KVEntry>;
  tombstones: BTree<number>;
  catalog: CatalogTables;
  ca: CATables;
  sessions: SessionTables;
  coordinates: CoordTables;
  /** The autopilot configuration row (absent in snapshots that carry none). */
  autopilot?: AutopilotRow;
}

function decodeCoordinates(src: Uint8Array, at: number, len: number): CoordTables {
  const t = new CoordTables();
  if (len === 0) return t;
  let raw: unknown;
  try {
    raw = packr.unpack(src.subarray(at, at + len));
  } catch (e) {
    throw bad(`coordinates: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!Array.isArray(raw) || raw.length !== 2 || !Array.isArray(raw[0]) || typeof raw[1] !== "number") throw bad("coordinates section");
  for (const r of raw[0] as unknown[]) t.put(coordRowIn(r, bad));
  t.index = raw[1];
  return t;
}

function decodeSessions(src: Uint8Array, at: number, len: number): SessionTables {
  const t = new SessionTables();
  if (len === 0) return t;
  let raw: unknown;
  try {
    raw = packr.unpack(src.subarray(at, at + len));
  } catch (e) {
    throw bad(`sessions: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!Array.isArray(raw) || raw.length !== 2 || !Array.isArray(raw[0]) || !Array.isArray(raw[1])) throw bad("sessions section");
  for (const r of raw[0] as unknown[]) t.insert(sessionRowIn(r, bad));
  for (const e of raw[1] as unknown[]) {
    if (!Array.isArray(e) || e.length !== 3 || typeof e[0] !== "string") throw bad("lock-delay entry");
    const exp = e[1] === null || e[1] === undefined ? null : e[1];
    if ((exp !== null && typeof exp !== "number") || typeof e[2] !== "number") throw bad("lock-delay entry");
    t.setLockDelay(e[0], { expiresMs: exp, delayMs: e[2] });
  }
  return t;
}

function decodeCA(src: Uint8Array, at: number, len: number): CATables {
  const ca = new CATables();
  if (len === 0) return ca;
  let raw: unknown;
  try {
    raw = packr.unpack(src.subarray(at, at + len));
  } catch (e) {
    throw bad(`connect CA: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!Array.isArray(raw) || raw.length !== 4 || !Array.isArray(raw[0])) throw bad("connect CA section");
  ca.roots = (raw[0] as unknown[]).map((r) => caRootIn(r, bad));
  ca.config = raw[1] === null || raw[1] === undefined ? undefined : caConfigRowIn(raw[1], bad);
  if (!isCount(raw[2]) || !isCount(raw[3])) throw bad("connect CA indexes");
  ca.rootsIndex = raw[2];
  ca.configIndex = raw[3];
  return ca;
}

function decodeCatalog(src: Uint8Array, at: number, len: number): CatalogTables {
  const cat = new CatalogTables();
  if (len === 0) return cat;
  let raw: unknown;
  try {
    raw = packr.unpack(src.subarray(at, at + len));
  } catch (e) {
    throw bad(`catalog: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!Array.isArray(raw) || raw.length !== 4 || !raw.every((x) => Array.isArray(x))) throw bad("catalog section");
  const [nodes, services, checks, named] = raw as unknown[][];
  for (const r of nodes!) cat.putNode(nodeRowIn(r, bad));
  for (const r of services!) cat.putService(serviceRowIn(r, bad));
  for (const r of checks!) cat.putCheck(checkRowIn(r, bad));
  for (const e of named!) {
    if (!Array.isArray(e) || e.length !== 2 || typeof e[0] !== "string" || !isCount(e[1])) throw bad("catalog index entry");
    cat.named.set(e[0], e[1]);
  }
  return cat;
}

/** Fixed columns of one KV row in a snapshot: key, value, session lengths (u32) + flags (u64) + 3 indexes (f64). */
export const SNAPSHOT_KV_FIXED_BYTES = 3 * 4 + 8 + 3 * 8;
/** Fixed columns of one tombstone in a snapshot: key length (u32) + index (f64). */
export const SNAPSHOT_TOMB_FIXED_BYTES = 4 + 8;

/** What a snapshot's header says about its sections (for `cairn snapshot inspect`). */
export interface SnapshotSizes {
  /** Magic, version, length word and the msgpack header. */
  readonly headerBytes: number;
  readonly tableIndexes: number;
  readonly kvCount: number;
  readonly keyBytes: number;
  readonly valueBytes: number;
  readonly sessionBytes: number;
  readonly tombCount: number;
  readonly tombKeyBytes: number;
  readonly catalogBytes: number;
  readonly caBytes: number;
  readonly sessionsTableBytes: number;
  readonly coordBytes: number;
}

/** Section sizes from a snapshot's header, checked as decodeSnapshot checks them. */
export function snapshotSizes(bytes: Uint8Array): SnapshotSizes {
  if (bytes.byteLength < 16) throw bad("too short");
  const headLen = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(8, true);
  if (12 + headLen > bytes.byteLength) throw bad("header overruns input");
  const h = parseHeader(packr.unpack(bytes.subarray(12, 12 + headLen)));
  return {
    headerBytes: 12 + headLen,
    tableIndexes: h.indexes.length,
    kvCount: h.kvCount,
    keyBytes: h.keyBytes,
    valueBytes: h.valueBytes,
    sessionBytes: h.sessionBytes,
    tombCount: h.tombCount,
    tombKeyBytes: h.tombKeyBytes,
    catalogBytes: h.catalogBytes,
    caBytes: h.caBytes,
    sessionsTableBytes: h.sessionsTableBytes,
    coordBytes: h.coordBytes,
  };
}

export function decodeSnapshot(bytes: Uint8Array, arena: ValueArena): DecodedSnapshot {
  if (bytes.byteLength < 16) throw bad("too short");
  for (let i = 0; i < 4; i++) if (bytes[i] !== MAGIC[i]) throw bad("bad magic");
  if (!READABLE_VERSIONS.has(bytes[4]!)) throw bad(`unsupported version ${bytes[4]}`);
  // Work on an aligned copy only when the input is not 8-aligned.
  const src = bytes.byteOffset % 8 === 0 ? bytes : bytes.slice();
  const buf = src.buffer;
  const base = src.byteOffset;
  const dv = new DataView(buf, base, src.byteLength);
  const headLen = dv.getUint32(8, true);
  if (12 + headLen > src.byteLength) throw bad("header overruns input");
  let raw: unknown;
  try {
    raw = packr.unpack(src.subarray(12, 12 + headLen));
  } catch (e) {
    throw bad(`header: ${e instanceof Error ? e.message : String(e)}`);
  }
  const h = parseHeader(raw);
  const l = sections(h, 12 + headLen);
  if (l.end + 4 !== src.byteLength) throw bad(`length ${src.byteLength}, expected ${l.end + 4}`);
  if (dv.getUint32(l.end, true) !== checksum(buf, base, l.end)) throw bad("checksum mismatch");

  const n = h.kvCount;
  const m = h.tombCount;
  const dec = new TextDecoder("utf-8", { fatal: true });
  const text = (at: number, len: number): string => {
    try {
      return dec.decode(src.subarray(at, at + len));
    } catch {
      throw bad("keys are not UTF-8");
    }
  };
  const keyBlob = text(l.keys, h.keyBytes);
  const keys = splitBlob(keyBlob, new Uint32Array(buf, base + l.keyLens, n), "key");
  // Native `<` agrees with code point order unless keys hold units >= 0xD800 (keyorder.ts).
  const nativeOrder = isPlainKey(keyBlob);
  const sessLens = new Uint32Array(buf, base + l.sessLens, n);
  const sessBlob = text(l.sessions, h.sessionBytes);
  const valLens = new Uint32Array(buf, base + l.valLens, n);
  const flags = new BigUint64Array(buf, base + l.flags, n);
  const flagWords = new Uint32Array(buf, base + l.flags, 2 * n);
  const lock = new Float64Array(buf, base + l.lock, n);
  const create = new Float64Array(buf, base + l.create, n);
  const modify = new Float64Array(buf, base + l.modify, n);

  // Values: runs of small values are copied into slabs one block at a time.
  const values = new Array<Uint8Array>(n);
  const lim = arena.blockLimits;
  const vend = l.values + h.valueBytes;
  let voff = l.values;
  let runStart = 0; // first row of the pending run
  let runFrom = voff; // its first byte
  const flush = (end: number): void => {
    if (end === runStart) return;
    const buf2 = arena.adoptBlock(src.subarray(runFrom, voff), keys.slice(runStart, end));
    let off = 0;
    for (let j = runStart; j < end; j++) {
      const vl = valLens[j]!;
      values[j] = vl === 0 ? EMPTY_VALUE : new Uint8Array(buf2, off, vl);
      off += vl;
    }
  };
  for (let i = 0; i < n; i++) {
    const vl = valLens[i]!;
    if (voff + vl > vend) throw bad("value lengths overrun");
    if (vl > lim.value) {
      flush(i);
      values[i] = arena.alloc(keys[i]!, src.subarray(voff, voff + vl));
      voff += vl;
      runStart = i + 1;
      runFrom = voff;
      continue;
    }
    if (voff + vl - runFrom > lim.total) {
      flush(i);
      runStart = i;
      runFrom = voff;
    }
    voff += vl;
  }
  flush(n);

  const rows = new Array<KVEntry>(n);
  let soff = 0;
  for (let i = 0; i < n; i++) {
    const key = keys[i]!;
    if (i > 0 && (nativeOrder ? !(keys[i - 1]! < key) : compareKeys(keys[i - 1]!, key) >= 0)) throw bad("keys out of order");
    const sl = sessLens[i]!;
    if (soff + sl > sessBlob.length) throw bad("session lengths overrun");
    const session = sl === 0 ? "" : sessBlob.slice(soff, soff + sl);
    soff += sl;
    rows[i] = {
      key,
      value: values[i]!,
      flags: flagWords[2 * i] === 0 && flagWords[2 * i + 1] === 0 ? ZERO_FLAGS : flags[i]!,
      lockIndex: lock[i]!,
      session,
      createIndex: create[i]!,
      modifyIndex: modify[i]!,
    };
  }
  if (voff !== vend) throw bad("value lengths do not add up");
  if (soff !== sessBlob.length) throw bad("session lengths do not add up");

  const tkeys = splitBlob(text(l.tombKeys, h.tombKeyBytes), new Uint32Array(buf, base + l.tombLens, m), "tombstone key");
  const tIdxArr = new Float64Array(buf, base + l.tombIdx, m);
  const tidx = new Array<number>(m);
  for (let i = 0; i < m; i++) {
    if (i > 0 && compareKeys(tkeys[i - 1]!, tkeys[i]!) >= 0) throw bad("tombstones out of order");
    tidx[i] = tIdxArr[i]!;
  }
  const indexes = new Map<TableName, number>();
  for (const [name, idx] of h.indexes) {
    if ((TABLES as readonly string[]).includes(name) && idx > 0) indexes.set(name as TableName, idx);
  }
  return {
    lastIndex: h.lastIndex,
    indexes,
    kvs: BTree.fromSorted(keys, rows),
    tombstones: BTree.fromSorted(tkeys, tidx),
    catalog: decodeCatalog(src, l.catalog, h.catalogBytes),
    ca: decodeCA(src, l.ca, h.caBytes),
    sessions: decodeSessions(src, l.sess, h.sessionsTableBytes),
    coordinates: decodeCoordinates(src, l.coord, h.coordBytes),
    ...(h.autopilot === undefined ? {} : { autopilot: autopilotRowIn(h.autopilot, bad) }),
  };
}
