/**
 * raft/driver: RaftServer, the thin driver that carries out the pure core's
 * effects, and the replicated Backend the HTTP layer uses.
 *
 * The Ready loop pipelines storage writes (the Ready contract in types.ts):
 * it takes the next Ready while up to RAFT_MAX_INFLIGHT_READIES earlier ones
 * are being written. Taking a Ready sends its `messages` at once (a leader's
 * appends leave in parallel with its own log write), applies its committed
 * entries (the core hands out only entries committed and durable here),
 * resolves the apply() promises of this node's proposals (same index and
 * term) or rejects them (lost to a leader change), serves released reads once
 * applied, and queues its writes to the LogStore (snapshot, hard state,
 * entries; the WAL keeps their order). A Ready that truncates the log or
 * installs a snapshot is held until every earlier Ready is durable (rare:
 * leader changes, slow followers), so no in-flight write ever waits for an
 * index a truncation removed. Readies complete in the order they were taken:
 * once a Ready's writes and all earlier ones are durable, its snapshot is
 * installed, its `messagesAfterPersist` (votes, vote/append responses) leave
 * and persisted() tells the core, whose leader only then counts the entries as
 * its own ack.
 *
 * Writes at a follower are forwarded to the leader ("Raft.Apply"); reads
 * follow their consistency mode: stale at once, default under the leader's
 * lease (else a ReadIndex round), consistent after a ReadIndex round
 * ("Raft.ReadIndex" from a follower), then wait until applied >= the read index.
 * Without a leader, writes and reads fail with "No cluster leader" after
 * RAFT_LEADER_WAIT_ELECTIONS election timeouts. Snapshots are taken every
 * snapshotThreshold applied entries (skipped, and retried after each Ready, while the
 * store has a chunked snapshot restore pending: its chunks live only in the log; the
 * leader drops an abandoned one, agent/cluster); received snapshots restore the store.
 * On the leader, changeMembership() and transferLeadership() drive the core's
 * configuration changes and transfers (for operator endpoints and autopilot).
 *
 * Must never: send a message before the state it depends on is durable, apply
 * out of order or twice, complete Readies out of order, answer a write before
 * it is applied, retry a forwarded write whose fate is unknown, or wait
 * without a bound.
 */

import type { Backend, Consistency, LeaderView } from "../server/types.ts";
import type { FsmStore } from "../server/fsm_store.ts";
import type { ApplyResult, Command } from "../state/types.ts";
import type { LogEntry, LogStore, Recovered } from "../wal/types.ts";
import { CairnError, assert } from "../shared/errors.ts";
import { isRpcError } from "../rpc/index.ts";
import { isDeno } from "../platform/runtime.ts";
import { setImmediate } from "node:timers";
import { MAX_PENDING_WRITES, RAFT_FORWARD_RETRY_MS, RAFT_MAX_INFLIGHT_READIES, RAFT_LEADER_WAIT_ELECTIONS, RAFT_MAX_PENDING_READS, RAFT_SILENT_PEER_ELECTIONS, RPC_RAFT_BATCH_BYTES } from "../shared/limits.ts";
import { RaftCore } from "./core.ts";
import { defaultRaftConfig } from "./timing.ts";
import { bootstrapEntries } from "./bootstrap.ts";
import { EMPTY_MEMBERSHIP, membership } from "./membership.ts";
import { decodeSnapshotEnvelope, encodeSnapshotEnvelope, messageBytes, parseBatch, toWire } from "./driver_wire.ts";
import type { ConfChange, Membership, Message, NodeId, RaftConfig, RaftSnapshot, ReadState, Ready, Role, SoftState, Timing } from "./types.ts";

export const METHOD_MSGS = "Raft.Msgs";
export const METHOD_APPLY = "Raft.Apply";
export const METHOD_READ_INDEX = "Raft.ReadIndex";

/** What the driver needs of the RPC layer (RpcServer / RpcClient satisfy it). */
export interface RaftRpcServer {
  handle(method: string, h: (body: unknown) => unknown): void;
  unhandle(method: string): void;
}
export interface RaftRpcClient {
  call(addr: string, method: string, body: unknown, opts?: { timeoutMs?: number }): Promise<unknown>;
  cast(addr: string, method: string, body: unknown): boolean;
  /** Drop the connection to addr so the next send dials afresh (RpcClient has it; optional for fakes). */
  disconnect?(addr: string): void;
}

export type Logger = (level: "debug" | "info" | "warn" | "error", msg: string) => void;

export interface RaftServerDeps {
  readonly id: NodeId;
  /** This server's RPC address "ip:port" (sent with its messages, shown as the leader address). */
  readonly advertiseAddr: string;
  /** Known servers' RPC addresses; more are learned from the traffic they send. */
  readonly addresses: ReadonlyMap<NodeId, string>;
  /** Voters of a new cluster (bootstrap); ignored when the log already holds state. */
  readonly bootstrap?: readonly NodeId[];
  readonly timing: Timing;
  /** Overrides of the core's configuration. */
  readonly raft?: Partial<RaftConfig>;
  readonly log: LogStore;
  readonly store: FsmStore;
  readonly encode: (cmd: Command) => Uint8Array;
  readonly decode: (data: Uint8Array) => Command;
  readonly encodeResult: (r: ApplyResult) => Uint8Array;
  readonly decodeResult: (data: Uint8Array) => ApplyResult;
  readonly rpcServer: RaftRpcServer;
  readonly rpcClient: RaftRpcClient;
  /** Applied entries between snapshots (raft_snapshot_threshold); 0 disables. */
  readonly snapshotThreshold: number;
  /** Entries kept behind a snapshot (raft_trailing_logs). */
  readonly trailingLogs: number;
  /** Monotonic clock, ms. */
  readonly now: () => number;
  readonly random: () => number;
  /** Run fn after ms; returns a cancel function. */
  readonly schedule: (ms: number, fn: () => void) => () => void;
  readonly logger: Logger;
  /** How long writes and reads wait for a leader (default RAFT_LEADER_WAIT_ELECTIONS election timeouts). */
  readonly leaderWaitMs?: number;
  /** Called when this server becomes leader (true) or stops being leader (false): start/stop leader-only work. */
  readonly onLeadership?: (leader: boolean) => void;
  /** A broken invariant inside the driver (default: rethrown to crash the process). */
  readonly onFatal?: (e: unknown) => void;
  /**
   * Run fn once the current batch of I/O events has been handled (default: setImmediate
   * on Node; a microtask on Deno, which runs setImmediate rarely while sockets are busy).
   * The Ready loop runs there, so the proposals, messages and fsync completions of one
   * event-loop turn share one Ready.
   */
  readonly defer?: (fn: () => void) => void;
}

const defaultDefer = (fn: () => void): void => {
  if (isDeno) queueMicrotask(fn);
  else setImmediate(fn);
};

/** setTimeout-based schedule for deps. */
export function timerSchedule(ms: number, fn: () => void): () => void {
  const t = setTimeout(fn, ms);
  return () => clearTimeout(t);
}

interface PendingApply {
  readonly term: number;
  /** The command proposed (undefined for configuration changes). */
  readonly cmd: Command | undefined;
  readonly resolve: (r: ApplyResult) => void;
  readonly reject: (e: unknown) => void;
}

interface Waiter {
  readonly deadline: number;
  readonly resolve: (index: number) => void;
  readonly reject: (e: unknown) => void;
}

interface ApplyWaiter extends Waiter {
  readonly index: number;
}

/** A Ready taken from the core whose completion (durable, then messagesAfterPersist, persisted()) is pending. */
interface InFlight {
  readonly rd: Ready;
  /** This Ready's own writes are durable. */
  done: boolean;
}

type ForwardReply = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly leader: NodeId };

type State = "new" | "running" | "closing" | "closed";

const noLeader = (): CairnError => new CairnError("no-leader", "No cluster leader");
const shuttingDown = (): CairnError => new CairnError("unavailable", "raft: server is shutting down");
const leadershipLost = (): CairnError => new CairnError("internal", "leadership lost while committing log");

export class RaftServer implements Backend {
  readonly store: FsmStore;
  readonly id: NodeId;
  private readonly deps: RaftServerDeps;
  private core!: RaftCore;
  private state: State = "new";
  private readonly addresses = new Map<NodeId, string>();
  private readonly leaderWaitMs: number;
  private readonly tickMs: number;

  private soft: SoftState = { role: "follower", leader: "", term: 0 };
  private hard = { term: 0, vote: "" };
  private walLast = 0;
  private applied = 0;
  private snapshotIndex = 0;
  private snapshotting: Promise<void> | undefined;
  /** Readies taken, in order, not yet completed; a held one waits for all of them before its writes start. */
  private inflight: InFlight[] = [];
  private held: Ready | undefined;
  private turning = false;
  private turnAgain = false;
  private turnScheduled = false;
  private idleWaiters: Array<() => void> = [];
  private cancelTick: (() => void) | undefined;
  private startedAt = 0;
  private lastLeaderFrom: NodeId = "";
  private lastLeaderAt = 0;
  private readSeq = 0;
  /** Per peer: when this server last sent it a message, last heard from it, last reset its connection. */
  private readonly lastSentTo = new Map<NodeId, number>();
  private readonly lastHeardFrom = new Map<NodeId, number>();
  private readonly lastResetOf = new Map<NodeId, number>();

  private readonly pendingApplies = new Map<number, PendingApply>();
  private readonly pendingReads = new Map<string, Waiter>();
  private applyWaiters: ApplyWaiter[] = [];
  private changeWaiters: Array<{ readonly deadline: number; readonly wake: () => void }> = [];
  private durableWaiters: Array<{ readonly index: number; readonly resolve: () => void }> = [];

  constructor(deps: RaftServerDeps) {
    this.deps = deps;
    this.id = deps.id;
    this.store = deps.store;
    for (const [id, a] of deps.addresses) this.addresses.set(id, a);
    this.addresses.set(deps.id, deps.advertiseAddr);
    this.tickMs = deps.timing.tickMs;
    this.leaderWaitMs = deps.leaderWaitMs ?? RAFT_LEADER_WAIT_ELECTIONS * deps.timing.electionTicks * deps.timing.tickMs;
  }

  // ---------------------------------------------------------------- lifecycle

  /** Recover from the log (or bootstrap a new cluster), start ticking and serving RPC. */
  async start(): Promise<{ notes: string[]; snapshotIndex: number; entries: number }> {
    assert(this.state === "new", "raft: start called twice");
    const d = this.deps;
    const rec: Recovered = await d.log.open();
    let snapshot: RaftSnapshot | undefined;
    if (rec.snapshot !== undefined) {
      const env = decodeSnapshotEnvelope(rec.snapshot.data);
      const config: Membership = env?.config ?? (d.bootstrap !== undefined ? membership(d.bootstrap, [], [], this.knownAddresses()) : EMPTY_MEMBERSHIP);
      const data = env?.data ?? rec.snapshot.data;
      this.store.restore(data);
      snapshot = { index: rec.snapshot.index, term: rec.snapshot.term, config, data };
      this.applied = rec.snapshot.index;
      this.snapshotIndex = rec.snapshot.index;
      this.walLast = rec.snapshot.index;
    }
    let entries: LogEntry[] = rec.entries.filter((e) => e.index > this.snapshotIndex);
    if (entries.length > 0) this.walLast = entries[entries.length - 1]!.index;
    this.hard = { term: rec.hardState.term, vote: rec.hardState.vote };
    d.log.onDurable((i) => this.onDurable(i));
    if (snapshot === undefined && entries.length === 0 && this.hard.term === 0 && d.bootstrap !== undefined && d.bootstrap.length > 0) {
      entries = bootstrapEntries(membership(d.bootstrap, [], [], this.knownAddresses()));
      d.log.append(entries);
      this.walLast = entries[entries.length - 1]!.index;
      await this.waitDurable(this.walLast);
      d.logger("info", `raft ${this.id}: bootstrapped a new cluster with voters ${d.bootstrap.join(", ")}`);
    }
    const cfg: RaftConfig = { ...defaultRaftConfig(this.id, d.timing), ...d.raft };
    this.core = new RaftCore(
      cfg,
      { random: d.random, logger: (level, msg) => d.logger(level, msg) },
      { hardState: this.hard, snapshot, entries },
    );
    this.soft = { role: "follower", leader: "", term: this.hard.term };
    this.startedAt = d.now();
    d.rpcServer.handle(METHOD_MSGS, (b) => this.onMessages(b));
    d.rpcServer.handle(METHOD_APPLY, (b) => this.onForwardedApply(b));
    d.rpcServer.handle(METHOD_READ_INDEX, (b) => this.onForwardedRead(b));
    this.state = "running";
    const voters = this.core.config().voters;
    if (voters.length === 1 && voters[0] === this.id) this.core.campaign();
    this.armTick();
    this.pump();
    return { notes: rec.notes, snapshotIndex: this.snapshotIndex, entries: entries.length };
  }

  /**
   * Stop: no more ticks or RPC handling, refuse waiting callers, let the Readies
   * in flight finish, optionally snapshot, close the log.
   */
  async close(opts: { snapshot?: boolean } = {}): Promise<void> {
    if (this.state !== "running") return;
    this.state = "closing";
    this.cancelTick?.();
    const d = this.deps;
    d.rpcServer.unhandle(METHOD_MSGS);
    d.rpcServer.unhandle(METHOD_APPLY);
    d.rpcServer.unhandle(METHOD_READ_INDEX);
    this.failWaiting(shuttingDown());
    await this.whenIdle();
    if (this.snapshotting !== undefined) await this.snapshotting;
    if (opts.snapshot === true && this.applied > this.snapshotIndex && !this.store.restorePending()) {
      try {
        await this.takeSnapshot();
      } catch (e) {
        d.logger("warn", `raft ${this.id}: snapshot on close failed: ${String(e)}`);
      }
    }
    await d.log.close();
    this.state = "closed";
    this.failWaiting(shuttingDown());
  }

  // ---------------------------------------------------------------- Backend

  apply(cmd: Command): Promise<ApplyResult> {
    if (this.state !== "running") return Promise.reject(shuttingDown());
    let data: Uint8Array;
    try {
      data = this.deps.encode(cmd);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.applyLoop(cmd, data, this.deps.now() + this.leaderWaitMs);
  }

  async readBarrier(mode: Consistency): Promise<LeaderView> {
    if (this.state !== "running") throw noLeader();
    if (mode === "stale") return this.leader();
    const index = await this.readPoint(mode, this.deps.now() + this.leaderWaitMs);
    await this.waitApplied(index, this.deps.now() + this.leaderWaitMs);
    return this.leader();
  }

  leader(): LeaderView {
    const now = this.deps.now();
    const lid = this.soft.leader;
    if (lid !== "" && lid === this.id && this.soft.role === "leader") {
      return { knownLeader: true, lastContactMs: 0, leaderAddr: this.deps.advertiseAddr };
    }
    // Followers report at least 1 ms: 0 means "this is the leader" to the HTTP layer.
    const since = this.lastLeaderFrom !== "" ? now - this.lastLeaderAt : now - this.startedAt;
    const lastContactMs = Math.max(1, since);
    if (lid === "") return { knownLeader: false, lastContactMs, leaderAddr: "" };
    return { knownLeader: true, lastContactMs, leaderAddr: this.addressOf(lid) ?? "" };
  }

  peers(): string[] {
    if (this.state === "new") return [];
    const out: string[] = [];
    for (const id of this.core.config().voters) {
      const a = this.addressOf(id);
      if (a !== undefined) out.push(a);
    }
    return out;
  }

  /**
   * A server's RPC address: the latest one learned (gossip, traffic), else the
   * one recorded in the current configuration (so a restarted server reaches its
   * peers before gossip has told it anything).
   */
  addressOf(id: NodeId): string | undefined {
    const a = this.addresses.get(id);
    if (a !== undefined) return a;
    return this.state === "new" ? undefined : this.core.config().addresses?.[id];
  }

  private knownAddresses(): Record<NodeId, string> {
    return Object.fromEntries(this.addresses);
  }

  // ---------------------------------------------------------------- views (operator endpoints, tests)

  appliedIndex(): number {
    return this.applied;
  }

  isLeader(): boolean {
    return this.soft.role === "leader";
  }

  role(): Role {
    return this.soft.role;
  }

  /** The core's status (term, commit, configuration, follower progress). */
  status(): ReturnType<RaftCore["status"]> {
    assert(this.state !== "new", "raft: status before start");
    return this.core.status();
  }

  /** Remember (or change) a server's RPC address. */
  setAddress(id: NodeId, addr: string): void {
    this.addresses.set(id, addr);
  }

  /**
   * On the leader: change the configuration (add-voter joins as staging and is
   * promoted once caught up; remove). Resolves once the change is committed.
   */
  changeMembership(c: ConfChange): Promise<void> {
    if (this.state !== "running") return Promise.reject(shuttingDown());
    const r = this.core.proposeConfChange(c);
    if (!r.ok) {
      switch (r.reason) {
        case "not-leader":
        case "transferring":
          return Promise.reject(new CairnError("unavailable", `raft: not the leader (leader: ${r.leader === "" ? "none" : r.leader})`));
        case "conf-pending":
          return Promise.reject(new CairnError("conflict", "raft: a configuration change is already in progress"));
        case "invalid":
          return Promise.reject(new CairnError("bad-request", `raft: invalid configuration change ${c.type} ${c.id}`));
        case "too-many":
          return Promise.reject(new CairnError("rate-limited", "Too many uncommitted writes; try again later"));
      }
    }
    const p = new Promise<void>((resolve, reject) => {
      this.pendingApplies.set(r.index, { term: r.term, cmd: undefined, resolve: () => resolve(), reject });
    });
    this.pump();
    return p;
  }

  /** On the leader: hand leadership to a caught-up voter; false when not possible now. */
  transferLeadership(to: NodeId): boolean {
    if (this.state !== "running") return false;
    const ok = this.core.transferLeadership(to);
    this.pump();
    return ok;
  }

  // ---------------------------------------------------------------- writes

  private async applyLoop(cmd: Command, data: Uint8Array, deadline: number): Promise<ApplyResult> {
    for (;;) {
      if (this.state !== "running") throw shuttingDown();
      const local = this.proposeLocal(cmd, data);
      if (local.kind === "proposed") return local.promise;
      if (local.kind === "retry") {
        if (this.deps.now() >= deadline) throw noLeader();
        await this.waitChange(Math.min(RAFT_FORWARD_RETRY_MS, deadline - this.deps.now()));
        continue;
      }
      const lid = local.leader;
      const addr = lid === "" ? undefined : this.addressOf(lid);
      if (addr === undefined) {
        if (this.deps.now() >= deadline) throw noLeader();
        await this.waitChange(Math.min(this.tickMs, deadline - this.deps.now()));
        continue;
      }
      const reply = await this.forward(addr, METHOD_APPLY, { data }, deadline);
      if (reply === undefined || !reply.ok) {
        if (this.deps.now() >= deadline) throw noLeader();
        await this.waitChange(Math.min(RAFT_FORWARD_RETRY_MS, deadline - this.deps.now()));
        continue;
      }
      if (!(reply.value instanceof Uint8Array)) throw new CairnError("internal", "raft: malformed apply reply from the leader");
      return this.deps.decodeResult(reply.value);
    }
  }

  /** Propose on this server if it leads. */
  private proposeLocal(
    cmd: Command,
    data: Uint8Array,
  ): { kind: "proposed"; promise: Promise<ApplyResult> } | { kind: "not-leader"; leader: NodeId } | { kind: "retry" } {
    if (this.pendingApplies.size >= MAX_PENDING_WRITES) {
      throw new CairnError("rate-limited", "Too many pending writes; try again later");
    }
    const r = this.core.propose(data);
    if (r.ok) {
      const old = this.pendingApplies.get(r.index);
      if (old !== undefined) {
        this.pendingApplies.delete(r.index);
        old.reject(leadershipLost());
      }
      const promise = new Promise<ApplyResult>((resolve, reject) => {
        this.pendingApplies.set(r.index, { term: r.term, cmd, resolve, reject });
      });
      this.pump();
      return { kind: "proposed", promise };
    }
    switch (r.reason) {
      case "not-leader":
        return { kind: "not-leader", leader: r.leader };
      case "transferring":
        return { kind: "retry" };
      case "too-many":
        throw new CairnError("rate-limited", "Too many uncommitted writes; try again later");
      case "conf-pending":
      case "invalid":
        throw new CairnError("internal", `raft: proposal refused (${r.reason})`);
    }
  }

  /**
   * Call the leader. Undefined when the call never reached it (safe to retry);
   * failures after sending propagate: the outcome is unknown.
   */
  private async forward(addr: string, method: string, body: unknown, deadline: number): Promise<ForwardReply | undefined> {
    const timeoutMs = Math.max(this.tickMs, deadline - this.deps.now());
    let raw: unknown;
    try {
      raw = await this.deps.rpcClient.call(addr, method, body, { timeoutMs });
    } catch (e) {
      if (isRpcError(e) && (e.code === "unreachable" || e.code === "overloaded")) return undefined;
      // A read changes nothing: one whose connection broke may be asked again (Consul retries reads on EOF).
      if (isRpcError(e) && e.code === "closed" && method === METHOD_READ_INDEX) return undefined;
      if (isRpcError(e) && e.code === "timeout" && this.deps.now() >= deadline) throw noLeader();
      throw e;
    }
    if (typeof raw === "object" && raw !== null && "ok" in raw) {
      const o = raw as Record<string, unknown>;
      if (o.ok === true) return { ok: true, value: o.value };
      if (o.ok === false && typeof o.leader === "string") return { ok: false, leader: o.leader };
    }
    throw new CairnError("internal", `raft: malformed ${method} reply from ${addr}`);
  }

  /** "Raft.Apply" at the leader: {data} -> {ok, value: encoded result} | {ok: false, leader}. */
  private async onForwardedApply(body: unknown): Promise<unknown> {
    if (this.state !== "running") throw shuttingDown();
    const data = typeof body === "object" && body !== null ? (body as Record<string, unknown>).data : undefined;
    if (!(data instanceof Uint8Array)) throw new CairnError("bad-request", "raft: Raft.Apply needs {data: bytes}");
    const cmd = this.deps.decode(data); // validates before it reaches every FSM
    const local = this.proposeLocal(cmd, data);
    if (local.kind === "proposed") return { ok: true, value: this.deps.encodeResult(await local.promise) };
    return { ok: false, leader: local.kind === "not-leader" ? local.leader : this.id };
  }

  // ---------------------------------------------------------------- reads

  /** The index a read in `mode` must wait for (after the leader confirmed it). */
  private async readPoint(mode: "default" | "consistent", deadline: number): Promise<number> {
    for (;;) {
      if (this.state !== "running") throw noLeader();
      const local = this.readIndexLocal(mode, deadline);
      if (local !== undefined) return local;
      const lid = this.core.status().leader;
      const addr = lid === "" || lid === this.id ? undefined : this.addressOf(lid);
      if (addr !== undefined) {
        const reply = await this.forward(addr, METHOD_READ_INDEX, { mode }, deadline);
        if (reply !== undefined && reply.ok) {
          if (typeof reply.value !== "number") throw new CairnError("internal", "raft: malformed read index reply");
          return reply.value;
        }
      }
      if (this.deps.now() >= deadline) throw noLeader();
      await this.waitChange(Math.min(addr === undefined ? this.tickMs : RAFT_FORWARD_RETRY_MS, deadline - this.deps.now()));
    }
  }

  /** On the leader: the read index (lease or ReadIndex round); undefined when not the leader. */
  private readIndexLocal(mode: "default" | "consistent", deadline: number): Promise<number> | undefined {
    if (mode === "default") {
      const idx = this.core.leaseRead();
      if (idx !== undefined) return Promise.resolve(idx);
    }
    if (this.pendingReads.size >= RAFT_MAX_PENDING_READS) throw new CairnError("rate-limited", "Too many pending reads; try again later");
    const ctx = `${this.id}/${++this.readSeq}`;
    if (!this.core.readIndex(ctx)) return undefined;
    const p = new Promise<number>((resolve, reject) => this.pendingReads.set(ctx, { deadline, resolve, reject }));
    this.pump();
    return p;
  }

  /** "Raft.ReadIndex" at the leader: {mode} -> {ok, value: index} | {ok: false, leader}. */
  private async onForwardedRead(body: unknown): Promise<unknown> {
    if (this.state !== "running") throw shuttingDown();
    const mode = typeof body === "object" && body !== null ? (body as Record<string, unknown>).mode : undefined;
    if (mode !== "default" && mode !== "consistent") throw new CairnError("bad-request", "raft: Raft.ReadIndex needs {mode}");
    const p = this.readIndexLocal(mode, this.deps.now() + this.leaderWaitMs);
    if (p === undefined) return { ok: false, leader: this.soft.leader === this.id ? "" : this.soft.leader };
    return { ok: true, value: await p };
  }

  private waitApplied(index: number, deadline: number): Promise<void> {
    if (this.applied >= index) return Promise.resolve();
    return new Promise<void>((resolve, reject) => this.applyWaiters.push({ index, deadline, resolve: () => resolve(), reject }));
  }

  /** Resolves on the next leadership change or after ms. */
  private waitChange(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      let done = false;
      const wake = (): void => {
        if (done) return;
        done = true;
        cancel();
        resolve();
      };
      const cancel = this.deps.schedule(Math.max(0, ms), wake);
      this.changeWaiters.push({ deadline: this.deps.now() + ms, wake });
    });
  }

  // ---------------------------------------------------------------- incoming raft traffic

  private onMessages(body: unknown): void {
    if (this.state !== "running") return;
    const batch = parseBatch(body, this.id);
    if (batch === undefined) {
      this.deps.logger("warn", `raft ${this.id}: dropped a malformed message batch`);
      return;
    }
    if (batch.addr !== "" && this.addresses.get(batch.from) !== batch.addr) this.addresses.set(batch.from, batch.addr);
    this.lastHeardFrom.set(batch.from, this.deps.now());
    let fromLeader = false;
    try {
      for (const m of batch.msgs) {
        this.core.step(m);
        if (m.type === "append" || m.type === "heartbeat" || m.type === "snapshot") fromLeader = true;
      }
      // Contact counts only when the core accepted the sender as its leader (not a stale one).
      if (fromLeader && this.core.status().leader === batch.from) {
        this.lastLeaderFrom = batch.from;
        this.lastLeaderAt = this.deps.now();
      }
    } catch (e) {
      this.fatal(e);
      return;
    }
    this.pump();
  }

  // ---------------------------------------------------------------- ticks

  private armTick(): void {
    this.cancelTick = this.deps.schedule(this.tickMs, () => {
      if (this.state !== "running") return;
      try {
        this.core.tick();
      } catch (e) {
        this.fatal(e);
        return;
      }
      this.sweep();
      this.resetSilentPeers();
      this.pump();
      this.armTick();
    });
  }

  /** Fail waiters past their deadline. */
  private sweep(): void {
    const now = this.deps.now();
    for (const [ctx, w] of this.pendingReads) {
      if (w.deadline <= now) {
        this.pendingReads.delete(ctx);
        w.reject(noLeader());
      }
    }
    if (this.applyWaiters.length > 0) {
      const keep: ApplyWaiter[] = [];
      for (const w of this.applyWaiters) {
        if (w.deadline <= now) w.reject(noLeader());
        else keep.push(w);
      }
      this.applyWaiters = keep;
    }
    if (this.changeWaiters.length > 0) this.changeWaiters = this.changeWaiters.filter((w) => w.deadline > now);
  }

  /**
   * Drop the connection to every peer this server keeps sending to but has not heard from
   * for RAFT_SILENT_PEER_ELECTIONS election timeouts. Across a partition (packets dropped,
   * no RST) a connection with unacknowledged data sits in TCP's retransmission back-off,
   * which grows towards minutes; after the network heals, traffic on it would resume only
   * at the next retransmission. A fresh connection is dialled at the next send instead (and
   * its SYNs retried by the RPC client's bounded back-off).
   */
  private resetSilentPeers(): void {
    const d = this.deps;
    if (d.rpcClient.disconnect === undefined) return;
    const now = d.now();
    const electionMs = d.timing.electionTicks * this.tickMs;
    const silentMs = RAFT_SILENT_PEER_ELECTIONS * electionMs;
    for (const [id, sentAt] of this.lastSentTo) {
      if (now - sentAt > electionMs) continue; // not talking to it now: nothing to expect back
      const heard = Math.max(this.lastHeardFrom.get(id) ?? this.startedAt, this.lastResetOf.get(id) ?? this.startedAt);
      if (now - heard < silentMs) continue;
      const addr = this.addressOf(id);
      if (addr === undefined) continue;
      this.lastResetOf.set(id, now);
      d.logger("debug", `raft ${this.id}: nothing from ${id} (${addr}) for ${Math.round(now - heard)} ms; reconnecting`);
      d.rpcClient.disconnect(addr);
    }
  }

  // ---------------------------------------------------------------- the Ready loop

  /** Ask for a turn of the Ready loop after the current I/O events (one Ready for all of them). */
  private pump(): void {
    if (this.state !== "running") return;
    this.scheduleTurn();
  }

  private scheduleTurn(): void {
    if (this.turnScheduled) return;
    this.turnScheduled = true;
    (this.deps.defer ?? defaultDefer)(this.deferredTurn);
  }

  private readonly deferredTurn = (): void => {
    this.turnScheduled = false;
    if (this.state === "closed") return;
    this.turn();
  };

  /**
   * Complete what is durable, take what the core has ready (within the bound),
   * repeat until nothing moves. Re-entrant calls (from callbacks run inside)
   * only ask for another round.
   */
  private turn(): void {
    if (this.turning) {
      this.turnAgain = true;
      return;
    }
    this.turning = true;
    try {
      do {
        this.turnAgain = false;
        this.completeDurable();
        while (this.state === "running" && this.held === undefined && this.inflight.length < RAFT_MAX_INFLIGHT_READIES && this.core.hasReady()) {
          this.take(this.core.ready());
          this.completeDurable();
        }
      } while (this.turnAgain);
    } catch (e) {
      this.turning = false;
      this.fatal(e);
      return;
    }
    this.turning = false;
    this.afterReady();
    if (this.inflight.length === 0 && this.held === undefined) this.notifyIdle();
  }

  /** Steps 1-3 of the Ready contract: soft state, messages now, apply, reads, queue the writes. */
  private take(rd: Ready): void {
    if (rd.soft !== undefined) this.onSoft(rd.soft);
    this.send(rd.messages);
    if (rd.committed.length > 0) {
      assert(rd.snapshot === undefined, `raft ${this.id}: committed entries handed out with a snapshot to install`);
      for (const e of rd.committed) this.applyEntry(e);
      this.core.applied(rd.committed[rd.committed.length - 1]!.index);
    }
    for (const rs of rd.readStates) this.releaseRead(rs);
    this.releaseApplied();
    const rewrites = rd.snapshot !== undefined || (rd.entries.length > 0 && rd.entries[0]!.index <= this.walLast);
    if (rewrites && this.inflight.length > 0) {
      this.held = rd;
      return;
    }
    this.issue(rd);
  }

  /** Queue a Ready's writes; it completes (in order) once they are durable. */
  private issue(rd: Ready): void {
    const d = this.deps;
    const f: InFlight = { rd, done: false };
    this.inflight.push(f);
    const waits: Array<Promise<void>> = [];
    if (rd.snapshot !== undefined) {
      const s = rd.snapshot;
      if (this.walLast > s.index) waits.push(d.log.truncateSuffix(s.index + 1));
      waits.push(d.log.saveSnapshot({ index: s.index, term: s.term, data: encodeSnapshotEnvelope(s.config, s.data) }, 0, { owned: true }));
      this.walLast = s.index;
    }
    const hs = rd.hardState;
    if (hs !== undefined && (hs.term !== this.hard.term || hs.vote !== this.hard.vote)) {
      waits.push(d.log.setHardState(hs.term, hs.vote));
      this.hard = { term: hs.term, vote: hs.vote };
    }
    if (rd.entries.length > 0) {
      const first = rd.entries[0]!.index;
      const last = rd.entries[rd.entries.length - 1]!.index;
      if (first <= this.walLast) waits.push(d.log.truncateSuffix(first));
      d.log.append(rd.entries);
      this.walLast = last;
      waits.push(this.waitDurable(last));
    }
    if (waits.length === 0) {
      f.done = true;
      return;
    }
    const settled = waits.length === 1 ? waits[0]! : Promise.all(waits);
    settled.then(
      () => {
        f.done = true;
        this.scheduleTurn();
      },
      (e: unknown) => this.fatal(e),
    );
  }

  /**
   * Step 4 of the Ready contract for every Ready at the head of the queue whose
   * writes are durable; their messages leave together (one batch per peer).
   */
  private completeDurable(): void {
    for (;;) {
      let out: Message[] | undefined;
      while (this.inflight.length > 0 && this.inflight[0]!.done) {
        const { rd } = this.inflight.shift()!;
        if (rd.snapshot !== undefined) this.installSnapshot(rd.snapshot);
        if (rd.messagesAfterPersist.length > 0) {
          if (out === undefined) out = [...rd.messagesAfterPersist];
          else for (const m of rd.messagesAfterPersist) out.push(m);
        }
        this.core.persisted(rd);
        this.releaseApplied();
      }
      if (out !== undefined) this.send(out);
      if (this.inflight.length > 0 || this.held === undefined) return;
      const rd = this.held;
      this.held = undefined;
      this.issue(rd);
    }
  }

  private whenIdle(): Promise<void> {
    if (this.inflight.length === 0 && this.held === undefined) return Promise.resolve();
    return new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private notifyIdle(): void {
    const ws = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of ws) w();
  }

  private afterReady(): void {
    if (this.state !== "running") return;
    const t = this.deps.snapshotThreshold;
    // No snapshot while a chunked restore is pending (its chunks are not in snapshots): the
    // next ready after its final restore or restore-abort takes it.
    if (t > 0 && this.snapshotting === undefined && this.applied - this.snapshotIndex >= t && !this.store.restorePending()) {
      this.snapshotting = this.takeSnapshot()
        .catch((e: unknown) => this.deps.logger("error", `raft ${this.id}: snapshot failed: ${String(e)}`))
        .finally(() => {
          this.snapshotting = undefined;
        });
    }
  }

  private async takeSnapshot(): Promise<void> {
    const data = this.store.snapshot();
    const snap = this.core.compact(this.applied, data, this.deps.trailingLogs);
    this.snapshotIndex = snap.index;
    const env = encodeSnapshotEnvelope(snap.config, data);
    await this.deps.log.saveSnapshot({ index: snap.index, term: snap.term, data: env }, this.deps.trailingLogs, { owned: true });
    this.deps.logger("info", `raft ${this.id}: snapshot at index ${snap.index} (${data.byteLength} bytes)`);
  }

  private send(msgs: readonly Message[]): void {
    if (msgs.length === 0) return;
    const byPeer = new Map<NodeId, Message[]>();
    for (const m of msgs) {
      let list = byPeer.get(m.to);
      if (list === undefined) byPeer.set(m.to, (list = []));
      list.push(m);
    }
    const encoded = new Map<string, Uint8Array>();
    for (const [to, list] of byPeer) {
      const addr = this.addressOf(to);
      let ok = addr !== undefined;
      let batch: unknown[] = [];
      let bytes = 0;
      const flush = (): void => {
        if (batch.length === 0) return;
        if (ok) ok = this.deps.rpcClient.cast(addr!, METHOD_MSGS, { from: this.id, addr: this.deps.advertiseAddr, msgs: batch });
        batch = [];
        bytes = 0;
      };
      for (const m of list) {
        const n = messageBytes(m);
        if (batch.length > 0 && bytes + n > RPC_RAFT_BATCH_BYTES) flush();
        batch.push(toWire(m, encoded));
        bytes += n;
      }
      flush();
      this.lastSentTo.set(to, this.deps.now());
      if (!ok) this.core.reportUnreachable(to);
    }
  }

  private onSoft(s: SoftState): void {
    const was = this.soft;
    this.soft = s;
    if (was.role === "leader" && s.role !== "leader") {
      for (const [, p] of this.pendingApplies) p.reject(leadershipLost());
      this.pendingApplies.clear();
      for (const [, w] of this.pendingReads) w.reject(noLeader());
      this.pendingReads.clear();
    }
    if ((was.role === "leader") !== (s.role === "leader")) this.deps.onLeadership?.(s.role === "leader");
    if (was.leader !== s.leader || was.role !== s.role) {
      this.deps.logger("info", `raft ${this.id}: ${s.role} in term ${s.term}${s.leader === "" ? ", no leader" : `, leader ${s.leader}`}`);
      const ws = this.changeWaiters;
      this.changeWaiters = [];
      for (const w of ws) w.wake();
    }
  }

  private installSnapshot(s: RaftSnapshot): void {
    this.store.restore(s.data);
    this.applied = s.index;
    this.snapshotIndex = s.index;
    for (const [i, p] of this.pendingApplies) {
      if (i <= s.index) {
        this.pendingApplies.delete(i);
        p.reject(leadershipLost());
      }
    }
  }

  private applyEntry(e: LogEntry): void {
    assert(e.index === this.applied + 1, `raft ${this.id}: applying ${e.index} after ${this.applied}`);
    const p = this.pendingApplies.get(e.index);
    const mine = p !== undefined && p.term === e.term;
    let result: ApplyResult = { type: "none" };
    if (e.type === "command") {
      const cmd = mine && p.cmd !== undefined ? p.cmd : this.deps.decode(e.data);
      result = this.store.apply(e.index, cmd);
    }
    this.applied = e.index;
    if (p !== undefined) {
      this.pendingApplies.delete(e.index);
      if (mine) p.resolve(result);
      else p.reject(leadershipLost());
    }
  }

  private releaseRead(rs: ReadState): void {
    const w = this.pendingReads.get(rs.ctx);
    if (w === undefined) return;
    this.pendingReads.delete(rs.ctx);
    w.resolve(rs.index);
  }

  private releaseApplied(): void {
    if (this.applyWaiters.length === 0) return;
    const keep: ApplyWaiter[] = [];
    for (const w of this.applyWaiters) {
      if (w.index <= this.applied) w.resolve(w.index);
      else keep.push(w);
    }
    this.applyWaiters = keep;
  }

  // ---------------------------------------------------------------- durability

  private waitDurable(index: number): Promise<void> {
    if (this.deps.log.durableIndex() >= index) return Promise.resolve();
    return new Promise<void>((resolve) => this.durableWaiters.push({ index, resolve }));
  }

  private onDurable(index: number): void {
    if (this.durableWaiters.length === 0) return;
    const keep: typeof this.durableWaiters = [];
    for (const w of this.durableWaiters) {
      if (w.index <= index) w.resolve();
      else keep.push(w);
    }
    this.durableWaiters = keep;
  }

  // ---------------------------------------------------------------- failure

  private failWaiting(e: CairnError): void {
    for (const [, p] of this.pendingApplies) p.reject(e);
    this.pendingApplies.clear();
    for (const [, w] of this.pendingReads) w.reject(e.kind === "unavailable" ? noLeader() : e);
    this.pendingReads.clear();
    for (const w of this.applyWaiters) w.reject(noLeader());
    this.applyWaiters = [];
    const ws = this.changeWaiters;
    this.changeWaiters = [];
    for (const w of ws) w.wake();
  }

  private fatal(e: unknown): void {
    this.notifyIdle(); // what is in flight will not complete
    this.deps.logger("error", `raft ${this.id}: fatal: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    if (this.state === "running") {
      this.state = "closing";
      this.cancelTick?.();
      this.failWaiting(new CairnError("internal", "raft: server failed"));
    }
    if (this.deps.onFatal !== undefined) this.deps.onFatal(e);
    else
      queueMicrotask(() => {
        throw e;
      });
  }
}
