/**
 * gossip/core_members: the SWIM core's node state transitions (memberlist state.go
 * aliveNode/suspectNode/deadNode): accepting alive, suspect and dead messages by
 * incarnation, refuting accusations about this node, Lifeguard suspicion timers and
 * their expiry, merging a push/pull state and the protocol version check that guards it.
 *
 * Must never: accept an older incarnation over a newer one, let another node's message
 * mark this node suspect or dead without a refutation (but after our own leave), grow the
 * table past GOSSIP_MAX_MEMBERS, or throw on bad peer input.
 */

import { GOSSIP_MAX_MEMBERS } from "../shared/limits.ts";
import { suspicionTimeoutMs } from "./config.ts";
import type { NodeStateName, PushNodeState } from "./packet.ts";
import { Suspicion } from "./suspicion.ts";
import type { Alive, Dead, Suspect } from "./wire.ts";
import type { SwimState } from "./core_state.ts";
import type { Member } from "./core_types.ts";

function sameBytes(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === null || b === null) return (a === null || a.length === 0) && (b === null || b.length === 0);
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function mergeState(s: SwimState, nowMs: number, nodes: readonly PushNodeState[]): void {
  for (const r of nodes) {
    switch (r.state) {
      case "alive":
        aliveNode(s, nowMs, {
          type: "alive", incarnation: r.incarnation, node: r.name, addr: r.addr, port: r.port, meta: r.meta, vsn: r.vsn,
        }, false);
        break;
      case "left":
        deadNode(s, nowMs, { type: "dead", incarnation: r.incarnation, node: r.name, from: r.name });
        break;
      case "dead": // memberlist prefers to suspect a node another member believes dead
      case "suspect":
        suspectNode(s, nowMs, { type: "suspect", incarnation: r.incarnation, node: r.name, from: s.name });
        break;
    }
  }
}

export function aliveNode(s: SwimState, nowMs: number, a: Alive, bootstrap: boolean): void {
  if (s.left && a.node === s.name) return;
  if (a.node !== s.name && s.deps.rejectAlive !== undefined) {
    const why = s.deps.rejectAlive(a.node, a.meta);
    if (why !== null) {
      s.log("warn", `ignoring alive message for '${a.node}': ${why}`);
      return;
    }
  }
  const vsn = a.vsn;
  if (vsn !== null && vsn.length >= 3) {
    const pmin = vsn[0] ?? 0;
    const pmax = vsn[1] ?? 0;
    if (pmin === 0 || pmax === 0 || pmin > pmax) return;
  }
  let state = s.nodeMap.get(a.node);
  let updatesNode = false;
  if (state === undefined) {
    if (s.nodes.length >= GOSSIP_MAX_MEMBERS) return;
    state = {
      name: a.node, addr: a.addr, port: a.port, meta: a.meta,
      vsn: vsn !== null && vsn.length >= 6 ? vsn.slice(0, 6) : new Uint8Array(6),
      incarnation: 0, state: "dead", stateChangeMs: nowMs,
    };
    s.nodeMap.set(a.node, state);
    // Insert at a random position so new nodes are probed in random order.
    const n = s.nodes.length;
    const offset = Math.floor(s.deps.rng() * (n + 1));
    s.nodes.push(state);
    const moved = s.nodes[offset]!;
    s.nodes[offset] = state;
    s.nodes[n] = moved;
  } else if (!sameBytes(state.addr, a.addr) || state.port !== a.port) {
    const canReclaim = s.config.deadNodeReclaimTimeMs > 0 &&
      nowMs - state.stateChangeMs > s.config.deadNodeReclaimTimeMs;
    if (state.state === "left" || (state.state === "dead" && canReclaim)) {
      updatesNode = true;
    } else {
      s.effects.push({ kind: "conflict", existing: { ...state }, other: { addr: a.addr, port: a.port } });
      return;
    }
  }
  const isLocal = state.name === s.name;
  if (a.incarnation <= state.incarnation && !isLocal && !updatesNode) return;
  if (a.incarnation < state.incarnation && isLocal) return;
  s.suspicions.delete(a.node);
  const oldState = state.state;
  const oldMeta = state.meta;
  if (!bootstrap && isLocal) {
    if (a.incarnation === state.incarnation && sameBytes(a.meta, state.meta) && vsn !== null && sameBytes(vsn, state.vsn)) return;
    refute(s, state, a.incarnation);
  } else {
    s.broadcast(a.node, a);
    if (vsn !== null && vsn.length >= 6) state.vsn = vsn.slice(0, 6);
    state.incarnation = a.incarnation;
    state.meta = a.meta;
    state.addr = a.addr;
    state.port = a.port;
    if (state.state !== "alive") {
      stateChange(s, state, "alive", nowMs);
    }
  }
  if (oldState === "dead" || oldState === "left") s.effects.push({ kind: "member", event: "join", member: { ...state } });
  else if (!sameBytes(oldMeta, state.meta)) s.effects.push({ kind: "member", event: "update", member: { ...state } });
}

export function suspectNode(s: SwimState, nowMs: number, m: Suspect): void {
  const state = s.nodeMap.get(m.node);
  if (state === undefined) return;
  if (m.incarnation < state.incarnation) return;
  const timer = s.suspicions.get(m.node);
  if (timer !== undefined) {
    if (timer.confirm(m.from, nowMs)) s.broadcast(m.node, m);
    return;
  }
  if (state.state !== "alive") return;
  if (state.name === s.name) {
    refute(s, state, m.incarnation);
    s.log("warn", `refuting a suspect message (from: ${m.from})`);
    return;
  }
  s.broadcast(m.node, m);
  state.incarnation = m.incarnation;
  stateChange(s, state, "suspect", nowMs);
  // Lifeguard: expect k = SuspicionMult - 2 independent confirmations, unless the
  // cluster is too small to provide them.
  const n = s.nodes.length;
  let k = s.config.suspicionMult - 2;
  if (n - 2 < k) k = 0;
  const min = suspicionTimeoutMs(s.config.suspicionMult, n, s.config.probeIntervalMs);
  const max = s.config.suspicionMaxTimeoutMult * min;
  s.suspicions.set(m.node, new Suspicion(m.from, k, min, max, nowMs));
}

export function deadNode(s: SwimState, nowMs: number, d: Dead): void {
  const state = s.nodeMap.get(d.node);
  if (state === undefined) return;
  if (d.incarnation < state.incarnation) return;
  s.suspicions.delete(d.node);
  if (state.state === "dead" || state.state === "left") return;
  if (state.name === s.name) {
    if (!s.left) {
      refute(s, state, d.incarnation);
      s.log("warn", `refuting a dead message (from: ${d.from})`);
      return;
    }
  }
  s.broadcast(d.node, d);
  state.incarnation = d.incarnation;
  stateChange(s, state, d.node === d.from ? "left" : "dead", nowMs);
  s.effects.push({ kind: "member", event: "leave", member: { ...state } });
}

function stateChange(s: SwimState, n: Member, to: NodeStateName, nowMs: number): void {
  const from = n.state;
  n.state = to;
  n.stateChangeMs = nowMs;
  s.effects.push({ kind: "state", node: n.name, from, to, incarnation: n.incarnation });
}

function refute(s: SwimState, me: Member, accused: number): void {
  let inc = ++s.incarnation;
  if (accused >= inc) {
    s.incarnation += accused - inc + 1;
    inc = s.incarnation;
  }
  me.incarnation = inc;
  s.awareness.applyDelta(1);
  s.broadcast(me.name, { ...s.selfAlive(me.addr, me.port, me.meta), incarnation: inc });
}

export function checkSuspicions(s: SwimState, nowMs: number): void {
  for (const [name, t] of s.suspicions) {
    if (nowMs < t.deadlineMs()) continue;
    s.suspicions.delete(name);
    const state = s.nodeMap.get(name);
    if (state === undefined || state.state !== "suspect") continue;
    s.log("info", `marking ${name} as failed, suspect timeout reached (${t.confirmations()} peer confirmations)`);
    deadNode(s, nowMs, { type: "dead", incarnation: state.incarnation, node: name, from: s.name });
  }
}

export function verifyProtocol(s: SwimState, remote: readonly PushNodeState[]): boolean {
  let maxPMin = 0;
  let minPMax = 255;
  let maxDMin = 0;
  let minDMax = 255;
  const cur: [number, number][] = [];
  const visit = (vsn: Uint8Array | null, state: NodeStateName): void => {
    if (vsn === null || vsn.length < 6 || state !== "alive") return;
    maxPMin = Math.max(maxPMin, vsn[0] ?? 0);
    minPMax = Math.min(minPMax, vsn[1] ?? 0);
    maxDMin = Math.max(maxDMin, vsn[3] ?? 0);
    minDMax = Math.min(minDMax, vsn[4] ?? 0);
    cur.push([vsn[2] ?? 0, vsn[5] ?? 0]);
  };
  for (const n of s.nodes) visit(n.vsn, n.state);
  for (const r of remote) visit(r.vsn, r.state);
  return cur.every(([p, d]) => p >= maxPMin && p <= minPMax && d >= maxDMin && d <= minDMax);
}
