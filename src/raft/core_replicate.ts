/**
 * raft/core_replicate: what the Raft core's leader sends to its followers:
 * pipelined AppendEntries within each follower's flow-control window (batched
 * once per driver turn), snapshot chunks to followers whose entries were
 * compacted away, heartbeat rounds (which carry ReadIndex and lease rounds)
 * and the TimeoutNow that completes a leadership transfer.
 *
 * Must never: send to a paused follower, send entries the log no longer holds
 * (a snapshot goes instead), or tell a follower a commit index beyond what it
 * matches in a heartbeat.
 */

import { assert } from "../shared/errors.ts";
import type { CoreState } from "./core_state.ts";
import type { Progress } from "./progress.ts";
import type { AppendMessage, HeartbeatMessage, NodeId } from "./types.ts";

/** Pending broadcasts and read rounds go out once per driver turn: this batches proposals. */
export function flush(s: CoreState): void {
  if (s.role !== "leader") return;
  if (s.bcastPending || s.commitBcastPending) {
    const always = s.commitBcastPending;
    s.bcastPending = false;
    s.commitBcastPending = false;
    for (const [id, pr] of s.progress) {
      if (id === s.id) continue;
      // A commit-only (empty) append goes to a follower only when nothing is in flight to
      // it: an ack still to come brings the next chance (handleAppendResponse), and
      // under load the commit rides on the next append with entries. Heartbeats carry it too.
      let first = always && pr.sentCommit < s.log.committed && !(pr.state === "replicate" && pr.inflights.count > 0);
      while (sendAppend(s, id, first)) {
        first = false;
        // fill the window
      }
    }
  }
  if (s.readRoundPending) {
    s.readRoundPending = false;
    bcastHeartbeat(s);
  }
}

/** Send the next AppendEntries (or snapshot chunk) to `to`; false when nothing was sent. */
export function sendAppend(s: CoreState, to: NodeId, sendIfEmpty: boolean): boolean {
  const pr = s.progress.get(to);
  if (pr === undefined || to === s.id || pr.isPaused()) return false;
  const prevIndex = pr.next - 1;
  const prevTerm = s.log.term(prevIndex);
  const ents = s.log.slice(pr.next, s.log.lastIndex() + 1, s.cfg.maxAppendEntries, s.cfg.maxAppendBytes);
  if (prevTerm === undefined || ents === undefined) {
    const snap = s.log.snapshot;
    assert(snap !== undefined, `raft ${s.id}: entries for ${to} compacted but no snapshot`);
    pr.becomeSnapshot(snap.index);
    sendSnapshotChunk(s, to, pr);
    return true;
  }
  if (ents.length === 0 && !sendIfEmpty) return false;
  const m: AppendMessage = { type: "append", from: s.id, to, term: s.term, prevIndex, prevTerm, entries: ents, commit: s.log.committed };
  s.send(m);
  pr.sentEntries(prevIndex + ents.length, ents.length);
  if (m.commit > pr.sentCommit) pr.sentCommit = m.commit;
  return true;
}

export function sendSnapshotChunk(s: CoreState, to: NodeId, pr: Progress): void {
  const snap = s.log.snapshot;
  assert(snap !== undefined, "raft: snapshot state without a snapshot");
  if (snap.index !== pr.pendingSnapshot) pr.becomeSnapshot(snap.index); // a newer snapshot: start over
  const offset = Math.min(pr.snapshotOffset, snap.data.byteLength);
  const chunk = snap.data.subarray(offset, offset + s.cfg.snapshotChunkBytes);
  pr.snapshotIdleTicks = 0;
  s.send({
    type: "snapshot",
    from: s.id,
    to,
    term: s.term,
    index: snap.index,
    snapTerm: snap.term,
    config: snap.config,
    offset,
    total: snap.data.byteLength,
    chunk,
  });
}

export function bcastHeartbeat(s: CoreState): void {
  s.hbSeq++;
  s.reads?.roundSent(s.hbSeq, s.ticks);
  for (const [id, pr] of s.progress) {
    if (id === s.id) continue;
    const m: HeartbeatMessage = {
      type: "heartbeat",
      from: s.id,
      to: id,
      term: s.term,
      commit: Math.min(pr.match, s.log.committed),
      seq: s.hbSeq,
    };
    s.send(m);
  }
  // A lone voter acknowledges its own rounds.
  if (s.reads !== undefined) for (const rs of s.reads.release(s.quorumAckedSeq())) s.readStates.push(rs);
}

export function sendTimeoutNow(s: CoreState, to: NodeId): void {
  s.leaseDisabled = true;
  s.send({ type: "timeout-now", from: s.id, to, term: s.term });
}
