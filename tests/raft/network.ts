/**
 * tests/raft/network: an in-process network of Raft cores for unit tests.
 *
 * Each core's Ready is "persisted" at once, its messages queued, its committed
 * entries recorded; stabilize() delivers messages by calling step() until
 * nothing moves. drop/isolate/cut filter deliveries. No sockets, no time.
 *
 * Must never: reorder messages unless asked, or use Math.random.
 */

import { bootstrapEntries, defaultRaftConfig, membership, RaftCore } from "../../src/raft/index.ts";
import type { LogEntry, Membership, Message, MessageType, RaftBoot, RaftConfig } from "../../src/raft/index.ts";
import { createRng } from "../../src/shared/rng.ts";

export const TEST_TIMING = { tickMs: 100, heartbeatTicks: 1, electionTicks: 10, leaseTicks: 5 };

export function testConfig(id: string, over: Partial<RaftConfig> = {}): RaftConfig {
  return { ...defaultRaftConfig(id, TEST_TIMING), ...over };
}

export function newCore(id: string, boot: Partial<RaftBoot> = {}, over: Partial<RaftConfig> = {}, seed = 1): RaftCore {
  const rng = createRng(seed + id.charCodeAt(id.length - 1));
  return new RaftCore(testConfig(id, over), { random: rng.float }, {
    hardState: boot.hardState ?? { term: 0, vote: "" },
    snapshot: boot.snapshot,
    entries: boot.entries ?? [],
  });
}

export function bootCluster(ids: string[], cfg: Membership = membership(ids), over: Partial<RaftConfig> = {}): RaftCore[] {
  return ids.map((id) => newCore(id, { entries: bootstrapEntries(cfg) }, over));
}

export class Network {
  readonly nodes = new Map<string, RaftCore>();
  readonly applied = new Map<string, LogEntry[]>();
  readonly sent: Message[] = [];
  private queue: Message[] = [];
  private blocked = new Set<string>();
  private ignored = new Set<MessageType>();
  hook: ((m: Message) => boolean) | undefined;

  constructor(cores: RaftCore[]) {
    for (const c of cores) this.add(c);
  }

  add(c: RaftCore): void {
    this.nodes.set(c.id, c);
    this.applied.set(c.id, []);
  }

  get(id: string): RaftCore {
    const c = this.nodes.get(id);
    if (c === undefined) throw new Error(`no node ${id}`);
    return c;
  }

  cut(a: string, b: string): void {
    this.blocked.add(`${a}>${b}`);
    this.blocked.add(`${b}>${a}`);
  }

  isolate(id: string): void {
    for (const other of this.nodes.keys()) if (other !== id) this.cut(id, other);
  }

  ignore(t: MessageType): void {
    this.ignored.add(t);
  }

  recover(): void {
    this.blocked.clear();
    this.ignored.clear();
  }

  /** Collect every node's Ready; returns true when anything happened. */
  collect(): boolean {
    let any = false;
    for (const [id, c] of this.nodes) {
      while (c.hasReady()) {
        any = true;
        const rd = c.ready();
        for (const m of rd.messages) this.queue.push(m);
        for (const m of rd.messagesAfterPersist) this.queue.push(m);
        this.applied.get(id)!.push(...rd.committed);
        c.advance(rd);
      }
    }
    return any;
  }

  /** Deliver queued messages (and whatever they cause) until quiet. */
  stabilize(maxRounds = 1000): void {
    for (let round = 0; round < maxRounds; round++) {
      const moved = this.collect();
      if (this.queue.length === 0 && !moved) return;
      const batch = this.queue;
      this.queue = [];
      for (const m of batch) this.deliver(m);
    }
    throw new Error("network did not stabilize");
  }

  /** Take (without delivering) everything queued after collecting. */
  drain(): Message[] {
    this.collect();
    const q = this.queue;
    this.queue = [];
    return q;
  }

  deliver(m: Message): void {
    this.sent.push(m);
    if (this.blocked.has(`${m.from}>${m.to}`) || this.ignored.has(m.type)) return;
    if (this.hook !== undefined && !this.hook(m)) return;
    const c = this.nodes.get(m.to);
    if (c !== undefined) c.step(m);
  }

  tickAll(n: number): void {
    for (let i = 0; i < n; i++) {
      for (const c of this.nodes.values()) c.tick();
      this.stabilize();
    }
  }

  /** Tick one node until it starts an election, then stabilize. */
  elect(id: string): void {
    const c = this.get(id);
    c.campaign();
    this.stabilize();
  }

  leaders(): string[] {
    return [...this.nodes.values()].filter((c) => c.status().role === "leader").map((c) => c.id);
  }
}

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
