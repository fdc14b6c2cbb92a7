/**
 * wal/wal_log: the main-thread face of the durable log (LogStore over the WAL worker).
 *
 * append() encodes records straight into the shared ring (no promise, no
 * message per entry) and wakes the worker; the worker group-commits and
 * publishes the durable index, which we learn with Atomics.waitAsync (or a
 * message) and hand to onDurable callbacks. When the ring is full, entries wait
 * in a bounded overflow queue; past MAX_PENDING_WRITES append refuses with
 * CairnError("rate-limited"). Control operations are messages to the worker
 * plus a barrier record in the ring (queued behind any overflow), so they take
 * effect exactly where they were issued.
 *
 * Must never: block the main thread, touch the disk itself, report an index
 * durable before the worker did, or accept an append that does not continue the log.
 */

import { MessageChannel, type MessagePort, type Worker } from "node:worker_threads";
import { spawnWorker } from "../platform/runtime.ts";
import { ByteRing, parkAsync } from "../shared/ring.ts";
import { assert, CairnError } from "../shared/errors.ts";
import { MAX_PENDING_WRITES, WAL_RING_BYTES, WAL_SEGMENT_BYTES } from "../shared/limits.ts";
import { BARRIER_MARK, MAX_ENTRY_DATA, RECORD_HEADER_BYTES, typeCode, typeFromCode, writeRecordHeader } from "./format.ts";
import {
  STATUS_BYTES,
  ST_BATCHES,
  ST_DURABLE_SEQ,
  ST_ENTRIES,
  ST_MAX_BATCH,
  ST_SYNCS,
  type ControlOp,
  type OpenResult,
  type WorkerInit,
  type WorkerReply,
} from "./protocol.ts";
import type { LogEntry, LogStore, Recovered, Snapshot } from "./types.ts";

export interface WalOptions {
  /** Segment size before rolling (default WAL_SEGMENT_BYTES). */
  segmentBytes?: number;
  /** Ring size, a power of two (default WAL_RING_BYTES). */
  ringBytes?: number;
  /** Entries allowed in the overflow queue (default MAX_PENDING_WRITES). */
  maxPending?: number;
  /** Learn the durable index from messages instead of Atomics.waitAsync. */
  notifyByMessage?: boolean;
}

export interface WalStats {
  /** fdatasync/fsync calls on segment files so far. */
  syncs: number;
  /** Write batches so far (one write + one fdatasync each). */
  batches: number;
  entries: number;
  /** Most entries in one batch. */
  maxBatch: number;
  durableIndex: number;
  lastIndex: number;
  /** Entries waiting in the overflow queue for ring space. */
  overflow: number;
}

type State = "new" | "opening" | "open" | "closing" | "closed" | "failed";
type Queued = LogEntry | number; // an entry, or the id of a control barrier

interface Pending {
  resolve: (r: OpenResult | undefined) => void;
  reject: (e: Error) => void;
}

const hasWaitAsync = typeof Atomics.waitAsync === "function";

export class WalLog implements LogStore {
  readonly dir: string;
  private readonly opts: Required<WalOptions>;
  private state: State = "new";
  private failure: Error | undefined;
  private worker: Worker | undefined;
  private port: MessagePort | undefined;
  private readonly ring: ByteRing;
  private readonly status: Int32Array;
  private readonly durableSlot: BigInt64Array;
  private readonly maxData: number;
  private last = 0;
  private durable = 0;
  private readonly callbacks: Array<(index: number) => void> = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private queue: Queued[] = [];
  private qHead = 0;
  private queuedEntries = 0;
  private spaceArmed = false;
  private wakePending = false;
  private durableArmed = false;
  private truncating = 0;
  private truncCap = Infinity;
  private reffed = true;
  private closing: Promise<void> | undefined;
  private exited: Promise<void> = Promise.resolve();

  constructor(dir: string, opts: WalOptions = {}) {
    this.dir = dir;
    this.opts = {
      segmentBytes: opts.segmentBytes ?? WAL_SEGMENT_BYTES,
      ringBytes: opts.ringBytes ?? WAL_RING_BYTES,
      maxPending: opts.maxPending ?? MAX_PENDING_WRITES,
      notifyByMessage: opts.notifyByMessage ?? !hasWaitAsync,
    };
    this.ring = ByteRing.create(this.opts.ringBytes);
    this.maxData = Math.min(MAX_ENTRY_DATA, this.ring.maxRecord - RECORD_HEADER_BYTES);
    const sab = new SharedArrayBuffer(STATUS_BYTES);
    this.status = new Int32Array(sab);
    this.durableSlot = new BigInt64Array(sab, 0, 1);
  }

  async open(): Promise<Recovered> {
    assert(this.state === "new", `wal: open() called in state ${this.state}`);
    this.state = "opening";
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const init: WorkerInit & { port: MessagePort } = {
      ring: this.ring.sab,
      status: this.status.buffer as SharedArrayBuffer,
      opts: { dir: this.dir, segmentBytes: this.opts.segmentBytes, notifyByMessage: this.opts.notifyByMessage },
      port: port2,
    };
    const worker = spawnWorker("../workers/wal_worker.ts", import.meta.url, { workerData: init, transferList: [port2] });
    this.worker = worker;
    this.exited = new Promise((resolve) => worker.once("exit", () => resolve()));
    worker.on("message", (m: WorkerReply) => this.onMessage(m));
    worker.on("error", (e: Error) => this.fail(e));
    worker.on("exit", (code: number) => {
      if (this.state !== "closing" && this.state !== "closed") this.fail(new Error(`wal: worker exited (code ${code})`));
    });
    let res: OpenResult | undefined;
    try {
      res = await this.control({ op: "open" });
    } catch (e) {
      this.state = "failed";
      this.failure = e instanceof Error ? e : new Error(String(e));
      await worker.terminate();
      throw e;
    }
    assert(res !== undefined, "wal: open returned nothing");
    const entries: LogEntry[] = [];
    for (const seg of res.segments) {
      const t = seg.table;
      for (let i = 0; i < t.length; i += 5) {
        const type = typeFromCode(t[i + 2]!);
        assert(type !== undefined, "wal: bad entry type from worker");
        entries.push({ index: t[i]!, term: t[i + 1]!, type, data: seg.bytes.subarray(t[i + 3]!, t[i + 3]! + t[i + 4]!) });
      }
    }
    const snap = res.snapshot;
    this.last = res.lastIndex;
    this.durable = res.lastIndex;
    this.state = "open";
    this.updateRef();
    return {
      snapshot: snap === undefined ? undefined : { index: snap.index, term: snap.term, data: snap.file.subarray(snap.dataOffset) },
      entries,
      hardState: res.hardState,
      notes: res.notes,
    };
  }

  append(entries: readonly LogEntry[]): void {
    if (this.state !== "open") throw this.notOpen();
    const n = entries.length;
    if (n === 0) return;
    if (this.queuedEntries + n > this.opts.maxPending) {
      throw new CairnError("rate-limited", `wal: ${this.queuedEntries} writes are waiting for the log; try again later`);
    }
    for (let i = 0; i < n; i++) {
      const e = entries[i]!;
      if (e.index !== this.last + 1 + i) throw new Error(`wal: append of index ${e.index}, expected ${this.last + 1 + i}`);
      if (e.data.length > this.maxData) {
        throw new CairnError("too-large", `wal: entry of ${e.data.length} bytes exceeds the ${this.maxData}-byte record limit`);
      }
    }
    let i = 0;
    if (this.qHead === this.queue.length) {
      while (i < n && this.writeEntry(entries[i]!)) i++;
      this.wakeSoon();
    }
    this.queuedEntries += n - i;
    for (; i < n; i++) this.queue.push(entries[i]!);
    this.last += n;
    this.afterEnqueue();
  }

  durableIndex(): number {
    return this.durable;
  }

  onDurable(cb: (index: number) => void): void {
    this.callbacks.push(cb);
  }

  async setHardState(term: number, vote: string): Promise<void> {
    if (this.state !== "open") throw this.notOpen();
    await this.control({ op: "hardState", term, vote });
  }

  async truncateSuffix(from: number): Promise<void> {
    if (this.state !== "open") throw this.notOpen();
    assert(from >= 1, "wal: truncateSuffix from < 1");
    if (from > this.last) return;
    this.last = from - 1;
    if (this.durable > this.last) this.durable = this.last;
    this.truncating++;
    this.truncCap = Math.min(this.truncCap, from - 1);
    try {
      await this.control({ op: "truncate", from });
    } finally {
      if (--this.truncating === 0) this.truncCap = Infinity;
      this.pollDurable();
      this.armDurable();
    }
  }

  async saveSnapshot(snap: Snapshot, trailing: number, opts: { owned?: boolean } = {}): Promise<void> {
    if (this.state !== "open") throw this.notOpen();
    // moved (not copied) to the worker: the caller's buffer when it gave it up whole,
    // else one copy into a buffer we own
    const whole = snap.data.byteOffset === 0 && snap.data.byteLength === snap.data.buffer.byteLength;
    const data = opts.owned === true && whole && snap.data.buffer instanceof ArrayBuffer ? snap.data : snap.data.slice();
    if (snap.index > this.last) this.last = snap.index; // the snapshot replaces the whole log
    await this.control({ op: "snapshot", index: snap.index, term: snap.term, data, trailing }, [data.buffer as ArrayBuffer]);
    this.pollDurable();
  }

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  /** Counters from the writer (group-commit evidence) and queue depths. */
  stats(): WalStats {
    return {
      syncs: Atomics.load(this.status, ST_SYNCS),
      batches: Atomics.load(this.status, ST_BATCHES),
      entries: Atomics.load(this.status, ST_ENTRIES),
      maxBatch: Atomics.load(this.status, ST_MAX_BATCH),
      durableIndex: this.durable,
      lastIndex: this.last,
      overflow: this.queuedEntries,
    };
  }

  // ------------------------------------------------------------------ internals

  private async doClose(): Promise<void> {
    const w = this.worker;
    if (this.state === "new" || this.state === "closed" || w === undefined) {
      this.state = "closed";
      return;
    }
    if (this.state === "failed") {
      this.state = "closed";
      await w.terminate();
      return;
    }
    this.state = "closing";
    this.updateRef();
    try {
      await this.control({ op: "close" });
      this.pollDurable();
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([this.exited, new Promise<void>((r) => (timer = setTimeout(r, 5000)))]);
      clearTimeout(timer);
    } finally {
      this.state = "closed";
      this.port?.close();
      await w.terminate();
    }
  }

  private notOpen(): Error {
    if (this.state === "failed") return new CairnError("internal", `wal: the log writer failed: ${this.failure?.message ?? "unknown"}`);
    return new CairnError("unavailable", `wal: the log is ${this.state === "new" ? "not open" : this.state}`);
  }

  /**
   * Wake the worker once per tick, after the current task's appends: callers
   * woken by one durable report append in the same tick, so they share a batch.
   */
  private wakeSoon(): void {
    if (this.wakePending) return;
    this.wakePending = true;
    queueMicrotask(this.wakeNow);
  }

  private readonly wakeNow = (): void => {
    this.wakePending = false;
    this.ring.wake();
  };

  private writeEntry(e: LogEntry): boolean {
    const len = RECORD_HEADER_BYTES + e.data.length;
    const at = this.ring.reserve(len);
    if (at < 0) return false;
    writeRecordHeader(this.ring.view, at, e.index, e.term, typeCode(e.type), e.data.length);
    this.ring.bytes.set(e.data, at + RECORD_HEADER_BYTES);
    this.ring.commit();
    return true;
  }

  private writeBarrier(id: number): boolean {
    const at = this.ring.reserve(8);
    if (at < 0) return false;
    this.ring.view.setUint32(at, BARRIER_MARK, true);
    this.ring.view.setUint32(at + 4, id, true);
    this.ring.commit();
    return true;
  }

  private afterEnqueue(): void {
    if (this.qHead < this.queue.length) this.armSpace();
    this.armDurable();
    this.updateRef();
  }

  private control(op: ControlOp, transfer: ArrayBuffer[] = []): Promise<OpenResult | undefined> {
    const port = this.port;
    assert(port !== undefined, "wal: no worker");
    const id = this.nextId++;
    const p = new Promise<OpenResult | undefined>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    port.postMessage({ ...op, id }, transfer);
    if (this.qHead === this.queue.length && this.writeBarrier(id)) {
      this.ring.wake();
    } else {
      this.queue.push(id);
      this.armSpace();
    }
    this.updateRef();
    return p;
  }

  private armSpace(): void {
    if (this.spaceArmed || this.state === "failed" || this.state === "closed") return;
    const head = this.queue[this.qHead];
    if (head === undefined) return;
    this.spaceArmed = true;
    const need = typeof head === "number" ? 8 : RECORD_HEADER_BYTES + head.data.length;
    void this.ring.waitForSpaceAsync(need, 1000).then(() => {
      this.spaceArmed = false;
      this.flushQueue();
    });
  }

  private flushQueue(): void {
    if (this.state === "failed" || this.state === "closed") return;
    let wrote = false;
    while (this.qHead < this.queue.length) {
      const item = this.queue[this.qHead]!;
      const ok = typeof item === "number" ? this.writeBarrier(item) : this.writeEntry(item);
      if (!ok) break;
      if (typeof item !== "number") this.queuedEntries--;
      this.qHead++;
      wrote = true;
    }
    if (wrote) this.ring.wake();
    if (this.qHead === this.queue.length) {
      this.queue = [];
      this.qHead = 0;
    } else if (this.qHead > 4096 && this.qHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.qHead);
      this.qHead = 0;
    }
    if (this.qHead < this.queue.length) this.armSpace();
    this.updateRef();
  }

  private armDurable(): void {
    if (this.durableArmed || this.opts.notifyByMessage || this.state === "failed" || this.state === "closed") return;
    const seq = Atomics.load(this.status, ST_DURABLE_SEQ);
    this.pollDurable();
    if (this.durable >= this.last) return;
    this.durableArmed = true;
    void parkAsync(this.status, ST_DURABLE_SEQ, seq, 1000).then(() => {
      this.durableArmed = false;
      this.pollDurable();
      this.armDurable();
    });
  }

  private pollDurable(): void {
    let d = Number(Atomics.load(this.durableSlot, 0));
    if (this.truncating > 0 && d > this.truncCap) d = this.truncCap;
    if (d > this.last) d = this.last;
    if (d > this.durable) {
      this.durable = d;
      for (const cb of this.callbacks) cb(d);
    }
    this.updateRef();
  }

  private onMessage(m: WorkerReply): void {
    switch (m.t) {
      case "reply": {
        const p = this.pending.get(m.id);
        if (p === undefined) return;
        this.pending.delete(m.id);
        if (m.ok) p.resolve(m.result);
        else p.reject(new Error(m.error));
        this.updateRef();
        return;
      }
      case "durable":
        this.pollDurable();
        return;
      case "fatal":
        this.fail(new Error(m.error));
        return;
      default:
        return;
    }
  }

  private fail(e: Error): void {
    if (this.state === "closed" || this.state === "failed") return;
    this.state = "failed";
    this.failure = e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  /** Keep the process alive only while work is in flight. */
  private updateRef(): void {
    const w = this.worker;
    if (w === undefined) return;
    const busy = this.state === "closing" || this.pending.size > 0 || this.qHead < this.queue.length || this.durable < this.last;
    if (busy && !this.reffed) {
      w.ref();
      this.reffed = true;
    } else if (!busy && this.reffed) {
      w.unref();
      this.reffed = false;
    }
  }
}
