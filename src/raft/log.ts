/**
 * raft/log: the Raft log as the core sees it, kept in memory.
 *
 * Entries since the last compaction live in one array, split by two marks:
 * `stableIndex` (durable: the driver reported the writes persisted) <=
 * `writtenIndex` (handed out for persisting in a Ready, possibly still in
 * flight) <= lastIndex (the tail not yet handed out). Several Readies' writes
 * may be in flight at once; they become durable in the order they were handed
 * out. A snapshot received from the leader is pending until handed out and
 * in flight until persisted. The log also tracks the latest configuration
 * entry, because configurations take effect on append.
 *
 * Must never: drop or overwrite a committed entry (that is an assert), hand
 * out an entry for applying before it is durable here (applying stays <=
 * stableIndex), call an entry durable that a later truncation replaced, or do I/O.
 */

import { assert } from "../shared/errors.ts";
import { EMPTY_MEMBERSHIP, decodeMembership } from "./membership.ts";
import type { LogEntry, Membership, RaftBoot, RaftSnapshot } from "./types.ts";

interface ConfigAt {
  readonly index: number;
  readonly config: Membership;
}

export class RaftLog {
  /** entries[i].index === prevIndex + 1 + i */
  private entries: LogEntry[] = [];
  private prevIndex = 0;
  private prevTerm = 0;
  /** Configuration in force at prevIndex; later ones are in `configs`. */
  private baseConfig: Membership = EMPTY_MEMBERSHIP;
  private configs: ConfigAt[] = [];
  /** Latest snapshot known (taken locally or received); what the leader sends. */
  snapshot: RaftSnapshot | undefined;
  /** A received snapshot not yet handed out in a Ready. */
  pendingSnapshot: RaftSnapshot | undefined;
  /** Index of a received snapshot handed out but not yet persisted (0 when none). */
  snapshotInFlight = 0;
  committed = 0;
  applied = 0;
  /** Highest index handed to the driver for applying (applied <= applying <= committed). */
  applying = 0;
  /** Highest index of the current log known durable (persisted by the driver). */
  stableIndex = 0;
  /** Highest index handed out for persisting (stableIndex <= writtenIndex <= lastIndex). */
  writtenIndex = 0;

  constructor(boot: RaftBoot) {
    const snap = boot.snapshot;
    if (snap !== undefined) {
      this.prevIndex = snap.index;
      this.prevTerm = snap.term;
      this.baseConfig = snap.config;
      this.snapshot = snap;
      this.committed = snap.index;
      this.applied = snap.index;
      this.applying = snap.index;
    }
    for (const e of boot.entries) {
      assert(e.index === this.lastIndex() + 1, `raft log: boot entries not contiguous at ${e.index}`);
      this.push(e);
    }
    this.stableIndex = this.lastIndex();
    this.writtenIndex = this.stableIndex;
  }

  firstIndex(): number {
    return this.prevIndex + 1;
  }

  lastIndex(): number {
    return this.prevIndex + this.entries.length;
  }

  lastTerm(): number {
    const n = this.entries.length;
    return n === 0 ? this.prevTerm : this.entries[n - 1]!.term;
  }

  /** Term of entry i; undefined when compacted away or beyond the end. */
  term(i: number): number | undefined {
    if (i === this.prevIndex) return this.prevTerm;
    if (i < this.prevIndex || i > this.lastIndex()) return undefined;
    return this.entries[i - this.prevIndex - 1]!.term;
  }

  entry(i: number): LogEntry | undefined {
    if (i <= this.prevIndex || i > this.lastIndex()) return undefined;
    return this.entries[i - this.prevIndex - 1];
  }

  matchTerm(i: number, term: number): boolean {
    return this.term(i) === term;
  }

  /** §5.4.1: is a candidate's log at least as up to date as ours? */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const myTerm = this.lastTerm();
    return lastTerm > myTerm || (lastTerm === myTerm && lastIndex >= this.lastIndex());
  }

  /**
   * Entries [lo, hi) limited by count and bytes (at least one entry when any).
   * Undefined when lo is compacted away.
   */
  slice(lo: number, hi: number, maxCount: number, maxBytes: number): LogEntry[] | undefined {
    if (lo <= this.prevIndex) return undefined;
    const end = Math.min(hi, this.lastIndex() + 1, lo + maxCount);
    const out: LogEntry[] = [];
    let bytes = 0;
    for (let i = lo; i < end; i++) {
      const e = this.entries[i - this.prevIndex - 1]!;
      bytes += e.data.byteLength;
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  /** Leader append at the end of the log. */
  append(e: LogEntry): void {
    assert(e.index === this.lastIndex() + 1, `raft log: append ${e.index} after ${this.lastIndex()}`);
    assert(e.term >= this.lastTerm(), "raft log: append of an older term");
    this.push(e);
  }

  private push(e: LogEntry): void {
    this.entries.push(e);
    if (e.type === "config") this.configs.push({ index: e.index, config: decodeMembership(e.data) });
  }

  /**
   * Follower append (AppendEntries receiver, §5.3). Returns the index of the
   * last new entry, or undefined when (prevIndex, prevTerm) does not match.
   */
  maybeAppend(prevIndex: number, prevTerm: number, commit: number, ents: readonly LogEntry[]): number | undefined {
    if (!this.matchTerm(prevIndex, prevTerm)) return undefined;
    const lastNew = prevIndex + ents.length;
    const conflict = this.findConflict(ents);
    if (conflict !== 0) {
      assert(conflict > this.committed, `raft log: entry ${conflict} conflicts with committed ${this.committed}`);
      this.truncateAndAppend(ents.slice(conflict - (prevIndex + 1)));
    }
    this.commitTo(Math.min(commit, lastNew));
    return lastNew;
  }

  /** First index whose term differs from ours or that we lack; 0 when all match. */
  private findConflict(ents: readonly LogEntry[]): number {
    for (const e of ents) {
      if (e.index <= this.prevIndex) continue; // compacted, hence committed, hence equal
      if (this.term(e.index) !== e.term) return e.index;
    }
    return 0;
  }

  /**
   * Fast backtracking: the largest index <= index whose term is <= term.
   * Stops at the compaction boundary.
   */
  findConflictByTerm(index: number, term: number): number {
    let i = Math.min(index, this.lastIndex());
    for (;;) {
      const t = this.term(i);
      if (t === undefined || t <= term) return i;
      i--;
    }
  }

  private truncateAndAppend(ents: readonly LogEntry[]): void {
    if (ents.length === 0) return;
    const first = ents[0]!.index;
    assert(first > this.prevIndex, "raft log: truncation into the compacted prefix");
    assert(first <= this.lastIndex() + 1, "raft log: gap in appended entries");
    if (first <= this.lastIndex()) {
      this.entries.length = first - this.prevIndex - 1;
      while (this.configs.length > 0 && this.configs[this.configs.length - 1]!.index >= first) this.configs.pop();
      this.stableIndex = Math.min(this.stableIndex, first - 1);
      this.writtenIndex = Math.min(this.writtenIndex, first - 1);
    }
    for (const e of ents) this.push(e);
  }

  commitTo(i: number): boolean {
    if (i <= this.committed) return false;
    assert(i <= this.lastIndex(), `raft log: commit ${i} beyond last index ${this.lastIndex()}`);
    this.committed = i;
    return true;
  }

  /** Latest configuration in the log (in force now). */
  config(): Membership {
    const n = this.configs.length;
    return n === 0 ? this.baseConfig : this.configs[n - 1]!.config;
  }

  /** Index of the latest configuration entry (0 when it comes from a snapshot or boot). */
  configIndex(): number {
    const n = this.configs.length;
    return n === 0 ? this.prevIndex : this.configs[n - 1]!.index;
  }

  configAt(index: number): Membership {
    let c = this.baseConfig;
    for (const x of this.configs) {
      if (x.index > index) break;
      c = x.config;
    }
    return c;
  }

  /** Install a snapshot received from the leader: the log is replaced by it. */
  restore(s: RaftSnapshot): void {
    assert(s.index > this.committed, "raft log: restore of a snapshot behind commit");
    this.entries = [];
    this.configs = [];
    this.prevIndex = s.index;
    this.prevTerm = s.term;
    this.baseConfig = s.config;
    this.snapshot = s;
    this.pendingSnapshot = s;
    this.committed = s.index;
    // Nothing of the new log is durable until the snapshot is: entries after it wait for it.
    this.stableIndex = Math.min(this.stableIndex, s.index);
    this.writtenIndex = s.index;
  }

  /**
   * Record a snapshot taken by the state machine at `index` (<= applied) and
   * drop persisted entries up to index - trailing.
   */
  compact(index: number, data: Uint8Array, trailing: number): RaftSnapshot {
    assert(index <= this.applied, `raft log: compact at ${index} beyond applied ${this.applied}`);
    const term = this.term(index);
    assert(term !== undefined, `raft log: compact at unknown index ${index}`);
    const snap: RaftSnapshot = { index, term, config: this.configAt(index), data };
    if (this.snapshot === undefined || index > this.snapshot.index) this.snapshot = snap;
    const cut = Math.min(index - Math.max(0, trailing), this.stableIndex);
    if (cut > this.prevIndex) {
      const cutTerm = this.term(cut);
      assert(cutTerm !== undefined, "raft log: cut point vanished");
      this.baseConfig = this.configAt(cut);
      this.entries = this.entries.slice(cut - this.prevIndex);
      this.configs = this.configs.filter((c) => c.index > cut);
      this.prevIndex = cut;
      this.prevTerm = cutTerm;
    }
    return snap;
  }

  /** Entries not yet handed out for persisting; marks them written (in flight). */
  takeUnwritten(): LogEntry[] {
    if (this.writtenIndex >= this.lastIndex()) return [];
    const out = this.entries.slice(this.writtenIndex - this.prevIndex);
    this.writtenIndex = this.lastIndex();
    return out;
  }

  hasUnwritten(): boolean {
    return this.writtenIndex < this.lastIndex();
  }

  /** The pending received snapshot, now handed out (in flight until snapshotPersisted). */
  takePendingSnapshot(): RaftSnapshot | undefined {
    const s = this.pendingSnapshot;
    if (s !== undefined) {
      this.pendingSnapshot = undefined;
      this.snapshotInFlight = s.index;
    }
    return s;
  }

  /** Highest index that may be handed out for applying: committed and durable here. */
  private applyLimit(): number {
    return Math.min(this.committed, this.stableIndex);
  }

  private applyFrom(): number {
    return Math.max(this.applying, this.snapshotInFlight, this.pendingSnapshot?.index ?? 0) + 1;
  }

  hasNextCommitted(): boolean {
    return this.applyFrom() <= this.applyLimit();
  }

  /** Committed, durable entries not yet handed out for applying, at most max. */
  nextCommitted(max: number): LogEntry[] {
    const lo = this.applyFrom();
    const hi = Math.min(this.applyLimit(), lo + max - 1);
    if (hi < lo) return [];
    assert(lo > this.prevIndex, `raft log: entry ${lo} to apply is compacted away`);
    return this.entries.slice(lo - this.prevIndex - 1, hi - this.prevIndex);
  }

  /**
   * The driver persisted a Ready whose entries ended at (index, term). Only
   * counts when that entry is still in the log: a later truncation replaced
   * it otherwise (and by log matching an equal (index, term) means the whole
   * prefix is the one that was written).
   */
  stableTo(index: number, term: number): void {
    const upTo = Math.min(index, this.writtenIndex);
    if (upTo <= this.stableIndex || upTo !== index || this.term(index) !== term) return;
    this.stableIndex = upTo;
  }

  /** A received snapshot handed out earlier is durable (the driver installed it in the state machine). */
  snapshotPersisted(s: RaftSnapshot): void {
    if (this.snapshotInFlight === s.index) this.snapshotInFlight = 0;
    if (s.index >= this.prevIndex && this.stableIndex < s.index) this.stableIndex = s.index;
    if (s.index <= this.committed) this.appliedTo(s.index);
  }

  markApplying(index: number): void {
    if (index > this.applying) this.applying = index;
  }

  appliedTo(index: number): void {
    assert(index <= this.committed, `raft log: applied ${index} beyond commit ${this.committed}`);
    if (index > this.applied) this.applied = index;
    if (index > this.applying) this.applying = index;
  }
}
