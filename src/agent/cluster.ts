/**
 * agent/cluster: the replicated server of a multi-server cluster (a server with
 * bootstrap_expect > 1): a RaftServer over the server-port RPC and a WAL in
 * <data_dir>/raft, formed as Consul forms a cluster.
 *
 * Formation: a server whose data dir holds no Raft state waits until the LAN pool
 * shows bootstrap_expect alive servers of its datacenter with the same `expect` tag,
 * then starts Raft bootstrapped with those servers' ids (serf tag `id`) — every one of
 * them computes the same voter set, so they all write the same first entry. A marker
 * file (data_dir/raft-bootstrapped) and a non-empty WAL directory both mean "never
 * bootstrap again": such a server starts Raft at once from its log and rejoins as
 * itself. RPC addresses come from the members' addr + `port` tag and are kept current
 * from member events (setAddress).
 *
 * Until Raft runs, writes and non-stale reads fail with "No cluster leader". The
 * operator views (configuration, remove-peer, transfer-leader) run on the leader; a
 * follower forwards them over RPC ("Operator.Raft"), and session renewals too
 * ("Session.Renew": the TTL timers run on the leader only).
 *
 * Joining a running cluster (Consul's maybeBootstrap): before bootstrapping, a server
 * without Raft state asks every other server of the pool over RPC ("Status.RaftStats")
 * whether it already has Raft peers. If one has, a cluster exists: the server starts
 * Raft with an empty configuration and waits for the leader to add it; it bootstraps only
 * when bootstrap_expect servers are alive and every one of them answered "no peers".
 *
 * Cluster life on the leader (autopilot, decisions in agent/autopilot.ts): server health
 * every 2 s from the same stats RPC; on every member change and every 10 s a reconcile
 * pass: a left server is removed, an alive server of this dc that the configuration lacks
 * is added as a non-voter with its RPC address, a non-voter healthy for
 * ServerStabilizationTime is promoted, and with CleanupDeadServers failed servers are
 * removed within MinQuorum and the "never a majority" limit. One deviation: a follower's
 * LastContact is judged against LastContactThreshold plus one heartbeat interval (100 ms x
 * raft_multiplier), since a healthy follower only hears from the leader that often.
 * The autopilot configuration lives in the replicated state (autopilot-set); the leader
 * writes the config file's `autopilot` block (else Consul's defaults) when none is stored.
 * A new leader, after a read barrier, drops a chunked snapshot restore an earlier leader
 * left pending (restore-abort; state/restore.ts), since it blocks every server's snapshots;
 * so does the leader when a pending restore gets no chunk for SNAPSHOT_RESTORE_STALL_MS.
 * A leader that stops hands leadership to an alive voter first, so its graceful leave
 * (serf `left`) is removed by the next leader without an election wait.
 *
 * A server without bootstrap_expect (the agent runs this path for one that joins others
 * without any bootstrap setting) never bootstraps: it only ever joins.
 *
 * Must never: bootstrap a server that already has Raft state, bootstrap while another
 * server already has Raft peers, bootstrap with fewer than bootstrap_expect servers,
 * make more than one configuration change at a time, or throw from a member-event callback.
 */

import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Backend, Consistency, LeaderView, MemberView } from "../server/types.ts";
import type { RaftConfigurationView, RaftOps, RaftServerView } from "../http/agent_ops.ts";
import { RaftServer, consulTiming, timerSchedule } from "../raft/index.ts";
import { RpcClient, RpcServer } from "../rpc/index.ts";
import { decodeApplyResult, decodeCommand, encodeApplyResult, encodeCommand, type Store } from "../state/index.ts";
import type { ApplyResult, Command } from "../state/types.ts";
import { WalLog } from "../wal/index.ts";
import { CairnError, type ErrorKind } from "../shared/errors.ts";
import {
  CLIENT_RPC_MAX_INFLIGHT,
  CLUSTER_OPERATOR_RPC_TIMEOUT_MS,
  RPC_RECONNECT_MAX_MS,
  RPC_RECONNECT_MIN_MS,
  SNAPSHOT_RESTORE_STALL_MS,
} from "../shared/limits.ts";
import { DEFAULT_AUTOPILOT_CONFIG, type AutopilotConfig } from "../state/autopilot_table.ts";
import {
  AUTOPILOT_HEALTH_INTERVAL_MS,
  AUTOPILOT_RECONCILE_INTERVAL_MS,
  AUTOPILOT_STATS_TIMEOUT_MS,
  computeState,
  nextChanges,
  serfStatusName,
  type AutopilotOps,
  type AutopilotState,
  type AutopilotView,
  type Change,
  type KnownServer,
  type RaftView,
  type ServerStats,
} from "./autopilot.ts";

export const METHOD_OPERATOR_RAFT = "Operator.Raft";
export const METHOD_SESSION_RENEW = "Session.Renew";
export const BOOTSTRAP_MARKER = "raft-bootstrapped";
export const METHOD_RAFT_STATS = "Status.RaftStats";
/** A server without Raft state asks the pool again after this long when it could not decide. */
export const BOOTSTRAP_PROBE_RETRY_MS = 1_000;
/** A stopping leader waits at most this many election timeouts for its transfer to land... */
const TRANSFER_ON_CLOSE_ELECTIONS = 2;
/** ...and never longer than Consul's leave_drain_time default (5 s). */
const TRANSFER_ON_CLOSE_MAX_MS = 5_000;

/** What Status.RaftStats answers (Consul: Status.RaftStats plus "has peers" for maybeBootstrap). */
export interface RaftStatsReply {
  readonly id: string;
  /** Raft runs with a non-empty configuration. */
  readonly hasPeers: boolean;
  readonly stats?: ServerStats;
}


type ClusterLog = (level: "debug" | "info" | "warn" | "error", msg: string) => void;

export interface ClusterOptions {
  readonly nodeId: string;
  readonly nodeName: string;
  readonly datacenter: string;
  readonly dataDir: string;
  /** Where the RPC server listens (bind address). */
  readonly bindAddr: string;
  readonly advertiseAddr: string;
  readonly serverPort: number;
  readonly bootstrapExpect: number;
  /** performance.raft_multiplier (1..10). */
  readonly raftMultiplier: number;
  readonly snapshotThreshold: number;
  readonly trailingLogs: number;
  /** Autopilot configuration written when the replicated state holds none (config file `autopilot`). */
  readonly autopilot?: AutopilotConfig;
  /** Autopilot intervals (tests); default Consul's 2 s health, 10 s reconcile. */
  readonly autopilotHealthMs?: number;
  readonly autopilotReconcileMs?: number;
}

export interface ClusterDeps {
  readonly store: Store;
  readonly log: ClusterLog;
  /** Gained (true) or lost (false) leadership: start or stop leader-only duties. */
  readonly onLeadership: (leader: boolean) => void;
}

type OperatorRequest =
  | { readonly op: "config" }
  | { readonly op: "autopilot" }
  | { readonly op: "remove"; readonly id?: string; readonly address?: string }
  | { readonly op: "transfer"; readonly id: string };

type OperatorReply =
  | { readonly ok: true; readonly config?: RaftConfigurationView; readonly autopilot?: AutopilotView }
  | { readonly ok: false; readonly kind: ErrorKind; readonly message: string };

const noLeader = (): CairnError => new CairnError("no-leader", "No cluster leader");

function isOperatorRequest(b: unknown): b is OperatorRequest {
  if (typeof b !== "object" || b === null) return false;
  const op = (b as { op?: unknown }).op;
  return op === "config" || op === "remove" || op === "transfer" || op === "autopilot";
}

function isOperatorReply(b: unknown): b is OperatorReply {
  return typeof b === "object" && b !== null && typeof (b as { ok?: unknown }).ok === "boolean";
}

/** Whether the data dir already holds Raft state (then the cluster is never bootstrapped again). */
export function hasRaftState(dataDir: string): boolean {
  if (existsSync(path.join(dataDir, BOOTSTRAP_MARKER))) return true;
  const dir = path.join(dataDir, "raft");
  try {
    return readdirSync(dir).length > 0;
  } catch {
    return false;
  }
}

/** The servers a bootstrap would use: alive, role=consul, same dc and expect tag (id -> "addr:port"). */
export function bootstrapServers(members: readonly MemberView[], dc: string, expect: number): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of members) {
    if (m.status !== 1 || m.tags.role !== "consul" || m.tags.dc !== dc) continue;
    if (m.tags.expect !== String(expect)) continue;
    const id = m.tags.id ?? "";
    const port = Number(m.tags.port ?? "");
    if (id === "" || !Number.isInteger(port) || port <= 0) continue;
    out.set(id, `${m.addr}:${port}`);
  }
  return out;
}

/** Servers of this datacenter in the pool, by serf tag id (any status). */
export function knownServers(members: readonly MemberView[], dc: string): Map<string, KnownServer> {
  const out = new Map<string, KnownServer>();
  for (const m of members) {
    if (m.tags.role !== "consul" || m.tags.dc !== dc) continue;
    const id = m.tags.id ?? "";
    const port = Number(m.tags.port ?? "");
    if (id === "" || !Number.isInteger(port) || port <= 0) continue;
    const prev = out.get(id);
    // Two members with one id (a renamed node): the alive one wins.
    if (prev !== undefined && prev.status === "alive") continue;
    out.set(id, { id, name: m.name, address: `${m.addr}:${port}`, status: serfStatusName(m.status), version: (m.tags.build ?? "").split(":")[0] ?? "" });
  }
  return out;
}

function isStatsReply(x: unknown): x is RaftStatsReply {
  return typeof x === "object" && x !== null && typeof (x as { hasPeers?: unknown }).hasPeers === "boolean";
}

export class ClusterServer implements Backend, RaftOps, AutopilotOps {
  readonly store: Store;
  private readonly opts: ClusterOptions;
  private readonly deps: ClusterDeps;
  // Client agents' parked blocking queries are requests in flight on their one connection.
  private readonly rpcServer = new RpcServer({ limits: { maxInflight: CLIENT_RPC_MAX_INFLIGHT } });
  private readonly rpcClient = new RpcClient({ reconnectMinMs: RPC_RECONNECT_MIN_MS, reconnectMaxMs: RPC_RECONNECT_MAX_MS });
  private raft: RaftServer | undefined;
  private starting: Promise<void> | undefined;
  private closed = false;
  private readonly addrs = new Map<string, string>();
  private readonly names = new Map<string, string>();
  private readonly advertise: string;
  private readonly startedAt = performance.now();
  // ---- formation and autopilot
  private members: readonly MemberView[] = [];
  private probing = false;
  private probeTimer: ReturnType<typeof setTimeout> | undefined;
  private apTimer: ReturnType<typeof setInterval> | undefined;
  private apState: AutopilotState | undefined;
  private lastReconcile = 0;
  private reconciling = false;
  private reconcileAgain = false;
  private healthRun: Promise<void> | undefined;
  private apInitializing = false;
  /** The pending chunked restore as the last autopilot tick saw it (stall detection). */
  private restoreSeen: { id: string; chunks: number; since: number } | undefined;

  constructor(opts: ClusterOptions, deps: ClusterDeps) {
    this.opts = opts;
    this.deps = deps;
    this.store = deps.store;
    this.advertise = `${opts.advertiseAddr}:${opts.serverPort}`;
    this.addrs.set(opts.nodeId, this.advertise);
    this.names.set(opts.nodeId, opts.nodeName);
  }

  /** The RPC server on the server port, where other modules add their methods (client agents' calls). */
  rpc(): RpcServer {
    return this.rpcServer;
  }

  /** Listen on the server port; with Raft state on disk, start Raft right away. */
  async listen(): Promise<void> {
    mkdirSync(this.opts.dataDir, { recursive: true });
    const bind = this.opts.bindAddr === "" ? "0.0.0.0" : this.opts.bindAddr;
    await this.rpcServer.listen(bind, this.opts.serverPort);
    this.rpcServer.handle(METHOD_OPERATOR_RAFT, (b) => this.onOperator(b));
    this.rpcServer.handle(METHOD_RAFT_STATS, () => this.raftStats());
    if (hasRaftState(this.opts.dataDir)) {
      this.deps.log("info", "raft: existing Raft state found; starting from the log (no bootstrap)");
      this.beginStart(undefined);
    } else {
      this.deps.log(
        "info",
        this.opts.bootstrapExpect > 1
          ? `raft: waiting for ${this.opts.bootstrapExpect} servers (bootstrap_expect) before bootstrapping`
          : "raft: no bootstrap_expect: waiting to be added to a running cluster",
      );
    }
  }

  /** The LAN pool's members changed: update addresses; bootstrap once enough servers are alive. */
  onMembers(members: readonly MemberView[]): void {
    if (this.closed) return;
    for (const m of members) {
      if (m.tags.role !== "consul" || m.tags.dc !== this.opts.datacenter) continue;
      const id = m.tags.id ?? "";
      const port = Number(m.tags.port ?? "");
      if (id === "" || id === this.opts.nodeId || !Number.isInteger(port) || port <= 0) continue;
      const addr = `${m.addr}:${port}`;
      this.names.set(id, m.name);
      if (this.addrs.get(id) !== addr) {
        this.addrs.set(id, addr);
        this.raft?.setAddress(id, addr);
      }
    }
    this.members = members;
    if (this.starting === undefined) {
      void this.maybeStart();
      return;
    }
    if (this.isLeader()) this.kickReconcile(false);
  }

  /**
   * Consul's maybeBootstrap: ask the other servers whether a cluster already exists
   * (then join it: start Raft empty and wait to be added), else bootstrap once
   * bootstrap_expect servers are alive and none of them has peers.
   */
  private async maybeStart(): Promise<void> {
    if (this.probing || this.starting !== undefined || this.closed) return;
    this.probing = true;
    let retry = false;
    try {
      const known = knownServers(this.members, this.opts.datacenter);
      const others = [...known.values()].filter((k) => k.id !== this.opts.nodeId && k.status === "alive");
      if (others.length === 0) return;
      const answers = await Promise.all(
        others.map(async (k) => {
          try {
            const r = await this.rpcClient.call(k.address, METHOD_RAFT_STATS, {}, { timeoutMs: AUTOPILOT_STATS_TIMEOUT_MS });
            return isStatsReply(r) ? r : undefined;
          } catch {
            return undefined;
          }
        }),
      );
      if (this.starting !== undefined || this.closed) return;
      const existing = answers.find((a) => a?.hasPeers === true);
      if (existing !== undefined) {
        this.deps.log("info", `raft: server ${existing.id} already has Raft peers; joining the existing cluster (no bootstrap)`);
        this.beginStart(undefined);
        return;
      }
      if (this.opts.bootstrapExpect <= 1) {
        // No bootstrap_expect: never bootstrap; keep asking until a cluster shows up.
        retry = true;
        return;
      }
      const servers = bootstrapServers(this.members, this.opts.datacenter, this.opts.bootstrapExpect);
      if (servers.size < this.opts.bootstrapExpect || !servers.has(this.opts.nodeId)) {
        retry = answers.some((a) => a === undefined);
        return;
      }
      const unanswered = others.filter((k, i) => servers.has(k.id) && answers[i] === undefined);
      if (unanswered.length > 0) {
        this.deps.log("warn", `raft: could not confirm the Raft peers of ${unanswered.map((k) => k.name).join(", ")}; not bootstrapping yet`);
        retry = true;
        return;
      }
      const ids = [...servers.keys()].sort();
      this.deps.log("info", `raft: found ${ids.length} servers (expect ${this.opts.bootstrapExpect}); bootstrapping with ${ids.join(", ")}`);
      this.beginStart(ids);
    } finally {
      this.probing = false;
      if (retry && !this.closed && this.starting === undefined && this.probeTimer === undefined) {
        this.probeTimer = setTimeout(() => {
          this.probeTimer = undefined;
          void this.maybeStart();
        }, BOOTSTRAP_PROBE_RETRY_MS);
      }
    }
  }

  /** Status.RaftStats: this server's view for autopilot and for a peer deciding whether to bootstrap. */
  private raftStats(): RaftStatsReply {
    const raft = this.raft;
    if (raft === undefined) return { id: this.opts.nodeId, hasPeers: false };
    const st = raft.status();
    const c = st.config;
    const lastContactMs = raft.isLeader() ? 0 : raft.leader().lastContactMs;
    return {
      id: this.opts.nodeId,
      hasPeers: c.voters.length + c.learners.length + c.staging.length > 0,
      stats: { lastContactMs, lastTerm: st.term, lastIndex: st.lastIndex },
    };
  }

  private beginStart(bootstrap: readonly string[] | undefined): void {
    this.starting = this.startRaft(bootstrap).catch((e: unknown) => {
      this.deps.log("error", `raft: failed to start: ${e instanceof Error ? e.message : String(e)}`);
    });
  }

  private async startRaft(bootstrap: readonly string[] | undefined): Promise<void> {
    const o = this.opts;
    const raft = new RaftServer({
      id: o.nodeId,
      advertiseAddr: this.advertise,
      addresses: this.addrs,
      ...(bootstrap === undefined ? {} : { bootstrap }),
      timing: consulTiming(o.raftMultiplier),
      log: new WalLog(path.join(o.dataDir, "raft")),
      store: this.store,
      encode: encodeCommand,
      decode: decodeCommand,
      encodeResult: encodeApplyResult,
      decodeResult: decodeApplyResult,
      rpcServer: this.rpcServer,
      rpcClient: this.rpcClient,
      snapshotThreshold: o.snapshotThreshold,
      trailingLogs: o.trailingLogs,
      now: () => performance.now(),
      random: Math.random,
      schedule: timerSchedule,
      logger: (level, msg) => this.deps.log(level, msg),
      onLeadership: (leader) => {
        this.deps.log("info", leader ? "raft: cluster leadership acquired" : "raft: cluster leadership lost");
        if (leader) {
          this.startAutopilot();
          queueMicrotask(() => void this.abortAbandonedRestore());
        } else this.stopAutopilot();
        try {
          this.deps.onLeadership(leader);
        } catch (e) {
          this.deps.log("error", `raft: leadership hook failed: ${String(e)}`);
        }
      },
    });
    if (this.closed) return;
    const rec = await raft.start();
    for (const n of rec.notes) this.deps.log("warn", `wal: ${n}`);
    this.raft = raft;
    if (this.closed) {
      await raft.close({ snapshot: false });
      return;
    }
    // Leadership may have come while Raft was starting (a lone voter): its duties start now.
    if (raft.isLeader()) void this.abortAbandonedRestore();
    writeFileSync(path.join(o.dataDir, BOOTSTRAP_MARKER), `${new Date().toISOString()}\n`);
    this.deps.log(
      "info",
      `raft: started (snapshot index=${rec.snapshotIndex}, ${rec.entries} log entries, applied=${raft.appliedIndex()})`,
    );
  }

  // ---------------------------------------------------------------- Backend

  apply(cmd: Command): Promise<ApplyResult> {
    if (this.raft === undefined) return Promise.reject(noLeader());
    return this.raft.apply(cmd);
  }

  async readBarrier(mode: Consistency): Promise<LeaderView> {
    if (this.raft === undefined) {
      if (mode === "stale") return this.leader();
      throw noLeader();
    }
    return this.raft.readBarrier(mode);
  }

  leader(): LeaderView {
    if (this.raft === undefined) return { knownLeader: false, lastContactMs: Math.max(1, performance.now() - this.startedAt), leaderAddr: "" };
    return this.raft.leader();
  }

  peers(): string[] {
    return this.raft?.peers() ?? [];
  }

  appliedIndex(): number {
    return this.raft?.appliedIndex() ?? 0;
  }

  isLeader(): boolean {
    return this.raft?.isLeader() ?? false;
  }

  async close(opts: { snapshot: boolean }): Promise<void> {
    if (this.closed) return;
    if (this.starting !== undefined) await this.starting;
    await this.handOffLeadership();
    this.closed = true;
    this.stopAutopilot();
    if (this.probeTimer !== undefined) clearTimeout(this.probeTimer);
    await this.raft?.close(opts);
    this.rpcClient.close();
    await this.rpcServer.close();
  }

  // ---------------------------------------------------------------- autopilot (leader)

  private autopilotConfig(): AutopilotConfig {
    return this.store.autopilotConfig() ?? this.opts.autopilot ?? DEFAULT_AUTOPILOT_CONFIG;
  }

  private startAutopilot(): void {
    this.stopAutopilot();
    this.restoreSeen = undefined;
    this.apState = undefined;
    this.lastReconcile = performance.now();
    const every = this.opts.autopilotHealthMs ?? AUTOPILOT_HEALTH_INTERVAL_MS;
    this.apTimer = setInterval(() => void this.autopilotTick(), every);
    // Leadership can arrive while Raft is still starting (a lone voter): the first tick then
    // does nothing and the interval carries on.
    queueMicrotask(() => void this.autopilotTick());
  }

  private stopAutopilot(): void {
    if (this.apTimer !== undefined) clearInterval(this.apTimer);
    this.apTimer = undefined;
  }

  /**
   * A new leader drops a chunked snapshot restore left pending by an earlier leader (its
   * HTTP request died with it; a pending restore blocks every server's snapshots), after
   * a read barrier so it sees every committed chunk. A restore this leader's own HTTP
   * handler starts in that short window is aborted too, and that request fails.
   */
  private async abortAbandonedRestore(): Promise<void> {
    const raft = this.raft;
    if (raft === undefined || !raft.isLeader() || this.closed) return;
    try {
      await raft.readBarrier("consistent");
      const id = this.store.pendingRestoreId();
      if (id === undefined || !raft.isLeader() || this.closed) return;
      this.deps.log("warn", `raft: dropping snapshot restore ${id} left unfinished by an earlier leader`);
      await raft.apply({ type: "restore-abort", id });
    } catch (e) {
      this.deps.log("warn", `raft: could not drop an unfinished snapshot restore: ${String(e)}`);
    }
  }

  /**
   * On the leader (every autopilot tick): a chunked restore that has received no chunk for
   * SNAPSHOT_RESTORE_STALL_MS is dropped — the server serving its HTTP request died, and
   * the pending restore would block every server's snapshots.
   */
  private checkStalledRestore(): void {
    const id = this.store.pendingRestoreId();
    if (id === undefined) {
      this.restoreSeen = undefined;
      return;
    }
    const chunks = this.store.pendingRestoreChunks();
    const now = performance.now();
    const seen = this.restoreSeen;
    if (seen === undefined || seen.id !== id || seen.chunks !== chunks) {
      this.restoreSeen = { id, chunks, since: now };
      return;
    }
    if (now - seen.since < SNAPSHOT_RESTORE_STALL_MS || this.raft === undefined) return;
    this.restoreSeen = undefined;
    this.deps.log("warn", `raft: dropping snapshot restore ${id}: no chunk for ${SNAPSHOT_RESTORE_STALL_MS} ms`);
    this.raft.apply({ type: "restore-abort", id }).catch((e: unknown) => {
      this.deps.log("warn", `raft: could not drop a stalled snapshot restore: ${String(e)}`);
    });
  }

  /** Consul's leader writes the configured autopilot defaults when the state has none. */
  private async ensureAutopilotConfig(): Promise<void> {
    const raft = this.raft;
    if (raft === undefined || !raft.isLeader()) return;
    await raft.readBarrier("consistent");
    if (this.store.autopilotConfig() !== undefined || !raft.isLeader()) return;
    await raft.apply({ type: "autopilot-set", config: this.opts.autopilot ?? DEFAULT_AUTOPILOT_CONFIG, cas: null });
  }

  private async autopilotTick(): Promise<void> {
    if (this.closed || !this.isLeader()) return;
    if (this.store.autopilotConfig() === undefined && !this.apInitializing) {
      this.apInitializing = true;
      try {
        await this.ensureAutopilotConfig();
      } catch (e) {
        this.deps.log("warn", `autopilot: could not store the initial configuration: ${e instanceof Error ? e.message : String(e)}`);
      } finally {
        this.apInitializing = false;
      }
    }
    this.checkStalledRestore();
    await this.updateHealth();
    const every = this.opts.autopilotReconcileMs ?? AUTOPILOT_RECONCILE_INTERVAL_MS;
    const full = performance.now() - this.lastReconcile >= every;
    if (full) this.lastReconcile = performance.now();
    this.kickReconcile(full);
  }

  private raftView(): RaftView | undefined {
    const raft = this.raft;
    if (raft === undefined) return undefined;
    const st = raft.status();
    const c = st.config;
    return { voters: c.voters, nonVoters: c.learners, staging: c.staging, leader: st.leader, addresses: c.addresses ?? {} };
  }

  /** Fetch every server's stats (bounded) and compute the next autopilot state. */
  private updateHealth(): Promise<void> {
    this.healthRun ??= (async () => {
      try {
        const raft = this.raft;
        const view = this.raftView();
        if (raft === undefined || view === undefined || !raft.isLeader()) return;
        const known = knownServers(this.members, this.opts.datacenter);
        const st = raft.status();
        const stats = new Map<string, ServerStats>();
        stats.set(this.opts.nodeId, { lastContactMs: 0, lastTerm: st.term, lastIndex: st.lastIndex });
        const ids = [...view.voters, ...view.nonVoters, ...view.staging].filter((id) => id !== this.opts.nodeId);
        await Promise.all(
          ids.map(async (id) => {
            const k = known.get(id);
            if (k === undefined || k.status === "left") return;
            const addr = this.addrs.get(id) ?? raft.addressOf(id) ?? k.address;
            try {
              const r = await this.rpcClient.call(addr, METHOD_RAFT_STATS, {}, { timeoutMs: AUTOPILOT_STATS_TIMEOUT_MS });
              if (isStatsReply(r) && r.stats !== undefined && r.id === id) stats.set(id, r.stats);
            } catch {
              // no answer: unhealthy this round
            }
          }),
        );
        if (!raft.isLeader()) return;
        const now = Date.now();
        // A follower hears from the leader once per heartbeat interval (100 ms x raft_multiplier):
        // its LastContact is judged against LastContactThreshold on top of that interval, or every
        // follower of a cluster at the default multiplier (500 ms heartbeats) would flap between
        // healthy and unhealthy and never be promoted.
        const cfg = this.autopilotConfig();
        const t = consulTiming(this.opts.raftMultiplier);
        this.apState = computeState({
          now,
          config: { ...cfg, lastContactThresholdMs: cfg.lastContactThresholdMs + t.heartbeatTicks * t.tickMs },
          raft: this.raftView() ?? view,
          known,
          stats,
          leaderLastIndex: st.lastIndex,
          leaderLastTerm: st.term,
          previous: this.apState,
        });
      } finally {
        this.healthRun = undefined;
      }
    })();
    return this.healthRun;
  }

  /** One reconcile pass (left removals and additions always; promotions and dead-server cleanup when `full`). */
  private kickReconcile(full: boolean): void {
    if (this.reconciling) {
      this.reconcileAgain = true;
      return;
    }
    this.reconciling = true;
    void (async () => {
      try {
        await this.reconcile(full);
      } catch (e) {
        this.deps.log("warn", `autopilot: reconcile failed: ${e instanceof Error ? e.message : String(e)}`);
      } finally {
        this.reconciling = false;
        if (this.reconcileAgain && !this.closed && this.isLeader()) {
          this.reconcileAgain = false;
          this.kickReconcile(false);
        }
      }
    })();
  }

  private async reconcile(full: boolean): Promise<void> {
    const raft = this.raft;
    const view = this.raftView();
    if (raft === undefined || view === undefined || !raft.isLeader() || this.closed) return;
    const known = knownServers(this.members, this.opts.datacenter);
    const cfg = this.autopilotConfig();
    const changes = nextChanges(view, known, this.apState, cfg, this.opts.nodeId, Date.now(), { reconcile: full });
    try {
      for (const c of changes) {
        if (this.closed || !raft.isLeader()) return;
        await this.applyChange(raft, c);
      }
    } finally {
      // The health view follows configuration changes without waiting for the next interval.
      if (changes.length > 0 && !this.closed && raft.isLeader()) await this.updateHealth();
    }
  }

  private async applyChange(raft: RaftServer, c: Change): Promise<void> {
    switch (c.type) {
      case "add":
        this.deps.log("info", `autopilot: adding server ${c.name} (${c.id}) at ${c.address} as a non-voter`);
        this.addrs.set(c.id, c.address);
        raft.setAddress(c.id, c.address);
        await raft.changeMembership({ type: "add-learner", id: c.id, address: c.address });
        return;
      case "promote":
        this.deps.log("info", `autopilot: promoting server ${this.names.get(c.id) ?? c.id} (${c.id}) to voter`);
        await raft.changeMembership({ type: "promote", id: c.id });
        return;
      case "remove":
        this.deps.log("info", `autopilot: removing ${c.reason} server ${this.names.get(c.id) ?? c.id} (${c.id}) from the Raft configuration`);
        await raft.changeMembership({ type: "remove", id: c.id });
        return;
    }
  }

  /** A stopping leader hands leadership to the most up-to-date voter (bounded wait). */
  private async handOffLeadership(): Promise<void> {
    const raft = this.raft;
    if (raft === undefined || !raft.isLeader() || this.closed) return;
    const st = raft.status();
    // The most up-to-date other voter the pool sees alive (a dead one would only waste the wait).
    const known = knownServers(this.members, this.opts.datacenter);
    let target = "";
    let best = -1;
    for (const p of st.progress) {
      if (p.id === this.opts.nodeId || !st.config.voters.includes(p.id) || known.get(p.id)?.status !== "alive") continue;
      if (p.match > best) {
        best = p.match;
        target = p.id;
      }
    }
    if (target === "") return;
    const r = this.localTransfer(target);
    if (!r.ok) return;
    this.deps.log("info", "raft: leader stopping; transferred leadership");
    const t = consulTiming(this.opts.raftMultiplier);
    const deadline = performance.now() + Math.min(TRANSFER_ON_CLOSE_MAX_MS, TRANSFER_ON_CLOSE_ELECTIONS * t.electionTicks * t.tickMs);
    while (raft.isLeader() && performance.now() < deadline) await new Promise((res) => setTimeout(res, 20));
  }

  /** The autopilot state (health and state endpoints); a follower asks the leader. */
  async autopilotState(): Promise<AutopilotView> {
    const r = this.isLeader() ? await this.localAutopilot() : await this.forwardOperator({ op: "autopilot" });
    if (!r.ok) throw new CairnError(r.kind, r.message);
    if (r.autopilot === undefined) throw new CairnError("internal", "autopilot: no state in the reply");
    return r.autopilot;
  }

  private async localAutopilot(): Promise<OperatorReply> {
    if (this.raft === undefined || !this.isLeader()) return { ok: false, kind: "no-leader", message: "No cluster leader" };
    if (this.apState === undefined) await this.updateHealth();
    const s = this.apState;
    if (s === undefined) return { ok: false, kind: "internal", message: "autopilot: no state yet" };
    const servers = [...s.servers.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return { ok: true, autopilot: { healthy: s.healthy, failureTolerance: s.failureTolerance, leader: s.leader, voters: [...s.voters], servers } };
  }

  // ---------------------------------------------------------------- session renewals

  /** On the leader: renewals forwarded by followers go to fn (the leader's session timers). */
  onSessionRenew(fn: (id: string) => void): void {
    this.rpcServer.handle(METHOD_SESSION_RENEW, (b) => {
      const id = typeof b === "object" && b !== null ? (b as { id?: unknown }).id : undefined;
      if (typeof id === "string" && this.isLeader()) fn(id);
      return true;
    });
  }

  /** On a follower: pass a renewal on to the leader (best effort; the client renews again). */
  forwardSessionRenew(id: string): void {
    if (this.raft === undefined || this.isLeader()) return;
    const addr = this.leader().leaderAddr;
    if (addr === "") return;
    this.rpcClient.call(addr, METHOD_SESSION_RENEW, { id }, { timeoutMs: CLUSTER_OPERATOR_RPC_TIMEOUT_MS }).catch((e: unknown) => {
      this.deps.log("warn", `session: forwarding renew of ${id} to the leader failed: ${e instanceof Error ? e.message : String(e)}`);
    });
  }

  // ---------------------------------------------------------------- operator (RaftOps)

  async configuration(stale: boolean): Promise<RaftConfigurationView> {
    const r = stale || this.isLeader() ? this.localOperator({ op: "config" }) : await this.forwardOperator({ op: "config" });
    if (!r.ok) throw new CairnError(r.kind, r.message);
    if (r.config === undefined) throw new CairnError("internal", "raft: no configuration in the reply");
    return r.config;
  }

  async removePeer(by: { readonly id?: string; readonly address?: string }): Promise<void> {
    const req: OperatorRequest = { op: "remove", ...by };
    const r = this.isLeader() ? await this.localRemove(req) : await this.forwardOperator(req);
    if (!r.ok) throw new CairnError(r.kind, r.message);
  }

  async transferLeader(id: string): Promise<void> {
    const req: OperatorRequest = { op: "transfer", id };
    const r = this.isLeader() ? this.localTransfer(id) : await this.forwardOperator(req);
    if (!r.ok) throw new CairnError(r.kind, r.message);
  }

  private async forwardOperator(req: OperatorRequest): Promise<OperatorReply> {
    const addr = this.leader().leaderAddr;
    if (addr === "") throw noLeader();
    const r = await this.rpcClient.call(addr, METHOD_OPERATOR_RAFT, req, { timeoutMs: CLUSTER_OPERATOR_RPC_TIMEOUT_MS });
    if (!isOperatorReply(r)) throw new CairnError("internal", "raft: malformed operator reply");
    return r;
  }

  private async onOperator(body: unknown): Promise<OperatorReply> {
    if (!isOperatorRequest(body)) return { ok: false, kind: "bad-request", message: "malformed operator request" };
    if (!this.isLeader()) return { ok: false, kind: "no-leader", message: "No cluster leader" };
    switch (body.op) {
      case "config":
        return this.localOperator(body);
      case "remove":
        return this.localRemove(body);
      case "transfer":
        return this.localTransfer(body.id);
      case "autopilot":
        return this.localAutopilot();
    }
  }

  private localOperator(_req: { readonly op: "config" }): OperatorReply {
    const raft = this.raft;
    if (raft === undefined) return { ok: false, kind: "no-leader", message: "No cluster leader" };
    const st = raft.status();
    const ids = [...st.config.voters, ...st.config.staging, ...st.config.learners];
    const servers: RaftServerView[] = ids.map((id) => {
      const p = st.progress.find((x) => x.id === id);
      return {
        id,
        node: this.names.get(id) ?? id,
        address: this.addrs.get(id) ?? raft.addressOf(id) ?? "",
        leader: id === st.leader && st.leader !== "",
        voter: st.config.voters.includes(id),
        lastIndex: id === this.opts.nodeId ? st.lastIndex : (p?.match ?? 0),
      };
    });
    return { ok: true, config: { servers, index: st.commit } };
  }

  private async localRemove(req: { readonly id?: string; readonly address?: string }): Promise<OperatorReply> {
    const raft = this.raft;
    if (raft === undefined) return { ok: false, kind: "no-leader", message: "No cluster leader" };
    const cfg = raft.status().config;
    const ids = [...cfg.voters, ...cfg.staging, ...cfg.learners];
    let id: string | undefined;
    if (req.id !== undefined) {
      id = ids.find((x) => x === req.id);
      if (id === undefined) return { ok: false, kind: "internal", message: `id "${req.id}" was not found in the Raft configuration` };
    } else {
      id = ids.find((x) => (this.addrs.get(x) ?? raft.addressOf(x)) === req.address);
      if (id === undefined) return { ok: false, kind: "internal", message: `address "${req.address ?? ""}" was not found in the Raft configuration` };
    }
    try {
      await raft.changeMembership({ type: "remove", id });
    } catch (e) {
      const kind: ErrorKind = e instanceof CairnError ? e.kind : "internal";
      return { ok: false, kind, message: e instanceof Error ? e.message : String(e) };
    }
    this.deps.log("info", `raft: removed peer ${id}`);
    return { ok: true };
  }

  private localTransfer(id: string): OperatorReply {
    const raft = this.raft;
    if (raft === undefined) return { ok: false, kind: "no-leader", message: "No cluster leader" };
    const st = raft.status();
    let target = id;
    if (target === "") {
      // Consul without ?id: the most up-to-date other voter.
      let best = -1;
      for (const p of st.progress) {
        if (p.id === this.opts.nodeId || !st.config.voters.includes(p.id)) continue;
        if (p.match > best) {
          best = p.match;
          target = p.id;
        }
      }
      if (target === "") return { ok: false, kind: "internal", message: "cannot find peer" };
    } else if (!st.config.voters.includes(target)) {
      return { ok: false, kind: "internal", message: `cannot find peer ${target}` };
    }
    if (target === this.opts.nodeId) return { ok: false, kind: "internal", message: "cannot transfer leadership to itself" };
    if (!raft.transferLeadership(target)) return { ok: false, kind: "internal", message: `cannot transfer leadership to ${target} now` };
    return { ok: true };
  }
}
