/**
 * agent/cluster_autopilot: runs autopilot on a cluster's leader; the decisions are the pure
 * functions of agent/autopilot.ts, this module gathers their inputs and carries them out.
 *
 * Every health interval (Consul: 2 s) a tick stores the initial autopilot configuration when
 * the replicated state has none (the config file's `autopilot` block, else Consul's
 * defaults), lets the restore janitor check for a stalled restore, fetches every server's
 * Status.RaftStats (bounded) and computes the next autopilot state, and runs a reconcile
 * pass: left removals and additions always, promotions and dead-server cleanup once per
 * reconcile interval (10 s). A member change asks for a pass too. Passes never overlap: a
 * request during one runs again after it. One deviation: a follower's LastContact is judged
 * against LastContactThreshold plus one heartbeat interval (100 ms x raft_multiplier), since
 * a healthy follower only hears from the leader that often.
 *
 * Must never: make more than one configuration change at a time, act when this server is
 * not the leader, or throw from a timer.
 */

import type { MemberView } from "../server/types.ts";
import { consulTiming, type RaftServer } from "../raft/index.ts";
import type { RpcClient } from "../rpc/index.ts";
import type { Store } from "../state/index.ts";
import { DEFAULT_AUTOPILOT_CONFIG, type AutopilotConfig } from "../state/autopilot_table.ts";
import {
  AUTOPILOT_HEALTH_INTERVAL_MS,
  AUTOPILOT_RECONCILE_INTERVAL_MS,
  AUTOPILOT_STATS_TIMEOUT_MS,
  computeState,
  nextChanges,
  type AutopilotState,
  type Change,
  type RaftView,
  type ServerStats,
} from "./autopilot.ts";
import { isStatsReply, knownServers, METHOD_RAFT_STATS, type ClusterLog } from "./cluster_members.ts";
import { NO_LEADER_REPLY, type OperatorReply } from "./cluster_operator.ts";
import type { RestoreJanitor } from "./cluster_restore.ts";

/** The cluster options autopilot reads (a subset of ClusterOptions). */
export interface ClusterAutopilotOptions {
  readonly nodeId: string;
  readonly datacenter: string;
  readonly raftMultiplier: number;
  /** Written when the replicated state holds no autopilot configuration. */
  readonly autopilot?: AutopilotConfig;
  /** Autopilot intervals (tests); default Consul's 2 s health, 10 s reconcile. */
  readonly autopilotHealthMs?: number;
  readonly autopilotReconcileMs?: number;
}

export interface ClusterAutopilotDeps {
  readonly store: Store;
  readonly rpcClient: RpcClient;
  readonly log: ClusterLog;
  readonly restores: RestoreJanitor;
  /** RPC addresses by server id; autopilot records the servers it adds. */
  readonly addrs: Map<string, string>;
  readonly names: ReadonlyMap<string, string>;
  /** The running Raft server (undefined before it starts). */
  raft(): RaftServer | undefined;
  /** The LAN pool's members as last reported. */
  members(): readonly MemberView[];
  /** The cluster server is closing or closed. */
  closed(): boolean;
}

export class ClusterAutopilot {
  private readonly opts: ClusterAutopilotOptions;
  private readonly deps: ClusterAutopilotDeps;
  private timer: ReturnType<typeof setInterval> | undefined;
  private state: AutopilotState | undefined;
  private lastReconcile = 0;
  private reconciling = false;
  private reconcileAgain = false;
  private healthRun: Promise<void> | undefined;
  private initializing = false;

  constructor(opts: ClusterAutopilotOptions, deps: ClusterAutopilotDeps) {
    this.opts = opts;
    this.deps = deps;
  }

  private isLeader(): boolean {
    return this.deps.raft()?.isLeader() ?? false;
  }

  private config(): AutopilotConfig {
    return this.deps.store.autopilotConfig() ?? this.opts.autopilot ?? DEFAULT_AUTOPILOT_CONFIG;
  }

  /** Leadership gained: start ticking (the first tick right away). */
  start(): void {
    this.stop();
    this.deps.restores.reset();
    this.state = undefined;
    this.lastReconcile = performance.now();
    const every = this.opts.autopilotHealthMs ?? AUTOPILOT_HEALTH_INTERVAL_MS;
    this.timer = setInterval(() => void this.tick(), every);
    // Leadership can arrive while Raft is still starting (a lone voter): the first tick then
    // does nothing and the interval carries on.
    queueMicrotask(() => void this.tick());
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Consul's leader writes the configured autopilot defaults when the state has none. */
  private async ensureConfig(): Promise<void> {
    const raft = this.deps.raft();
    if (raft === undefined || !raft.isLeader()) return;
    await raft.readBarrier("consistent");
    if (this.deps.store.autopilotConfig() !== undefined || !raft.isLeader()) return;
    await raft.apply({ type: "autopilot-set", config: this.opts.autopilot ?? DEFAULT_AUTOPILOT_CONFIG, cas: null });
  }

  private async tick(): Promise<void> {
    if (this.deps.closed() || !this.isLeader()) return;
    if (this.deps.store.autopilotConfig() === undefined && !this.initializing) {
      this.initializing = true;
      try {
        await this.ensureConfig();
      } catch (e) {
        this.deps.log("warn", `autopilot: could not store the initial configuration: ${e instanceof Error ? e.message : String(e)}`);
      } finally {
        this.initializing = false;
      }
    }
    this.deps.restores.checkStalled();
    await this.updateHealth();
    const every = this.opts.autopilotReconcileMs ?? AUTOPILOT_RECONCILE_INTERVAL_MS;
    const full = performance.now() - this.lastReconcile >= every;
    if (full) this.lastReconcile = performance.now();
    this.kickReconcile(full);
  }

  private raftView(): RaftView | undefined {
    const raft = this.deps.raft();
    if (raft === undefined) return undefined;
    const st = raft.status();
    const c = st.config;
    return { voters: c.voters, nonVoters: c.learners, staging: c.staging, leader: st.leader, addresses: c.addresses ?? {} };
  }

  /** Fetch every server's stats (bounded) and compute the next autopilot state. */
  private updateHealth(): Promise<void> {
    this.healthRun ??= (async () => {
      try {
        const raft = this.deps.raft();
        const view = this.raftView();
        if (raft === undefined || view === undefined || !raft.isLeader()) return;
        const known = knownServers(this.deps.members(), this.opts.datacenter);
        const st = raft.status();
        const stats = new Map<string, ServerStats>();
        stats.set(this.opts.nodeId, { lastContactMs: 0, lastTerm: st.term, lastIndex: st.lastIndex });
        const ids = [...view.voters, ...view.nonVoters, ...view.staging].filter((id) => id !== this.opts.nodeId);
        await Promise.all(
          ids.map(async (id) => {
            const k = known.get(id);
            if (k === undefined || k.status === "left") return;
            const addr = this.deps.addrs.get(id) ?? raft.addressOf(id) ?? k.address;
            try {
              const r = await this.deps.rpcClient.call(addr, METHOD_RAFT_STATS, {}, { timeoutMs: AUTOPILOT_STATS_TIMEOUT_MS });
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
        const cfg = this.config();
        const t = consulTiming(this.opts.raftMultiplier);
        this.state = computeState({
          now,
          config: { ...cfg, lastContactThresholdMs: cfg.lastContactThresholdMs + t.heartbeatTicks * t.tickMs },
          raft: this.raftView() ?? view,
          known,
          stats,
          leaderLastIndex: st.lastIndex,
          leaderLastTerm: st.term,
          previous: this.state,
        });
      } finally {
        this.healthRun = undefined;
      }
    })();
    return this.healthRun;
  }

  /** One reconcile pass (left removals and additions always; promotions and dead-server cleanup when `full`). */
  kickReconcile(full: boolean): void {
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
        if (this.reconcileAgain && !this.deps.closed() && this.isLeader()) {
          this.reconcileAgain = false;
          this.kickReconcile(false);
        }
      }
    })();
  }

  private async reconcile(full: boolean): Promise<void> {
    const raft = this.deps.raft();
    const view = this.raftView();
    if (raft === undefined || view === undefined || !raft.isLeader() || this.deps.closed()) return;
    const known = knownServers(this.deps.members(), this.opts.datacenter);
    const cfg = this.config();
    const changes = nextChanges(view, known, this.state, cfg, this.opts.nodeId, Date.now(), { reconcile: full });
    try {
      for (const c of changes) {
        if (this.deps.closed() || !raft.isLeader()) return;
        await this.applyChange(raft, c);
      }
    } finally {
      // The health view follows configuration changes without waiting for the next interval.
      if (changes.length > 0 && !this.deps.closed() && raft.isLeader()) await this.updateHealth();
    }
  }

  private async applyChange(raft: RaftServer, c: Change): Promise<void> {
    const names = this.deps.names;
    switch (c.type) {
      case "add":
        this.deps.log("info", `autopilot: adding server ${c.name} (${c.id}) at ${c.address} as a non-voter`);
        this.deps.addrs.set(c.id, c.address);
        raft.setAddress(c.id, c.address);
        await raft.changeMembership({ type: "add-learner", id: c.id, address: c.address });
        return;
      case "promote":
        this.deps.log("info", `autopilot: promoting server ${names.get(c.id) ?? c.id} (${c.id}) to voter`);
        await raft.changeMembership({ type: "promote", id: c.id });
        return;
      case "remove":
        this.deps.log("info", `autopilot: removing ${c.reason} server ${names.get(c.id) ?? c.id} (${c.id}) from the Raft configuration`);
        await raft.changeMembership({ type: "remove", id: c.id });
        return;
    }
  }

  /** The autopilot state as the health and state endpoints show it (on the leader). */
  async view(): Promise<OperatorReply> {
    if (this.deps.raft() === undefined || !this.isLeader()) return NO_LEADER_REPLY;
    if (this.state === undefined) await this.updateHealth();
    const s = this.state;
    if (s === undefined) return { ok: false, kind: "internal", message: "autopilot: no state yet" };
    const servers = [...s.servers.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return { ok: true, autopilot: { healthy: s.healthy, failureTolerance: s.failureTolerance, leader: s.leader, voters: [...s.voters], servers } };
  }
}
