/**
 * agent/autopilot: the decisions of Consul's autopilot (hashicorp/raft-autopilot), pure:
 * server health, failure tolerance, the autopilot state, which servers to add to the
 * Raft configuration, which non-voters to promote and which dead servers to remove.
 * agent/cluster.ts gathers the inputs (Raft configuration, LAN members, stats fetched
 * from each server over RPC) and carries the changes out, one at a time.
 *
 * Rules (raft-autopilot, Consul's leader.go):
 * - healthy: serf status alive, LastContact within LastContactThreshold, LastTerm equal
 *   to the leader's, and LastIndex no more than MaxTrailingLogs behind the leader's.
 *   StableSince moves whenever a server's health flips.
 * - FailureTolerance = healthy voters - quorum(voters), never below 0.
 * - an alive server of this datacenter that is not in the configuration is added as a
 *   non-voter; a non-voter is promoted once healthy for ServerStabilizationTime (while
 *   autopilot itself has run for less than that, every healthy server counts as stable).
 * - a server whose serf status is `left` is removed (Consul's leader reconciles left
 *   members with RemoveServer); with CleanupDeadServers, `failed` ones too, non-voters
 *   first, never below MinQuorum potential voters and at most (potentialVoters-1)/2
 *   voters per pass, so a pass never removes a majority. Servers in the configuration that
 *   the LAN pool does not know at all are left alone (a restarted leader has not met them yet).
 *
 * Must never: remove the leader itself, read clocks (time comes in), or do I/O.
 */

import type { AutopilotConfig } from "../state/autopilot_table.ts";

/** Consul's autopilot intervals: server health every 2 s, promotions and cleanup every 10 s. */
export const AUTOPILOT_HEALTH_INTERVAL_MS = 2_000;
export const AUTOPILOT_RECONCILE_INTERVAL_MS = 10_000;
/** A stats fetch that has not answered within this much of the health interval counts as no answer. */
export const AUTOPILOT_STATS_TIMEOUT_MS = 1_000;

export type SerfStatus = "none" | "alive" | "leaving" | "left" | "failed";
export type RaftStatus = "leader" | "voter" | "non-voter" | "staging";

const SERF_CODES: readonly SerfStatus[] = ["none", "alive", "leaving", "left", "failed"];

/** MemberView.status (0..4) as serf's name. */
export function serfStatusName(code: number): SerfStatus {
  return SERF_CODES[code] ?? "none";
}

/** A server the LAN pool knows (role=consul, this datacenter). */
export interface KnownServer {
  readonly id: string;
  readonly name: string;
  /** RPC address "ip:port". */
  readonly address: string;
  readonly status: SerfStatus;
  readonly version: string;
}

/** What a server reports about itself (Consul's Status.RaftStats). */
export interface ServerStats {
  /** Time since it last heard from the leader (0 on the leader). */
  readonly lastContactMs: number;
  readonly lastTerm: number;
  readonly lastIndex: number;
}

export interface RaftView {
  readonly voters: readonly string[];
  /** Permanent non-voters and servers waiting for promotion. */
  readonly nonVoters: readonly string[];
  readonly staging: readonly string[];
  readonly leader: string;
  /** Addresses recorded in the configuration (fallback when the pool does not know a server). */
  readonly addresses: Readonly<Record<string, string>>;
}

export interface ServerState {
  readonly id: string;
  readonly name: string;
  readonly address: string;
  readonly nodeStatus: SerfStatus;
  readonly version: string;
  readonly status: RaftStatus;
  readonly lastContactMs: number;
  readonly lastTerm: number;
  readonly lastIndex: number;
  readonly healthy: boolean;
  /** Wall-clock ms when the health last flipped (or the server was first seen). */
  readonly stableSince: number;
}

export interface AutopilotState {
  readonly healthy: boolean;
  readonly failureTolerance: number;
  readonly leader: string;
  /** Voter IDs, leader first, then healthy ones stable longest. */
  readonly voters: readonly string[];
  readonly servers: ReadonlyMap<string, ServerState>;
  /** When the first state was computed (stabilization counts from here at the start). */
  readonly firstStateTime: number;
}

export interface StateInputs {
  readonly now: number;
  readonly config: AutopilotConfig;
  readonly raft: RaftView;
  readonly known: ReadonlyMap<string, KnownServer>;
  readonly stats: ReadonlyMap<string, ServerStats>;
  readonly leaderLastIndex: number;
  readonly leaderLastTerm: number;
  readonly previous: AutopilotState | undefined;
}

/** The autopilot state as the HTTP layer renders it (health and state endpoints). */
export interface AutopilotView {
  readonly healthy: boolean;
  readonly failureTolerance: number;
  readonly leader: string;
  readonly voters: readonly string[];
  readonly servers: readonly ServerState[];
}

/** What the HTTP layer may ask of a cluster's autopilot (agent/cluster.ts lends it with the Raft ops). */
export interface AutopilotOps {
  autopilotState(): Promise<AutopilotView>;
}

export function requiredQuorum(voters: number): number {
  return Math.floor(voters / 2) + 1;
}

/** raft-autopilot's isHealthy. */
export function isHealthy(
  s: { readonly nodeStatus: SerfStatus; readonly stats: ServerStats | undefined },
  leaderLastTerm: number,
  leaderLastIndex: number,
  cfg: AutopilotConfig,
): boolean {
  if (s.nodeStatus !== "alive" || s.stats === undefined) return false;
  const st = s.stats;
  if (st.lastContactMs < 0 || st.lastContactMs > cfg.lastContactThresholdMs) return false;
  if (st.lastTerm !== leaderLastTerm) return false;
  if (leaderLastIndex > cfg.maxTrailingLogs && st.lastIndex < leaderLastIndex - cfg.maxTrailingLogs) return false;
  return true;
}

/** The next autopilot state from the inputs (raft-autopilot's nextStateWithInputs). */
export function computeState(i: StateInputs): AutopilotState {
  const servers = new Map<string, ServerState>();
  const ids = [...i.raft.voters, ...i.raft.staging, ...i.raft.nonVoters.filter((x) => !i.raft.staging.includes(x))];
  for (const id of ids) {
    const known = i.known.get(id);
    const stats = i.stats.get(id);
    const prev = i.previous?.servers.get(id);
    const nodeStatus: SerfStatus = known?.status ?? "left";
    const status: RaftStatus =
      id === i.raft.leader ? "leader" : i.raft.voters.includes(id) ? "voter" : i.raft.staging.includes(id) ? "staging" : "non-voter";
    const healthy = isHealthy({ nodeStatus, stats }, i.leaderLastTerm, i.leaderLastIndex, i.config);
    const shown = stats ?? (prev === undefined ? undefined : { lastContactMs: prev.lastContactMs, lastTerm: prev.lastTerm, lastIndex: prev.lastIndex });
    servers.set(id, {
      id,
      name: known?.name ?? prev?.name ?? "",
      address: known?.address ?? i.raft.addresses[id] ?? prev?.address ?? "",
      nodeStatus,
      version: known?.version ?? prev?.version ?? "",
      status,
      lastContactMs: shown?.lastContactMs ?? 0,
      lastTerm: shown?.lastTerm ?? 0,
      lastIndex: shown?.lastIndex ?? 0,
      healthy,
      stableSince: prev === undefined || prev.healthy !== healthy ? i.now : prev.stableSince,
    });
  }
  let healthy = true;
  let voterCount = 0;
  let healthyVoters = 0;
  for (const s of servers.values()) {
    if (!s.healthy) healthy = false;
    if (s.status === "leader" || s.status === "voter") {
      voterCount++;
      if (s.healthy) healthyVoters++;
    }
  }
  const q = requiredQuorum(voterCount);
  const voters = [...servers.values()].filter((s) => s.status === "leader" || s.status === "voter");
  voters.sort((a, b) => serverOrder(a, b));
  return {
    healthy,
    failureTolerance: healthyVoters > q ? healthyVoters - q : 0,
    leader: i.raft.leader,
    voters: voters.map((s) => s.id),
    servers,
    firstStateTime: i.previous?.firstStateTime ?? i.now,
  };
}

/** raft-autopilot's ServerLessThan: leader, voters, healthy, longest stable, then ID. */
function serverOrder(a: ServerState, b: ServerState): number {
  if (a.status === "leader") return -1;
  if (b.status === "leader") return 1;
  if (a.healthy !== b.healthy) return a.healthy ? -1 : 1;
  if (a.stableSince !== b.stableSince) return a.healthy ? a.stableSince - b.stableSince : b.stableSince - a.stableSince;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Consul's stable promoter: healthy for at least ServerStabilizationTime. */
export function isStable(s: ServerState, state: AutopilotState, cfg: AutopilotConfig, now: number): boolean {
  if (!s.healthy) return false;
  // While autopilot has run for less than the stabilization time, every healthy server counts as stable.
  if (now - state.firstStateTime < cfg.serverStabilizationTimeMs) return true;
  return now - s.stableSince >= cfg.serverStabilizationTimeMs;
}

export type Change =
  | { readonly type: "add"; readonly id: string; readonly address: string; readonly name: string }
  | { readonly type: "promote"; readonly id: string }
  | { readonly type: "remove"; readonly id: string; readonly reason: "left" | "failed" };

/** Alive servers of the pool that the configuration does not hold (Consul's addRaftPeer on join). */
export function serversToAdd(raft: RaftView, known: ReadonlyMap<string, KnownServer>, self: string): Change[] {
  const inConfig = new Set([...raft.voters, ...raft.nonVoters, ...raft.staging]);
  const out: Change[] = [];
  for (const k of [...known.values()].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    if (k.id === self || k.status !== "alive" || inConfig.has(k.id) || k.address === "") continue;
    out.push({ type: "add", id: k.id, address: k.address, name: k.name });
  }
  return out;
}

/** Non-voters that are healthy and stable (stable promoter), in ID order. */
export function serversToPromote(state: AutopilotState, cfg: AutopilotConfig, now: number): Change[] {
  const out: Change[] = [];
  for (const s of [...state.servers.values()].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    if (s.status !== "non-voter" && s.status !== "staging") continue;
    if (isStable(s, state, cfg, now)) out.push({ type: "promote", id: s.id });
  }
  return out;
}

/**
 * Servers to remove: left ones always (Consul's leader handles a left member with
 * RemoveServer), failed ones with CleanupDeadServers under raft-autopilot's limits.
 */
export function serversToRemove(raft: RaftView, known: ReadonlyMap<string, KnownServer>, cfg: AutopilotConfig, self: string): Change[] {
  const voters = new Set(raft.voters);
  const members = [...raft.voters, ...raft.nonVoters, ...raft.staging].filter((id) => id !== self).sort();
  const out: Change[] = [];
  // Potential voters: every server of the configuration the pool knows (all are voter material here).
  let potential = [...raft.voters, ...raft.nonVoters, ...raft.staging].filter((id, i, a) => a.indexOf(id) === i && (id === self || known.has(id))).length;
  const left = members.filter((id) => known.get(id)?.status === "left");
  for (const id of left) out.push({ type: "remove", id, reason: "left" });
  potential -= left.length;
  if (!cfg.cleanupDeadServers) return out;
  const failed = members.filter((id) => known.get(id)?.status === "failed");
  const batches = [failed.filter((id) => !voters.has(id)), failed.filter((id) => voters.has(id))];
  for (const batch of batches) {
    let maxRemoval = Math.floor((potential - 1) / 2);
    let removed = 0;
    const initial = potential;
    for (const id of batch) {
      if (initial - removed - 1 < cfg.minQuorum) continue; // would leave fewer than MinQuorum
      if (voters.has(id) && maxRemoval < 1) continue; // removing a majority of voters is not safe
      maxRemoval--;
      removed++;
      out.push({ type: "remove", id, reason: "failed" });
    }
    potential -= removed;
  }
  return out;
}

/**
 * The next change for the leader to make, one per pass: removals of left servers, then
 * additions, then promotions (raft-autopilot applies promotions before anything else in a
 * reconcile; adding first lets a replacement join before a dead one goes), then dead-server cleanup.
 */
export function nextChanges(
  raft: RaftView,
  known: ReadonlyMap<string, KnownServer>,
  state: AutopilotState | undefined,
  cfg: AutopilotConfig,
  self: string,
  now: number,
  opts: { readonly reconcile: boolean },
): Change[] {
  const removals = serversToRemove(raft, known, cfg, self);
  const out: Change[] = removals.filter((c) => c.type === "remove" && c.reason === "left");
  out.push(...serversToAdd(raft, known, self));
  if (opts.reconcile) {
    if (state !== undefined) out.push(...serversToPromote(state, cfg, now));
    out.push(...removals.filter((c) => c.type === "remove" && c.reason === "failed"));
  }
  return out;
}
