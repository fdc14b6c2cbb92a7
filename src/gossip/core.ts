/**
 * gossip/core: SWIM with Lifeguard as a pure, tick-driven state machine, following
 * memberlist's rules (state.go): round-robin probing with indirect pings, nacks and a
 * TCP fallback; suspicion with shrinking timeouts; incarnations and refutation;
 * piggybacked broadcasts with a retransmit limit; push/pull anti-entropy; graceful
 * leave; dead-node reclaim. Inputs are calls with the current time (ms); outputs are
 * effects (packets to send, streams to open, member events) the driver carries out.
 *
 * Layout: SwimCore (this file) is the public face: inputs and views. Its state is a
 * SwimState (core_state.ts); the rest are functions over it: core_members.ts (alive,
 * suspect and dead transitions, refutation, suspicion expiry, push/pull merge),
 * core_probe.ts (the probe cycle), core_messages.ts (received UDP messages, forwarded
 * pings), core_gossip.ts (random peers, gossip rounds, random push/pull, sendMsg). The
 * shared shapes live in core_types.ts.
 *
 * Must never: touch sockets, timers, the clock or Math.random (time comes in as
 * arguments, randomness through deps.rng), or throw on bad peer input (it is ignored).
 */

import { assert } from "../shared/errors.ts";
import { pushPullScaleMs, validateConfig } from "./config.ts";
import type { GossipConfig } from "./config.ts";
import type { NodeStateName, PushNodeState } from "./packet.ts";
import { encodeMessage } from "./wire.ts";
import type { Ack, Alive, Message, Ping } from "./wire.ts";
import { gossip, pushPullRandom } from "./core_gossip.ts";
import { aliveNode, checkSuspicions, deadNode, mergeState, verifyProtocol } from "./core_members.ts";
import { checkAcks, handleMessage } from "./core_messages.ts";
import { advanceProbe, startProbe } from "./core_probe.ts";
import { SwimState } from "./core_state.ts";
import type { Address, CoreDeps, Effect, LocalNode, Member } from "./core_types.ts";

export class SwimCore {
  readonly config: GossipConfig;
  readonly name: string;
  readonly #s: SwimState;

  constructor(config: GossipConfig, local: LocalNode, deps: CoreDeps, nowMs: number) {
    validateConfig(config);
    this.config = config;
    this.name = local.name;
    const s = new SwimState(config, local.name, deps, nowMs);
    this.#s = s;
    s.incarnation = 1;
    aliveNode(s, nowMs, s.selfAlive(local.addr, local.port, local.meta ?? null), true);
    s.effects = s.effects.filter((e) => e.kind === "member");
  }

  // ------------------------------------------------------------ queries

  /** Members that are alive or suspect (memberlist Members()). */
  members(): Member[] {
    return this.#s.nodes.filter((n) => n.state === "alive" || n.state === "suspect").map((n) => ({ ...n }));
  }

  /** Every node still in the table, with its state. */
  allNodes(): Member[] {
    return this.#s.nodes.map((n) => ({ ...n }));
  }

  member(name: string): Member | undefined {
    const n = this.#s.nodeMap.get(name);
    return n ? { ...n } : undefined;
  }

  /** How many nodes of the table are in the given state. */
  count(state: NodeStateName): number {
    let c = 0;
    for (const n of this.#s.nodes) if (n.state === state) c++;
    return c;
  }

  numNodes(): number {
    return this.#s.nodes.length;
  }

  healthScore(): number {
    return this.#s.awareness.score();
  }

  pendingBroadcasts(): number {
    return this.#s.queue.length;
  }

  hasLeft(): boolean {
    return this.#s.left;
  }

  /** Our state for a push/pull (all nodes, including suspect, dead and left). */
  localState(): PushNodeState[] {
    return this.#s.localState();
  }

  // ------------------------------------------------------------ inputs

  /** Start joining: one push/pull (join=true) per address. */
  join(addrs: readonly Address[]): Effect[] {
    const s = this.#s;
    for (const to of addrs) s.effects.push({ kind: "push-pull", to, join: true, nodes: s.localState() });
    return s.drain();
  }

  /** Advance time: probes, indirect probes, suspicion timeouts, gossip, push/pull. */
  tick(nowMs: number): Effect[] {
    const s = this.#s;
    checkSuspicions(s, nowMs);
    checkAcks(s, nowMs);
    advanceProbe(s, nowMs);
    if (nowMs >= s.nextProbeMs) {
      while (s.nextProbeMs <= nowMs) s.nextProbeMs += this.config.probeIntervalMs;
      if (s.probe === null) startProbe(s, nowMs);
      else s.probePending = true;
    }
    if (nowMs >= s.nextGossipMs) {
      while (s.nextGossipMs <= nowMs) s.nextGossipMs += this.config.gossipIntervalMs;
      gossip(s, nowMs);
    }
    if (this.config.pushPullIntervalMs > 0 && nowMs >= s.nextPushPullMs) {
      s.nextPushPullMs = nowMs + pushPullScaleMs(this.config.pushPullIntervalMs, s.nodes.length);
      pushPullRandom(s);
    }
    return s.drain();
  }

  /** The messages of one received UDP packet (compound, compress and CRC already undone). */
  handlePacket(nowMs: number, from: Address, msgs: readonly Message[]): Effect[] {
    for (const m of msgs) handleMessage(this.#s, nowMs, from, m);
    return this.#s.drain();
  }

  /** Merge a remote push/pull state (the reply to our push/pull, or an inbound one). */
  mergeRemoteState(nowMs: number, nodes: readonly PushNodeState[]): Effect[] {
    const s = this.#s;
    if (!verifyProtocol(s, nodes)) {
      s.log("warn", "push/pull rejected: incompatible protocol versions");
      return s.drain();
    }
    mergeState(s, nowMs, nodes);
    return s.drain();
  }

  /**
   * Adopt a known member list without gossiping it (no broadcasts are queued): for
   * simulations that start from a converged cluster, and for tests.
   */
  seedState(nowMs: number, nodes: readonly PushNodeState[]): Effect[] {
    const s = this.#s;
    mergeState(s, nowMs, nodes);
    s.queue.reset();
    return s.drain();
  }

  /** The answer to a TCP ping (null when it was meant for another node name). */
  answerStreamPing(ping: Ping): Ack | null {
    if (ping.node !== "" && ping.node !== this.name) return null;
    return { type: "ack", seqNo: ping.seqNo, payload: this.#s.deps.ackPayload?.() ?? null };
  }

  /** Outcome of a tcp-ping effect. */
  tcpPingResult(_nowMs: number, seqNo: number, ok: boolean): Effect[] {
    const p = this.#s.probe;
    if (p && p.seqNo === seqNo && ok) p.tcpOk = true;
    return this.#s.drain();
  }

  /** Queue a user broadcast (serf messages), piggybacked like memberlist's delegate broadcasts. */
  queueUserBroadcast(payload: Uint8Array, name: string | null = null): void {
    this.#s.queue.queue({ name, msg: encodeMessage({ type: "user", payload }) });
  }

  /** New meta for this node: bump the incarnation and announce it. */
  updateMeta(nowMs: number, meta: Uint8Array | null): Effect[] {
    const s = this.#s;
    const me = s.nodeMap.get(this.name);
    assert(me, "local node is in the table");
    s.incarnation++;
    const a: Alive = { ...s.selfAlive(me.addr, me.port, meta), incarnation: s.incarnation };
    aliveNode(s, nowMs, a, true);
    return s.drain();
  }

  /** Graceful leave: broadcast a dead message about ourselves with From == our name. */
  leave(nowMs: number): Effect[] {
    const s = this.#s;
    if (s.left) return [];
    s.left = true;
    const me = s.nodeMap.get(this.name);
    assert(me, "local node is in the table");
    deadNode(s, nowMs, { type: "dead", incarnation: me.incarnation, node: me.name, from: me.name });
    return s.drain();
  }
}
