/**
 * arena: where the state store keeps KV value bytes.
 *
 * One ArrayBuffer per value costs about 380 bytes of overhead each in V8 (a
 * million 256-byte values took ~640 MB RSS), so small values are copied into
 * shared slabs and handed out as Uint8Array views. Safety comes from the GC:
 * a slab lives as long as one view of it remains, so a reader holding an old entry can
 * never see its bytes change or vanish. Space of overwritten values is
 * reclaimed by compaction: when a full slab's live bytes fall below a fraction
 * of it, the store re-copies its live values into the current slab (see
 * Store.compactSlab) and drops its reference to the old slab.
 *
 * Values larger than STATE_SLAB_MAX_VALUE get their own buffer; empty values
 * share one zero-length array.
 *
 * Must never: write into a byte range it has already handed out, or keep a
 * caller's buffer (it always copies).
 */

import { STATE_SLAB_COMPACT_RATIO, STATE_SLAB_MAX_VALUE, STATE_VALUE_SLAB_BYTES } from "../shared/limits.ts";

export const EMPTY_VALUE: Uint8Array = new Uint8Array(0);

export class Slab {
  readonly buf: ArrayBuffer;
  used = 0;
  live = 0;
  /** Keys allocated here (some may have moved on since); used by compaction. */
  readonly keys: string[] = [];
  constructor(size: number) {
    this.buf = new ArrayBuffer(size);
  }
}

export class ValueArena {
  private cur: Slab | undefined;
  private readonly slabs = new Map<ArrayBufferLike, Slab>();
  private readonly slabBytes: number;

  constructor(slabBytes: number = STATE_VALUE_SLAB_BYTES) {
    this.slabBytes = slabBytes;
  }

  /** Copies bytes into arena-owned storage for `key`. */
  alloc(key: string, bytes: Uint8Array): Uint8Array {
    const n = bytes.byteLength;
    if (n === 0) return EMPTY_VALUE;
    if (n > STATE_SLAB_MAX_VALUE || n > this.slabBytes) return bytes.slice();
    let s = this.cur;
    if (s === undefined || s.used + n > this.slabBytes) {
      s = new Slab(this.slabBytes);
      this.slabs.set(s.buf, s);
      this.cur = s;
    }
    const view = new Uint8Array(s.buf, s.used, n);
    view.set(bytes);
    s.used += n;
    s.live += n;
    s.keys.push(key);
    return view;
  }

  /**
   * Restore path: copies a block of concatenated small values into a slab of
   * its own in one copy; the caller makes views at the given lengths.
   */
  adoptBlock(block: Uint8Array, keys: readonly string[]): ArrayBuffer {
    const s = new Slab(Math.max(block.byteLength, 8));
    new Uint8Array(s.buf).set(block);
    s.used = block.byteLength;
    s.live = block.byteLength;
    for (const k of keys) s.keys.push(k);
    this.slabs.set(s.buf, s);
    return s.buf;
  }

  /** Largest total a block given to adoptBlock should have, and the largest single value in it. */
  get blockLimits(): { total: number; value: number } {
    return { total: this.slabBytes, value: Math.min(STATE_SLAB_MAX_VALUE, this.slabBytes) };
  }

  /** The value is no longer referenced by the store; returns its slab if that should now be compacted. */
  release(value: Uint8Array): Slab | undefined {
    if (value.byteLength === 0) return undefined;
    const s = this.slabs.get(value.buffer);
    if (s === undefined) return undefined;
    s.live -= value.byteLength;
    if (s === this.cur) return undefined;
    if (s.live * STATE_SLAB_COMPACT_RATIO < s.used) return s;
    return undefined;
  }

  /** True when value lives in slab s. */
  owns(s: Slab, value: Uint8Array): boolean {
    return value.buffer === s.buf;
  }

  /** Forgets slab s (after its live values were re-allocated). */
  drop(s: Slab): void {
    this.slabs.delete(s.buf);
  }

  /** Forgets everything (restore). */
  reset(): void {
    this.slabs.clear();
    this.cur = undefined;
  }

  /** Number of slabs and their used/live bytes (metrics, tests). */
  stats(): { slabs: number; used: number; live: number } {
    let used = 0;
    let live = 0;
    for (const s of this.slabs.values()) {
      used += s.used;
      live += s.live;
    }
    return { slabs: this.slabs.size, used, live };
  }
}
