/**
 * gossip/core_messages: what the SWIM core does with each received UDP message: answer
 * pings, forward indirect pings (and nack them when the target stays silent), match acks
 * and nacks to the probe in flight, hand alive/suspect/dead to the state transitions and
 * user messages to serf.
 *
 * Must never: answer a ping meant for another node name, keep more than
 * GOSSIP_MAX_PENDING_ACKS forwarded pings waiting, or throw on bad peer input.
 */

import { GOSSIP_MAX_PENDING_ACKS } from "../shared/limits.ts";
import type { Ack, IndirectPing, Message, Ping } from "./wire.ts";
import { sendMsg } from "./core_gossip.ts";
import { aliveNode, deadNode, suspectNode } from "./core_members.ts";
import { finishProbe } from "./core_probe.ts";
import type { SwimState } from "./core_state.ts";
import type { Address } from "./core_types.ts";

export function handleMessage(s: SwimState, nowMs: number, from: Address, m: Message): void {
  switch (m.type) {
    case "ping": return handlePing(s, from, m);
    case "indirectPing": return handleIndirectPing(s, nowMs, from, m);
    case "ack": return handleAck(s, nowMs, m);
    case "nack": {
      const h = s.acks.get(m.seqNo);
      if (h?.kind === "probe" && s.probe?.seqNo === m.seqNo) s.probe.nacks++;
      return;
    }
    case "suspect": return suspectNode(s, nowMs, m);
    case "alive": return aliveNode(s, nowMs, m, false);
    case "dead": return deadNode(s, nowMs, m);
    case "user": s.effects.push({ kind: "user", payload: m.payload }); return;
    case "err": s.log("warn", `error message from peer: ${m.error}`); return;
  }
}

function replyAddress(from: Address, m: Ping | IndirectPing): Address {
  return m.sourceAddr !== undefined && m.sourcePort !== undefined ? { addr: m.sourceAddr, port: m.sourcePort } : from;
}

function handlePing(s: SwimState, from: Address, p: Ping): void {
  if (p.node !== "" && p.node !== s.name) {
    s.log("warn", `got ping for unexpected node '${p.node}'`);
    return;
  }
  const ack: Ack = { type: "ack", seqNo: p.seqNo, payload: s.deps.ackPayload?.() ?? null };
  sendMsg(s, replyAddress(from, p), ack);
}

function handleIndirectPing(s: SwimState, nowMs: number, from: Address, ind: IndirectPing): void {
  if (s.acks.size >= GOSSIP_MAX_PENDING_ACKS) return;
  const seqNo = s.nextSeq();
  const me = s.nodeMap.get(s.name);
  const ping: Ping = { type: "ping", seqNo, node: ind.node };
  if (me) (ping.sourceAddr = me.addr, ping.sourcePort = me.port, ping.sourceNode = s.name);
  s.acks.set(seqNo, {
    kind: "forward", seqNo, requester: replyAddress(from, ind), origSeq: ind.seqNo, nack: ind.nack,
    deadlineMs: nowMs + s.config.probeTimeoutMs,
  });
  sendMsg(s, { addr: ind.target, port: ind.port }, ping);
}

function handleAck(s: SwimState, nowMs: number, ack: Ack): void {
  const h = s.acks.get(ack.seqNo);
  if (h === undefined) return;
  s.acks.delete(ack.seqNo);
  if (h.kind === "forward") {
    sendMsg(s, h.requester, { type: "ack", seqNo: h.origSeq, payload: null });
    return;
  }
  const p = s.probe;
  if (p === null || p.seqNo !== ack.seqNo) return;
  if (p.phase === "direct") {
    s.effects.push({ kind: "ping-complete", node: p.node, rttMs: nowMs - p.startMs, payload: ack.payload });
  }
  finishProbe(s, nowMs, -1);
}

export function checkAcks(s: SwimState, nowMs: number): void {
  for (const [seq, h] of s.acks) {
    if (h.kind !== "forward" || nowMs < h.deadlineMs) continue;
    s.acks.delete(seq);
    if (h.nack) sendMsg(s, h.requester, { type: "nack", seqNo: h.origSeq });
  }
}
