/**
 * gossip/core: SWIM with Lifeguard as a pure, tick-driven state machine, following
 * memberlist's rules (state.go): round-robin probing with indirect pings, nacks and a
 * TCP fallback; suspicion with shrinking timeouts; incarnations and refutation;
 * piggybacked broadcasts with a retransmit limit; push/pull anti-entropy; graceful
 * leave; dead-node reclaim. Inputs are calls with the current time (ms); outputs are
 * effects (packets to send, streams to open, member events) the driver carries out.
 *
 * Must never: touch sockets, timers, the clock or Math.random (time comes in as
 * arguments, randomness through deps.rng), or throw on bad peer input (it is ignored).
 */

import { assert } from "../shared/errors.ts";
import { GOSSIP_MAX_MEMBERS, GOSSIP_MAX_PENDING_ACKS } from "../shared/limits.ts";
import { Awareness } from "./awareness.ts";
import { pushPullScaleMs, suspicionTimeoutMs, validateConfig } from "./config.ts";
import type { GossipConfig } from "./config.ts";
import { encryptOverhead, ENCRYPTION_VERSION } from "./crypto.ts";
import { utf8 } from "./msgpack.ts";
import type { NodeStateName, PushNodeState } from "./packet.ts";
import { BroadcastQueue } from "./queue.ts";
import { Suspicion } from "./suspicion.ts";
import { COMPOUND_HEADER_OVERHEAD, COMPOUND_PART_OVERHEAD, encodeMessage } from "./wire.ts";
import type { Ack, Alive, Dead, IndirectPing, Message, Ping, Suspect } from "./wire.ts";

/** A UDP/TCP endpoint: raw IP bytes (4 or 16) and port. */
export interface Address {
  addr: Uint8Array;
  port: number;
}

/** One member as the core knows it. */
export interface Member {
  name: string;
  addr: Uint8Array;
  port: number;
  meta: Uint8Array | null;
  /** [pmin, pmax, pcur, dmin, dmax, dcur] */
  vsn: Uint8Array;
  incarnation: number;
  state: NodeStateName;
  stateChangeMs: number;
}

export type Effect =
  /** Send one UDP payload: parts are encoded messages (more than one = compound). */
  | { kind: "packet"; to: Address; parts: Uint8Array[]; crc: boolean }
  /** Open a stream, send our state, read theirs, then call mergeRemoteState. */
  | { kind: "push-pull"; to: Address; join: boolean; nodes: PushNodeState[] }
  /** TCP fallback ping; report with tcpPingResult before deadlineMs. */
  | { kind: "tcp-ping"; to: Address; ping: Ping; deadlineMs: number }
  | { kind: "member"; event: "join" | "leave" | "update"; member: Member }
  /** Any change of a node's state (alive/suspect/dead/left), for observers and tests. */
  | { kind: "state"; node: string; from: NodeStateName; to: NodeStateName; incarnation: number }
  /** A user message arrived over UDP (serf's messages). */
  | { kind: "user"; payload: Uint8Array }
  /** A direct probe was answered: RTT and the ack payload (serf coordinates). */
  | { kind: "ping-complete"; node: string; rttMs: number; payload: Uint8Array | null }
  /** An alive message for a known name came from another address. */
  | { kind: "conflict"; existing: Member; other: Address }
  | { kind: "log"; level: "debug" | "info" | "warn"; message: string };

export interface CoreDeps {
  /** Uniform in [0, 1); seeded in tests and simulations. */
  rng: () => number;
  /** Payload attached to acks (serf: `[1]` + coordinate). */
  ackPayload?: () => Uint8Array | null;
  /**
   * memberlist's AliveDelegate (serf: the merge delegate on one member): a reason to ignore
   * an alive message about another node, or null to accept it. Absent: accept all.
   */
  rejectAlive?: (node: string, meta: Uint8Array | null) => string | null;
}

export interface LocalNode {
  name: string;
  addr: Uint8Array;
  port: number;
  meta?: Uint8Array | null;
}

interface ProbeState {
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

type AckHandler =
  | { kind: "probe"; seqNo: number }
  | { kind: "forward"; seqNo: number; requester: Address; origSeq: number; nack: boolean; deadlineMs: number };

function sameBytes(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === null || b === null) return (a === null || a.length === 0) && (b === null || b.length === 0);
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function ipString(a: Uint8Array): string {
  if (a.length === 4) return a.join(".");
  const parts: string[] = [];
  for (let i = 0; i + 1 < a.length; i += 2) parts.push((((a[i] ?? 0) << 8) | (a[i + 1] ?? 0)).toString(16));
  return parts.join(":");
}

export class SwimCore {
  readonly config: GossipConfig;
  readonly name: string;
  readonly #deps: CoreDeps;
  readonly #awareness: Awareness;
  readonly #queue: BroadcastQueue;
  readonly #nodeMap = new Map<string, Member>();
  #nodes: Member[] = [];
  #probeIndex = 0;
  #probe: ProbeState | null = null;
  #probePending = false;
  #nextProbeMs: number;
  #nextGossipMs: number;
  #nextPushPullMs: number;
  readonly #acks = new Map<number, AckHandler>();
  readonly #suspicions = new Map<string, Suspicion>();
  #seqNo = 0;
  #incarnation = 0;
  #left = false;
  #effects: Effect[] = [];

  constructor(config: GossipConfig, local: LocalNode, deps: CoreDeps, nowMs: number) {
    validateConfig(config);
    this.config = config;
    this.name = local.name;
    this.#deps = deps;
    this.#awareness = new Awareness(config.awarenessMaxMultiplier);
    this.#queue = new BroadcastQueue(config.retransmitMult);
    // Stagger the periodic tasks as memberlist's triggerFunc does.
    this.#nextProbeMs = nowMs + Math.floor(deps.rng() * config.probeIntervalMs);
    this.#nextGossipMs = nowMs + Math.floor(deps.rng() * config.gossipIntervalMs);
    this.#nextPushPullMs = nowMs + config.pushPullIntervalMs + Math.floor(deps.rng() * config.pushPullIntervalMs);
    this.#incarnation = 1;
    this.#aliveNode(nowMs, this.#selfAlive(local.addr, local.port, local.meta ?? null), true);
    this.#effects = this.#effects.filter((e) => e.kind === "member");
  }

  // ------------------------------------------------------------ queries

  /** Members that are alive or suspect (memberlist Members()). */
  members(): Member[] {
    return this.#nodes.filter((n) => n.state === "alive" || n.state === "suspect").map((n) => ({ ...n }));
  }

  /** Every node still in the table, with its state. */
  allNodes(): Member[] {
    return this.#nodes.map((n) => ({ ...n }));
  }

  member(name: string): Member | undefined {
    const n = this.#nodeMap.get(name);
    return n ? { ...n } : undefined;
  }

  /** How many nodes of the table are in the given state. */
  count(state: NodeStateName): number {
    let c = 0;
    for (const n of this.#nodes) if (n.state === state) c++;
    return c;
  }

  numNodes(): number {
    return this.#nodes.length;
  }

  healthScore(): number {
    return this.#awareness.score();
  }

  pendingBroadcasts(): number {
    return this.#queue.length;
  }

  hasLeft(): boolean {
    return this.#left;
  }

  /** Our state for a push/pull (all nodes, including suspect, dead and left). */
  localState(): PushNodeState[] {
    return this.#nodes.map((n) => ({
      name: n.name,
      addr: n.addr,
      port: n.port,
      meta: n.meta,
      incarnation: n.incarnation,
      state: n.state,
      vsn: n.vsn,
    }));
  }

  // ------------------------------------------------------------ inputs

  /** Start joining: one push/pull (join=true) per address. */
  join(addrs: readonly Address[]): Effect[] {
    for (const to of addrs) this.#effects.push({ kind: "push-pull", to, join: true, nodes: this.localState() });
    return this.#drain();
  }

  /** Advance time: probes, indirect probes, suspicion timeouts, gossip, push/pull. */
  tick(nowMs: number): Effect[] {
    this.#checkSuspicions(nowMs);
    this.#checkAcks(nowMs);
    this.#advanceProbe(nowMs);
    if (nowMs >= this.#nextProbeMs) {
      while (this.#nextProbeMs <= nowMs) this.#nextProbeMs += this.config.probeIntervalMs;
      if (this.#probe === null) this.#startProbe(nowMs);
      else this.#probePending = true;
    }
    if (nowMs >= this.#nextGossipMs) {
      while (this.#nextGossipMs <= nowMs) this.#nextGossipMs += this.config.gossipIntervalMs;
      this.#gossip(nowMs);
    }
    if (this.config.pushPullIntervalMs > 0 && nowMs >= this.#nextPushPullMs) {
      this.#nextPushPullMs = nowMs + pushPullScaleMs(this.config.pushPullIntervalMs, this.#nodes.length);
      this.#pushPullRandom();
    }
    return this.#drain();
  }

  /** The messages of one received UDP packet (compound, compress and CRC already undone). */
  handlePacket(nowMs: number, from: Address, msgs: readonly Message[]): Effect[] {
    for (const m of msgs) this.#handleMessage(nowMs, from, m);
    return this.#drain();
  }

  /** Merge a remote push/pull state (the reply to our push/pull, or an inbound one). */
  mergeRemoteState(nowMs: number, nodes: readonly PushNodeState[]): Effect[] {
    if (!this.#verifyProtocol(nodes)) {
      this.#log("warn", "push/pull rejected: incompatible protocol versions");
      return this.#drain();
    }
    this.#mergeState(nowMs, nodes);
    return this.#drain();
  }

  #mergeState(nowMs: number, nodes: readonly PushNodeState[]): void {
    for (const r of nodes) {
      switch (r.state) {
        case "alive":
          this.#aliveNode(nowMs, {
            type: "alive", incarnation: r.incarnation, node: r.name, addr: r.addr, port: r.port, meta: r.meta, vsn: r.vsn,
          }, false);
          break;
        case "left":
          this.#deadNode(nowMs, { type: "dead", incarnation: r.incarnation, node: r.name, from: r.name });
          break;
        case "dead": // memberlist prefers to suspect a node another member believes dead
        case "suspect":
          this.#suspectNode(nowMs, { type: "suspect", incarnation: r.incarnation, node: r.name, from: this.name });
          break;
      }
    }
  }

  /**
   * Adopt a known member list without gossiping it (no broadcasts are queued): for
   * simulations that start from a converged cluster, and for tests.
   */
  seedState(nowMs: number, nodes: readonly PushNodeState[]): Effect[] {
    this.#mergeState(nowMs, nodes);
    this.#queue.reset();
    return this.#drain();
  }

  /** The answer to a TCP ping (null when it was meant for another node name). */
  answerStreamPing(ping: Ping): Ack | null {
    if (ping.node !== "" && ping.node !== this.name) return null;
    return { type: "ack", seqNo: ping.seqNo, payload: this.#deps.ackPayload?.() ?? null };
  }

  /** Outcome of a tcp-ping effect. */
  tcpPingResult(_nowMs: number, seqNo: number, ok: boolean): Effect[] {
    const p = this.#probe;
    if (p && p.seqNo === seqNo && ok) p.tcpOk = true;
    return this.#drain();
  }

  /** Queue a user broadcast (serf messages), piggybacked like memberlist's delegate broadcasts. */
  queueUserBroadcast(payload: Uint8Array, name: string | null = null): void {
    this.#queue.queue({ name, msg: encodeMessage({ type: "user", payload }) });
  }

  /** New meta for this node: bump the incarnation and announce it. */
  updateMeta(nowMs: number, meta: Uint8Array | null): Effect[] {
    const me = this.#nodeMap.get(this.name);
    assert(me, "local node is in the table");
    this.#incarnation++;
    const a: Alive = { ...this.#selfAlive(me.addr, me.port, meta), incarnation: this.#incarnation };
    this.#aliveNode(nowMs, a, true);
    return this.#drain();
  }

  /** Graceful leave: broadcast a dead message about ourselves with From == our name. */
  leave(nowMs: number): Effect[] {
    if (this.#left) return [];
    this.#left = true;
    const me = this.#nodeMap.get(this.name);
    assert(me, "local node is in the table");
    this.#deadNode(nowMs, { type: "dead", incarnation: me.incarnation, node: me.name, from: me.name });
    return this.#drain();
  }

  // ------------------------------------------------------------ state transitions

  #selfAlive(addr: Uint8Array, port: number, meta: Uint8Array | null): Alive {
    const c = this.config;
    return {
      type: "alive",
      incarnation: this.#incarnation,
      node: this.name,
      addr,
      port,
      meta,
      vsn: Uint8Array.from([c.protocolMin, c.protocolMax, c.protocolVersion, c.delegateMin, c.delegateMax, c.delegateVersion]),
    };
  }

  #broadcast(node: string, m: Message): void {
    this.#queue.queue({ name: node, msg: encodeMessage(m) });
  }

  #aliveNode(nowMs: number, a: Alive, bootstrap: boolean): void {
    if (this.#left && a.node === this.name) return;
    if (a.node !== this.name && this.#deps.rejectAlive !== undefined) {
      const why = this.#deps.rejectAlive(a.node, a.meta);
      if (why !== null) {
        this.#log("warn", `ignoring alive message for '${a.node}': ${why}`);
        return;
      }
    }
    const vsn = a.vsn;
    if (vsn !== null && vsn.length >= 3) {
      const pmin = vsn[0] ?? 0;
      const pmax = vsn[1] ?? 0;
      if (pmin === 0 || pmax === 0 || pmin > pmax) return;
    }
    let state = this.#nodeMap.get(a.node);
    let updatesNode = false;
    if (state === undefined) {
      if (this.#nodes.length >= GOSSIP_MAX_MEMBERS) return;
      state = {
        name: a.node, addr: a.addr, port: a.port, meta: a.meta,
        vsn: vsn !== null && vsn.length >= 6 ? vsn.slice(0, 6) : new Uint8Array(6),
        incarnation: 0, state: "dead", stateChangeMs: nowMs,
      };
      this.#nodeMap.set(a.node, state);
      // Insert at a random position so new nodes are probed in random order.
      const n = this.#nodes.length;
      const offset = Math.floor(this.#deps.rng() * (n + 1));
      this.#nodes.push(state);
      const moved = this.#nodes[offset]!;
      this.#nodes[offset] = state;
      this.#nodes[n] = moved;
    } else if (!sameBytes(state.addr, a.addr) || state.port !== a.port) {
      const canReclaim = this.config.deadNodeReclaimTimeMs > 0 &&
        nowMs - state.stateChangeMs > this.config.deadNodeReclaimTimeMs;
      if (state.state === "left" || (state.state === "dead" && canReclaim)) {
        updatesNode = true;
      } else {
        this.#effects.push({ kind: "conflict", existing: { ...state }, other: { addr: a.addr, port: a.port } });
        return;
      }
    }
    const isLocal = state.name === this.name;
    if (a.incarnation <= state.incarnation && !isLocal && !updatesNode) return;
    if (a.incarnation < state.incarnation && isLocal) return;
    this.#suspicions.delete(a.node);
    const oldState = state.state;
    const oldMeta = state.meta;
    if (!bootstrap && isLocal) {
      if (a.incarnation === state.incarnation && sameBytes(a.meta, state.meta) && vsn !== null && sameBytes(vsn, state.vsn)) return;
      this.#refute(state, a.incarnation);
    } else {
      this.#broadcast(a.node, a);
      if (vsn !== null && vsn.length >= 6) state.vsn = vsn.slice(0, 6);
      state.incarnation = a.incarnation;
      state.meta = a.meta;
      state.addr = a.addr;
      state.port = a.port;
      if (state.state !== "alive") {
        this.#stateChange(state, "alive", nowMs);
      }
    }
    if (oldState === "dead" || oldState === "left") this.#effects.push({ kind: "member", event: "join", member: { ...state } });
    else if (!sameBytes(oldMeta, state.meta)) this.#effects.push({ kind: "member", event: "update", member: { ...state } });
  }

  #suspectNode(nowMs: number, s: Suspect): void {
    const state = this.#nodeMap.get(s.node);
    if (state === undefined) return;
    if (s.incarnation < state.incarnation) return;
    const timer = this.#suspicions.get(s.node);
    if (timer !== undefined) {
      if (timer.confirm(s.from, nowMs)) this.#broadcast(s.node, s);
      return;
    }
    if (state.state !== "alive") return;
    if (state.name === this.name) {
      this.#refute(state, s.incarnation);
      this.#log("warn", `refuting a suspect message (from: ${s.from})`);
      return;
    }
    this.#broadcast(s.node, s);
    state.incarnation = s.incarnation;
    this.#stateChange(state, "suspect", nowMs);
    // Lifeguard: expect k = SuspicionMult - 2 independent confirmations, unless the
    // cluster is too small to provide them.
    const n = this.#nodes.length;
    let k = this.config.suspicionMult - 2;
    if (n - 2 < k) k = 0;
    const min = suspicionTimeoutMs(this.config.suspicionMult, n, this.config.probeIntervalMs);
    const max = this.config.suspicionMaxTimeoutMult * min;
    this.#suspicions.set(s.node, new Suspicion(s.from, k, min, max, nowMs));
  }

  #deadNode(nowMs: number, d: Dead): void {
    const state = this.#nodeMap.get(d.node);
    if (state === undefined) return;
    if (d.incarnation < state.incarnation) return;
    this.#suspicions.delete(d.node);
    if (state.state === "dead" || state.state === "left") return;
    if (state.name === this.name) {
      if (!this.#left) {
        this.#refute(state, d.incarnation);
        this.#log("warn", `refuting a dead message (from: ${d.from})`);
        return;
      }
    }
    this.#broadcast(d.node, d);
    state.incarnation = d.incarnation;
    this.#stateChange(state, d.node === d.from ? "left" : "dead", nowMs);
    this.#effects.push({ kind: "member", event: "leave", member: { ...state } });
  }

  #stateChange(n: Member, to: NodeStateName, nowMs: number): void {
    const from = n.state;
    n.state = to;
    n.stateChangeMs = nowMs;
    this.#effects.push({ kind: "state", node: n.name, from, to, incarnation: n.incarnation });
  }

  #refute(me: Member, accused: number): void {
    let inc = ++this.#incarnation;
    if (accused >= inc) {
      this.#incarnation += accused - inc + 1;
      inc = this.#incarnation;
    }
    me.incarnation = inc;
    this.#awareness.applyDelta(1);
    this.#broadcast(me.name, { ...this.#selfAlive(me.addr, me.port, me.meta), incarnation: inc });
  }

  #checkSuspicions(nowMs: number): void {
    for (const [name, s] of this.#suspicions) {
      if (nowMs < s.deadlineMs()) continue;
      this.#suspicions.delete(name);
      const state = this.#nodeMap.get(name);
      if (state === undefined || state.state !== "suspect") continue;
      this.#log("info", `marking ${name} as failed, suspect timeout reached (${s.confirmations()} peer confirmations)`);
      this.#deadNode(nowMs, { type: "dead", incarnation: state.incarnation, node: name, from: this.name });
    }
  }

  #verifyProtocol(remote: readonly PushNodeState[]): boolean {
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
    for (const n of this.#nodes) visit(n.vsn, n.state);
    for (const r of remote) visit(r.vsn, r.state);
    return cur.every(([p, d]) => p >= maxPMin && p <= minPMax && d >= maxDMin && d <= minDMax);
  }

  // ------------------------------------------------------------ messages

  #handleMessage(nowMs: number, from: Address, m: Message): void {
    switch (m.type) {
      case "ping": return this.#handlePing(from, m);
      case "indirectPing": return this.#handleIndirectPing(nowMs, from, m);
      case "ack": return this.#handleAck(nowMs, m);
      case "nack": {
        const h = this.#acks.get(m.seqNo);
        if (h?.kind === "probe" && this.#probe?.seqNo === m.seqNo) this.#probe.nacks++;
        return;
      }
      case "suspect": return this.#suspectNode(nowMs, m);
      case "alive": return this.#aliveNode(nowMs, m, false);
      case "dead": return this.#deadNode(nowMs, m);
      case "user": this.#effects.push({ kind: "user", payload: m.payload }); return;
      case "err": this.#log("warn", `error message from peer: ${m.error}`); return;
    }
  }

  #replyAddress(from: Address, m: Ping | IndirectPing): Address {
    return m.sourceAddr !== undefined && m.sourcePort !== undefined ? { addr: m.sourceAddr, port: m.sourcePort } : from;
  }

  #handlePing(from: Address, p: Ping): void {
    if (p.node !== "" && p.node !== this.name) {
      this.#log("warn", `got ping for unexpected node '${p.node}'`);
      return;
    }
    const ack: Ack = { type: "ack", seqNo: p.seqNo, payload: this.#deps.ackPayload?.() ?? null };
    this.#sendMsg(this.#replyAddress(from, p), ack);
  }

  #handleIndirectPing(nowMs: number, from: Address, ind: IndirectPing): void {
    if (this.#acks.size >= GOSSIP_MAX_PENDING_ACKS) return;
    const seqNo = this.#nextSeq();
    const me = this.#nodeMap.get(this.name);
    const ping: Ping = { type: "ping", seqNo, node: ind.node };
    if (me) (ping.sourceAddr = me.addr, ping.sourcePort = me.port, ping.sourceNode = this.name);
    this.#acks.set(seqNo, {
      kind: "forward", seqNo, requester: this.#replyAddress(from, ind), origSeq: ind.seqNo, nack: ind.nack,
      deadlineMs: nowMs + this.config.probeTimeoutMs,
    });
    this.#sendMsg({ addr: ind.target, port: ind.port }, ping);
  }

  #handleAck(nowMs: number, ack: Ack): void {
    const h = this.#acks.get(ack.seqNo);
    if (h === undefined) return;
    this.#acks.delete(ack.seqNo);
    if (h.kind === "forward") {
      this.#sendMsg(h.requester, { type: "ack", seqNo: h.origSeq, payload: null });
      return;
    }
    const p = this.#probe;
    if (p === null || p.seqNo !== ack.seqNo) return;
    if (p.phase === "direct") {
      this.#effects.push({ kind: "ping-complete", node: p.node, rttMs: nowMs - p.startMs, payload: ack.payload });
    }
    this.#finishProbe(nowMs, -1);
  }

  #checkAcks(nowMs: number): void {
    for (const [seq, h] of this.#acks) {
      if (h.kind !== "forward" || nowMs < h.deadlineMs) continue;
      this.#acks.delete(seq);
      if (h.nack) this.#sendMsg(h.requester, { type: "nack", seqNo: h.origSeq });
    }
  }

  // ------------------------------------------------------------ probing

  #nextSeq(): number {
    this.#seqNo = (this.#seqNo + 1) >>> 0;
    return this.#seqNo;
  }

  /** Round-robin over the node list, reshuffled (and dead nodes reaped) on each wrap. */
  #startProbe(nowMs: number): void {
    if (this.#left) return;
    let checked = 0;
    for (;;) {
      if (checked >= this.#nodes.length) return;
      if (this.#probeIndex >= this.#nodes.length) {
        this.#resetNodes(nowMs);
        this.#probeIndex = 0;
        checked++;
        continue;
      }
      const node = this.#nodes[this.#probeIndex]!;
      this.#probeIndex++;
      if (node.name === this.name || node.state === "dead" || node.state === "left") {
        checked++;
        continue;
      }
      this.#probeNode(nowMs, node);
      return;
    }
  }

  #resetNodes(nowMs: number): void {
    const keep: Member[] = [];
    for (const n of this.#nodes) {
      const reap = (n.state === "dead" || n.state === "left") &&
        nowMs - n.stateChangeMs > this.config.gossipToTheDeadTimeMs;
      if (reap) this.#nodeMap.delete(n.name);
      else keep.push(n);
    }
    for (let i = keep.length - 1; i > 0; i--) {
      const j = Math.floor(this.#deps.rng() * (i + 1));
      const t = keep[i]!;
      keep[i] = keep[j]!;
      keep[j] = t;
    }
    this.#nodes = keep;
  }

  #probeNode(nowMs: number, node: Member): void {
    const interval = this.#awareness.scaleTimeout(this.config.probeIntervalMs);
    const me = this.#nodeMap.get(this.name);
    const seqNo = this.#nextSeq();
    const ping: Ping = { type: "ping", seqNo, node: node.name };
    if (me) (ping.sourceAddr = me.addr, ping.sourcePort = me.port, ping.sourceNode = this.name);
    this.#probe = {
      node: node.name, seqNo, startMs: nowMs, directDeadlineMs: nowMs + this.config.probeTimeoutMs,
      endMs: nowMs + interval, phase: "direct", expectedNacks: 0, nacks: 0, tcpOk: false,
    };
    this.#acks.set(seqNo, { kind: "probe", seqNo });
    const to = { addr: node.addr, port: node.port };
    if (node.state === "alive") {
      this.#sendMsg(to, ping);
    } else {
      // Buddy system: tell a suspect node it is suspected so it can refute at once.
      const s: Suspect = { type: "suspect", incarnation: node.incarnation, node: node.name, from: this.name };
      this.#effects.push({ kind: "packet", to, parts: [encodeMessage(ping), encodeMessage(s)], crc: (node.vsn[1] ?? 0) >= 5 });
    }
  }

  #advanceProbe(nowMs: number): void {
    const p = this.#probe;
    if (p === null) return;
    if (p.phase === "direct" && nowMs >= p.directDeadlineMs) this.#indirectProbe(nowMs, p);
    if (nowMs >= p.endMs) {
      if (p.tcpOk) {
        this.#log("warn", `was able to connect to ${p.node} over TCP but UDP probes failed, network may be misconfigured`);
        this.#finishProbe(nowMs, -1);
        return;
      }
      const delta = p.expectedNacks > 0 ? Math.max(0, p.expectedNacks - p.nacks) : 1;
      this.#finishProbe(nowMs, delta);
      const node = this.#nodeMap.get(p.node);
      if (node) {
        this.#log("info", `suspect ${p.node} has failed, no acks received`);
        this.#suspectNode(nowMs, { type: "suspect", incarnation: node.incarnation, node: node.name, from: this.name });
      }
    }
  }

  #indirectProbe(nowMs: number, p: ProbeState): void {
    p.phase = "indirect";
    const node = this.#nodeMap.get(p.node);
    if (node === undefined) return;
    const me = this.#nodeMap.get(this.name);
    const peers = this.#kRandomNodes(this.config.indirectChecks, (n) =>
      n.name === this.name || n.name === p.node || n.state !== "alive");
    for (const peer of peers) {
      const nack = (peer.vsn[1] ?? 0) >= 4;
      if (nack) p.expectedNacks++;
      const ind: IndirectPing = { type: "indirectPing", seqNo: p.seqNo, target: node.addr, port: node.port, node: node.name, nack };
      if (me) (ind.sourceAddr = me.addr, ind.sourcePort = me.port, ind.sourceNode = this.name);
      this.#sendMsg({ addr: peer.addr, port: peer.port }, ind);
    }
    if (!this.config.disableTcpPings && (node.vsn[1] ?? 0) >= 3) {
      const ping: Ping = { type: "ping", seqNo: p.seqNo, node: node.name };
      if (me) (ping.sourceAddr = me.addr, ping.sourcePort = me.port, ping.sourceNode = this.name);
      this.#effects.push({ kind: "tcp-ping", to: { addr: node.addr, port: node.port }, ping, deadlineMs: p.endMs });
    }
    void nowMs;
  }

  #finishProbe(nowMs: number, awarenessDelta: number): void {
    const p = this.#probe;
    if (p === null) return;
    this.#acks.delete(p.seqNo);
    this.#awareness.applyDelta(awarenessDelta);
    this.#probe = null;
    if (this.#probePending) {
      this.#probePending = false;
      this.#startProbe(nowMs);
    }
  }

  // ------------------------------------------------------------ gossip and push/pull

  /** Up to k distinct random nodes not excluded, probing at most 3n random slots (memberlist kRandomNodes). */
  #kRandomNodes(k: number, exclude: (n: Member) => boolean): Member[] {
    const n = this.#nodes.length;
    const out: Member[] = [];
    for (let i = 0; i < 3 * n && out.length < k; i++) {
      const node = this.#nodes[Math.floor(this.#deps.rng() * n)]!;
      if (exclude(node) || out.includes(node)) continue;
      out.push(node);
    }
    return out;
  }

  #packetBudget(): number {
    const c = this.config;
    const labelLen = utf8(c.label).length;
    const labelOverhead = labelLen > 0 ? 2 + labelLen : 0;
    let avail = c.udpBufferSize - COMPOUND_HEADER_OVERHEAD - labelOverhead;
    if (c.encryptionEnabled) avail -= encryptOverhead(ENCRYPTION_VERSION);
    return avail;
  }

  #gossip(nowMs: number): void {
    const peers = this.#kRandomNodes(this.config.gossipNodes, (n) => {
      if (n.name === this.name) return true;
      if (n.state === "alive" || n.state === "suspect") return false;
      if (n.state === "dead") return nowMs - n.stateChangeMs > this.config.gossipToTheDeadTimeMs;
      return true;
    });
    for (const peer of peers) {
      const msgs = this.#queue.getBroadcasts(COMPOUND_PART_OVERHEAD, this.#packetBudget(), this.#nodes.length);
      if (msgs.length === 0) return;
      this.#effects.push({ kind: "packet", to: { addr: peer.addr, port: peer.port }, parts: msgs, crc: (peer.vsn[1] ?? 0) >= 5 });
    }
  }

  #pushPullRandom(): void {
    const [peer] = this.#kRandomNodes(1, (n) => n.name === this.name || n.state !== "alive");
    if (peer === undefined) return;
    this.#effects.push({ kind: "push-pull", to: { addr: peer.addr, port: peer.port }, join: false, nodes: this.localState() });
  }

  /** memberlist sendMsg: one message plus whatever broadcasts fit. CRC only if the
   *  destination is found by its IP string (memberlist's lookup quirk). */
  #sendMsg(to: Address, m: Message): void {
    const msg = encodeMessage(m);
    const avail = this.#packetBudget() - msg.length;
    const extra = this.#queue.getBroadcasts(COMPOUND_PART_OVERHEAD, avail, this.#nodes.length);
    const byIp = this.#nodeMap.get(ipString(to.addr));
    const crc = byIp !== undefined && (byIp.vsn[1] ?? 0) >= 5;
    this.#effects.push({ kind: "packet", to, parts: [msg, ...extra], crc });
  }

  #log(level: "debug" | "info" | "warn", message: string): void {
    this.#effects.push({ kind: "log", level, message });
  }

  #drain(): Effect[] {
    const out = this.#effects;
    this.#effects = [];
    return out;
  }
}
