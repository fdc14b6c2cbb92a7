/**
 * tests/gossip/sim_network: N SwimCores in one process on a simulated network with
 * seeded loss and delay. Packets go through the real wire codec (framePayloads ->
 * decodeFrame), push/pull and TCP pings are simulated as reliable streams to live
 * nodes. Time is simulated; nothing sleeps. Used by the simulation test and bench/gossip.ts.
 *
 * Must never: use sockets, timers or Math.random.
 */

import { decodeFrame, frameMessages, framePayloads, SwimCore } from "../../src/gossip/index.ts";
import type { Address, Effect, GossipConfig } from "../../src/gossip/index.ts";

/** splitmix32-style seeded generator in [0, 1). */
export function seededRng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  };
}

export interface SimOptions {
  n: number;
  seed: number;
  config: GossipConfig;
  /** Probability that one UDP datagram is lost. */
  loss: number;
  delayMinMs: number;
  delayMaxMs: number;
  /** Each live core is ticked this often. */
  tickMs: number;
}

export interface StateRecord {
  t: number;
  observer: number;
  node: string;
  from: string;
  to: string;
}

interface Ev {
  at: number;
  seq: number;
  fn: () => void;
}

class Heap {
  #a: Ev[] = [];
  get size(): number {
    return this.#a.length;
  }
  peek(): Ev | undefined {
    return this.#a[0];
  }
  #less(i: number, j: number): boolean {
    const x = this.#a[i]!;
    const y = this.#a[j]!;
    return x.at < y.at || (x.at === y.at && x.seq < y.seq);
  }
  #swap(i: number, j: number): void {
    const t = this.#a[i]!;
    this.#a[i] = this.#a[j]!;
    this.#a[j] = t;
  }
  push(e: Ev): void {
    this.#a.push(e);
    let i = this.#a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.#less(i, p)) break;
      this.#swap(i, p);
      i = p;
    }
  }
  pop(): Ev | undefined {
    const top = this.#a[0];
    const last = this.#a.pop();
    if (this.#a.length > 0 && last) {
      this.#a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < this.#a.length && this.#less(l, m)) m = l;
        if (r < this.#a.length && this.#less(r, m)) m = r;
        if (m === i) break;
        this.#swap(i, m);
        i = m;
      }
    }
    return top;
  }
}

export function nodeName(i: number): string {
  return `node-${i}`;
}

export function nodeAddress(i: number): Address {
  return { addr: Uint8Array.from([10, 0, (i >> 8) & 255, i & 255]), port: 7946 };
}

function addrIndex(a: Address): number {
  return ((a.addr[2] ?? 0) << 8) | (a.addr[3] ?? 0);
}

export class SimCluster {
  readonly opts: SimOptions;
  readonly cores: (SwimCore | null)[];
  readonly killed = new Set<number>();
  readonly states: StateRecord[] = [];
  nowMs = 0;
  packetsSent = 0;
  packetsLost = 0;
  readonly #rng: () => number;
  readonly #events = new Heap();
  #seq = 0;

  constructor(opts: SimOptions) {
    this.opts = opts;
    this.#rng = seededRng(opts.seed);
    this.cores = new Array<SwimCore | null>(opts.n).fill(null);
  }

  /** Starts node i and lets it join the given seeds. */
  start(i: number, seeds: number[]): void {
    const core = new SwimCore(this.opts.config, { name: nodeName(i), ...nodeAddress(i) }, {
      rng: seededRng(this.opts.seed * 7919 + i + 1),
    }, this.nowMs);
    this.cores[i] = core;
    this.#apply(i, core.join(seeds.map(nodeAddress)));
  }

  /** The node stops answering and sending, as after SIGKILL. */
  kill(i: number): void {
    this.killed.add(i);
    this.cores[i] = null;
  }

  /** Graceful leave of node i (it stays up to gossip its leave). */
  leave(i: number): void {
    const c = this.cores[i];
    if (c) this.#apply(i, c.leave(this.nowMs));
  }

  #at(at: number, fn: () => void): void {
    this.#events.push({ at, seq: this.#seq++, fn });
  }

  #delay(): number {
    const { delayMinMs, delayMaxMs } = this.opts;
    return delayMinMs + this.#rng() * (delayMaxMs - delayMinMs);
  }

  #apply(i: number, effects: Effect[]): void {
    for (const e of effects) {
      switch (e.kind) {
        case "packet": {
          const to = addrIndex(e.to);
          for (const payload of framePayloads(e.parts, { crc: e.crc, compress: false })) {
            this.packetsSent++;
            if (this.#rng() < this.opts.loss) {
              this.packetsLost++;
              continue;
            }
            this.#at(this.nowMs + this.#delay(), () => {
              const c = this.cores[to];
              if (!c) return;
              const msgs = frameMessages(decodeFrame(payload));
              this.#apply(to, c.handlePacket(this.nowMs, nodeAddress(i), msgs));
            });
          }
          break;
        }
        case "push-pull": {
          const to = addrIndex(e.to);
          this.#at(this.nowMs + this.#delay(), () => {
            const remote = this.cores[to];
            if (!remote || !this.cores[i]) return;
            const reply = remote.localState();
            this.#apply(to, remote.mergeRemoteState(this.nowMs, e.nodes));
            this.#at(this.nowMs + this.#delay(), () => {
              const me = this.cores[i];
              if (me) this.#apply(i, me.mergeRemoteState(this.nowMs, reply));
            });
          });
          break;
        }
        case "tcp-ping": {
          const to = addrIndex(e.to);
          if (!this.cores[to]) break;
          const rtt = 2 * this.#delay();
          if (this.nowMs + rtt > e.deadlineMs) break;
          this.#at(this.nowMs + rtt, () => {
            const me = this.cores[i];
            if (me) this.#apply(i, me.tcpPingResult(this.nowMs, e.ping.seqNo, true));
          });
          break;
        }
        case "state":
          this.states.push({ t: this.nowMs, observer: i, node: e.node, from: e.from, to: e.to });
          break;
        case "member":
        case "user":
        case "ping-complete":
        case "conflict":
        case "log":
          break;
      }
    }
  }

  /** Runs the simulation until `untilMs`, or until `stop()` is true (checked every checkEveryMs). */
  run(untilMs: number, stop?: () => boolean, checkEveryMs = 100): boolean {
    const tick = this.opts.tickMs;
    let nextCheck = this.nowMs;
    while (this.nowMs < untilMs) {
      const nextTick = Math.floor(this.nowMs / tick) * tick + tick;
      for (let e = this.#events.peek(); e && e.at < nextTick; e = this.#events.peek()) {
        this.#events.pop();
        this.nowMs = Math.max(this.nowMs, e.at);
        e.fn();
      }
      this.nowMs = nextTick;
      for (let i = 0; i < this.cores.length; i++) {
        const c = this.cores[i];
        if (c) this.#apply(i, c.tick(this.nowMs));
      }
      if (stop && this.nowMs >= nextCheck) {
        nextCheck = this.nowMs + checkEveryMs;
        if (stop()) return true;
      }
    }
    return false;
  }

  /** True when every live node sees exactly `alive` alive members. */
  converged(alive: number): boolean {
    return this.cores.every((c) => c === null || c.count("alive") === alive);
  }

  /** Live nodes (not killed, started). */
  live(): number[] {
    const out: number[] = [];
    this.cores.forEach((c, i) => c && out.push(i));
    return out;
  }
}

export interface FailureFigures {
  /** kill -> first live node marks it suspect / dead, and -> every live node has it dead (ms). */
  firstSuspectMs: number | null;
  firstDeadMs: number | null;
  allDeadMs: number | null;
  /** Dead declarations about nodes that were never killed. */
  falseDead: number;
  /** Suspicions of live nodes (refuted later). */
  falseSuspect: number;
}

/** Kills `victim` at the current time and measures detection and dissemination. */
export function measureFailure(sim: SimCluster, victim: number, maxMs: number): FailureFigures {
  const t0 = sim.nowMs;
  const from = sim.states.length;
  sim.kill(victim);
  const name = nodeName(victim);
  const live = sim.live();
  const dead = new Set<number>();
  let scanned = from;
  const scan = (): boolean => {
    for (; scanned < sim.states.length; scanned++) {
      const r = sim.states[scanned]!;
      if (r.node === name && (r.to === "dead" || r.to === "left")) dead.add(r.observer);
    }
    return live.every((i) => dead.has(i));
  };
  sim.run(t0 + maxMs, scan, 50);
  scan();
  const recs = sim.states.slice(from);
  const first = (to: string): number | null => {
    const r = recs.find((x) => x.node === name && x.to === to);
    return r ? r.t - t0 : null;
  };
  let allDeadMs: number | null = null;
  if (live.every((i) => dead.has(i))) {
    const last = new Map<number, number>();
    for (const r of recs) if (r.node === name && r.to === "dead" && !last.has(r.observer)) last.set(r.observer, r.t);
    allDeadMs = Math.max(...live.map((i) => last.get(i) ?? 0)) - t0;
  }
  return {
    firstSuspectMs: first("suspect"),
    firstDeadMs: first("dead"),
    allDeadMs,
    ...falsePositives(sim, 0),
  };
}

/** Dead/suspect transitions about nodes that were never killed, since record `from`. */
export function falsePositives(sim: SimCluster, from: number): { falseDead: number; falseSuspect: number } {
  let falseDead = 0;
  let falseSuspect = 0;
  for (const r of sim.states.slice(from)) {
    const idx = Number(r.node.slice(5));
    if (sim.killed.has(idx)) continue;
    if (r.to === "dead") falseDead++;
    if (r.to === "suspect") falseSuspect++;
  }
  return { falseDead, falseSuspect };
}

/** Starts all n nodes already knowing each other (as after a join wave has settled). */
export function seedCluster(sim: SimCluster): void {
  for (let i = 0; i < sim.opts.n; i++) sim.start(i, []);
  const all = sim.cores.flatMap((c) => (c ? c.localState().filter((x) => x.name === c.name) : []));
  sim.cores.forEach((c) => c?.seedState(sim.nowMs, all));
  sim.states.length = 0;
}

/** Starts n nodes: node 0 first, then node i joins a random earlier node every staggerMs. */
export function bootCluster(sim: SimCluster, staggerMs: number, rng: () => number): void {
  sim.start(0, []);
  for (let i = 1; i < sim.opts.n; i++) {
    sim.run(sim.nowMs + staggerMs);
    sim.start(i, [Math.floor(rng() * i)]);
  }
}
