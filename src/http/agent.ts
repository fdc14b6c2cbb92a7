/**
 * http/agent: /v1/agent/self, /v1/agent/members and /v1/agent/metrics (JSON in go-metrics'
 * DisplayMetrics shape, or Prometheus text with ?format=prometheus).
 *
 * Go maps are rendered with sorted keys (encoding/json sorts map keys); structs keep
 * Consul's field order.
 *
 * Must never: expose secrets from the config (DebugConfig is the agent's sanitized view).
 */

import os from "node:os";
import type { MemberView } from "../server/types.ts";
import type { Aggregate, Metrics } from "../shared/metrics.ts";
import { runtimeName } from "../platform/runtime.ts";
import type { Env, RequestCtx } from "./context.ts";
import { base64, goFloat, goStringLess, jsonString, renderStringMap } from "./json.ts";
import { jsonReply, type Reply, textReply } from "./respond.ts";

/** Any JSON-able value as Go would print a map-based structure (sorted keys). */
export function goJson(v: unknown, depth = 0): string {
  if (depth > 64) return "null";
  if (v === null || v === undefined) return "null";
  switch (typeof v) {
    case "boolean": return v ? "true" : "false";
    case "number": return Number.isInteger(v) ? String(v) : goFloat(v);
    case "bigint": return v.toString();
    case "string": return jsonString(v);
    case "object": {
      if (v instanceof Uint8Array) return '"' + base64(v) + '"';
      if (Array.isArray(v)) return "[" + v.map((x) => goJson(x, depth + 1)).join(",") + "]";
      if (v instanceof Map) {
        const keys = [...v.keys()].map(String).sort(goStringLess);
        return "{" + keys.map((k) => jsonString(k) + ":" + goJson(v.get(k), depth + 1)).join(",") + "}";
      }
      const o = v as Record<string, unknown>;
      const keys = Object.keys(o).sort(goStringLess);
      return "{" + keys.map((k) => jsonString(k) + ":" + goJson(o[k], depth + 1)).join(",") + "}";
    }
    default:
      return "null";
  }
}

function renderMember(m: MemberView): string {
  return (
    '{"Name":' + jsonString(m.name) +
    ',"Addr":' + jsonString(m.addr) +
    ',"Port":' + m.port +
    ',"Tags":' + renderStringMap(m.tags) +
    ',"Status":' + m.status +
    ',"ProtocolMin":1,"ProtocolMax":5,"ProtocolCur":2,"DelegateMin":2,"DelegateMax":5,"DelegateCur":4}'
  );
}

export function agentMembers(ctx: RequestCtx, env: Env): Reply {
  // Consul: `wan` counts only with a non-empty value; WAN members of an agent without a
  // WAN pool (a client, or serf_wan = -1) are a nil list, rendered `null`.
  const wan = (ctx.query.get("wan") ?? "") !== "";
  const segment = ctx.query.get("segment") ?? "";
  if (wan && segment !== "" && segment !== "_all") return textReply(400, "Cannot provide a segment with wan=true");
  const members = env.agent.members(wan);
  if (wan && members.length === 0) return jsonReply("null");
  return jsonReply("[" + members.map(renderMember).join(",") + "]");
}

export function agentSelf(_ctx: RequestCtx, env: Env): Reply {
  const a = env.agent;
  const leader = env.backend.leader();
  const config: Record<string, unknown> = {
    Datacenter: a.datacenter,
    PrimaryDatacenter: a.primaryDatacenter,
    NodeName: a.nodeName,
    NodeID: a.nodeId,
    Partition: "",
    Revision: a.revision,
    Server: a.server,
    Version: a.version,
    BuildDate: a.buildDate,
  };
  const self: MemberView = a.members(false).find((m) => m.name === a.nodeName) ?? {
    name: a.nodeName,
    addr: "127.0.0.1",
    port: 8301,
    tags: {},
    status: 1,
  };
  const isLeader = leader.knownLeader && leader.lastContactMs === 0 && a.server;
  const stats: Record<string, Record<string, string>> = {
    agent: { check_monitors: "0", check_ttls: "0", checks: "0", services: "0" },
    build: { prerelease: "", revision: a.revision, version: a.version, version_metadata: "" },
    consul: a.server ? {
      acl: "disabled",
      bootstrap: "false",
      // Consul: len(router.GetDatacenters()); the WAN pool's server datacenters, else this one.
      known_datacenters: String(Math.max(1, new Set(a.members(true).filter((m) => m.tags.role === "consul").map((m) => m.tags.dc)).size)),
      leader: String(isLeader),
      leader_addr: leader.leaderAddr,
      server: String(a.server),
    } : {
      // A client agent (Consul's client.Stats): how many servers of its datacenter it knows.
      known_servers: String(a.members(false).filter((m) => m.status === 1 && m.tags.role === "consul" && m.tags.dc === a.datacenter).length),
      server: "false",
    },
    runtime: {
      arch: os.arch(),
      cpu_count: String(os.cpus().length),
      goroutines: "0",
      max_procs: String(os.cpus().length),
      os: os.platform(),
      version: runtimeName(),
    },
  };
  const json =
    '{"Config":' + goJson(config) +
    ',"DebugConfig":' + goJson(a.debugConfig()) +
    ',"Coord":{"Vec":[0,0,0,0,0,0,0,0],"Error":1.5,"Adjustment":0,"Height":0.00001}' +
    ',"Member":' + renderMember(self) +
    ',"Stats":' + goJson(stats) +
    ',"Meta":' + renderStringMap({ "consul-network-segment": "", "consul-version": a.version }) +
    "}";
  return jsonReply(json);
}

/** go-metrics' aggregation interval (10 s) used for Rate. */
const INTERVAL_S = 10;

function stddev(a: Aggregate): number {
  if (a.count < 2) return 0;
  const v = (a.sumSq - (a.sum * a.sum) / a.count) / (a.count - 1);
  return v > 0 ? Math.sqrt(v) : 0;
}

function num(x: number): string {
  return Number.isInteger(x) ? String(x) : goFloat(x);
}

function renderSampled(name: string, a: Aggregate): string {
  return (
    '{"Name":' + jsonString(name) +
    ',"Count":' + a.count +
    ',"Rate":' + num(a.sum / INTERVAL_S) +
    ',"Sum":' + num(a.sum) +
    ',"Min":' + num(a.count > 0 ? a.min : 0) +
    ',"Max":' + num(a.count > 0 ? a.max : 0) +
    ',"Mean":' + num(a.count > 0 ? a.sum / a.count : 0) +
    ',"Stddev":' + num(stddev(a)) +
    ',"Labels":{}}'
  );
}

/** Go's time.Time.String() for a UTC instant, rounded to the second: "2006-01-02 15:04:05 +0000 UTC". */
export function goTimestamp(ms: number): string {
  const d = new Date(Math.round(ms / 1000) * 1000);
  const p = (n: number): string => String(n).padStart(2, "0");
  return (
    `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ` +
    `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000 UTC`
  );
}

export function metricsJson(m: Metrics, nowMs: number): string {
  const sorted = <T>(mp: Map<string, T>): [string, T][] => [...mp.entries()].sort((x, y) => goStringLess(x[0], y[0]));
  const gauges = sorted(m.allGauges()).map(
    ([k, v]) => '{"Name":' + jsonString(k) + ',"Value":' + num(v) + ',"Labels":{}}',
  );
  const counters = sorted(m.counters).map(([k, a]) => renderSampled(k, a));
  const samples = sorted(m.samples).map(([k, a]) => renderSampled(k, a));
  return (
    '{"Timestamp":' + jsonString(goTimestamp(nowMs)) +
    ',"Gauges":[' + gauges.join(",") + "]" +
    ',"Points":[]' +
    ',"Counters":[' + counters.join(",") + "]" +
    ',"Samples":[' + samples.join(",") + "]}"
  );
}

/** Prometheus metric name: dots and other invalid characters become "_", prefixed "consul_". */
export function promName(name: string): string {
  let n = name.replace(/[^a-zA-Z0-9_:]/g, "_");
  if (!n.startsWith("consul_")) n = "consul_" + n;
  return n;
}

function promNum(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (x === Infinity) return "+Inf";
  if (x === -Infinity) return "-Inf";
  return String(x);
}

export function metricsPrometheus(m: Metrics): string {
  const lines: string[] = [];
  const sorted = <T>(mp: Map<string, T>): [string, T][] => [...mp.entries()].sort((x, y) => goStringLess(x[0], y[0]));
  for (const [k, v] of sorted(m.allGauges())) {
    const n = promName(k);
    lines.push(`# HELP ${n} ${n}`, `# TYPE ${n} gauge`, `${n} ${promNum(v)}`);
  }
  for (const [k, a] of sorted(m.counters)) {
    const n = promName(k);
    lines.push(`# HELP ${n} ${n}`, `# TYPE ${n} counter`, `${n} ${promNum(a.sum)}`);
  }
  for (const [k, a] of sorted(m.samples)) {
    const n = promName(k);
    lines.push(`# HELP ${n} ${n}`, `# TYPE ${n} summary`, `${n}_sum ${promNum(a.sum)}`, `${n}_count ${a.count}`);
  }
  return lines.length === 0 ? "" : lines.join("\n") + "\n";
}

export function agentMetrics(ctx: RequestCtx, env: Env): Reply {
  const accept = ctx.headers.accept ?? "";
  if (ctx.query.get("format") === "prometheus" || accept.includes("application/openmetrics-text")) {
    const r = textReply(200, metricsPrometheus(env.metrics));
    return {
      ...r,
      body: r.body.kind === "text" ? { ...r.body, contentType: "text/plain; version=0.0.4; charset=utf-8" } : r.body,
    };
  }
  return jsonReply(metricsJson(env.metrics, env.now()));
}
