/**
 * gossip/core_gossip: how the SWIM core talks: picking k random peers (memberlist
 * kRandomNodes), the UDP byte budget left after compound header, label and encryption,
 * the gossip round (queued broadcasts to random live or recently dead peers), the random
 * push/pull, and sendMsg (one message plus whatever broadcasts still fit).
 *
 * Must never: put more into one packet than packetBudget allows, gossip to a node dead for
 * longer than gossipToTheDeadTimeMs, or push/pull with a node that is not alive.
 */

import { encryptOverhead, ENCRYPTION_VERSION } from "./crypto.ts";
import { utf8 } from "./msgpack.ts";
import { COMPOUND_HEADER_OVERHEAD, COMPOUND_PART_OVERHEAD, encodeMessage } from "./wire.ts";
import type { Message } from "./wire.ts";
import type { SwimState } from "./core_state.ts";
import type { Address, Member } from "./core_types.ts";
import { ipText } from "./ip_text.ts";


/** Up to k distinct random nodes not excluded, probing at most 3n random slots (memberlist kRandomNodes). */
export function kRandomNodes(s: SwimState, k: number, exclude: (n: Member) => boolean): Member[] {
  const n = s.nodes.length;
  const out: Member[] = [];
  for (let i = 0; i < 3 * n && out.length < k; i++) {
    const node = s.nodes[Math.floor(s.deps.rng() * n)]!;
    if (exclude(node) || out.includes(node)) continue;
    out.push(node);
  }
  return out;
}

function packetBudget(s: SwimState): number {
  const c = s.config;
  const labelLen = utf8(c.label).length;
  const labelOverhead = labelLen > 0 ? 2 + labelLen : 0;
  let avail = c.udpBufferSize - COMPOUND_HEADER_OVERHEAD - labelOverhead;
  if (c.encryptionEnabled) avail -= encryptOverhead(ENCRYPTION_VERSION);
  return avail;
}

export function gossip(s: SwimState, nowMs: number): void {
  const peers = kRandomNodes(s, s.config.gossipNodes, (n) => {
    if (n.name === s.name) return true;
    if (n.state === "alive" || n.state === "suspect") return false;
    if (n.state === "dead") return nowMs - n.stateChangeMs > s.config.gossipToTheDeadTimeMs;
    return true;
  });
  for (const peer of peers) {
    const msgs = s.queue.getBroadcasts(COMPOUND_PART_OVERHEAD, packetBudget(s), s.nodes.length);
    if (msgs.length === 0) return;
    s.effects.push({ kind: "packet", to: { addr: peer.addr, port: peer.port }, parts: msgs, crc: (peer.vsn[1] ?? 0) >= 5 });
  }
}

export function pushPullRandom(s: SwimState): void {
  const [peer] = kRandomNodes(s, 1, (n) => n.name === s.name || n.state !== "alive");
  if (peer === undefined) return;
  s.effects.push({ kind: "push-pull", to: { addr: peer.addr, port: peer.port }, join: false, nodes: s.localState() });
}

/** memberlist sendMsg: one message plus whatever broadcasts fit. CRC only if the
 *  destination is found by its IP string (memberlist's lookup quirk). */
export function sendMsg(s: SwimState, to: Address, m: Message): void {
  const msg = encodeMessage(m);
  const avail = packetBudget(s) - msg.length;
  const extra = s.queue.getBroadcasts(COMPOUND_PART_OVERHEAD, avail, s.nodes.length);
  const byIp = s.nodeMap.get(ipText(to.addr));
  const crc = byIp !== undefined && (byIp.vsn[1] ?? 0) >= 5;
  s.effects.push({ kind: "packet", to, parts: [msg, ...extra], crc });
}
