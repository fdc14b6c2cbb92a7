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
 * Cluster life on the leader: autopilot (agent/cluster_autopilot.ts, decisions in
 * agent/autopilot.ts) adds, promotes and removes servers; the restore janitor
 * (agent/cluster_restore.ts) drops a chunked snapshot restore an earlier leader left
 * pending or that stalled. A leader that stops hands leadership to an alive voter first,
 * so its graceful leave (serf `left`) is removed by the next leader without an election
 * wait. The operator answers (configuration, remove-peer, transfer-leader) are in
 * agent/cluster_operator.ts; what is read from the LAN pool and the data dir in
 * agent/cluster_members.ts.
 *
 * A server without bootstrap_expect (the agent runs this path for one that joins others
 * without any bootstrap setting) never bootstraps: it only ever joins.
 *
 * Must never: bootstrap a server that already has Raft state, bootstrap while another
 * server already has Raft peers, bootstrap with fewer than bootstrap_expect servers,
 * make more than one configuration change at a time, or throw from a member-event callback.
 */

import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Backend, Consistency, LeaderView, MemberView } from "../server/types.ts";
import type { RaftConfigurationView, RaftOps } from "../http/agent_ops.ts";
import { RaftServer, consulTiming, timerSchedule } from "../raft/index.ts";
import { RpcClient, RpcServer } from "../rpc/index.ts";
import { decodeApplyResult, decodeCommand, encodeApplyResult, encodeCommand, type Store } from "../state/index.ts";
import type { ApplyResult, Command } from "../state/types.ts";
import { WalLog } from "../wal/index.ts";
import { CairnError, unreachable } from "../shared/errors.ts";
import { CLIENT_RPC_MAX_INFLIGHT, CLUSTER_OPERATOR_RPC_TIMEOUT_MS, RPC_RECONNECT_MAX_MS, RPC_RECONNECT_MIN_MS } from "../shared/limits.ts";
import type { AutopilotConfig } from "../state/autopilot_table.ts";
import { AUTOPILOT_STATS_TIMEOUT_MS, type AutopilotOps, type AutopilotView } from "./autopilot.ts";
import { ClusterAutopilot } from "./cluster_autopilot.ts";
import {
  BOOTSTRAP_MARKER,
  decideStart,
  hasRaftState,
  isStatsReply,
  knownServers,
  METHOD_RAFT_STATS,
  serverOf,
  type ClusterLog,
  type RaftStatsReply,
} from "./cluster_members.ts";
import {
  configurationReply,
  isOperatorReply,
  isOperatorRequest,
  METHOD_OPERATOR_RAFT,
  mostUpToDateVoter,
  NO_LEADER_REPLY,
  removeReply,
  transferReply,
  type OperatorContext,
  type OperatorReply,
  type OperatorRequest,
} from "./cluster_operator.ts";
import { RestoreJanitor } from "./cluster_restore.ts";

// What other modules and tests use of the cluster files, through this one.
export { BOOTSTRAP_MARKER, bootstrapServers, decideStart, hasRaftState, knownServers, METHOD_RAFT_STATS, type RaftStatsReply, type StartDecision } from "./cluster_members.ts";
export { METHOD_OPERATOR_RAFT } from "./cluster_operator.ts";

export const METHOD_SESSION_RENEW = "Session.Renew";
/** A server without Raft state asks the pool again after this long when it could not decide. */
export const BOOTSTRAP_PROBE_RETRY_MS = 1_000;
/** A stopping leader waits at most this many election timeouts for its transfer to land... */
const TRANSFER_ON_CLOSE_ELECTIONS = 2;
/** ...and never longer than Consul's leave_drain_time default (5 s). */
const TRANSFER_ON_CLOSE_MAX_MS = 5_000;

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

const noLeader = (): CairnError => new CairnError("no-leader", "No cluster leader");

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
  // ---- formation
  private members: readonly MemberView[] = [];
  private probing = false;
  private probeTimer: ReturnType<typeof setTimeout> | undefined;
  // ---- leader duties
  private readonly restores: RestoreJanitor;
  private readonly autopilot: ClusterAutopilot;

  constructor(opts: ClusterOptions, deps: ClusterDeps) {
    this.opts = opts;
    this.deps = deps;
    this.store = deps.store;
    this.advertise = `${opts.advertiseAddr}:${opts.serverPort}`;
    this.addrs.set(opts.nodeId, this.advertise);
    this.names.set(opts.nodeId, opts.nodeName);
    const host = { store: deps.store, log: deps.log, raft: () => this.raft, closed: () => this.closed };
    this.restores = new RestoreJanitor(host);
    this.autopilot = new ClusterAutopilot(opts, {
      ...host,
      rpcClient: this.rpcClient,
      restores: this.restores,
      addrs: this.addrs,
      names: this.names,
      members: () => this.members,
    });
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
      const s = serverOf(m, this.opts.datacenter);
      if (s === undefined || s.id === this.opts.nodeId) continue;
      const { id, address: addr } = s;
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
    if (this.isLeader()) this.autopilot.kickReconcile(false);
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
      const d = decideStart(answers, others, this.members, this.opts);
      switch (d.kind) {
        case "join":
          this.deps.log("info", `raft: server ${d.from} already has Raft peers; joining the existing cluster (no bootstrap)`);
          this.beginStart(undefined);
          return;
        case "bootstrap":
          this.deps.log("info", `raft: found ${d.ids.length} servers (expect ${this.opts.bootstrapExpect}); bootstrapping with ${d.ids.join(", ")}`);
          this.beginStart(d.ids);
          return;
        case "wait":
          if (d.unconfirmed !== undefined) this.deps.log("warn", `raft: could not confirm the Raft peers of ${d.unconfirmed.join(", ")}; not bootstrapping yet`);
          retry = d.retry;
          return;
        default:
          unreachable(d);
      }
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
          this.autopilot.start();
          queueMicrotask(() => void this.restores.abortAbandoned());
        } else this.autopilot.stop();
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
    if (raft.isLeader()) void this.restores.abortAbandoned();
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
    this.autopilot.stop();
    if (this.probeTimer !== undefined) clearTimeout(this.probeTimer);
    await this.raft?.close(opts);
    this.rpcClient.close();
    await this.rpcServer.close();
  }

  // ---------------------------------------------------------------- leader duties

  /** A stopping leader hands leadership to the most up-to-date voter (bounded wait). */
  private async handOffLeadership(): Promise<void> {
    const raft = this.raft;
    if (raft === undefined || !raft.isLeader() || this.closed) return;
    // The most up-to-date other voter the pool sees alive (a dead one would only waste the wait).
    const known = knownServers(this.members, this.opts.datacenter);
    const target = mostUpToDateVoter(raft.status(), this.opts.nodeId, (id) => known.get(id)?.status === "alive");
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
    const r = this.isLeader() ? await this.autopilot.view() : await this.forwardOperator({ op: "autopilot" });
    if (!r.ok) throw new CairnError(r.kind, r.message);
    if (r.autopilot === undefined) throw new CairnError("internal", "autopilot: no state in the reply");
    return r.autopilot;
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
    if (!this.isLeader()) return NO_LEADER_REPLY;
    switch (body.op) {
      case "config":
        return this.localOperator(body);
      case "remove":
        return this.localRemove(body);
      case "transfer":
        return this.localTransfer(body.id);
      case "autopilot":
        return this.autopilot.view();
    }
  }

  private operatorContext(): OperatorContext | undefined {
    const raft = this.raft;
    return raft === undefined ? undefined : { raft, selfId: this.opts.nodeId, addrs: this.addrs, names: this.names };
  }

  private localOperator(_req: { readonly op: "config" }): OperatorReply {
    const c = this.operatorContext();
    return c === undefined ? NO_LEADER_REPLY : configurationReply(c);
  }

  private async localRemove(req: { readonly id?: string; readonly address?: string }): Promise<OperatorReply> {
    const c = this.operatorContext();
    return c === undefined ? NO_LEADER_REPLY : removeReply(c, req, this.deps.log);
  }

  private localTransfer(id: string): OperatorReply {
    const c = this.operatorContext();
    return c === undefined ? NO_LEADER_REPLY : transferReply(c, id);
  }
}
