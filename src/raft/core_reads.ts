/**
 * raft/core_reads: the Raft core's leader-side reads without a log entry:
 * ReadIndex requests (answered as ReadStates once a quorum acknowledged a
 * heartbeat round sent after them) and the leader lease (read_index.ts keeps
 * the rounds).
 *
 * Must never: hand out a read point before this leader committed an entry of
 * its term, or serve a lease read without CheckQuorum, during a transfer, or
 * after the lease ran out.
 */

import type { CoreState } from "./core_state.ts";

/** Ask for a linearizable read point; the answer comes as a ReadState with this ctx. */
export function readIndex(s: CoreState, ctx: string): boolean {
  if (s.role !== "leader" || s.reads === undefined) return false;
  const voters = s.log.config().voters;
  if (!s.committedInTerm()) {
    s.waitingReads.push(ctx);
    return true;
  }
  if (voters.length === 1 && voters[0] === s.id) {
    s.readStates.push({ index: s.log.committed, ctx });
    return true;
  }
  s.reads.request(s.hbSeq + 1, s.log.committed, ctx);
  s.readRoundPending = true;
  return true;
}

/**
 * The commit index when this leader holds a valid lease, else undefined.
 * The lease needs CheckQuorum: only then do voters refuse to elect anyone
 * while they hear from this leader.
 */
export function leaseRead(s: CoreState): number | undefined {
  if (s.role !== "leader" || s.reads === undefined || !s.cfg.checkQuorum) return undefined;
  if (s.leaseDisabled || s.transferee !== "" || !s.committedInTerm()) return undefined;
  const voters = s.log.config().voters;
  if (voters.length === 1 && voters[0] === s.id) return s.log.committed;
  const start = s.reads.roundTick(s.quorumAckedSeq());
  if (start === undefined || s.ticks - start >= s.cfg.timing.leaseTicks) return undefined;
  return s.log.committed;
}
