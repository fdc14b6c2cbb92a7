/**
 * raft/core_config: how the Raft core's leader takes proposals into its log
 * and changes the configuration: refusing proposals (not leader, transferring,
 * too many uncommitted), appending entries, one-at-a-time membership changes,
 * keeping the leader's progress map in line with the configuration, and
 * promoting caught-up staging servers.
 *
 * Must never: append on a non-leader, start a configuration change while an
 * earlier one is uncommitted, or count the leader's own new entry as matched
 * before it is durable.
 */

import { assert } from "../shared/errors.ts";
import type { CoreState } from "./core_state.ts";
import { applyChange, encodeMembership, isMember, isVoter, members } from "./membership.ts";
import { Progress } from "./progress.ts";
import type { ConfChange, EntryType, LogEntry, ProposeResult } from "./types.ts";

export function refuseProposal(s: CoreState): ProposeResult | undefined {
  if (s.role !== "leader") return { ok: false, reason: "not-leader", leader: s.leader };
  if (s.transferee !== "") return { ok: false, reason: "transferring", leader: s.leader };
  if (s.log.lastIndex() - s.log.committed >= s.cfg.maxUncommitted) {
    return { ok: false, reason: "too-many", leader: s.leader };
  }
  return undefined;
}

export function appendEntry(s: CoreState, type: EntryType, data: Uint8Array): ProposeResult {
  assert(s.role === "leader", "raft: append on a non-leader");
  const e: LogEntry = { index: s.log.lastIndex() + 1, term: s.term, type, data };
  s.log.append(e);
  if (type === "config") syncProgress(s);
  // The leader's own match moves when the entry is durable here (persisted()), not now.
  s.bcastPending = true;
  return { ok: true, index: e.index, term: e.term };
}

export function proposeConfChange(s: CoreState, c: ConfChange): ProposeResult {
  const refusal = refuseProposal(s);
  if (refusal !== undefined) return refusal;
  if (s.pendingConfIndex > s.log.committed) return { ok: false, reason: "conf-pending", leader: s.leader };
  const next = applyChange(s.log.config(), c);
  if (next === undefined) return { ok: false, reason: "invalid", leader: s.leader };
  const r = appendEntry(s, "config", encodeMembership(next));
  if (r.ok) s.pendingConfIndex = r.index;
  return r;
}

/** Make the progress map match the configuration (leader) after the config changed. */
export function syncProgress(s: CoreState): void {
  if (s.role !== "leader") return;
  const cfg = s.log.config();
  const last = s.log.lastIndex();
  for (const id of members(cfg)) {
    if (s.progress.has(id)) continue;
    const pr = new Progress(last + 1, s.cfg.maxInflight);
    if (id === s.id) pr.match = Math.min(s.log.stableIndex, last);
    pr.recentActive = true;
    s.progress.set(id, pr);
  }
  for (const id of [...s.progress.keys()]) {
    if (!isMember(cfg, id)) s.progress.delete(id);
  }
  if (s.transferee !== "" && !isVoter(cfg, s.transferee)) s.transferee = "";
}

/** Promote one caught-up staging server when no change is pending. */
export function maybePromote(s: CoreState): void {
  if (s.role !== "leader" || s.pendingConfIndex > s.log.committed) return;
  for (const id of s.log.config().staging) {
    const pr = s.progress.get(id);
    if (pr !== undefined && pr.match >= s.log.committed && s.log.committed > 0) {
      proposeConfChange(s, { type: "promote", id });
      return;
    }
  }
}
