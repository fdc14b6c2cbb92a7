/**
 * raft/read_index: the leader's two ways to serve reads without a log entry.
 *
 * ReadIndex (Raft thesis §6.4): a read notes the commit index, then waits for
 * a heartbeat round sent after it to be acknowledged by a quorum; the reader
 * may answer once it has applied that index. Leader lease: a heartbeat round
 * acknowledged by a quorum at (leader) tick T proves that no other leader can
 * be elected before T + electionTicks on any voter's clock, so the leader
 * serves lease reads until T + leaseTicks (leaseTicks < electionTicks leaves
 * room for clock drift).
 *
 * Must never: release a read before a quorum acknowledged a round sent after
 * the read arrived, or grow without bound.
 */

import { CairnError } from "../shared/errors.ts";
import { RAFT_MAX_PENDING_READS } from "../shared/limits.ts";
import type { ReadState } from "./types.ts";

interface PendingRead {
  readonly seq: number;
  readonly index: number;
  readonly ctx: string;
}

/** Heartbeat rounds remembered for the lease; older ones have expired anyway. */
const ROUNDS_KEPT = 64;

export class LeaderReads {
  private readonly rounds: Array<{ seq: number; tick: number }> = [];
  private pending: PendingRead[] = [];
  private head = 0;

  /** A heartbeat round `seq` was sent at `tick`. */
  roundSent(seq: number, tick: number): void {
    this.rounds.push({ seq, tick });
    if (this.rounds.length > ROUNDS_KEPT) this.rounds.shift();
  }

  /** Tick at which round `seq` was sent; undefined when forgotten. */
  roundTick(seq: number): number | undefined {
    for (let i = this.rounds.length - 1; i >= 0; i--) {
      const r = this.rounds[i]!;
      if (r.seq === seq) return r.tick;
      if (r.seq < seq) return undefined;
    }
    return undefined;
  }

  size(): number {
    return this.pending.length - this.head;
  }

  /** A read waits for round `seq` (not yet sent) at commit `index`. */
  request(seq: number, index: number, ctx: string): void {
    if (this.size() >= RAFT_MAX_PENDING_READS) {
      throw new CairnError("rate-limited", "raft: too many reads waiting for the leader");
    }
    this.pending.push({ seq, index, ctx });
  }

  /** A quorum acknowledged every round up to `seq`: release the reads waiting on them. */
  release(seq: number): ReadState[] {
    const out: ReadState[] = [];
    while (this.head < this.pending.length && this.pending[this.head]!.seq <= seq) {
      const p = this.pending[this.head]!;
      out.push({ index: p.index, ctx: p.ctx });
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.pending.length) {
      this.pending = this.pending.slice(this.head);
      this.head = 0;
    }
    return out;
  }
}
