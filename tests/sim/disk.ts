/**
 * tests/sim/disk: a simulated disk for one server.
 *
 * Writes are queued and numbered; fsyncTo(mark) makes the writes numbered up
 * to mark durable (an fsync covers what was written before it was issued, so
 * fsyncs issued earlier may complete later), fsync() everything queued. A crash
 * keeps the durable state plus a random prefix of the queued writes (a real
 * disk may or may not have written them), and loses the rest.
 *
 * Must never: make a write durable out of order, or survive a crash with a
 * write that was queued after one it lost.
 */

import type { LogEntry, RaftSnapshot } from "../../src/raft/index.ts";
import type { Rng } from "../../src/shared/rng.ts";

export type DiskOp =
  | { readonly type: "hard"; readonly term: number; readonly vote: string }
  | { readonly type: "entries"; readonly entries: readonly LogEntry[] }
  | { readonly type: "install"; readonly snapshot: RaftSnapshot }
  | { readonly type: "compact"; readonly snapshot: RaftSnapshot; readonly trailing: number };

export interface DurableState {
  term: number;
  vote: string;
  snapshot: RaftSnapshot | undefined;
  entries: LogEntry[];
}

export class SimDisk {
  readonly durable: DurableState = { term: 0, vote: "", snapshot: undefined, entries: [] };
  /** Writes numbered durableWrites+1 .. writes, in order. */
  private queued: DiskOp[] = [];
  /** Number of the last write queued; writes numbered up to durableWrites are durable. */
  writes = 0;
  durableWrites = 0;
  lostOnCrash = 0;

  write(op: DiskOp): void {
    this.queued.push(op);
    this.writes++;
  }

  /** Everything queued so far becomes durable. */
  fsync(): void {
    this.fsyncTo(this.writes);
  }

  /** The writes numbered up to `mark` become durable (a no-op for those already durable). */
  fsyncTo(mark: number): void {
    const n = Math.min(mark, this.writes) - this.durableWrites;
    if (n <= 0) return;
    for (let i = 0; i < n; i++) applyOp(this.durable, this.queued[i]!);
    this.queued = this.queued.slice(n);
    this.durableWrites += n;
  }

  /** Power loss: a random prefix of the queued writes made it, the rest is gone. */
  crash(rng: Rng): void {
    const keep = rng.int(0, this.queued.length);
    for (let i = 0; i < keep; i++) applyOp(this.durable, this.queued[i]!);
    this.lostOnCrash += this.queued.length - keep;
    this.queued = [];
    this.durableWrites += keep;
    this.writes = this.durableWrites;
  }

  /** What a restarting server reads: entries after the snapshot, contiguous. */
  recover(): { term: number; vote: string; snapshot: RaftSnapshot | undefined; entries: LogEntry[] } {
    const d = this.durable;
    const from = d.snapshot?.index ?? 0;
    const entries = d.entries.filter((e) => e.index > from);
    for (let i = 0; i < entries.length; i++) {
      if (entries[i]!.index !== from + 1 + i) throw new Error(`sim disk: gap in the durable log at ${entries[i]!.index}`);
    }
    return { term: d.term, vote: d.vote, snapshot: d.snapshot, entries };
  }
}

function applyOp(d: DurableState, op: DiskOp): void {
  switch (op.type) {
    case "hard":
      d.term = op.term;
      d.vote = op.vote;
      return;
    case "entries": {
      if (op.entries.length === 0) return;
      const first = op.entries[0]!.index;
      const kept = d.entries.filter((e) => e.index < first);
      const last = kept.length === 0 ? (d.snapshot?.index ?? 0) : kept[kept.length - 1]!.index;
      if (first !== last + 1) throw new Error(`sim disk: append at ${first} after ${last}`);
      d.entries = kept.concat(op.entries);
      return;
    }
    case "install":
      d.snapshot = op.snapshot;
      d.entries = [];
      return;
    case "compact":
      if (d.snapshot !== undefined && d.snapshot.index >= op.snapshot.index) return;
      d.snapshot = op.snapshot;
      d.entries = d.entries.filter((e) => e.index > op.snapshot.index - op.trailing);
      return;
  }
}
