// Helpers for the ring tests (not a test file): a seeded PRNG and self-checking records.
import { crc32c } from "../../src/shared/crc32.ts";

/** mulberry32: small deterministic PRNG returning floats in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Payload length of record `seq` (deterministic, 8..max). */
export function lenOf(seq: number, max: number): number {
  return 8 + (Math.imul(seq, 2654435761) >>> 0) % (max - 8 + 1);
}

/** Fill bytes[at, at+len) with record `seq`: [seq u32][crc of the rest u32][pattern]. */
export function fillRecord(view: DataView, bytes: Uint8Array, at: number, len: number, seq: number): void {
  for (let i = 8; i < len; i++) bytes[at + i] = (seq * 31 + i * 7) & 0xff;
  view.setUint32(at, seq, true);
  view.setUint32(at + 4, crc32c(bytes, at + 8, at + len), true);
}

/** Check a record read back; returns an error string or undefined. */
export function checkRecord(bytes: Uint8Array, start: number, end: number, expectSeq: number, max: number): string | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const seq = view.getUint32(start, true);
  if (seq !== expectSeq) return `expected seq ${expectSeq}, got ${seq}`;
  if (end - start !== lenOf(seq, max)) return `seq ${seq}: length ${end - start}`;
  if (view.getUint32(start + 4, true) !== crc32c(bytes, start + 8, end)) return `seq ${seq}: checksum mismatch`;
  return undefined;
}
