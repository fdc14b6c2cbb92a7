/**
 * raft/core_follower: how the Raft core takes what a leader sends: appends
 * (log matching, fast-backtracking hints), heartbeats (commit index, read
 * round acks) and chunked InstallSnapshot (assembled in order, then installed
 * or used to fast-forward the commit index).
 *
 * Must never: truncate committed entries, accept snapshot chunks out of
 * order, or install a snapshot at or below its commit index.
 */

import { assert } from "../shared/errors.ts";
import { syncProgress } from "./core_config.ts";
import type { CoreState } from "./core_state.ts";
import type { AppendMessage, HeartbeatMessage, SnapshotMessage } from "./types.ts";

export function handleLeaderMessage(s: CoreState, m: AppendMessage | HeartbeatMessage | SnapshotMessage): void {
  if (m.type === "append") handleAppend(s, m);
  else if (m.type === "heartbeat") {
    s.log.commitTo(m.commit);
    s.send({ type: "heartbeat-resp", from: s.id, to: m.from, term: s.term, seq: m.seq });
  } else handleSnapshot(s, m);
}

function handleAppend(s: CoreState, m: AppendMessage): void {
  const reply = (success: boolean, index: number, hintIndex: number, hintTerm: number): void =>
    s.send({ type: "append-resp", from: s.id, to: m.from, term: s.term, success, index, hintIndex, hintTerm });
  if (m.prevIndex < s.log.committed) {
    reply(true, s.log.committed, 0, 0);
    return;
  }
  const configBefore = s.log.configIndex();
  const lastNew = s.log.maybeAppend(m.prevIndex, m.prevTerm, m.commit, m.entries);
  if (s.log.configIndex() !== configBefore) syncProgress(s);
  if (lastNew !== undefined) {
    reply(true, lastNew, 0, 0);
    return;
  }
  // Fast backtracking: point the leader at the last index whose term could match.
  const hintIndex = s.log.findConflictByTerm(Math.min(m.prevIndex, s.log.lastIndex()), m.prevTerm);
  reply(false, m.prevIndex, hintIndex, s.log.term(hintIndex) ?? 0);
}

function handleSnapshot(s: CoreState, m: SnapshotMessage): void {
  const reply = (offset: number, done: boolean): void =>
    s.send({ type: "snapshot-resp", from: s.id, to: m.from, term: s.term, index: m.index, offset, done });
  if (m.index <= s.log.committed) {
    s.incoming = undefined;
    reply(m.total, true);
    return;
  }
  let inc = s.incoming;
  if (m.offset === 0) {
    inc = { index: m.index, term: m.snapTerm, config: m.config, total: m.total, parts: [], received: 0 };
    s.incoming = inc;
  } else if (inc === undefined || inc.index !== m.index || inc.term !== m.snapTerm || inc.received !== m.offset) {
    reply(inc !== undefined && inc.index === m.index && inc.term === m.snapTerm ? inc.received : 0, false);
    return;
  }
  inc.parts.push(m.chunk);
  inc.received += m.chunk.byteLength;
  assert(inc.received <= inc.total, "raft: snapshot chunks exceed the announced size");
  if (inc.received < inc.total) {
    reply(inc.received, false);
    return;
  }
  s.incoming = undefined;
  if (s.log.matchTerm(inc.index, inc.term)) {
    s.log.commitTo(inc.index); // we already have the prefix: fast-forward
  } else {
    const data = new Uint8Array(inc.total);
    let off = 0;
    for (const p of inc.parts) {
      data.set(p, off);
      off += p.byteLength;
    }
    s.log.restore({ index: inc.index, term: inc.term, config: inc.config, data });
    syncProgress(s);
    s.deps.logger?.("info", `raft ${s.id}: installed snapshot at ${inc.index}`);
  }
  reply(inc.total, true);
}
