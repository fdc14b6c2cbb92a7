/**
 * raft/core_leader: the Raft core's leader role: stepping followers' answers
 * (append, heartbeat and snapshot responses: flow control, fast backtracking,
 * read rounds), committing by counting current-term matches, its tick
 * (heartbeats, CheckQuorum, snapshot resends, staging promotion) and
 * leadership transfer.
 *
 * Must never: commit an entry of a previous term by counting replicas, count
 * its own non-durable entries (its match is its durable index), or keep
 * leading without a quorum's contact when CheckQuorum is on.
 */

import { assert } from "../shared/errors.ts";
import { maybePromote } from "./core_config.ts";
import { readIndex } from "./core_reads.ts";
import { bcastHeartbeat, sendAppend, sendSnapshotChunk, sendTimeoutNow } from "./core_replicate.ts";
import type { CoreState } from "./core_state.ts";
import { isMember, isVoter } from "./membership.ts";
import { committedIndex } from "./quorum.ts";
import type { AppendResponse, Message, NodeId, SnapshotResponse } from "./types.ts";

export function stepLeader(s: CoreState, m: Message): void {
  switch (m.type) {
    case "append":
    case "heartbeat":
    case "snapshot":
      assert(false, `raft ${s.id}: two leaders in term ${s.term} (${m.from} sent ${m.type})`);
      return;
    case "append-resp":
      handleAppendResponse(s, m);
      return;
    case "heartbeat-resp": {
      const pr = s.progress.get(m.from);
      if (pr === undefined) return;
      pr.recentActive = true;
      pr.probeSent = false;
      // A lost append would keep a full window closed forever: free one slot per heartbeat so
      // the next append goes out, is rejected for the gap, and the follower drops to probe.
      if (pr.state === "replicate" && pr.inflights.full()) pr.inflights.freeFirst();
      if (m.seq > pr.ackedSeq) pr.ackedSeq = m.seq;
      if (pr.match < s.log.lastIndex()) sendAppend(s, m.from, true);
      if (s.reads !== undefined) for (const rs of s.reads.release(s.quorumAckedSeq())) s.readStates.push(rs);
      return;
    }
    case "snapshot-resp":
      handleSnapshotResponse(s, m);
      return;
    case "vote":
    case "vote-resp":
    case "timeout-now":
      return;
  }
}

function handleAppendResponse(s: CoreState, m: AppendResponse): void {
  const pr = s.progress.get(m.from);
  if (pr === undefined) return;
  pr.recentActive = true;
  if (!m.success) {
    let nextProbe = m.hintIndex;
    if (m.hintTerm > 0) nextProbe = s.log.findConflictByTerm(m.hintIndex, m.hintTerm);
    if (pr.maybeDecrTo(m.index, nextProbe)) {
      if (pr.state === "replicate") pr.becomeProbe();
      sendAppend(s, m.from, true);
    }
    return;
  }
  const wasProbe = pr.state === "probe";
  if (!pr.maybeUpdate(m.index) && !(pr.match === m.index && wasProbe)) return;
  if (pr.state === "probe") pr.becomeReplicate();
  else if (pr.state === "snapshot" && pr.match >= pr.pendingSnapshot) {
    pr.becomeProbe();
    pr.becomeReplicate();
  } else if (pr.state === "replicate") pr.inflights.freeLE(m.index);
  if (maybeCommit(s)) {
    s.commitBcastPending = true;
  } else {
    while (sendAppend(s, m.from, false)) {
      // keep the pipeline full
    }
    // Its pipeline drained without telling it the latest commit (see flush): tell it now.
    if (s.role === "leader" && pr.inflights.count === 0 && pr.sentCommit < s.log.committed) sendAppend(s, m.from, true);
  }
  if (s.role !== "leader") return;
  if (m.from === s.transferee && pr.match === s.log.lastIndex()) sendTimeoutNow(s, m.from);
  maybePromote(s);
}

function handleSnapshotResponse(s: CoreState, m: SnapshotResponse): void {
  const pr = s.progress.get(m.from);
  if (pr === undefined) return;
  pr.recentActive = true;
  if (m.done) {
    pr.maybeUpdate(m.index);
    if (pr.state === "snapshot" && pr.match >= pr.pendingSnapshot) pr.becomeProbe();
    if (pr.state !== "snapshot") sendAppend(s, m.from, true);
    return;
  }
  if (pr.state === "snapshot" && m.index === pr.pendingSnapshot) {
    pr.snapshotOffset = m.offset;
    sendSnapshotChunk(s, m.from, pr);
  }
}

/** Commit the highest index a quorum matches, but only if it is of the current term (§5.4.2). */
export function maybeCommit(s: CoreState): boolean {
  const voters = s.log.config().voters;
  const mci = committedIndex(voters, (id) => s.progress.get(id)?.match ?? 0);
  if (mci <= s.log.committed || s.log.term(mci) !== s.term) return false;
  s.log.commitTo(mci);
  afterCommit(s);
  return true;
}

function afterCommit(s: CoreState): void {
  if (s.waitingReads.length > 0 && s.committedInTerm()) {
    const waiting = s.waitingReads;
    s.waitingReads = [];
    for (const ctx of waiting) readIndex(s, ctx);
  }
  // A leader removed from the configuration steps down once the removal is committed.
  if (!isMember(s.log.config(), s.id) && s.log.configIndex() <= s.log.committed) {
    s.deps.logger?.("info", `raft ${s.id}: removed from the configuration, stepping down`);
    s.becomeFollower(s.term, "");
  }
}

export function tickHeartbeat(s: CoreState): void {
  s.heartbeatElapsed++;
  s.electionElapsed++;
  s.lastLeaderContact = s.ticks;
  if (s.electionElapsed >= s.cfg.timing.electionTicks) {
    s.electionElapsed = 0;
    if (s.cfg.checkQuorum && !quorumActive(s)) {
      s.deps.logger?.("info", `raft ${s.id}: lost contact with a quorum, stepping down`);
      s.becomeFollower(s.term, "");
      return;
    }
    s.transferee = "";
  }
  if (s.heartbeatElapsed >= s.cfg.timing.heartbeatTicks) {
    s.heartbeatElapsed = 0;
    bcastHeartbeat(s);
  }
  for (const [id, pr] of s.progress) {
    if (id === s.id || pr.state !== "snapshot") continue;
    pr.snapshotIdleTicks++;
    if (pr.snapshotIdleTicks >= s.cfg.snapshotResendTicks) sendSnapshotChunk(s, id, pr);
  }
  maybePromote(s);
}

/** CheckQuorum: did a quorum of voters talk to us since the last round? Resets the marks. */
function quorumActive(s: CoreState): boolean {
  const voters = s.log.config().voters;
  let active = 0;
  for (const id of voters) {
    if (id === s.id || s.progress.get(id)?.recentActive === true) active++;
  }
  for (const [id, pr] of s.progress) if (id !== s.id) pr.recentActive = false;
  return voters.length === 0 || active >= Math.floor(voters.length / 2) + 1;
}

export function transferLeadership(s: CoreState, to: NodeId): boolean {
  if (s.role !== "leader" || to === s.id || !isVoter(s.log.config(), to)) return false;
  const pr = s.progress.get(to);
  if (pr === undefined) return false;
  s.transferee = to;
  s.electionElapsed = 0; // the transfer is abandoned after one election timeout
  s.leaseDisabled = true;
  if (pr.match === s.log.lastIndex()) sendTimeoutNow(s, to);
  else sendAppend(s, to, true);
  return true;
}
