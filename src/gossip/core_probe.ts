/**
 * gossip/core_probe: the SWIM core's failure detector (memberlist probe/probeNode):
 * round-robin probing over a shuffled node list (dead nodes reaped on each wrap), the
 * direct ping (with the buddy-system suspect for a suspect node), indirect pings through
 * k peers with Lifeguard nacks, the TCP fallback ping, and the end of a probe: awareness
 * update, suspicion of a silent node, the next probe if one was due meanwhile.
 *
 * Must never: probe this node or a dead or left one, run two probes at once, or probe
 * after this node left.
 */

import type { IndirectPing, Ping, Suspect } from "./wire.ts";
import { encodeMessage } from "./wire.ts";
import { kRandomNodes, sendMsg } from "./core_gossip.ts";
import { suspectNode } from "./core_members.ts";
import type { ProbeState, SwimState } from "./core_state.ts";
import type { Member } from "./core_types.ts";

/** Round-robin over the node list, reshuffled (and dead nodes reaped) on each wrap. */
export function startProbe(s: SwimState, nowMs: number): void {
  if (s.left) return;
  let checked = 0;
  for (;;) {
    if (checked >= s.nodes.length) return;
    if (s.probeIndex >= s.nodes.length) {
      resetNodes(s, nowMs);
      s.probeIndex = 0;
      checked++;
      continue;
    }
    const node = s.nodes[s.probeIndex]!;
    s.probeIndex++;
    if (node.name === s.name || node.state === "dead" || node.state === "left") {
      checked++;
      continue;
    }
    probeNode(s, nowMs, node);
    return;
  }
}

function resetNodes(s: SwimState, nowMs: number): void {
  const keep: Member[] = [];
  for (const n of s.nodes) {
    const reap = (n.state === "dead" || n.state === "left") &&
      nowMs - n.stateChangeMs > s.config.gossipToTheDeadTimeMs;
    if (reap) s.nodeMap.delete(n.name);
    else keep.push(n);
  }
  for (let i = keep.length - 1; i > 0; i--) {
    const j = Math.floor(s.deps.rng() * (i + 1));
    const t = keep[i]!;
    keep[i] = keep[j]!;
    keep[j] = t;
  }
  s.nodes = keep;
}

function probeNode(s: SwimState, nowMs: number, node: Member): void {
  const interval = s.awareness.scaleTimeout(s.config.probeIntervalMs);
  const me = s.nodeMap.get(s.name);
  const seqNo = s.nextSeq();
  const ping: Ping = { type: "ping", seqNo, node: node.name };
  if (me) (ping.sourceAddr = me.addr, ping.sourcePort = me.port, ping.sourceNode = s.name);
  s.probe = {
    node: node.name, seqNo, startMs: nowMs, directDeadlineMs: nowMs + s.config.probeTimeoutMs,
    endMs: nowMs + interval, phase: "direct", expectedNacks: 0, nacks: 0, tcpOk: false,
  };
  s.acks.set(seqNo, { kind: "probe", seqNo });
  const to = { addr: node.addr, port: node.port };
  if (node.state === "alive") {
    sendMsg(s, to, ping);
  } else {
    // Buddy system: tell a suspect node it is suspected so it can refute at once.
    const sus: Suspect = { type: "suspect", incarnation: node.incarnation, node: node.name, from: s.name };
    s.effects.push({ kind: "packet", to, parts: [encodeMessage(ping), encodeMessage(sus)], crc: (node.vsn[1] ?? 0) >= 5 });
  }
}

export function advanceProbe(s: SwimState, nowMs: number): void {
  const p = s.probe;
  if (p === null) return;
  if (p.phase === "direct" && nowMs >= p.directDeadlineMs) indirectProbe(s, nowMs, p);
  if (nowMs >= p.endMs) {
    if (p.tcpOk) {
      s.log("warn", `was able to connect to ${p.node} over TCP but UDP probes failed, network may be misconfigured`);
      finishProbe(s, nowMs, -1);
      return;
    }
    const delta = p.expectedNacks > 0 ? Math.max(0, p.expectedNacks - p.nacks) : 1;
    finishProbe(s, nowMs, delta);
    const node = s.nodeMap.get(p.node);
    if (node) {
      s.log("info", `suspect ${p.node} has failed, no acks received`);
      suspectNode(s, nowMs, { type: "suspect", incarnation: node.incarnation, node: node.name, from: s.name });
    }
  }
}

function indirectProbe(s: SwimState, nowMs: number, p: ProbeState): void {
  p.phase = "indirect";
  const node = s.nodeMap.get(p.node);
  if (node === undefined) return;
  const me = s.nodeMap.get(s.name);
  const peers = kRandomNodes(s, s.config.indirectChecks, (n) =>
    n.name === s.name || n.name === p.node || n.state !== "alive");
  for (const peer of peers) {
    const nack = (peer.vsn[1] ?? 0) >= 4;
    if (nack) p.expectedNacks++;
    const ind: IndirectPing = { type: "indirectPing", seqNo: p.seqNo, target: node.addr, port: node.port, node: node.name, nack };
    if (me) (ind.sourceAddr = me.addr, ind.sourcePort = me.port, ind.sourceNode = s.name);
    sendMsg(s, { addr: peer.addr, port: peer.port }, ind);
  }
  if (!s.config.disableTcpPings && (node.vsn[1] ?? 0) >= 3) {
    const ping: Ping = { type: "ping", seqNo: p.seqNo, node: node.name };
    if (me) (ping.sourceAddr = me.addr, ping.sourcePort = me.port, ping.sourceNode = s.name);
    s.effects.push({ kind: "tcp-ping", to: { addr: node.addr, port: node.port }, ping, deadlineMs: p.endMs });
  }
  void nowMs;
}

export function finishProbe(s: SwimState, nowMs: number, awarenessDelta: number): void {
  const p = s.probe;
  if (p === null) return;
  s.acks.delete(p.seqNo);
  s.awareness.applyDelta(awarenessDelta);
  s.probe = null;
  if (s.probePending) {
    s.probePending = false;
    startProbe(s, nowMs);
  }
}
