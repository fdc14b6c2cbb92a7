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
 * Layout: RaftServer (this file) owns the core, the lifecycle, the Backend
 * and operator faces, incoming traffic and ticks; it delegates to ReadyLoop
 * (driver_ready.ts: the storage half of the Ready loop), Applier
 * (driver_apply.ts: applying entries, installing and taking snapshots), Requests
 * (driver_requests.ts: write and read paths, forwarding), Peers
 * (driver_peers.ts: addresses, message batches, calls to the leader, silent
 * peers) and Waiters (driver_waiters.ts: callers waiting for an entry, a read,
 * a leader change, durability, idleness). driver_types.ts holds the deps and
 * shared shapes; driver_wire.ts the wire and disk forms.
 *
 * Must never: send a message before the state it depends on is durable, apply
 * out of order or twice, complete Readies out of order, answer a write before
 * it is applied, retry a forwarded write whose fate is unknown, or wait
 * without a bound.
 */

import type { Backend, Consistency, LeaderView } from "../server/types.ts";
import type { FsmStore } from "../server/fsm_store.ts";
import type { ApplyResult, Command } from "../state/types.ts";
import type { LogEntry, Recovered } from "../wal/types.ts";
import { CairnError, assert } from "../shared/errors.ts";
import { RAFT_LEADER_WAIT_ELECTIONS } from "../shared/limits.ts";
import { RaftCore } from "./core.ts";
import { defaultRaftConfig } from "./timing.ts";
import { bootstrapEntries } from "./bootstrap.ts";
import { EMPTY_MEMBERSHIP, membership } from "./membership.ts";
import { Applier } from "./driver_apply.ts";
import { Peers } from "./driver_peers.ts";
import { ReadyLoop } from "./driver_ready.ts";
import { Requests } from "./driver_requests.ts";
import type { RaftServerDeps, State } from "./driver_types.ts";
import { METHOD_APPLY, METHOD_MSGS, METHOD_READ_INDEX, noLeader, shuttingDown } from "./driver_types.ts";
import { Waiters } from "./driver_waiters.ts";
import { decodeSnapshotEnvelope, parseBatch } from "./driver_wire.ts";
import type { ConfChange, Membership, NodeId, RaftConfig, RaftSnapshot, Ready, Role, SoftState } from "./types.ts";

export class RaftServer implements Backend {
  readonly store: FsmStore;
  readonly id: NodeId;
  private readonly deps: RaftServerDeps;
  private core!: RaftCore;
  private state: State = "new";
  private readonly leaderWaitMs: number;
  private readonly tickMs: number;
  private readonly waiters: Waiters;
  private readonly peerLinks: Peers;
  private readonly requests: Requests;
  private readonly loop: ReadyLoop;
  private readonly fsm: Applier;

  private soft: SoftState = { role: "follower", leader: "", term: 0 };
  private cancelTick: (() => void) | undefined;
  private startedAt = 0;
  private lastLeaderFrom: NodeId = "";
  private lastLeaderAt = 0;

  constructor(deps: RaftServerDeps) {
    this.deps = deps;
    this.id = deps.id;
    this.store = deps.store;
    this.tickMs = deps.timing.tickMs;
    this.leaderWaitMs = deps.leaderWaitMs ?? RAFT_LEADER_WAIT_ELECTIONS * deps.timing.electionTicks * deps.timing.tickMs;
    this.waiters = new Waiters(deps);
    this.fsm = new Applier(deps, this.waiters, () => this.core);
    this.peerLinks = new Peers(deps, {
      configAddress: (id) => (this.state === "new" ? undefined : this.core.config().addresses?.[id]),
      unreachable: (id) => this.core.reportUnreachable(id),
    });
    this.requests = new Requests(deps, this.waiters, this.peerLinks, this.leaderWaitMs, {
      running: () => this.state === "running",
      core: () => this.core,
      pump: () => this.pump(),
      softLeader: () => this.soft.leader,
    });
    this.loop = new ReadyLoop(deps, this.waiters, {
      state: () => this.state,
      core: () => this.core,
      takeEffects: (rd) => this.takeEffects(rd),
      installSnapshot: (s) => this.fsm.installSnapshot(s),
      send: (msgs) => this.peerLinks.send(msgs),
      releaseApplied: () => this.waiters.releaseApplied(this.fsm.applied),
      afterReady: () => this.afterReady(),
      fatal: (e) => this.fatal(e),
    });
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
      const config: Membership = env?.config ?? (d.bootstrap !== undefined ? membership(d.bootstrap, [], [], this.peerLinks.knownAddresses()) : EMPTY_MEMBERSHIP);
      const data = env?.data ?? rec.snapshot.data;
      this.store.restore(data);
      snapshot = { index: rec.snapshot.index, term: rec.snapshot.term, config, data };
      this.fsm.applied = rec.snapshot.index;
      this.fsm.snapshotIndex = rec.snapshot.index;
      this.loop.walLast = rec.snapshot.index;
    }
    let entries: LogEntry[] = rec.entries.filter((e) => e.index > this.fsm.snapshotIndex);
    if (entries.length > 0) this.loop.walLast = entries[entries.length - 1]!.index;
    this.loop.hard = { term: rec.hardState.term, vote: rec.hardState.vote };
    d.log.onDurable((i) => this.waiters.onDurable(i));
    if (snapshot === undefined && entries.length === 0 && this.loop.hard.term === 0 && d.bootstrap !== undefined && d.bootstrap.length > 0) {
      entries = bootstrapEntries(membership(d.bootstrap, [], [], this.peerLinks.knownAddresses()));
      d.log.append(entries);
      this.loop.walLast = entries[entries.length - 1]!.index;
      await this.waiters.waitDurable(this.loop.walLast);
      d.logger("info", `raft ${this.id}: bootstrapped a new cluster with voters ${d.bootstrap.join(", ")}`);
    }
    const cfg: RaftConfig = { ...defaultRaftConfig(this.id, d.timing), ...d.raft };
    this.core = new RaftCore(
      cfg,
      { random: d.random, logger: (level, msg) => d.logger(level, msg) },
      { hardState: this.loop.hard, snapshot, entries },
    );
    this.soft = { role: "follower", leader: "", term: this.loop.hard.term };
    this.startedAt = d.now();
    d.rpcServer.handle(METHOD_MSGS, (b) => this.onMessages(b));
    d.rpcServer.handle(METHOD_APPLY, (b) => this.requests.onForwardedApply(b));
    d.rpcServer.handle(METHOD_READ_INDEX, (b) => this.requests.onForwardedRead(b));
    this.state = "running";
    const voters = this.core.config().voters;
    if (voters.length === 1 && voters[0] === this.id) this.core.campaign();
    this.armTick();
    this.pump();
    return { notes: rec.notes, snapshotIndex: this.fsm.snapshotIndex, entries: entries.length };
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
    this.waiters.failWaiting(shuttingDown());
    await this.waiters.whenIdle(this.loop.idle());
    if (this.fsm.snapshotting !== undefined) await this.fsm.snapshotting;
    if (opts.snapshot === true && this.fsm.applied > this.fsm.snapshotIndex && !this.store.restorePending()) {
      try {
        await this.fsm.takeSnapshot();
      } catch (e) {
        d.logger("warn", `raft ${this.id}: snapshot on close failed: ${String(e)}`);
      }
    }
    await d.log.close();
    this.state = "closed";
    this.waiters.failWaiting(shuttingDown());
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
    return this.requests.applyLoop(data, this.deps.now() + this.leaderWaitMs);
  }

  async readBarrier(mode: Consistency): Promise<LeaderView> {
    if (this.state !== "running") throw noLeader();
    if (mode === "stale") return this.leader();
    const index = await this.requests.readPoint(mode, this.deps.now() + this.leaderWaitMs);
    await this.waiters.waitApplied(index, this.deps.now() + this.leaderWaitMs, this.fsm.applied);
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
    return this.peerLinks.addressOf(id);
  }

  // ---------------------------------------------------------------- views (operator endpoints, tests)

  appliedIndex(): number {
    return this.fsm.applied;
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
    this.peerLinks.addresses.set(id, addr);
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
      this.waiters.pendingApplies.set(r.index, { term: r.term, resolve: () => resolve(), reject });
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

  // ---------------------------------------------------------------- incoming raft traffic

  private onMessages(body: unknown): void {
    if (this.state !== "running") return;
    const batch = parseBatch(body, this.id);
    if (batch === undefined) {
      this.deps.logger("warn", `raft ${this.id}: dropped a malformed message batch`);
      return;
    }
    if (batch.addr !== "" && this.peerLinks.addresses.get(batch.from) !== batch.addr) this.peerLinks.addresses.set(batch.from, batch.addr);
    this.peerLinks.lastHeardFrom.set(batch.from, this.deps.now());
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
      this.waiters.sweep();
      this.peerLinks.resetSilentPeers(this.startedAt);
      this.pump();
      this.armTick();
    });
  }

  // ---------------------------------------------------------------- the Ready loop

  /** Ask for a turn of the Ready loop after the current I/O events (one Ready for all of them). */
  private pump(): void {
    if (this.state !== "running") return;
    this.loop.scheduleTurn();
  }

  /** Steps 1-3 of the Ready contract but for the writes (ReadyLoop queues those): soft state, messages now, apply, reads. */
  private takeEffects(rd: Ready): void {
    if (rd.soft !== undefined) this.onSoft(rd.soft);
    this.peerLinks.send(rd.messages);
    if (rd.committed.length > 0) {
      assert(rd.snapshot === undefined, `raft ${this.id}: committed entries handed out with a snapshot to install`);
      for (const e of rd.committed) this.fsm.applyEntry(e);
      this.core.applied(rd.committed[rd.committed.length - 1]!.index);
    }
    for (const rs of rd.readStates) this.waiters.releaseRead(rs);
    this.waiters.releaseApplied(this.fsm.applied);
  }

  private afterReady(): void {
    if (this.state !== "running") return;
    this.fsm.afterReady();
  }

  private onSoft(s: SoftState): void {
    const was = this.soft;
    this.soft = s;
    if (was.role === "leader" && s.role !== "leader") this.waiters.leadershipEnded();
    if ((was.role === "leader") !== (s.role === "leader")) this.deps.onLeadership?.(s.role === "leader");
    if (was.leader !== s.leader || was.role !== s.role) {
      this.deps.logger("info", `raft ${this.id}: ${s.role} in term ${s.term}${s.leader === "" ? ", no leader" : `, leader ${s.leader}`}`);
      this.waiters.wakeChange();
    }
  }

  // ---------------------------------------------------------------- failure

  private fatal(e: unknown): void {
    this.waiters.notifyIdle(); // what is in flight will not complete
    this.deps.logger("error", `raft ${this.id}: fatal: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    if (this.state === "running") {
      this.state = "closing";
      this.cancelTick?.();
      this.waiters.failWaiting(new CairnError("internal", "raft: server failed"));
    }
    if (this.deps.onFatal !== undefined) this.deps.onFatal(e);
    else
      queueMicrotask(() => {
        throw e;
      });
  }
}
