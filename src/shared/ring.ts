/**
 * ring: a single-producer/single-consumer byte ring over a SharedArrayBuffer.
 *
 * Records are length-prefixed (Int32, 4-byte aligned). When a record does not
 * fit before the end of the data area, a wrap marker (-1) is written and the
 * record starts again at offset 0, so every record is contiguous and can be
 * encoded in place (reserve -> fill -> commit) and read in place (drain).
 * Positions are free-running uint32 byte counters (capacity is a power of two),
 * published with Atomics.store after the bytes are written, so a reader that
 * Atomics.loads a position sees every byte before it.
 *
 * Header (Int32 slots): write position, read position, data sequence (bumped by
 * the producer; the consumer Atomics.waits on it), space sequence (bumped by the
 * consumer; the producer waits on it), closed flag, and two "someone is waiting"
 * flags so a side only pays for Atomics.notify when the other side sleeps.
 *
 * Must never: do I/O, allocate on the producer path, or be used by more than one
 * producer or more than one consumer at a time.
 */

import { assert } from "./errors.ts";

/** Bytes before the data area (Int32 header slots, padded to a cache line). */
export const RING_HEADER_BYTES = 64;

const W = 0;
const R = 1;
const DATA_SEQ = 2;
const SPACE_SEQ = 3;
const CLOSED = 4;
const CONSUMER_WAITING = 5;
const PRODUCER_WAITING = 6;
const CAPACITY = 7;

const WRAP = -1;

function align4(n: number): number {
  return (n + 3) & ~3;
}

/**
 * Atomics.waitAsync without blocking; a pending waitAsync does not keep Node or
 * Deno alive, so a timer does that while we wait.
 */
export async function parkAsync(h: Int32Array, slot: number, seq: number, timeoutMs: number): Promise<void> {
  const ms = Math.min(timeoutMs, 2 ** 31 - 1);
  const r = Atomics.waitAsync(h, slot, seq, ms);
  if (!r.async) return;
  const value = r.value;
  await new Promise<void>((resolve) => {
    // the timer both keeps the loop alive and ends the wait (Deno may not deliver
    // a waitAsync timeout on an otherwise idle loop)
    const keep = setTimeout(resolve, ms);
    void value.then(() => {
      clearTimeout(keep);
      resolve();
    });
  });
}

export type DrainVisitor = (bytes: Uint8Array, start: number, end: number) => boolean | void;

export interface RingCreateOptions {
  /** Largest record accepted (default: the most that can always fit, capacity / 2 - 4). */
  maxRecord?: number;
  /** Starting value of both positions (tests use it to cross the uint32 wrap). */
  initialPosition?: number;
}

export class ByteRing {
  readonly sab: SharedArrayBuffer;
  /** Size of the data area in bytes (a power of two). */
  readonly capacity: number;
  /** Largest payload a record may have. */
  readonly maxRecord: number;
  /** The data area; payloads live at the offsets reserve/drain hand out. */
  readonly bytes: Uint8Array;
  /** The data area as a DataView, for encoding records in place. */
  readonly view: DataView;
  private readonly h: Int32Array;
  private readonly words: Int32Array;
  private readonly mask: number;
  private pendingPos = 0;
  private pendingLen = -1;

  /** Allocate a ring with `capacity` data bytes (a power of two, at least 16). */
  static create(capacity: number, opts: RingCreateOptions = {}): ByteRing {
    assert(capacity >= 16 && capacity <= 2 ** 30 && (capacity & (capacity - 1)) === 0, "ring capacity must be a power of two in [16, 2^30]");
    assert(((opts.initialPosition ?? 0) & 3) === 0, "ring initial position must be 4-byte aligned");
    const sab = new SharedArrayBuffer(RING_HEADER_BYTES + capacity);
    const h = new Int32Array(sab, 0, RING_HEADER_BYTES / 4);
    h[CAPACITY] = capacity;
    h[W] = opts.initialPosition ?? 0;
    h[R] = opts.initialPosition ?? 0;
    return new ByteRing(sab, opts.maxRecord);
  }

  /** Attach to a ring made by create() (possibly on another thread). */
  constructor(sab: SharedArrayBuffer, maxRecord?: number) {
    this.sab = sab;
    this.h = new Int32Array(sab, 0, RING_HEADER_BYTES / 4);
    this.capacity = Atomics.load(this.h, CAPACITY);
    assert(this.capacity > 0 && sab.byteLength === RING_HEADER_BYTES + this.capacity, "not a ring buffer");
    this.mask = this.capacity - 1;
    const fit = this.capacity / 2 - 4;
    this.maxRecord = Math.min(maxRecord ?? fit, fit);
    this.bytes = new Uint8Array(sab, RING_HEADER_BYTES, this.capacity);
    this.view = new DataView(sab, RING_HEADER_BYTES, this.capacity);
    this.words = new Int32Array(sab, RING_HEADER_BYTES, this.capacity / 4);
  }

  // ---------------------------------------------------------------- producer

  /** Would a record with `len` payload bytes fit right now? */
  canWrite(len: number): boolean {
    const w = Atomics.load(this.h, W);
    const used = (w - Atomics.load(this.h, R)) >>> 0;
    const need = 4 + align4(len);
    const toEnd = this.capacity - (w & this.mask);
    return used + (need > toEnd ? toEnd : 0) + need <= this.capacity;
  }

  /**
   * Reserve room for a record of `len` bytes. Returns the offset in `bytes` /
   * `view` where the payload goes, or -1 when the ring is full. Nothing is
   * visible to the consumer until commit().
   */
  reserve(len: number): number {
    assert(Number.isInteger(len) && len >= 0 && len <= this.maxRecord, `ring record of ${len} bytes exceeds ${this.maxRecord}`);
    const w = Atomics.load(this.h, W);
    const used = (w - Atomics.load(this.h, R)) >>> 0;
    const need = 4 + align4(len);
    const off = w & this.mask;
    const toEnd = this.capacity - off;
    const skip = need > toEnd ? toEnd : 0;
    if (used + skip + need > this.capacity) return -1;
    if (skip !== 0) this.words[off >> 2] = WRAP;
    const pos = (w + skip) | 0;
    const at = pos & this.mask;
    this.words[at >> 2] = len;
    this.pendingPos = pos;
    this.pendingLen = len;
    return at + 4;
  }

  /** Publish the reserved record (optionally shortened to `len` bytes). Does not wake the consumer. */
  commit(len: number = this.pendingLen): void {
    assert(this.pendingLen >= 0 && len >= 0 && len <= this.pendingLen, "ring commit without a matching reserve");
    if (len !== this.pendingLen) this.words[(this.pendingPos & this.mask) >> 2] = len;
    this.pendingLen = -1;
    Atomics.store(this.h, W, (this.pendingPos + 4 + align4(len)) | 0);
  }

  /** Tell the consumer there is data (cheap when it is not sleeping). */
  wake(): void {
    Atomics.add(this.h, DATA_SEQ, 1);
    if (Atomics.load(this.h, CONSUMER_WAITING) !== 0) Atomics.notify(this.h, DATA_SEQ);
  }

  /** Copy one record in, publish it and wake the consumer; false when full. */
  tryWrite(bytes: Uint8Array): boolean {
    const at = this.reserve(bytes.length);
    if (at < 0) return false;
    this.bytes.set(bytes, at);
    this.commit();
    this.wake();
    return true;
  }

  /** Block (worker threads only) until a record of `len` bytes fits, or timeout. */
  waitForSpace(len: number, timeoutMs: number): boolean {
    if (this.canWrite(len)) return true;
    const seq = Atomics.load(this.h, SPACE_SEQ);
    Atomics.store(this.h, PRODUCER_WAITING, 1);
    if (!this.canWrite(len) && !this.isClosed()) Atomics.wait(this.h, SPACE_SEQ, seq, timeoutMs);
    Atomics.store(this.h, PRODUCER_WAITING, 0);
    return this.canWrite(len);
  }

  /** Resolve once a record of `len` bytes fits (or on timeout / close); never blocks. */
  async waitForSpaceAsync(len: number, timeoutMs = Infinity): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.canWrite(len) && !this.isClosed()) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      const seq = Atomics.load(this.h, SPACE_SEQ);
      Atomics.store(this.h, PRODUCER_WAITING, 1);
      if (this.canWrite(len)) break;
      await parkAsync(this.h, SPACE_SEQ, seq, left);
    }
    Atomics.store(this.h, PRODUCER_WAITING, 0);
    return this.canWrite(len);
  }

  // ---------------------------------------------------------------- consumer

  /** Bytes currently queued (including length prefixes and wrap padding). */
  used(): number {
    return (Atomics.load(this.h, W) - Atomics.load(this.h, R)) >>> 0;
  }

  hasData(): boolean {
    return Atomics.load(this.h, W) !== Atomics.load(this.h, R);
  }

  /**
   * Visit every record published so far, in order, in place: `visit(bytes, start, end)`
   * sees the payload as bytes[start, end) and must copy what it keeps. Returning
   * false stops after that record. `maxBytes` stops before a record that would take
   * the payload total over it (at least one record is always taken). The space is
   * released once, at the end. Returns the number of records consumed.
   */
  drain(visit: DrainVisitor, maxBytes = Infinity): number {
    const w = Atomics.load(this.h, W);
    const r0 = Atomics.load(this.h, R);
    let r = r0;
    let n = 0;
    let total = 0;
    while (r !== w) {
      let off = r & this.mask;
      let at = r;
      let len = this.words[off >> 2]!;
      if (len === WRAP) {
        // a wrap marker is always published together with the record after it
        at = (r + (this.capacity - off)) | 0;
        off = 0;
        len = this.words[0]!;
      }
      if (n > 0 && total + len > maxBytes) break;
      const start = off + 4;
      const go = visit(this.bytes, start, start + len);
      r = (at + 4 + align4(len)) | 0;
      n++;
      total += len;
      if (go === false) break;
    }
    if (r !== r0) this.release(r);
    return n;
  }

  /** Copy out every published record. */
  readAll(): Uint8Array[] {
    const out: Uint8Array[] = [];
    this.drain((b, s, e) => {
      out.push(b.slice(s, e));
    });
    return out;
  }

  private release(r: number): void {
    Atomics.store(this.h, R, r);
    Atomics.add(this.h, SPACE_SEQ, 1);
    if (Atomics.load(this.h, PRODUCER_WAITING) !== 0) Atomics.notify(this.h, SPACE_SEQ);
  }

  /** Block (worker threads only) until there is data or the ring is closed, or timeout. */
  waitForData(timeoutMs: number): boolean {
    if (this.hasData() || this.isClosed()) return true;
    const seq = Atomics.load(this.h, DATA_SEQ);
    Atomics.store(this.h, CONSUMER_WAITING, 1);
    if (!this.hasData() && !this.isClosed()) Atomics.wait(this.h, DATA_SEQ, seq, timeoutMs);
    Atomics.store(this.h, CONSUMER_WAITING, 0);
    return this.hasData() || this.isClosed();
  }

  /** Resolve once there is data or the ring is closed (or on timeout); never blocks. */
  async waitForDataAsync(timeoutMs = Infinity): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.hasData() && !this.isClosed()) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      const seq = Atomics.load(this.h, DATA_SEQ);
      Atomics.store(this.h, CONSUMER_WAITING, 1);
      if (this.hasData() || this.isClosed()) break;
      await parkAsync(this.h, DATA_SEQ, seq, left);
    }
    Atomics.store(this.h, CONSUMER_WAITING, 0);
    return this.hasData() || this.isClosed();
  }

  // ---------------------------------------------------------------- both

  /** Mark the ring closed (no more records will come) and wake both sides. */
  close(): void {
    Atomics.store(this.h, CLOSED, 1);
    Atomics.add(this.h, DATA_SEQ, 1);
    Atomics.notify(this.h, DATA_SEQ);
    Atomics.add(this.h, SPACE_SEQ, 1);
    Atomics.notify(this.h, SPACE_SEQ);
  }

  isClosed(): boolean {
    return Atomics.load(this.h, CLOSED) !== 0;
  }
}
