/**
 * gossip/serf/core_members: serf's member layer (serf.go handleNode*, handleNodeJoinIntent,
 * handleNodeLeaveIntent, reap, reconnect): memberlist join/leave/update turned into serf
 * members and member events, join and leave intents ordered by the member Lamport clock
 * (kept for a while when they arrive before the member does), refuting a leave intent
 * about this node, pruning, reaping failed members and left tombstones, and picking a
 * failed member to reconnect to.
 *
 * Must never: apply an intent whose Lamport time is not newer than the member's, reap
 * this node, keep more than SERF_MAX_RECENT_INTENTS intents, or throw on bad peer input.
 */

import { SERF_MAX_RECENT_INTENTS, SERF_RECENT_INTENT_TIMEOUT_MS } from "../../shared/limits.ts";
import type { Member } from "../core_types.ts";
import { decodeTags, encodeSerfMessage } from "./messages.ts";
import type { JoinMsg, LeaveMsg } from "./messages.ts";
import type { Intent, MemberState, SerfState } from "./core_state.ts";
import type { MemberEventType, MemberStatus, SerfMember } from "./core_types.ts";
import { ipText } from "../ip_text.ts";


function toMember(m: Member, status: MemberStatus): SerfMember {
  return {
    name: m.name, addr: ipText(m.addr), port: m.port, tags: decodeTags(m.meta), status, vsn: [...m.vsn],
  };
}

function emit(core: SerfState, type: MemberEventType, s: MemberState): void {
  core.effects.push({ kind: "member-event", event: { type, member: { ...s.member, tags: { ...s.member.tags } } } });
}

function takeIntent(core: SerfState, name: string, nowMs: number): Intent | undefined {
  const i = core.intents.get(name);
  if (i === undefined) return undefined;
  core.intents.delete(name);
  return nowMs - i.atMs <= SERF_RECENT_INTENT_TIMEOUT_MS ? i : undefined;
}

function recordIntent(core: SerfState, nowMs: number, name: string, type: "join" | "leave", ltime: number): boolean {
  const old = core.intents.get(name);
  if (old !== undefined && old.ltime >= ltime) return false;
  if (old === undefined && core.intents.size >= SERF_MAX_RECENT_INTENTS) {
    const first = core.intents.keys().next();
    if (!first.done) core.intents.delete(first.value);
  }
  core.intents.set(name, { type, ltime, atMs: nowMs });
  return true;
}

export function nodeJoin(core: SerfState, nowMs: number, m: Member): void {
  let s = core.members.get(m.name);
  if (s === undefined) {
    s = { member: toMember(m, "alive"), addr: m.addr, statusLTime: 0, leaveTimeMs: 0 };
    const intent = takeIntent(core, m.name, nowMs);
    if (intent !== undefined) {
      s.statusLTime = intent.ltime;
      if (intent.type === "leave") s.member.status = "leaving";
    }
    if (m.name === core.config.name && core.state !== "alive") s.member.status = "leaving";
    core.members.set(m.name, s);
  } else {
    s.member = { ...toMember(m, "alive") };
    s.addr = m.addr;
    s.leaveTimeMs = 0;
  }
  emit(core, "member-join", s);
}

export function nodeLeave(core: SerfState, nowMs: number, m: Member): void {
  const s = core.members.get(m.name);
  if (s === undefined) return;
  const st = s.member.status;
  // memberlist >= 0.3 tells a graceful leave by state; 0.2.2 peers rely on the intent (leaving).
  if (st === "leaving" || (st === "alive" && m.state === "left")) {
    s.member.status = "left";
    s.leaveTimeMs = nowMs;
    emit(core, "member-leave", s);
  } else if (st === "alive") {
    s.member.status = "failed";
    s.leaveTimeMs = nowMs;
    emit(core, "member-failed", s);
  }
}

export function nodeUpdate(core: SerfState, m: Member): void {
  const s = core.members.get(m.name);
  if (s === undefined) return;
  s.member = { ...toMember(m, s.member.status) };
  s.addr = m.addr;
  emit(core, "member-update", s);
}

export function broadcastJoin(core: SerfState, nowMs: number): void {
  const msg: JoinMsg = { type: "join", ltime: core.clock.time(), node: core.config.name };
  core.clock.witness(msg.ltime);
  joinIntent(core, nowMs, msg);
  core.effects.push({ kind: "broadcast", payload: encodeSerfMessage(msg) });
}

export function joinIntent(core: SerfState, nowMs: number, j: JoinMsg): boolean {
  core.clock.witness(j.ltime);
  const s = core.members.get(j.node);
  if (s === undefined) return recordIntent(core, nowMs, j.node, "join", j.ltime);
  if (j.ltime <= s.statusLTime) return false;
  s.statusLTime = j.ltime;
  if (s.member.status === "leaving") s.member.status = "alive";
  return true;
}

export function leaveIntent(core: SerfState, nowMs: number, l: LeaveMsg): boolean {
  core.clock.witness(l.ltime);
  if (l.node === core.config.name && core.state === "alive") {
    // Someone believes we left, but we did not: refute with a newer join intent.
    core.log("info", "refuting an older leave intent");
    broadcastJoin(core, nowMs);
    return false;
  }
  const s = core.members.get(l.node);
  if (s === undefined) return recordIntent(core, nowMs, l.node, "leave", l.ltime);
  if (l.ltime <= s.statusLTime) return false;
  switch (s.member.status) {
    case "alive":
      s.member.status = "leaving";
      s.statusLTime = l.ltime;
      if (l.prune) prune(core, s);
      return true;
    case "failed":
      s.member.status = "left";
      s.statusLTime = l.ltime;
      emit(core, "member-leave", s);
      if (l.prune) prune(core, s);
      return true;
    case "leaving":
    case "left":
      if (l.prune && s.member.status === "left") prune(core, s);
      return false;
  }
}

function prune(core: SerfState, s: MemberState): void {
  if (s.member.status !== "left") return;
  core.members.delete(s.member.name);
  emit(core, "member-reap", s);
}

export function reap(core: SerfState, nowMs: number): void {
  for (const s of [...core.members.values()]) {
    if (s.member.name === core.config.name) continue;
    const limit = s.member.status === "failed" ? core.config.reconnectTimeoutMs
      : s.member.status === "left" ? core.config.tombstoneTimeoutMs : -1;
    if (limit < 0 || nowMs - s.leaveTimeMs <= limit) continue;
    core.members.delete(s.member.name);
    core.log("info", `EventMemberReap: ${s.member.name}`);
    emit(core, "member-reap", s);
  }
}

export function reconnect(core: SerfState): void {
  const failed = [...core.members.values()].filter((s) => s.member.status === "failed");
  if (failed.length === 0) return;
  const alive = core.members.size - failed.length - [...core.members.values()].filter((s) => s.member.status === "left").length;
  const prob = alive <= 0 ? 1 : failed.length / alive;
  if (core.rng() > prob) return;
  const pick = failed[Math.floor(core.rng() * failed.length)]!;
  core.effects.push({ kind: "reconnect", node: pick.member.name, to: { addr: pick.addr, port: pick.member.port } });
}
