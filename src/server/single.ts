/**
 * server/single: the single-voter server — the write path of a one-server cluster.
 *
 * It plays the part Raft plays in a cluster, for a cluster of one: a command is
 * given the next log index, appended to the durable log (group-committed by the
 * WAL worker), and only once the log reports it durable is it applied to the
 * FSM, in index order, and its caller answered. It also restores state on start
 * (snapshot + log replay) and takes snapshots every `snapshotThreshold` entries
 * and on shutdown, but never while the store has a chunked snapshot restore pending
 * (its chunks are in the log, not in snapshots; the snapshot is retried after it ends).
 * A restore left pending by the previous run is dropped with a restore-abort after
 * recovery (nobody will send its final entry). The Raft issue replaces this with a
 * replicated driver that keeps the same Backend face.
 *
 * Must never: answer a write before it is durable; apply out of index order;
 * apply a command twice; do socket or timer I/O of its own (all comes via deps).
 */

import type { LogEntry, LogStore } from "../wal/types.ts";
import type { ApplyResult, Command } from "../state/types.ts";
import type { Backend, Consistency, LeaderView } from "./types.ts";
import type { FsmStore } from "./fsm_store.ts";
import { CairnError, assert } from "../shared/errors.ts";
import { MAX_PENDING_WRITES } from "../shared/limits.ts";
import { metrics } from "../shared/metrics.ts";

export interface SingleServerDeps {
  readonly log: LogStore;
  readonly store: FsmStore;
  readonly encode: (cmd: Command) => Uint8Array;
  readonly decode: (data: Uint8Array) => Command;
  /** "ip:port" this server advertises as the leader address. */
  readonly advertiseAddr: string;
  /** Entries between automatic snapshots (Consul raft_snapshot_threshold); 0 disables. */
  readonly snapshotThreshold: number;
  /** Entries kept in the log behind a snapshot (Consul raft_trailing_logs). */
  readonly trailingLogs: number;
  readonly logger: (level: "info" | "warn" | "error" | "debug", msg: string) => void;
  /** Monotonic clock in ms (for metrics only). */
  readonly now: () => number;
}

interface Pending {
  readonly index: number;
  /** The encoded command, applied decoded (as replay applies it). */
  readonly data: Uint8Array;
  readonly start: number;
  readonly resolve: (r: ApplyResult) => void;
  readonly reject: (e: unknown) => void;
}

const TERM = 1;

export class SingleServer implements Backend {
  readonly store: FsmStore;
  private readonly deps: SingleServerDeps;
  private lastAppended = 0;
  private lastApplied = 0;
  private snapshotIndex = 0;
  private snapshotting: Promise<void> | undefined;
  /** FIFO of writes not yet applied; applied slots are cleared so nothing retains their commands. */
  private pending: Array<Pending | undefined> = [];
  private pendingHead = 0;
  private state: "new" | "running" | "closing" | "closed" = "new";
  private idleWaiters: Array<() => void> = [];

  constructor(deps: SingleServerDeps) {
    this.deps = deps;
    this.store = deps.store;
  }

  /** Recover from disk (snapshot + replay), then make sure the log is not empty. */
  async start(): Promise<{ notes: string[]; replayed: number; snapshotIndex: number }> {
    assert(this.state === "new", "start called twice");
    const rec = await this.deps.log.open();
    if (rec.snapshot !== undefined) {
      this.store.restore(rec.snapshot.data);
      this.snapshotIndex = rec.snapshot.index;
      this.lastApplied = rec.snapshot.index;
    }
    for (const e of rec.entries) {
      assert(e.index === this.lastApplied + 1, `log gap at ${e.index} after ${this.lastApplied}`);
      this.applyEntry(e);
    }
    this.lastAppended = this.lastApplied;
    this.deps.log.onDurable((i) => this.onDurable(i));
    this.state = "running";
    if (this.lastAppended === 0) {
      // A fresh log: the first entry marks the bootstrap, as Raft's configuration entry does.
      await this.apply({ type: "noop" });
    }
    if (this.store.restorePending()) {
      // A chunked restore the last run never finished: nobody will send its final entry.
      const id = this.store.pendingRestoreId();
      this.deps.logger("warn", `snapshot restore ${id ?? ""} was left unfinished: dropping it`);
      await this.apply(id === undefined ? { type: "restore-abort" } : { type: "restore-abort", id });
    }
    metrics.gaugeFn("consul.raft.pending_writes", () => this.pending.length - this.pendingHead);
    return { notes: rec.notes, replayed: rec.entries.length, snapshotIndex: this.snapshotIndex };
  }

  apply(cmd: Command): Promise<ApplyResult> {
    if (this.state !== "running") {
      return Promise.reject(new CairnError("unavailable", "Agent is shutting down"));
    }
    if (this.pending.length - this.pendingHead >= MAX_PENDING_WRITES) {
      metrics.incr("consul.rpc.rate_limit.exceeded");
      return Promise.reject(new CairnError("rate-limited", "Too many pending writes; try again later"));
    }
    const data = this.deps.encode(cmd);
    const index = this.lastAppended + 1;
    const entry: LogEntry = { index, term: TERM, type: cmd.type === "noop" ? "noop" : "command", data };
    this.deps.log.append([entry]);
    this.lastAppended = index;
    return new Promise<ApplyResult>((resolve, reject) => {
      this.pending.push({ index, data, start: this.deps.now(), resolve, reject });
    });
  }

  readBarrier(_mode: Consistency): Promise<LeaderView> {
    if (this.state === "closed") return Promise.reject(new CairnError("no-leader", "No cluster leader"));
    return Promise.resolve(this.leader());
  }

  leader(): LeaderView {
    return { knownLeader: true, lastContactMs: 0, leaderAddr: this.deps.advertiseAddr };
  }

  peers(): string[] {
    return [this.deps.advertiseAddr];
  }

  appliedIndex(): number {
    return this.lastApplied;
  }

  /** Refuse new writes, wait for in-flight ones, snapshot, flush and close the log. */
  async close(opts: { snapshot: boolean } = { snapshot: true }): Promise<void> {
    if (this.state === "closed" || this.state === "closing") return;
    const wasRunning = this.state === "running";
    this.state = "closing";
    if (wasRunning && this.pendingHead < this.pending.length) {
      await new Promise<void>((r) => this.idleWaiters.push(r));
    }
    if (this.snapshotting) await this.snapshotting;
    // Not while a chunked restore is pending: the log since the last snapshot replays it.
    if (wasRunning && opts.snapshot && this.lastApplied > this.snapshotIndex && !this.store.restorePending()) {
      await this.takeSnapshot();
    }
    await this.deps.log.close();
    this.state = "closed";
  }

  private onDurable(durable: number): void {
    const batchStart = this.pendingHead;
    while (this.pendingHead < this.pending.length) {
      const p = this.pending[this.pendingHead];
      if (p === undefined || p.index > durable) break;
      this.pending[this.pendingHead] = undefined;
      this.pendingHead++;
      let result: ApplyResult;
      try {
        // decoded from the log bytes, as replay does: no store string is a slice of a request's
        // JSON text (V8 keeps the whole text alive behind such a slice)
        result = this.store.apply(p.index, this.deps.decode(p.data));
      } catch (e) {
        // An FSM that throws on a durable command is a bug: fail loudly.
        this.deps.logger("error", `fsm: apply of index ${p.index} failed: ${String(e)}`);
        throw e;
      }
      this.lastApplied = p.index;
      metrics.sample("consul.raft.commitTime", this.deps.now() - p.start);
      p.resolve(result);
    }
    if (this.pendingHead > batchStart) {
      metrics.incr("consul.raft.apply", this.pendingHead - batchStart);
    }
    if (this.pendingHead > 1024 && this.pendingHead * 2 > this.pending.length) {
      this.pending = this.pending.slice(this.pendingHead);
      this.pendingHead = 0;
    }
    if (this.pendingHead === this.pending.length) {
      const ws = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of ws) w();
    }
    this.maybeSnapshot();
  }

  private applyEntry(e: LogEntry): void {
    const cmd = this.deps.decode(e.data);
    this.store.apply(e.index, cmd);
    this.lastApplied = e.index;
  }

  private maybeSnapshot(): void {
    const t = this.deps.snapshotThreshold;
    if (t <= 0 || this.snapshotting !== undefined || this.state !== "running") return;
    if (this.lastApplied - this.snapshotIndex < t) return;
    if (this.store.restorePending()) return; // retried on the next apply after it ends
    this.snapshotting = this.takeSnapshot()
      .catch((e: unknown) => this.deps.logger("error", `snapshot failed: ${String(e)}`))
      .finally(() => {
        this.snapshotting = undefined;
      });
  }

  private async takeSnapshot(): Promise<void> {
    const index = this.lastApplied;
    const t0 = this.deps.now();
    const data = this.store.snapshot();
    const t1 = this.deps.now();
    const bytes = data.byteLength;
    await this.deps.log.saveSnapshot({ index, term: TERM, data }, this.deps.trailingLogs, { owned: true });
    this.snapshotIndex = index;
    metrics.sample("consul.raft.snapshot.create", t1 - t0);
    metrics.sample("consul.raft.snapshot.persist", this.deps.now() - t1);
    this.deps.logger("info", `snapshot: index=${index} bytes=${bytes} encode=${(t1 - t0).toFixed(0)}ms`);
  }
}
