/**
 * tests/sim/server: one simulated server: a Raft core, the thin driver that
 * carries out its Ready batches against a simulated disk and network, and
 * the KV state machine with its client request handling.
 *
 * The driver follows the Ready contract of src/raft/types.ts with pipelined
 * (asynchronous) storage writes, like src/raft/driver.ts: taking a Ready sends
 * its `messages`, applies its committed entries, serves its reads and queues
 * its writes on the simulated disk with an fsync that completes after a random
 * delay (fsyncs may complete out of order; each makes durable only what was
 * queued before it was issued). Up to RAFT_MAX_INFLIGHT_READIES Readies are in
 * flight; they complete in order once durable (install the snapshot, send
 * `messagesAfterPersist`, persisted()). A crash loses the in-flight Readies
 * and whatever of their writes the disk had not made durable.
 *
 * Must never: send a Ready's messagesAfterPersist before its writes (and all
 * earlier ones) are durable, complete Readies out of order, apply an entry out
 * of order, or reply to a client before the answer is certain.
 */

import { RaftCore, defaultRaftConfig } from "../../src/raft/index.ts";
import type { LogEntry, Message, RaftConfig, Ready, Timing } from "../../src/raft/index.ts";
import type { Rng } from "../../src/shared/rng.ts";
import { RAFT_MAX_INFLIGHT_READIES } from "../../src/shared/limits.ts";
import { SimDisk } from "./disk.ts";
import { KvStore, decodeCommand, encodeCommand } from "./kv.ts";
import type { KvInput, KvOutput } from "./kv.ts";

export type ReadMode = "log" | "readindex" | "lease";

export interface ClientRequest {
  readonly client: number;
  readonly reqId: number;
  readonly input: KvInput;
  readonly readMode: ReadMode;
}

export type ClientReply =
  | { readonly kind: "ok"; readonly reqId: number; readonly output: KvOutput }
  | { readonly kind: "not-leader"; readonly reqId: number; readonly leader: string }
  | { readonly kind: "failed"; readonly reqId: number };

/** What the server needs from the simulation around it. */
export interface ServerEnv {
  readonly now: () => number;
  readonly schedule: (delayMs: number, run: () => void) => void;
  readonly sendRaft: (m: Message) => void;
  readonly reply: (client: number, r: ClientReply) => void;
  readonly onApply: (server: string, e: LogEntry) => void;
  readonly onReady: (server: string, core: RaftCore, rd: Ready) => void;
  readonly rng: Rng;
}

export interface ServerOptions {
  readonly timing: Timing;
  /** Drift of this server's clock: its ticks come every tickMs * (1 + drift). */
  readonly drift: number;
  readonly snapshotThreshold: number;
  readonly trailing: number;
  readonly snapshotChunkBytes: number;
  readonly fsyncMinMs: number;
  readonly fsyncMaxMs: number;
  /** Test-only overrides of the core's config (bug injection, feature switches). */
  readonly raft?: Partial<RaftConfig>;
}

export class SimServer {
  readonly id: string;
  readonly disk = new SimDisk();
  core: RaftCore | undefined;
  kv = new KvStore();
  applied = 0;
  private snapshotIndex = 0;
  /** Bumped on crash: events scheduled for an older incarnation are ignored. */
  private gen = 0;
  /** Readies taken and not yet completed, in order; `mark` is the disk write count once its writes were queued. */
  private inflight: Array<{ readonly rd: Ready; readonly mark: number; done: boolean }> = [];
  private turning = false;
  private pendingWrites = new Map<number, { term: number; client: number; reqId: number }>();
  private pendingReads = new Map<string, { client: number; reqId: number; key: string }>();
  private waitingApply: Array<{ index: number; client: number; reqId: number; key: string }> = [];
  private readSeq = 0;
  private readonly env: ServerEnv;
  private readonly opts: ServerOptions;
  restarts = 0;

  constructor(id: string, env: ServerEnv, opts: ServerOptions) {
    this.id = id;
    this.env = env;
    this.opts = opts;
  }

  get up(): boolean {
    return this.core !== undefined;
  }

  /** Boot (or reboot) from what is durable on disk. */
  start(): void {
    const rec = this.disk.recover();
    this.kv = new KvStore();
    if (rec.snapshot !== undefined) this.kv.restore(rec.snapshot.data);
    this.applied = rec.snapshot?.index ?? 0;
    this.snapshotIndex = this.applied;
    const cfg: RaftConfig = {
      ...defaultRaftConfig(this.id, this.opts.timing),
      snapshotChunkBytes: this.opts.snapshotChunkBytes,
      ...this.opts.raft,
    };
    const rng = this.env.rng.fork();
    this.core = new RaftCore(cfg, { random: rng.float }, {
      hardState: { term: rec.term, vote: rec.vote },
      snapshot: rec.snapshot,
      entries: rec.entries,
    });
    const gen = ++this.gen;
    const tickEvery = (): void => {
      if (gen !== this.gen || this.core === undefined) return;
      this.core.tick();
      this.pump();
      this.env.schedule(this.tickInterval(), tickEvery);
    };
    this.env.schedule(this.tickInterval() * this.env.rng.float(), tickEvery);
    this.pump();
  }

  crash(): void {
    if (this.core === undefined) return;
    this.disk.crash(this.env.rng);
    this.core = undefined;
    this.inflight = [];
    this.pendingWrites.clear();
    this.pendingReads.clear();
    this.waitingApply = [];
    this.gen++;
  }

  private tickInterval(): number {
    const base = this.opts.timing.tickMs * (1 + this.opts.drift);
    return base * (0.98 + 0.04 * this.env.rng.float());
  }

  receive(m: Message): void {
    if (this.core === undefined) return;
    this.core.step(m);
    this.pump();
  }

  request(req: ClientRequest): void {
    const core = this.core;
    if (core === undefined) return;
    const notLeader = (): void => this.env.reply(req.client, { kind: "not-leader", reqId: req.reqId, leader: core.status().leader });
    if (req.input.op === "get" && req.readMode !== "log") {
      if (req.readMode === "lease") {
        const index = core.leaseRead();
        if (index !== undefined) {
          this.waitApplied(index, req.client, req.reqId, req.input.key);
          this.pump();
          return;
        }
      }
      const ctx = `${this.id}:${this.gen}:${++this.readSeq}`;
      if (!core.readIndex(ctx)) return notLeader();
      this.pendingReads.set(ctx, { client: req.client, reqId: req.reqId, key: req.input.key });
      this.pump();
      return;
    }
    const r = core.propose(encodeCommand(req.input));
    if (!r.ok) return notLeader();
    this.pendingWrites.set(r.index, { term: r.term, client: req.client, reqId: req.reqId });
    this.pump();
  }

  private waitApplied(index: number, client: number, reqId: number, key: string): void {
    if (this.applied >= index) this.env.reply(client, { kind: "ok", reqId, output: this.kv.get(key) });
    else this.waitingApply.push({ index, client, reqId, key });
  }

  /** Take Readies while fewer than the bound are in flight; complete the durable ones in order. */
  pump(): void {
    if (this.turning) return;
    this.turning = true;
    try {
      for (;;) {
        this.completeDurable();
        const core = this.core;
        if (core === undefined || this.inflight.length >= RAFT_MAX_INFLIGHT_READIES || !core.hasReady()) break;
        this.take(core, core.ready());
      }
    } finally {
      this.turning = false;
    }
  }

  private take(core: RaftCore, rd: Ready): void {
    this.env.onReady(this.id, core, rd);
    for (const m of rd.messages) this.env.sendRaft(m);
    if (rd.committed.length > 0) {
      if (rd.snapshot !== undefined) throw new Error(`sim ${this.id}: committed entries handed out with a snapshot`);
      for (const e of rd.committed) this.applyEntry(e);
      core.applied(rd.committed[rd.committed.length - 1]!.index);
    }
    for (const rs of rd.readStates) {
      const p = this.pendingReads.get(rs.ctx);
      if (p === undefined) continue;
      this.pendingReads.delete(rs.ctx);
      this.waitApplied(rs.index, p.client, p.reqId, p.key);
    }
    this.releaseWaiting();
    if (rd.snapshot !== undefined) this.disk.write({ type: "install", snapshot: rd.snapshot });
    if (rd.hardState !== undefined) this.disk.write({ type: "hard", term: rd.hardState.term, vote: rd.hardState.vote });
    if (rd.entries.length > 0) this.disk.write({ type: "entries", entries: rd.entries });
    const f = { rd, mark: this.disk.writes, done: false };
    this.inflight.push(f);
    const wrote = rd.snapshot !== undefined || rd.mustSync;
    if (!wrote) {
      f.done = true;
      return;
    }
    const gen = this.gen;
    const { fsyncMinMs: lo, fsyncMaxMs: hi } = this.opts;
    this.env.schedule(lo + (hi - lo) * this.env.rng.float(), () => {
      if (gen !== this.gen) return;
      this.disk.fsyncTo(f.mark);
      f.done = true;
      this.pump();
    });
  }

  /** Complete, in order, the Readies whose writes (and every earlier one's) are durable. */
  private completeDurable(): void {
    const core = this.core;
    if (core === undefined) return;
    while (this.inflight.length > 0) {
      const head = this.inflight[0]!;
      if (!head.done && this.disk.durableWrites < head.mark) return;
      this.inflight.shift();
      const rd = head.rd;
      if (rd.snapshot !== undefined) {
        this.kv.restore(rd.snapshot.data);
        this.applied = rd.snapshot.index;
        this.snapshotIndex = rd.snapshot.index;
      }
      for (const m of rd.messagesAfterPersist) this.env.sendRaft(m);
      core.persisted(rd);
      this.releaseWaiting();
      this.maybeCompact(core);
    }
  }

  private applyEntry(e: LogEntry): void {
    if (e.index !== this.applied + 1) throw new Error(`sim ${this.id}: applying ${e.index} after ${this.applied}`);
    this.applied = e.index;
    this.env.onApply(this.id, e);
    let output: KvOutput = null;
    if (e.type === "command") output = this.kv.apply(decodeCommand(e.data));
    const p = this.pendingWrites.get(e.index);
    if (p === undefined) return;
    this.pendingWrites.delete(e.index);
    if (p.term === e.term) this.env.reply(p.client, { kind: "ok", reqId: p.reqId, output });
    else this.env.reply(p.client, { kind: "failed", reqId: p.reqId });
  }

  private releaseWaiting(): void {
    if (this.waitingApply.length === 0) return;
    const still: typeof this.waitingApply = [];
    for (const w of this.waitingApply) {
      if (this.applied >= w.index) this.env.reply(w.client, { kind: "ok", reqId: w.reqId, output: this.kv.get(w.key) });
      else still.push(w);
    }
    this.waitingApply = still;
  }

  private maybeCompact(core: RaftCore): void {
    if (this.opts.snapshotThreshold <= 0 || this.applied - this.snapshotIndex < this.opts.snapshotThreshold) return;
    const snap = core.compact(this.applied, this.kv.snapshot(), this.opts.trailing);
    this.snapshotIndex = snap.index;
    this.disk.write({ type: "compact", snapshot: snap, trailing: this.opts.trailing });
  }
}
