/**
 * gossip/core_state: the SWIM core's state (the node table, the probe in flight, pending
 * acks, suspicion timers, the periodic task clocks, our incarnation, the broadcast queue
 * and the effects gathered for the next drain) and the small steps every part of the
 * core shares: logging, draining effects, queueing a broadcast, this node's alive
 * message, sequence numbers, the push/pull view of the table. The other core_* modules
 * are functions over this object; SwimCore (core.ts) owns it and is the only public face.
 *
 * Must never: be handed out of the core, read a clock or draw randomness other than
 * deps.rng, or do I/O.
 */

import { Awareness } from "./awareness.ts";
import type { GossipConfig } from "./config.ts";
import type { PushNodeState } from "./packet.ts";
import { BroadcastQueue } from "./queue.ts";
import type { Suspicion } from "./suspicion.ts";
import { encodeMessage } from "./wire.ts";
import type { Alive, Message } from "./wire.ts";
import type { Address, CoreDeps, Effect, Member } from "./core_types.ts";

export interface ProbeState {
  node: string;
  seqNo: number;
  startMs: number;
  directDeadlineMs: number;
  endMs: number;
  phase: "direct" | "indirect";
  expectedNacks: number;
  nacks: number;
  tcpOk: boolean;
}

export type AckHandler =
  | { kind: "probe"; seqNo: number }
  | { kind: "forward"; seqNo: number; requester: Address; origSeq: number; nack: boolean; deadlineMs: number };

export class SwimState {
  readonly config: GossipConfig;
  readonly name: string;
  readonly deps: CoreDeps;
  readonly awareness: Awareness;
  readonly queue: BroadcastQueue;
  readonly nodeMap = new Map<string, Member>();
  nodes: Member[] = [];
  probeIndex = 0;
  probe: ProbeState | null = null;
  probePending = false;
  nextProbeMs: number;
  nextGossipMs: number;
  nextPushPullMs: number;
  readonly acks = new Map<number, AckHandler>();
  readonly suspicions = new Map<string, Suspicion>();
  seqNo = 0;
  incarnation = 0;
  left = false;
  effects: Effect[] = [];

  constructor(config: GossipConfig, name: string, deps: CoreDeps, nowMs: number) {
    this.config = config;
    this.name = name;
    this.deps = deps;
    this.awareness = new Awareness(config.awarenessMaxMultiplier);
    this.queue = new BroadcastQueue(config.retransmitMult);
    // Stagger the periodic tasks as memberlist's triggerFunc does.
    this.nextProbeMs = nowMs + Math.floor(deps.rng() * config.probeIntervalMs);
    this.nextGossipMs = nowMs + Math.floor(deps.rng() * config.gossipIntervalMs);
    this.nextPushPullMs = nowMs + config.pushPullIntervalMs + Math.floor(deps.rng() * config.pushPullIntervalMs);
  }

  /** Our state for a push/pull (all nodes, including suspect, dead and left). */
  localState(): PushNodeState[] {
    return this.nodes.map((n) => ({
      name: n.name,
      addr: n.addr,
      port: n.port,
      meta: n.meta,
      incarnation: n.incarnation,
      state: n.state,
      vsn: n.vsn,
    }));
  }

  selfAlive(addr: Uint8Array, port: number, meta: Uint8Array | null): Alive {
    const c = this.config;
    return {
      type: "alive",
      incarnation: this.incarnation,
      node: this.name,
      addr,
      port,
      meta,
      vsn: Uint8Array.from([c.protocolMin, c.protocolMax, c.protocolVersion, c.delegateMin, c.delegateMax, c.delegateVersion]),
    };
  }

  broadcast(node: string, m: Message): void {
    this.queue.queue({ name: node, msg: encodeMessage(m) });
  }

  nextSeq(): number {
    this.seqNo = (this.seqNo + 1) >>> 0;
    return this.seqNo;
  }

  log(level: "debug" | "info" | "warn", message: string): void {
    this.effects.push({ kind: "log", level, message });
  }

  drain(): Effect[] {
    const out = this.effects;
    this.effects = [];
    return out;
  }
}
