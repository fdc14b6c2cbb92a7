/**
 * http/agent_services: the local agent's service endpoints — GET /v1/agent/services,
 * GET /v1/agent/service/<id> (hash blocking with X-Consul-ContentHash), PUT
 * /v1/agent/service/register (?replace-existing-checks), /deregister/<id>,
 * /maintenance/<id>, PUT /v1/agent/maintenance, and the aggregated health endpoints
 * /v1/agent/health/service/name/<s> and /id/<id> (200 passing, 429 warning, 503
 * critical or maintenance, 404 unknown; ?format=text), with Consul's texts and JSON
 * (api.AgentService field order and omitempty rules).
 *
 * Must never: change local state except through env.local, or answer a write before
 * the local change (and its catalog sync attempt) is done.
 */

import { badRequest, CairnError } from "../shared/errors.ts";
import { BLOCKING_DEFAULT_WAIT_MS, BLOCKING_JITTER_FRACTION, BLOCKING_MAX_WAIT_MS, HTTP_MAX_JSON_BODY, LOCAL_MAX_HASH_WAITERS } from "../shared/limits.ts";
import { FILTER_SCHEMAS } from "../filter/index.ts";
import { validateCheckSpec } from "../checks/index.ts";
import { decodeService, DefinitionError, metaError, weightsError, type LocalAgentApi, type LocalCheck, type LocalService } from "../agent/local/index.ts";
import { NIL_MAP, type CheckRow } from "../state/catalog_types.ts";
import type { Env, RequestCtx } from "./context.ts";
import { itemFilter } from "./catalog.ts";
import { goStringLess, jsonString, renderStringMap, renderStrings } from "./json.ts";
import { renderCheck, renderValue } from "./json_catalog.ts";
import { JsonSyntaxError, parseJson, type JsonValue } from "./jsonparse.ts";
import { parseGoDuration, parseToken } from "./query.ts";
import { jsonReply, textReply, type Reply } from "./respond.ts";

// ---- shared helpers (also used by agent_checks) ----------------------------------------

export function localOf(env: Env): LocalAgentApi {
  if (env.local === undefined) throw new CairnError("internal", "local agent state is not available");
  return env.local;
}

/** A JSON value as plain JS (numbers as numbers). */
export function plainJson(v: JsonValue): unknown {
  switch (v.t) {
    case "null":
      return null;
    case "bool":
    case "str":
      return v.v;
    case "num":
      return Number(v.src);
    case "arr":
      return v.v.map(plainJson);
    case "obj": {
      const out: Record<string, unknown> = {};
      for (const [k, x] of v.v) out[k] = plainJson(x);
      return out;
    }
  }
}

/** Reads and parses a JSON body; an empty body is null. Throws 400/413 as Consul does. */
export async function readPlainBody(ctx: RequestCtx): Promise<unknown> {
  const body = await ctx.readBody(HTTP_MAX_JSON_BODY);
  if (!body.ok) throw new CairnError("too-large", `Request body too large, max size: ${HTTP_MAX_JSON_BODY} bytes`);
  const text = body.data.toString("utf8");
  if (text.trim() === "") return null;
  try {
    return plainJson(parseJson(text));
  } catch (e) {
    if (e instanceof JsonSyntaxError) throw badRequest(`Request decode failed: ${e.message}`);
    throw e;
  }
}

/** Go's strconv.ParseBool. */
export function parseGoBool(s: string): boolean | undefined {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(s)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(s)) return false;
  return undefined;
}

/** Converts a local check to a catalog row shape (indexes 0) for structs.HealthCheck JSON. */
export function checkRow(c: LocalCheck): CheckRow {
  return {
    ...c,
    createIndex: 0,
    modifyIndex: 0,
    definition: {
      http: "",
      tlsServerName: "",
      tlsSkipVerify: false,
      header: NIL_MAP,
      method: "",
      body: "",
      tcp: "",
      udp: "",
      grpc: "",
      grpcUseTls: false,
      intervalNs: 0,
      timeoutNs: 0,
      deregisterCriticalServiceAfterNs: 0,
    },
  };
}

export function unknownServiceError(id: string): CairnError {
  return new CairnError("not-found", `Unknown service ID ${JSON.stringify(id)}. Ensure that the service ID is passed, not the service name.`);
}

// ---- api.AgentService JSON -----------------------------------------------------------------

const PROXY_KINDS: ReadonlySet<string> = new Set([
  "connect-proxy",
  "mesh-gateway",
  "terminating-gateway",
  "ingress-gateway",
  "api-gateway",
]);

/** api.AgentService, as buildAgentService makes it; `hash` adds ContentHash. */
export function renderAgentService(s: LocalService, dc: string, hash = ""): string {
  const ta = Object.keys(s.taggedAddresses).sort(goStringLess);
  let out = "{";
  if (s.kind !== "") out += '"Kind":' + jsonString(s.kind) + ",";
  out +=
    '"ID":' + jsonString(s.id) +
    ',"Service":' + jsonString(s.service) +
    ',"Tags":' + renderStrings(s.tags) +
    ',"Meta":' + renderStringMap(s.meta) +
    ',"Port":' + s.port +
    ',"Address":' + jsonString(s.address);
  if (s.socketPath !== "") out += ',"SocketPath":' + jsonString(s.socketPath);
  if (ta.length > 0) {
    out +=
      ',"TaggedAddresses":{' +
      ta.map((k) => jsonString(k) + ':{"Address":' + jsonString(s.taggedAddresses[k]!.address) + ',"Port":' + s.taggedAddresses[k]!.port + "}").join(",") +
      "}";
  }
  const passing = s.weights.passing > 0 ? s.weights.passing : 1;
  out += ',"Weights":{"Passing":' + passing + ',"Warning":' + s.weights.warning + "}";
  out += ',"EnableTagOverride":' + (s.enableTagOverride ? "true" : "false");
  if (hash !== "") out += ',"ContentHash":' + jsonString(hash);
  if (PROXY_KINDS.has(s.kind)) out += ',"Proxy":' + renderValue(s.proxy ?? {});
  if (s.connect !== null && s.connect["Native"] === true) out += ',"Connect":{"Native":true}';
  out += ',"Datacenter":' + jsonString(dc);
  if (s.locality !== null) out += ',"Locality":' + renderValue(s.locality);
  return out + "}";
}

/** A 64-bit FNV-1a of the rendered service, as hex (the ContentHash). */
export function contentHash(json: string): string {
  let h = 0xcbf29ce484222325n;
  const bytes = Buffer.from(json, "utf8");
  for (const b of bytes) {
    h ^= BigInt(b);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h.toString(16);
}

// ---- GET /v1/agent/services ------------------------------------------------------------

export function agentServices(ctx: RequestCtx, env: Env): Reply {
  const local = localOf(env);
  const f = itemFilter(ctx.query, FILTER_SCHEMAS.agentServices);
  const parts: [string, string][] = [];
  for (const s of local.services()) {
    const json = renderAgentService(s, env.agent.datacenter);
    if (f !== undefined && !f(JSON.parse(json) as unknown)) continue;
    parts.push([s.id, json]);
  }
  parts.sort((a, b) => goStringLess(a[0], b[0]));
  return jsonReply("{" + parts.map(([k, v]) => jsonString(k) + ":" + v).join(",") + "}");
}

// ---- GET /v1/agent/service/<id> ---------------------------------------------------------

let hashWaiters = 0;

export async function agentService(ctx: RequestCtx, env: Env): Promise<Reply | undefined> {
  const local = localOf(env);
  const id = ctx.path.slice("/v1/agent/service/".length);
  const w = ctx.query.get("wait");
  let waitMs = 0;
  if (w !== "") {
    const d = parseGoDuration(w);
    if (d === undefined) throw badRequest("Invalid wait time");
    waitMs = d;
  }
  const hash = ctx.query.get("hash");
  const compute = (): { hash: string; body: string } => {
    const s = local.service(id);
    if (s === undefined) throw new CairnError("not-found", `unknown service ID: ${id}`);
    const h = contentHash(renderAgentService(s, env.agent.datacenter));
    return { hash: h, body: renderAgentService(s, env.agent.datacenter, h) };
  };
  let cur = compute();
  if (hash !== "" && cur.hash === hash) {
    if (hashWaiters >= LOCAL_MAX_HASH_WAITERS) throw new CairnError("rate-limited", "too many blocking queries");
    let wait = waitMs > 0 ? waitMs : BLOCKING_DEFAULT_WAIT_MS;
    if (wait > BLOCKING_MAX_WAIT_MS) wait = BLOCKING_MAX_WAIT_MS;
    wait += Math.random() * (wait / BLOCKING_JITTER_FRACTION);
    const deadline = env.now() + wait;
    hashWaiters++;
    try {
      while (cur.hash === hash) {
        const left = deadline - env.now();
        if (left <= 0 || ctx.isAborted()) break;
        await new Promise<void>((resolve) => {
          let done = false;
          const finish = (): void => {
            if (done) return;
            done = true;
            clearTimeout(t);
            cancel();
            resolve();
          };
          const t = setTimeout(finish, left);
          const cancel = local.watchService(id, finish);
          ctx.onAbort(finish);
        });
        if (ctx.isAborted()) return undefined;
        cur = compute();
      }
    } finally {
      hashWaiters--;
    }
  }
  return jsonReply(cur.body, 200, { "X-Consul-ContentHash": cur.hash });
}

// ---- PUT /v1/agent/service/register -----------------------------------------------------

const VALID_STATUS: ReadonlySet<string> = new Set(["passing", "warning", "critical"]);

function isAnyAddress(a: string): boolean {
  return a === "0.0.0.0" || a === "::" || a === "[::]";
}

export async function agentServiceRegister(ctx: RequestCtx, env: Env): Promise<Reply> {
  const local = localOf(env);
  const raw = await readPlainBody(ctx);
  let def;
  try {
    def = decodeService(raw ?? {}, false);
  } catch (e) {
    if (e instanceof DefinitionError) throw badRequest(`Request decode failed: ${e.message}`);
    throw e;
  }
  const s = def.service;
  if (s.service === "") throw badRequest("Missing service name");
  if (isAnyAddress(s.address)) throw badRequest("Invalid service address");
  if (s.weights !== null) {
    const we = weightsError(s.weights);
    if (we !== undefined) throw badRequest(`Invalid Weights: ${we}`);
  }
  const me = metaError(s.meta);
  if (me !== undefined) throw badRequest(`Invalid Service Meta: ${me}`);
  for (const c of def.checks) {
    const err = validateCheckSpec(c.spec);
    if (err !== undefined) throw badRequest(`Invalid check: ${err}`);
  }
  for (const c of def.checks) {
    if (c.rawStatus !== "" && !VALID_STATUS.has(c.rawStatus)) throw badRequest("Status for checks must 'passing', 'warning', 'critical'");
  }
  const q = ctx.query;
  const rec = q.get("replace-existing-checks");
  const replaceExistingChecks = q.has("replace-existing-checks") && (rec === "" || rec === "true");
  await local.registerService(def, { replaceExistingChecks, token: def.token !== "" ? def.token : parseToken(q, ctx.headers) });
  return textReply(200, "");
}

// ---- PUT /v1/agent/service/deregister/<id> ------------------------------------------------

export async function agentServiceDeregister(ctx: RequestCtx, env: Env): Promise<Reply> {
  const local = localOf(env);
  const id = ctx.path.slice("/v1/agent/service/deregister/".length);
  if (local.service(id) === undefined) throw unknownServiceError(id);
  await local.deregisterService(id);
  return textReply(200, "");
}

// ---- maintenance ------------------------------------------------------------------------

function enableParam(ctx: RequestCtx): boolean {
  if (!ctx.query.has("enable")) throw badRequest("Missing value for enable");
  const raw = ctx.query.get("enable");
  const v = parseGoBool(raw);
  if (v === undefined) throw badRequest(`Invalid value for enable: ${JSON.stringify(raw)}`);
  return v;
}

export async function agentServiceMaintenance(ctx: RequestCtx, env: Env): Promise<Reply> {
  const local = localOf(env);
  const id = ctx.path.slice("/v1/agent/service/maintenance/".length);
  if (id === "") throw badRequest("Missing service ID");
  const enable = enableParam(ctx);
  if (local.service(id) === undefined) throw unknownServiceError(id);
  if (enable) await local.enableServiceMaintenance(id, ctx.query.get("reason"), parseToken(ctx.query, ctx.headers));
  else await local.disableServiceMaintenance(id);
  return textReply(200, "");
}

export async function agentNodeMaintenance(ctx: RequestCtx, env: Env): Promise<Reply> {
  const local = localOf(env);
  const enable = enableParam(ctx);
  if (enable) await local.enableNodeMaintenance(ctx.query.get("reason"), parseToken(ctx.query, ctx.headers));
  else await local.disableNodeMaintenance();
  return textReply(200, "");
}

// ---- aggregated health -----------------------------------------------------------------------

/** api.HealthChecks.AggregatedStatus: maintenance wins, then critical, warning, passing. */
export function aggregatedStatus(checks: readonly LocalCheck[]): string {
  let passing = false;
  let warning = false;
  let critical = false;
  let maint = false;
  for (const c of checks) {
    if (c.checkId === "_node_maintenance" || c.checkId.startsWith("_service_maintenance:")) {
      maint = true;
      continue;
    }
    if (c.status === "passing") passing = true;
    else if (c.status === "warning") warning = true;
    else if (c.status === "critical") critical = true;
    else return "";
  }
  if (maint) return "maintenance";
  if (critical) return "critical";
  if (warning) return "warning";
  void passing;
  return "passing";
}

function statusCode(status: string): number {
  if (status === "warning") return 429;
  if (status === "passing") return 200;
  return 503;
}

function wantsText(ctx: RequestCtx): boolean {
  const accept = ctx.headers.accept;
  if (typeof accept === "string" && accept.startsWith("text/plain")) return true;
  const format = ctx.query.get("format");
  if (format !== "") return format === "text";
  return false;
}

function healthInfo(local: LocalAgentApi, s: LocalService, dc: string): { code: number; status: string; json: string } {
  const checks = local.checksForService(s.id, true);
  const status = aggregatedStatus(checks);
  const json =
    '{"AggregatedStatus":' + jsonString(status) +
    ',"Service":' + renderAgentService(s, dc) +
    ',"Checks":[' + checks.map((c) => renderCheck({ ...checkRow(c), type: "" })).join(",") + "]}";
  return { code: statusCode(status), status, json };
}

export function agentHealthById(ctx: RequestCtx, env: Env): Reply {
  const local = localOf(env);
  const id = ctx.path.slice("/v1/agent/health/service/id/".length);
  if (id === "") throw badRequest("Missing serviceID");
  const s = local.service(id);
  if (s !== undefined) {
    const h = healthInfo(local, s, env.agent.datacenter);
    if (wantsText(ctx)) return textReply(h.code, h.status, { "Content-Type": "text/plain" });
    return jsonReply(h.json, h.code);
  }
  const reason = `ServiceId ${id} not found`;
  if (wantsText(ctx)) return textReply(404, reason, { "Content-Type": "text/plain" });
  return jsonReply('{"AggregatedStatus":"critical","Service":null,"Checks":null}', 404);
}

export function agentHealthByName(ctx: RequestCtx, env: Env): Reply {
  const local = localOf(env);
  const name = ctx.path.slice("/v1/agent/health/service/name/".length);
  if (name === "") throw badRequest("Missing service Name");
  let code = 404;
  let status = `ServiceName ${name} Not Found`;
  const parts: string[] = [];
  for (const s of local.servicesByName(name)) {
    const h = healthInfo(local, s, env.agent.datacenter);
    parts.push(h.json);
    if (code === 404 || code < h.code) {
      code = h.code;
      status = h.status;
    }
  }
  if (wantsText(ctx)) return textReply(code, status, { "Content-Type": "text/plain" });
  return jsonReply("[" + parts.join(",") + "]", code);
}
