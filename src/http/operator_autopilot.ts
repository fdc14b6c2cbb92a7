/**
 * http/operator_autopilot: Consul's autopilot endpoints (agent/operator_endpoint.go):
 * GET /v1/operator/autopilot/configuration (the replicated configuration; Consul's
 * defaults with index 0 before the leader has stored one), PUT with an
 * AutopilotConfiguration body and optional ?cas=<ModifyIndex> (answers true/false),
 * GET /v1/operator/autopilot/health ({Healthy, FailureTolerance, Servers[...]}, 429 when
 * unhealthy) and GET /v1/operator/autopilot/state (servers keyed by ID).
 *
 * A multi-server cluster's backend lends autopilotState() through the Raft operator ops
 * (agent/cluster.ts); a single server is its own healthy leader.
 *
 * Must never: write the configuration except through the Backend's apply.
 */

import { CairnError } from "../shared/errors.ts";
import { HTTP_MAX_JSON_BODY } from "../shared/limits.ts";
import { parseGoDuration } from "../agent/config/duration.ts";
import { DEFAULT_AUTOPILOT_CONFIG, type AutopilotConfig, type AutopilotRow } from "../state/autopilot_table.ts";
import type { AutopilotOps, AutopilotView, ServerState } from "../agent/autopilot.ts";
import type { Env, RequestCtx } from "./context.ts";
import { goDuration } from "./json_catalog.ts";
import { readHeaders } from "./kv.ts";
import { checkDatacenter, effectiveConsistency, parseQueryOptions } from "./query.ts";
import { jsonReply, textReply, type Reply } from "./respond.ts";

interface AutopilotReader {
  autopilotConfig(): AutopilotRow | undefined;
}

function configOf(env: Env): AutopilotRow {
  const s = env.backend.store as Partial<AutopilotReader>;
  const row = typeof s.autopilotConfig === "function" ? s.autopilotConfig() : undefined;
  return row ?? { ...DEFAULT_AUTOPILOT_CONFIG, createIndex: 0, modifyIndex: 0 };
}

const msText = (ms: number): string => goDuration(Math.round(ms * 1e6));

/** api.AutopilotConfiguration as JSON. */
export function renderAutopilotConfig(r: AutopilotRow): string {
  return JSON.stringify({
    CleanupDeadServers: r.cleanupDeadServers,
    LastContactThreshold: msText(r.lastContactThresholdMs),
    MaxTrailingLogs: r.maxTrailingLogs,
    MinQuorum: r.minQuorum,
    ServerStabilizationTime: msText(r.serverStabilizationTimeMs),
    RedundancyZoneTag: r.redundancyZoneTag,
    DisableUpgradeMigration: r.disableUpgradeMigration,
    UpgradeVersionTag: r.upgradeVersionTag,
    CreateIndex: r.createIndex,
    ModifyIndex: r.modifyIndex,
  });
}

function field(o: Record<string, unknown>, name: string): unknown {
  // encoding/json matches field names case-insensitively.
  for (const [k, v] of Object.entries(o)) if (k.toLowerCase() === name.toLowerCase()) return v;
  return undefined;
}

/** Decodes an api.AutopilotConfiguration body; absent fields are Go's zero values. */
export function decodeAutopilotConfig(text: string): AutopilotConfig {
  const fail = (m: string): CairnError => new CairnError("bad-request", `Error parsing autopilot config: ${m}`);
  let raw: unknown;
  try {
    raw = text.trim() === "" ? {} : JSON.parse(text);
  } catch (e) {
    throw fail(e instanceof Error ? e.message : String(e));
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw fail("json: cannot unmarshal into Go value of type api.AutopilotConfiguration");
  const o = raw as Record<string, unknown>;
  const bool = (name: string): boolean => {
    const v = field(o, name);
    if (v === undefined || v === null) return false;
    if (typeof v !== "boolean") throw fail(`json: cannot unmarshal ${typeof v} into Go struct field AutopilotConfiguration.${name} of type bool`);
    return v;
  };
  const uint = (name: string): number => {
    const v = field(o, name);
    if (v === undefined || v === null) return 0;
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) throw fail(`json: cannot unmarshal ${JSON.stringify(v)} into Go struct field AutopilotConfiguration.${name} of type uint64`);
    return v;
  };
  const str = (name: string): string => {
    const v = field(o, name);
    if (v === undefined || v === null) return "";
    if (typeof v !== "string") throw fail(`json: cannot unmarshal ${typeof v} into Go struct field AutopilotConfiguration.${name} of type string`);
    return v;
  };
  const dur = (name: string): number => {
    const v = field(o, name);
    if (v === undefined || v === null) return 0;
    if (typeof v === "number" && Number.isFinite(v) && v >= 0) return v / 1e6; // nanoseconds
    if (typeof v !== "string") throw fail(`json: cannot unmarshal ${typeof v} into Go struct field AutopilotConfiguration.${name}`);
    const ms = parseGoDuration(v);
    if (ms === undefined) throw fail(`time: invalid duration ${JSON.stringify(v)}`);
    if (ms < 0) throw fail(`${name} must not be negative`);
    return ms;
  };
  return {
    cleanupDeadServers: bool("CleanupDeadServers"),
    lastContactThresholdMs: dur("LastContactThreshold"),
    maxTrailingLogs: uint("MaxTrailingLogs"),
    minQuorum: uint("MinQuorum"),
    serverStabilizationTimeMs: dur("ServerStabilizationTime"),
    redundancyZoneTag: str("RedundancyZoneTag"),
    disableUpgradeMigration: bool("DisableUpgradeMigration"),
    upgradeVersionTag: str("UpgradeVersionTag"),
  };
}

/** GET|PUT /v1/operator/autopilot/configuration */
export async function operatorAutopilotConfiguration(ctx: RequestCtx, env: Env): Promise<Reply> {
  checkDatacenter(ctx.query, env.agent.datacenter);
  if (ctx.method === "GET") {
    const qo = parseQueryOptions(ctx.query, ctx.headers, env.agent.datacenter);
    const leader = await env.backend.readBarrier(qo.consistency);
    const row = configOf(env);
    return jsonReply(renderAutopilotConfig(row), 200, readHeaders(Math.max(1, row.modifyIndex), leader, effectiveConsistency(qo.consistency)));
  }
  const body = await ctx.readBody(HTTP_MAX_JSON_BODY);
  if (!body.ok) return { ...textReply(413, `Request body too large, max size: ${HTTP_MAX_JSON_BODY} bytes`), close: true };
  const config = decodeAutopilotConfig(body.data.toString("utf8"));
  let cas: number | null = null;
  if (ctx.query.has("cas")) {
    const v = ctx.query.get("cas");
    if (!/^[0-9]+$/.test(v) || !Number.isSafeInteger(Number(v))) {
      throw new CairnError("bad-request", `Error parsing cas value: strconv.ParseUint: parsing ${JSON.stringify(v)}: invalid syntax`);
    }
    cas = Number(v);
  }
  const r = await env.backend.apply({ type: "autopilot-set", config, cas });
  if (r.type === "error") throw new CairnError("internal", r.message);
  const ok = r.type === "bool" ? r.ok : true;
  return jsonReply(cas === null ? "true" : String(ok));
}

function autopilotOps(env: Env): AutopilotOps | undefined {
  const r = env.ops?.raft as Partial<AutopilotOps> | undefined;
  return r !== undefined && typeof r.autopilotState === "function" ? (r as AutopilotOps) : undefined;
}

/** A single server: itself, the healthy leader. */
async function singleView(env: Env): Promise<AutopilotView> {
  const cfg = env.ops?.raft === undefined ? undefined : await env.ops.raft.configuration(true);
  const me = cfg?.servers[0];
  const id = me?.id ?? env.agent.nodeId;
  const s: ServerState = {
    id,
    name: me?.node ?? env.agent.nodeName,
    address: me?.address ?? "",
    nodeStatus: "alive",
    version: env.agent.version,
    status: "leader",
    lastContactMs: 0,
    lastTerm: 1,
    lastIndex: me?.lastIndex ?? 0,
    healthy: true,
    stableSince: Date.now(),
  };
  return { healthy: true, failureTolerance: 0, leader: id, voters: [id], servers: [s] };
}

async function stateOf(env: Env): Promise<AutopilotView> {
  const ops = autopilotOps(env);
  try {
    return ops === undefined ? await singleView(env) : await ops.autopilotState();
  } catch (e) {
    if (e instanceof CairnError) throw e;
    throw new CairnError("internal", e instanceof Error ? e.message : String(e));
  }
}

/** Go's time.Time JSON (RFC 3339, UTC, whole seconds as Consul rounds StableSince). */
function goTime(ms: number): string {
  return new Date(Math.round(ms / 1000) * 1000).toISOString().replace(/\.000Z$/, "Z");
}

/** GET /v1/operator/autopilot/health */
export async function operatorAutopilotHealth(ctx: RequestCtx, env: Env): Promise<Reply> {
  checkDatacenter(ctx.query, env.agent.datacenter);
  const v = await stateOf(env);
  const order = [...v.voters, ...v.servers.map((s) => s.id).filter((id) => !v.voters.includes(id))];
  const byId = new Map(v.servers.map((s) => [s.id, s]));
  const servers = order.flatMap((id) => {
    const s = byId.get(id);
    if (s === undefined) return [];
    return [{
      ID: s.id,
      Name: s.name,
      Address: s.address,
      SerfStatus: s.nodeStatus,
      Version: s.version,
      Leader: s.status === "leader",
      LastContact: msText(s.lastContactMs),
      LastTerm: s.lastTerm,
      LastIndex: s.lastIndex,
      Healthy: s.healthy,
      Voter: s.status === "leader" || s.status === "voter",
      StableSince: goTime(s.stableSince),
    }];
  });
  return jsonReply(JSON.stringify({ Healthy: v.healthy, FailureTolerance: v.failureTolerance, Servers: servers }), v.healthy ? 200 : 429);
}

/** GET /v1/operator/autopilot/state (api.AutopilotState) */
export async function operatorAutopilotState(ctx: RequestCtx, env: Env): Promise<Reply> {
  checkDatacenter(ctx.query, env.agent.datacenter);
  const v = await stateOf(env);
  const servers: Record<string, unknown> = {};
  for (const s of [...v.servers].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
    servers[s.id] = {
      ID: s.id,
      Name: s.name,
      Address: s.address,
      NodeStatus: s.nodeStatus,
      Version: s.version,
      LastContact: msText(s.lastContactMs),
      LastTerm: s.lastTerm,
      LastIndex: s.lastIndex,
      Healthy: s.healthy,
      StableSince: goTime(s.stableSince),
      ReadReplica: false,
      Status: s.status,
      Meta: {},
      NodeType: "voter",
    };
  }
  return jsonReply(
    JSON.stringify({
      Healthy: v.healthy,
      FailureTolerance: v.failureTolerance,
      OptimisticFailureTolerance: 0, // enterprise (read replicas, zones)
      Servers: servers,
      Leader: v.leader,
      Voters: v.voters,
    }),
  );
}
