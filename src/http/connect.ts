/**
 * http/connect: the Connect CA endpoints.
 *
 *   GET      /v1/connect/ca/roots            blocking; ?pem=true gives the PEM chain
 *   GET      /v1/agent/connect/ca/roots      the same through the agent (X-Cache)
 *   GET/PUT  /v1/connect/ca/configuration    PUT rotates when the key identity changes
 *   GET      /v1/agent/connect/ca/leaf/<s>   the agent's cached leaf; blocking on its index
 *   POST     /v1/agent/connect/authorize     intentions: default allow (no ACLs, no intentions yet)
 *   DELETE   /v1/config/service-intentions/<n>  nothing stored, so 200 (sdk/testutil waits for it)
 *
 * Shapes and texts follow Consul's connect_ca_endpoint.go and agent_endpoint.go. The CA itself
 * (src/connect) is reached through Env.connect; without it (connect disabled) the CA endpoints
 * answer Consul's "Connect must be enabled" error.
 *
 * Must never: put a root's signing key in a response (rootsResponse strips it), or answer a
 * configuration PUT before the log committed it.
 */

import type { CAReader } from "../state/ca_types.ts";
import { CairnError, badRequest } from "../shared/errors.ts";
import { HTTP_MAX_JSON_BODY } from "../shared/limits.ts";
import {
  authorize,
  caConfigJSON,
  parseAuthorizeRequest,
  rootRecord,
  rootsResponse,
  storedTrustDomain,
  type CALeader,
  type LeafCache,
} from "../connect/index.ts";
import { blockingTimeout } from "./blocking.ts";
import type { Env, RequestCtx } from "./context.ts";
import { JsonSyntaxError, parseJson } from "./jsonparse.ts";
import { checkDatacenter, parseQueryOptions, parseToken, parseUint64 } from "./query.ts";
import { serveQuery, listQuery } from "./catalog.ts";
import { jsonReply, NO_BODY, type Reply, textReply } from "./respond.ts";

/** What the connect endpoints need from the agent (Env.connect). */
export interface ConnectHttp {
  readonly reader: CAReader;
  /** The CA driver; undefined on an agent that is not a server. */
  readonly leader: CALeader | undefined;
  readonly leaves: LeafCache;
}

const NOT_ENABLED = "Connect must be enabled in order to use this endpoint";

function connectOf(env: Env): ConnectHttp {
  if (env.connect === undefined) throw new CairnError("internal", NOT_ENABLED);
  return env.connect;
}

/** Go's strconv.ParseBool. */
function parseGoBool(s: string): boolean | undefined {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(s)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(s)) return false;
  return undefined;
}

function rootsQuery(c: ConnectHttp, key: string) {
  return listQuery(
    key,
    () => c.reader.caRoots(),
    (cb) => c.reader.watchCARoots(cb),
    (roots) => JSON.stringify(rootsResponse(roots.map(rootRecord), storedTrustDomain(c.reader))),
  );
}

/** GET /v1/connect/ca/roots */
export async function connectCARoots(ctx: RequestCtx, env: Env): Promise<Reply | undefined> {
  const c = connectOf(env);
  let pem = false;
  const p = ctx.query.get("pem");
  if (p !== "") {
    const v = parseGoBool(p);
    if (v === undefined) throw badRequest("The 'pem' query parameter must be a boolean value");
    pem = v;
  }
  if (!pem) return serveQuery(ctx, env, rootsQuery(c, "connect-ca-roots"));
  const opts = parseQueryOptions(ctx.query, ctx.headers, env.agent.datacenter);
  await env.backend.readBarrier(opts.consistency);
  let out = "";
  for (const r of c.reader.caRoots().value) {
    out += r.RootCert;
    for (const i of r.IntermediateCerts) out += i;
  }
  return textReply(200, out, { "Content-Type": "application/pem-certificate-chain" });
}

/** Consul's agent cache: the first answer at an index is a MISS, later ones HITs with an Age. */
const rootsSeen = new WeakMap<ConnectHttp, { index: number; at: number }>();

/** GET /v1/agent/connect/ca/roots */
export async function agentConnectCARoots(ctx: RequestCtx, env: Env): Promise<Reply | undefined> {
  const c = connectOf(env);
  const reply = await serveQuery(ctx, env, rootsQuery(c, "agent-connect-ca-roots"));
  if (reply === undefined) return undefined;
  const index = Number(reply.headers["X-Consul-Index"] ?? "0");
  const now = env.now();
  const seen = rootsSeen.get(c);
  const headers: Record<string, string> = { ...reply.headers };
  if (seen !== undefined && seen.index === index) {
    headers["X-Cache"] = "HIT";
    headers["Age"] = String(Math.round((now - seen.at) / 1000));
  } else {
    rootsSeen.set(c, { index, at: now });
    headers["X-Cache"] = "MISS";
  }
  return { ...reply, headers };
}

/** GET and PUT /v1/connect/ca/configuration */
export async function connectCAConfiguration(ctx: RequestCtx, env: Env): Promise<Reply | undefined> {
  const c = connectOf(env);
  if (ctx.method === "GET") {
    const opts = parseQueryOptions(ctx.query, ctx.headers, env.agent.datacenter);
    await env.backend.readBarrier(opts.consistency);
    const cfg = c.reader.caConfig().value;
    if (cfg === undefined) throw new CairnError("internal", "CA config not set");
    return jsonReply(JSON.stringify(sortMaps(caConfigJSON(cfg))));
  }
  checkDatacenter(ctx.query, env.agent.datacenter);
  parseToken(ctx.query, ctx.headers);
  const cas = ctx.query.get("cas");
  if (cas !== "") {
    const r = parseUint64(cas);
    if (!r.ok) throw badRequest(`Request decode failed: ${r.err}`);
  }
  const body = await readJsonBody(ctx);
  if ("status" in body) return body;
  if (c.leader === undefined) throw new CairnError("internal", "No cluster leader");
  await c.leader.updateConfiguration(body.value);
  return { status: 200, headers: {}, body: NO_BODY };
}

/** GET /v1/agent/connect/ca/leaf/<service> */
export async function agentConnectCALeaf(ctx: RequestCtx, env: Env): Promise<Reply | undefined> {
  const c = connectOf(env);
  const service = ctx.path.slice("/v1/agent/connect/ca/leaf/".length);
  const opts = parseQueryOptions(ctx.query, ctx.headers, env.agent.datacenter);
  if (service === "") throw badRequest("URI must be either service, agent, server, or kind");
  const waitMs = opts.minIndex > 0 ? blockingTimeout(opts.waitMs, Math.random) : 0;
  const r = await c.leaves.get(service, { minIndex: opts.minIndex, waitMs, onAbort: (cancel) => ctx.onAbort(cancel) });
  if (r === undefined) return undefined;
  const headers: Record<string, string> = {
    "X-Consul-Index": String(Math.max(1, r.leaf.ModifyIndex)),
    "X-Cache": r.hit ? "HIT" : "MISS",
  };
  if (r.hit) headers["Age"] = String(Math.round(r.ageMs / 1000));
  return jsonReply(JSON.stringify(r.leaf), 200, headers);
}

/** POST /v1/agent/connect/authorize */
export async function agentConnectAuthorize(ctx: RequestCtx, _env: Env): Promise<Reply | undefined> {
  parseToken(ctx.query, ctx.headers);
  const body = await readJsonBody(ctx);
  if ("status" in body) return body;
  const req = parseAuthorizeRequest(body.value ?? {});
  // No ACL system and no intentions yet: Consul's agent then resolves an allow-all authorizer,
  // whose intention default is allow ("Default behavior configured by ACLs").
  const res = authorize(req, { aclsEnabled: true, aclDefaultAllow: true });
  return jsonReply(JSON.stringify(res), 200, { "X-Cache": "MISS" });
}

/**
 * DELETE /v1/config/service-intentions/<name>. cairn stores no service-intentions config
 * entries (authorize answers from the default), so a delete finds nothing and succeeds as
 * Consul's does for a missing entry: `{}`, or `false` with ?cas. sdk/testutil's
 * WaitForServiceIntentions waits for exactly this 200.
 */
export function configServiceIntentionsDelete(ctx: RequestCtx, env: Env): Promise<Reply | undefined> {
  checkDatacenter(ctx.query, env.agent.datacenter);
  parseToken(ctx.query, ctx.headers);
  const name = ctx.path.slice("/v1/config/service-intentions/".length);
  if (name === "") throw new CairnError("not-found", "Must provide both a kind and name to delete");
  const cas = ctx.query.get("cas");
  if (cas !== "") {
    const r = parseUint64(cas);
    if (!r.ok) throw badRequest(`strconv.ParseUint: parsing ${JSON.stringify(cas)}: invalid syntax`);
    return Promise.resolve(jsonReply("false"));
  }
  return Promise.resolve(jsonReply("{}"));
}

/** Go marshals maps with sorted keys; struct fields keep their order (top level here). */
function sortMaps(v: object): unknown {
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = sortDeep(x);
  return out;
}

function sortDeep(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(sortDeep);
  if (typeof x !== "object" || x === null) return x;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(x).sort()) out[k] = sortDeep((x as Record<string, unknown>)[k]);
  return out;
}

async function readJsonBody(ctx: RequestCtx): Promise<{ value: unknown } | Reply> {
  const body = await ctx.readBody(HTTP_MAX_JSON_BODY);
  if (!body.ok) return { ...textReply(413, `Request body too large, max size: ${HTTP_MAX_JSON_BODY} bytes`), close: true };
  const text = body.data.toString("utf8");
  if (text.trim() === "") return { value: null };
  try {
    parseJson(text);
  } catch (e) {
    if (e instanceof JsonSyntaxError) return textReply(400, `Request decode failed: ${e.message}`);
    throw e;
  }
  return { value: JSON.parse(text) as unknown };
}
