/**
 * wal/format: the on-disk byte layouts of the log, and the pure scanner that
 * validates a segment.
 *
 * Segment file `wal/<first index, 20 digits>.seg`:
 *   header (16 bytes): magic "CWAL" | version u32 | first index u64
 *   records, back to back, each:
 *     data length u32 | crc32c u32 | index u64 | term u64 | type u8 | 3 zero bytes | data
 *   The CRC-32C covers the length field and everything after the crc field.
 * Snapshot file `snapshots/<index>-<term>.snap`:
 *   magic "CSNP" | version u32 | index u64 | term u64 | data length u64 |
 *   data crc32c u32 | header crc32c u32 (over the 36 bytes before it) | data
 * Meta file `meta` (hard state): magic "CMTA" | version u32 | body length u32 |
 *   body crc32c u32 | body (UTF-8 JSON {"term":n,"vote":"id"})
 * All integers little-endian; u64 values are JavaScript safe integers.
 *
 * Must never: do I/O, or interpret entry data.
 */

import { crc32c } from "../shared/crc32.ts";
import { WAL_MAX_RECORD_BYTES } from "../shared/limits.ts";
import type { EntryType } from "./types.ts";

export const FORMAT_VERSION = 1;
export const SEGMENT_MAGIC = 0x4c415743; // "CWAL"
export const SNAPSHOT_MAGIC = 0x504e5343; // "CSNP"
export const META_MAGIC = 0x41544d43; // "CMTA"
export const SEGMENT_HEADER_BYTES = 16;
export const RECORD_HEADER_BYTES = 28;
export const SNAPSHOT_HEADER_BYTES = 40;
export const META_HEADER_BYTES = 16;
/** A ring record whose first u32 is this is a control barrier (id in the next u32), not a log record. */
export const BARRIER_MARK = 0xffffffff;
/** Largest entry data that fits in one record. */
export const MAX_ENTRY_DATA = WAL_MAX_RECORD_BYTES - RECORD_HEADER_BYTES;

const TWO32 = 0x1_0000_0000;

export function typeCode(t: EntryType): number {
  switch (t) {
    case "command":
      return 1;
    case "noop":
      return 2;
    case "config":
      return 3;
    default: {
      const x: never = t;
      throw new Error(`unknown entry type ${String(x)}`);
    }
  }
}

export function typeFromCode(c: number): EntryType | undefined {
  return c === 1 ? "command" : c === 2 ? "noop" : c === 3 ? "config" : undefined;
}

export function setU64(dv: DataView, off: number, v: number): void {
  dv.setUint32(off, v % TWO32, true);
  dv.setUint32(off + 4, Math.floor(v / TWO32), true);
}

export function getU64(dv: DataView, off: number): number {
  return dv.getUint32(off, true) + dv.getUint32(off + 4, true) * TWO32;
}

export function viewOf(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

export function segmentName(first: number): string {
  return `${String(first).padStart(20, "0")}.seg`;
}

/** First index from a segment file name, or undefined if it is not one. */
export function parseSegmentName(name: string): number | undefined {
  const m = /^(\d{20})\.seg$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

export function snapshotName(index: number, term: number): string {
  return `${String(index).padStart(20, "0")}-${String(term).padStart(20, "0")}.snap`;
}

export function parseSnapshotName(name: string): { index: number; term: number } | undefined {
  const m = /^(\d+)-(\d+)\.snap$/.exec(name);
  return m ? { index: Number(m[1]), term: Number(m[2]) } : undefined;
}

export function encodeSegmentHeader(first: number): Uint8Array {
  const b = new Uint8Array(SEGMENT_HEADER_BYTES);
  const dv = viewOf(b);
  dv.setUint32(0, SEGMENT_MAGIC, true);
  dv.setUint32(4, FORMAT_VERSION, true);
  setU64(dv, 8, first);
  return b;
}

/** Write a record header (crc left 0; see sealRecord) at `off`. */
export function writeRecordHeader(dv: DataView, off: number, index: number, term: number, type: number, dataLen: number): void {
  dv.setUint32(off, dataLen, true);
  dv.setUint32(off + 4, 0, true);
  setU64(dv, off + 8, index);
  setU64(dv, off + 16, term);
  dv.setUint32(off + 24, type, true); // type byte + 3 zero bytes
}

export function recordCrc(b: Uint8Array, off: number, dataLen: number): number {
  const c = crc32c(b, off, off + 4);
  return crc32c(b, off + 8, off + RECORD_HEADER_BYTES + dataLen, c);
}

/** Compute and store the CRC of the record at `off` (header already written, data in place). */
export function sealRecord(b: Uint8Array, dv: DataView, off: number): void {
  const len = dv.getUint32(off, true);
  dv.setUint32(off + 4, recordCrc(b, off, len), true);
}

export interface ScannedEntry {
  index: number;
  term: number;
  type: number;
  /** Offset of the record (its header) in the scanned bytes. */
  offset: number;
  dataLen: number;
}

export type ScanEnd =
  | { kind: "clean" }
  | { kind: "torn"; offset: number; reason: string }
  | { kind: "corrupt"; offset: number; reason: string };

export interface ScanResult {
  /** Byte offset just after the last good record. */
  validEnd: number;
  /** Index of the last good record (first - 1 when there is none). */
  lastIndex: number;
  end: ScanEnd;
}

function allZero(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (b[i] !== 0) return false;
  return true;
}

/** Is there a CRC-valid record with index in [minIndex, ...) starting anywhere after `from`? */
function validRecordAfter(b: Uint8Array, dv: DataView, from: number, minIndex: number): boolean {
  for (let p = from; p + RECORD_HEADER_BYTES <= b.length; p++) {
    const len = dv.getUint32(p, true);
    if (len > MAX_ENTRY_DATA || p + RECORD_HEADER_BYTES + len > b.length) continue;
    const idx = getU64(dv, p + 8);
    if (idx < minIndex || idx > minIndex + 1_000_000) continue;
    if (typeFromCode(b[p + 24]!) === undefined) continue;
    if (dv.getUint32(p + 4, true) === recordCrc(b, p, len)) return true;
  }
  return false;
}

/**
 * Validate a whole segment image. `first` is the index its name promises.
 * Records must be CRC-valid and consecutive from `first`. A bad record with
 * nothing meaningful after it (it runs past the end, or only zero bytes follow,
 * and no valid record can be found later) is a torn tail; any other bad record
 * is corruption. The caller decides what a torn tail means (only the last
 * segment may have one).
 */
export function scanSegment(b: Uint8Array, first: number, visit?: (e: ScannedEntry) => void): ScanResult {
  const dv = viewOf(b);
  if (b.length < SEGMENT_HEADER_BYTES) {
    return { validEnd: 0, lastIndex: first - 1, end: { kind: "torn", offset: 0, reason: "partial segment header" } };
  }
  if (dv.getUint32(0, true) !== SEGMENT_MAGIC) {
    return { validEnd: 0, lastIndex: first - 1, end: { kind: "corrupt", offset: 0, reason: "bad segment magic" } };
  }
  if (dv.getUint32(4, true) !== FORMAT_VERSION) {
    return { validEnd: 0, lastIndex: first - 1, end: { kind: "corrupt", offset: 4, reason: `unsupported segment version ${dv.getUint32(4, true)}` } };
  }
  if (getU64(dv, 8) !== first) {
    return { validEnd: 0, lastIndex: first - 1, end: { kind: "corrupt", offset: 8, reason: `segment header says first index ${getU64(dv, 8)}, name says ${first}` } };
  }
  let off = SEGMENT_HEADER_BYTES;
  let expect = first;
  const bad = (reason: string, claimedEnd: number): ScanResult => {
    let torn: boolean;
    if (claimedEnd <= b.length) torn = allZero(b, claimedEnd, b.length) && !validRecordAfter(b, dv, off + 1, expect);
    else torn = !validRecordAfter(b, dv, off + 1, expect);
    return { validEnd: off, lastIndex: expect - 1, end: { kind: torn ? "torn" : "corrupt", offset: off, reason } };
  };
  while (off < b.length) {
    if (off + RECORD_HEADER_BYTES > b.length) return bad("partial record header", Infinity);
    const len = dv.getUint32(off, true);
    if (len > MAX_ENTRY_DATA) return bad(`bad record length ${len}`, Infinity);
    const recEnd = off + RECORD_HEADER_BYTES + len;
    if (recEnd > b.length) return bad("partial record", recEnd);
    if (dv.getUint32(off + 4, true) !== recordCrc(b, off, len)) return bad("crc mismatch", recEnd);
    const index = getU64(dv, off + 8);
    if (index !== expect) {
      return { validEnd: off, lastIndex: expect - 1, end: { kind: "corrupt", offset: off, reason: `index gap: expected ${expect}, found ${index}` } };
    }
    const type = b[off + 24]!;
    if (typeFromCode(type) === undefined) {
      return { validEnd: off, lastIndex: expect - 1, end: { kind: "corrupt", offset: off, reason: `unknown entry type ${type}` } };
    }
    visit?.({ index, term: getU64(dv, off + 16), type, offset: off, dataLen: len });
    expect++;
    off = recEnd;
  }
  return { validEnd: off, lastIndex: expect - 1, end: { kind: "clean" } };
}

export function encodeSnapshotHeader(index: number, term: number, data: Uint8Array): Uint8Array {
  const b = new Uint8Array(SNAPSHOT_HEADER_BYTES);
  const dv = viewOf(b);
  dv.setUint32(0, SNAPSHOT_MAGIC, true);
  dv.setUint32(4, FORMAT_VERSION, true);
  setU64(dv, 8, index);
  setU64(dv, 16, term);
  setU64(dv, 24, data.length);
  dv.setUint32(32, crc32c(data), true);
  dv.setUint32(36, crc32c(b, 0, 36), true);
  return b;
}

/** Validate a snapshot file image; returns its meta or the reason it is bad. */
export function checkSnapshot(b: Uint8Array): { index: number; term: number } | string {
  if (b.length < SNAPSHOT_HEADER_BYTES) return "short snapshot header";
  const dv = viewOf(b);
  if (dv.getUint32(0, true) !== SNAPSHOT_MAGIC) return "bad snapshot magic";
  if (dv.getUint32(4, true) !== FORMAT_VERSION) return `unsupported snapshot version ${dv.getUint32(4, true)}`;
  if (dv.getUint32(36, true) !== crc32c(b, 0, 36)) return "snapshot header crc mismatch";
  const len = getU64(dv, 24);
  if (b.length !== SNAPSHOT_HEADER_BYTES + len) return `snapshot length ${b.length - SNAPSHOT_HEADER_BYTES}, header says ${len}`;
  if (dv.getUint32(32, true) !== crc32c(b, SNAPSHOT_HEADER_BYTES)) return "snapshot data crc mismatch";
  return { index: getU64(dv, 8), term: getU64(dv, 16) };
}

export interface HardState {
  term: number;
  vote: string;
}

export function encodeMeta(hs: HardState): Uint8Array {
  const body = new TextEncoder().encode(JSON.stringify({ term: hs.term, vote: hs.vote }));
  const b = new Uint8Array(META_HEADER_BYTES + body.length);
  const dv = viewOf(b);
  dv.setUint32(0, META_MAGIC, true);
  dv.setUint32(4, FORMAT_VERSION, true);
  dv.setUint32(8, body.length, true);
  dv.setUint32(12, crc32c(body), true);
  b.set(body, META_HEADER_BYTES);
  return b;
}

export function decodeMeta(b: Uint8Array): HardState | string {
  if (b.length < META_HEADER_BYTES) return "short meta file";
  const dv = viewOf(b);
  if (dv.getUint32(0, true) !== META_MAGIC) return "bad meta magic";
  const len = dv.getUint32(8, true);
  if (b.length !== META_HEADER_BYTES + len) return "meta length mismatch";
  if (dv.getUint32(12, true) !== crc32c(b, META_HEADER_BYTES)) return "meta crc mismatch";
  const v: unknown = JSON.parse(new TextDecoder().decode(b.subarray(META_HEADER_BYTES)));
  if (typeof v !== "object" || v === null) return "meta body is not an object";
  const o = v as { term?: unknown; vote?: unknown };
  if (typeof o.term !== "number" || typeof o.vote !== "string") return "meta body lacks term/vote";
  return { term: o.term, vote: o.vote };
}
