/**
 * wal/memory_log: an in-memory LogStore for -dev agents and tests.
 *
 * Everything is "durable" at once, but durability is still reported
 * asynchronously (setImmediate) so callers behave exactly as with the WAL.
 * Reopening the same instance after close() yields what it holds, like a
 * restart from disk.
 *
 * Must never: touch the disk, call onDurable synchronously from append, or
 * grow without the same bounds as the WAL.
 */

import { setImmediate } from "node:timers";
import { assert, CairnError } from "../shared/errors.ts";
import { MAX_PENDING_WRITES } from "../shared/limits.ts";
import { MAX_ENTRY_DATA } from "./format.ts";
import type { LogEntry, LogStore, Recovered, Snapshot } from "./types.ts";

export class MemoryLog implements LogStore {
  private entries: LogEntry[] = [];
  private snapshot: Snapshot | undefined;
  private hardState = { term: 0, vote: "" };
  private last = 0;
  private durable = 0;
  private open_ = false;
  private scheduled = false;
  private readonly callbacks: Array<(index: number) => void> = [];

  open(): Promise<Recovered> {
    assert(!this.open_, "memory log: open() called twice");
    this.open_ = true;
    this.durable = this.last;
    const from = this.snapshot?.index ?? 0;
    return Promise.resolve({
      snapshot: this.snapshot,
      entries: this.entries.filter((e) => e.index > from),
      hardState: { ...this.hardState },
      notes: [],
    });
  }

  append(entries: readonly LogEntry[]): void {
    if (!this.open_) throw new CairnError("unavailable", "wal: the log is not open");
    if (this.last - this.durable + entries.length > MAX_PENDING_WRITES) {
      throw new CairnError("rate-limited", "wal: too many writes are waiting for the log; try again later");
    }
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      if (e.index !== this.last + 1 + i) throw new Error(`wal: append of index ${e.index}, expected ${this.last + 1 + i}`);
      if (e.data.length > MAX_ENTRY_DATA) throw new CairnError("too-large", `wal: entry of ${e.data.length} bytes is too large`);
    }
    for (const e of entries) this.entries.push(e);
    this.last += entries.length;
    this.schedule();
  }

  durableIndex(): number {
    return this.durable;
  }

  onDurable(cb: (index: number) => void): void {
    this.callbacks.push(cb);
  }

  setHardState(term: number, vote: string): Promise<void> {
    this.hardState = { term, vote };
    return Promise.resolve();
  }

  truncateSuffix(from: number): Promise<void> {
    if (from <= this.last) {
      this.entries = this.entries.filter((e) => e.index < from);
      this.last = from - 1;
      if (this.durable > this.last) this.durable = this.last;
    }
    return Promise.resolve();
  }

  saveSnapshot(snap: Snapshot, trailing: number): Promise<void> {
    this.snapshot = { index: snap.index, term: snap.term, data: snap.data.slice() };
    if (snap.index > this.last) {
      this.entries = [];
      this.last = snap.index;
      return new Promise((resolve) =>
        setImmediate(() => {
          this.report();
          resolve();
        }),
      );
    } else {
      const keepFrom = snap.index - trailing;
      let drop = 0;
      while (drop < this.entries.length && this.entries[drop]!.index <= keepFrom) drop++;
      if (drop > 0) this.entries = this.entries.slice(drop);
    }
    return Promise.resolve();
  }

  close(): Promise<void> {
    if (this.open_) this.report();
    this.open_ = false;
    return Promise.resolve();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.report();
    });
  }

  private report(): void {
    if (this.durable >= this.last) return;
    this.durable = this.last;
    for (const cb of this.callbacks) cb(this.durable);
  }
}
