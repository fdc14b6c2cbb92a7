/**
 * http/agent_checks: the local agent's check endpoints — GET /v1/agent/checks (?filter),
 * PUT /v1/agent/check/register, /deregister/<id>, /pass|warn|fail/<id>?note=, and
 * /update/<id> ({Status, Output}), with Consul's texts ("Missing check name", "Bad check
 * status", "Invalid check: ...", "Unknown check ID ...", "Invalid check status: 'x'")
 * and structs.HealthCheck JSON.
 *
 * Must never: change local state except through env.local.
 */

import { badRequest, CairnError } from "../shared/errors.ts";
import { FILTER_SCHEMAS } from "../filter/index.ts";
import { validateCheckSpec, type CheckStatus } from "../checks/index.ts";
import { decodeCheck, decodeCheckUpdate, DefinitionError } from "../agent/local/index.ts";
import type { Env, RequestCtx } from "./context.ts";
import { itemFilter } from "./catalog.ts";
import { goStringLess, jsonString } from "./json.ts";
import { renderCheck } from "./json_catalog.ts";
import { parseToken } from "./query.ts";
import { jsonReply, textReply, type Reply } from "./respond.ts";
import { checkRow, localOf, readPlainBody } from "./agent_services.ts";

export function agentChecks(ctx: RequestCtx, env: Env): Reply {
  const local = localOf(env);
  const f = itemFilter(ctx.query, FILTER_SCHEMAS.agentChecks);
  const parts: [string, string][] = [];
  for (const c of local.checks()) {
    const json = renderCheck(checkRow(c));
    if (f !== undefined && !f(JSON.parse(json) as unknown)) continue;
    parts.push([c.checkId, json]);
  }
  parts.sort((a, b) => goStringLess(a[0], b[0]));
  return jsonReply("{" + parts.map(([k, v]) => jsonString(k) + ":" + v).join(",") + "}");
}

export async function agentCheckRegister(ctx: RequestCtx, env: Env): Promise<Reply> {
  const local = localOf(env);
  const raw = await readPlainBody(ctx);
  let def;
  try {
    def = decodeCheck(raw ?? {}, "CheckDefinition", false);
  } catch (e) {
    if (e instanceof DefinitionError) throw badRequest(`Request decode failed: ${e.message}`);
    throw e;
  }
  if (def.spec.name === "") throw badRequest("Missing check name");
  if (def.rawStatus !== "" && !["passing", "warning", "critical"].includes(def.rawStatus)) throw badRequest("Bad check status");
  const err = validateCheckSpec(def.spec);
  if (err !== undefined) throw badRequest(`Invalid check: ${err}`);
  if (def.serviceId !== "" && local.service(def.serviceId) === undefined) {
    throw new CairnError("not-found", `ServiceID ${JSON.stringify(def.serviceId)} does not exist`);
  }
  await local.registerCheck(def, def.token !== "" ? def.token : parseToken(ctx.query, ctx.headers));
  return textReply(200, "");
}

function unknownCheck(id: string): CairnError {
  return new CairnError("not-found", `Unknown check ID ${JSON.stringify(id)}. Ensure that the check ID is passed, not the check name.`);
}

export async function agentCheckDeregister(ctx: RequestCtx, env: Env): Promise<Reply> {
  const local = localOf(env);
  const id = ctx.path.slice("/v1/agent/check/deregister/".length);
  if (local.check(id) === undefined) throw unknownCheck(id);
  await local.deregisterCheck(id);
  return textReply(200, "");
}

async function ttlUpdate(env: Env, id: string, status: CheckStatus, output: string): Promise<Reply> {
  const local = localOf(env);
  if (local.check(id) === undefined) throw unknownCheck(id);
  await local.updateTtl(id, status, output);
  return textReply(200, "");
}

export function agentCheckPass(ctx: RequestCtx, env: Env): Promise<Reply> {
  return ttlUpdate(env, ctx.path.slice("/v1/agent/check/pass/".length), "passing", ctx.query.get("note"));
}
export function agentCheckWarn(ctx: RequestCtx, env: Env): Promise<Reply> {
  return ttlUpdate(env, ctx.path.slice("/v1/agent/check/warn/".length), "warning", ctx.query.get("note"));
}
export function agentCheckFail(ctx: RequestCtx, env: Env): Promise<Reply> {
  return ttlUpdate(env, ctx.path.slice("/v1/agent/check/fail/".length), "critical", ctx.query.get("note"));
}

export async function agentCheckUpdate(ctx: RequestCtx, env: Env): Promise<Reply> {
  const raw = await readPlainBody(ctx);
  let u;
  try {
    u = decodeCheckUpdate(raw);
  } catch (e) {
    if (e instanceof DefinitionError) throw badRequest(`Request decode failed: ${e.message}`);
    throw e;
  }
  if (u.status !== "passing" && u.status !== "warning" && u.status !== "critical") {
    throw badRequest(`Invalid check status: '${u.status}'`);
  }
  // The TTL check trims the output to its output_max_size (CheckTTL.SetStatus).
  return ttlUpdate(env, ctx.path.slice("/v1/agent/check/update/".length), u.status, u.output);
}
