/**
 * tests/sim/checkers: Raft's safety properties, checked while the simulation runs.
 *
 *  - election safety: at most one leader per term;
 *  - state machine safety: every server applies the same entry at an index;
 *  - leader completeness: a new leader's log holds every entry known committed;
 *  - log matching: two logs that agree on (index, term) agree on everything before.
 *
 * Violations are collected as sentences; the simulation fails on the first.
 *
 * Must never: change the cluster it watches.
 */

import type { LogEntry, RaftCore } from "../../src/raft/index.ts";

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class SafetyChecker {
  readonly violations: string[] = [];
  private readonly leaders = new Map<number, string>();
  private readonly committed = new Map<number, LogEntry>();
  maxCommitted = 0;
  leaderChanges = 0;

  private fail(msg: string): void {
    if (this.violations.length < 20) this.violations.push(msg);
  }

  onLeader(id: string, term: number, core: RaftCore): void {
    const prev = this.leaders.get(term);
    if (prev !== undefined && prev !== id) this.fail(`election safety: ${prev} and ${id} both led term ${term}`);
    if (prev === undefined) this.leaderChanges++;
    this.leaders.set(term, id);
    // Leader completeness over the recent committed window (older ones are in snapshots).
    const lo = Math.max(core.firstIndex(), this.maxCommitted - 500, 1);
    for (let i = lo; i <= this.maxCommitted; i++) {
      const c = this.committed.get(i);
      if (c === undefined) continue;
      const t = core.termAt(i);
      if (t !== c.term) this.fail(`leader completeness: leader ${id} of term ${term} has term ${t} at committed index ${i} (term ${c.term})`);
    }
  }

  onApply(id: string, e: LogEntry): void {
    const c = this.committed.get(e.index);
    if (c === undefined) {
      this.committed.set(e.index, e);
      if (e.index > this.maxCommitted) this.maxCommitted = e.index;
      return;
    }
    if (c.term !== e.term || c.type !== e.type || !sameBytes(c.data, e.data)) {
      this.fail(`state machine safety: ${id} applied (${e.index}, term ${e.term}) but (${c.index}, term ${c.term}) was applied before`);
    }
  }

  /** Log matching over the logs held in memory by the live servers. */
  checkLogs(cores: ReadonlyArray<RaftCore>): void {
    for (let a = 0; a < cores.length; a++) {
      for (let b = a + 1; b < cores.length; b++) this.checkPair(cores[a]!, cores[b]!);
    }
  }

  private checkPair(x: RaftCore, y: RaftCore): void {
    const lo = Math.max(x.firstIndex(), y.firstIndex());
    const hi = Math.min(x.lastIndex(), y.lastIndex());
    let agree = -1;
    for (let i = hi; i >= lo; i--) {
      if (x.termAt(i) === y.termAt(i)) {
        agree = i;
        break;
      }
    }
    for (let i = lo; i <= agree; i++) {
      const ex = x.entry(i)!;
      const ey = y.entry(i)!;
      if (ex.term !== ey.term || ex.type !== ey.type || !sameBytes(ex.data, ey.data)) {
        this.fail(`log matching: ${x.id} and ${y.id} agree at ${agree} but differ at ${i}`);
        return;
      }
    }
  }
}
