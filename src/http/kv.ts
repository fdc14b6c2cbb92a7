/**
 * http/kv: /v1/kv/<key> GET (single, ?recurse, ?keys[&separator], ?raw), PUT and DELETE,
 * with Consul's query handling, blocking, error texts and response headers.
 *
 * Must never: read a request body past the configured limit, or answer a write before
 * backend.apply() resolved (durable and applied).
 */

import type { LeaderView } from "../server/types.ts";
import { CairnError, badRequest } from "../shared/errors.ts";
import type { Command, KVEntry } from "../state/types.ts";
import type { BlockingQuery } from "./blocking.ts";
import type { Env, RequestCtx } from "./context.ts";
import { renderEntries, renderStrings } from "./json.ts";
import { checkDatacenter, effectiveConsistency, parseQueryOptions, parseUint64 } from "./query.ts";
import { type Body, jsonReply, NO_BODY, Rendered, type Reply, textReply } from "./respond.ts";

const KV_PREFIX = "/v1/kv/";
const KV_MAX_VALUE_SIZE_DOC = "https://developer.hashicorp.com/docs/agent/config/config-files#kv_max_value_size";

/**
 * Key checks of Consul >= 1.21.5 after the relaxation (PR #22850): no leading "/", no
 * "../" (or "..\"), no URL-encoded traversal, no leading/trailing spaces.
 * Returns the error text, or undefined when the key is fine.
 */
export function validateKvKey(key: string): string | undefined {
  if (key.startsWith("/")) return "key must not begin with a '/'";
  if (key.includes("../") || key.includes("..\\")) return "key contains path traversal sequence";
  const lower = key.toLowerCase();
  if (
    lower.includes("%2e%2e%2f") ||
    lower.includes("%2e%2e/") ||
    lower.includes("..%2f") ||
    lower.includes("%2e%2e%5c") ||
    lower.includes("%252e%252e%252f")
  ) {
    return "key contains encoded path traversal sequence";
  }
  if (key !== key.trim()) return "key must not have leading or trailing whitespace";
  return undefined;
}

/** Consul's conflictingFlags: more than one of `flags` present -> 400 with the encoded query. */
function conflicting(ctx: RequestCtx, flags: readonly string[]): Reply | undefined {
  let found = false;
  for (const f of flags) {
    if (!ctx.query.has(f)) continue;
    if (found) return textReply(400, "Conflicting flags: " + ctx.query.encode() + "\n");
    found = true;
  }
  return undefined;
}

export function readHeaders(index: number, leader: LeaderView, consistency: string): Record<string, string> {
  const last = leader.lastContactMs > 0 ? Math.floor(leader.lastContactMs) : 0;
  return {
    "X-Consul-Index": String(index < 1 ? 1 : index),
    "X-Consul-KnownLeader": leader.knownLeader ? "true" : "false",
    "X-Consul-LastContact": String(last),
    "X-Consul-Effective-Consistency": consistency,
    "X-Consul-Query-Backend": "blocking-query",
  };
}

/** What a KV read renders to: a status and a body (shared between responses). */
interface KvRendered {
  readonly status: number;
  readonly body: Body;
  readonly extra: Readonly<Record<string, string>>;
}

const NOT_FOUND: KvRendered = { status: 404, body: NO_BODY, extra: {} };
const RAW_HEADERS = {
  "Content-Type": "text/plain",
  "X-Content-Type-Options": "nosniff",
  "Content-Security-Policy": "sandbox",
};

function jsonBody(s: string): Body {
  return { kind: "json", r: new Rendered(s) };
}

function sizeOf(r: KvRendered): number {
  const b = r.body;
  return b.kind === "json" ? b.r.size : b.kind === "text" ? b.data.length : 0;
}

function getQuery(env: Env, key: string, raw: boolean): BlockingQuery<KVEntry | undefined, KvRendered> {
  const store = env.backend.store;
  return {
    key: (raw ? "w\0" : "g\0") + key,
    run: () => store.kvGet(key),
    watch: (cb) => store.watchKey(key, cb),
    render: (e) => {
      if (e === undefined) return NOT_FOUND;
      if (raw) {
        const data = Buffer.from(e.value.buffer, e.value.byteOffset, e.value.byteLength);
        return { status: 200, body: { kind: "text", data, contentType: "text/plain" }, extra: RAW_HEADERS };
      }
      return { status: 200, body: jsonBody(renderEntries([e])), extra: {} };
    },
    sizeOf,
  };
}

function listQuery(env: Env, prefix: string): BlockingQuery<KVEntry[], KvRendered> {
  const store = env.backend.store;
  return {
    key: "r\0" + prefix,
    run: () => store.kvList(prefix),
    watch: (cb) => store.watchPrefix(prefix, cb),
    render: (es) => (es.length === 0 ? NOT_FOUND : { status: 200, body: jsonBody(renderEntries(es)), extra: {} }),
    sizeOf,
  };
}

function keysQuery(env: Env, prefix: string, sep: string): BlockingQuery<string[], KvRendered> {
  const store = env.backend.store;
  return {
    key: "k\0" + prefix + "\0" + sep,
    run: () => store.kvKeys(prefix, sep),
    watch: (cb) => store.watchPrefix(prefix, cb),
    render: (ks) =>
      ks.length === 0 && prefix !== "" ? NOT_FOUND : { status: 200, body: jsonBody(renderStrings(ks)), extra: {} },
    sizeOf,
  };
}

export async function kvHandler(ctx: RequestCtx, env: Env): Promise<Reply | undefined> {
  const key = ctx.path.startsWith(KV_PREFIX) ? ctx.path.slice(KV_PREFIX.length) : "";
  if (ctx.method === "GET") return kvGet(ctx, env, key);
  checkDatacenter(ctx.query, env.agent.datacenter);
  if (ctx.method === "PUT") return kvPut(ctx, env, key);
  if (ctx.method === "DELETE") return kvDelete(ctx, env, key);
  throw new CairnError("method-not-allowed", `method ${ctx.method} not allowed`);
}

function checkKey(env: Env, key: string): void {
  if (key === "" || env.disableKvKeyValidation) return;
  const err = validateKvKey(key);
  if (err !== undefined) throw badRequest(err);
}

async function kvGet(ctx: RequestCtx, env: Env, key: string): Promise<Reply | undefined> {
  const opts = parseQueryOptions(ctx.query, ctx.headers, env.agent.datacenter);
  checkKey(env, key);
  let q: BlockingQuery<unknown, KvRendered>;
  if (ctx.query.has("keys")) {
    let sep = "";
    if (ctx.query.has("seperator")) sep = ctx.query.get("seperator");
    if (ctx.query.has("separator")) sep = ctx.query.get("separator");
    q = keysQuery(env, key, sep) as BlockingQuery<unknown, KvRendered>;
  } else if (ctx.query.has("recurse")) {
    q = listQuery(env, key) as BlockingQuery<unknown, KvRendered>;
  } else {
    if (key === "") throw badRequest("Missing key name");
    q = getQuery(env, key, ctx.query.has("raw")) as BlockingQuery<unknown, KvRendered>;
  }
  await env.backend.readBarrier(opts.consistency);
  if (ctx.isAborted()) return undefined;
  const res = await env.blocking.serve(q, opts.minIndex, opts.waitMs, (cancel) => ctx.onAbort(cancel));
  if (res === undefined) return undefined;
  const headers = readHeaders(res.index, env.backend.leader(), effectiveConsistency(opts.consistency));
  const r = res.rendered;
  return { status: r.status, headers: { ...headers, ...r.extra }, body: r.body };
}

function tooLarge(received: number, max: number): Reply {
  return {
    ...textReply(
      413,
      `Request body(${received} bytes) too large, max size: ${max} bytes. See ${KV_MAX_VALUE_SIZE_DOC}.`,
    ),
    close: true,
  };
}

/** strconv.ParseUint failures surface as Consul's generic 500 with Go's error text. */
function uint64Param(ctx: RequestCtx, name: string): bigint | undefined {
  if (!ctx.query.has(name)) return undefined;
  const p = parseUint64(ctx.query.get(name));
  if (!p.ok) throw new CairnError("internal", p.err);
  return p.v;
}

async function kvPut(ctx: RequestCtx, env: Env, key: string): Promise<Reply> {
  checkKey(env, key);
  if (key === "") throw badRequest("Missing key name");
  const conflict = conflicting(ctx, ["cas", "acquire", "release"]);
  if (conflict) return conflict;
  const flags = uint64Param(ctx, "flags") ?? 0n;
  const cas = uint64Param(ctx, "cas");
  let session: string | undefined;
  if (ctx.query.has("acquire")) session = ctx.query.get("acquire");
  if (ctx.query.has("release")) session = ctx.query.get("release");
  const max = env.limits.kvMaxValueSize;
  if (ctx.contentLength > max) return tooLarge(ctx.contentLength, max);
  const body = await ctx.readBody(max);
  if (!body.ok) return tooLarge(body.received, max);
  const value = new Uint8Array(body.data.buffer, body.data.byteOffset, body.data.byteLength);
  let cmd: Command;
  if (session !== undefined) {
    cmd = ctx.query.has("release")
      ? { type: "kv-unlock", key, value, flags, session }
      : { type: "kv-lock", key, value, flags, session, now: env.now() };
  } else if (cas !== undefined) {
    cmd = { type: "kv-cas", key, value, flags, index: Number(cas) };
  } else {
    cmd = { type: "kv-set", key, value, flags };
  }
  const out = await env.backend.apply(cmd);
  // Consul answers FSM errors (e.g. `invalid session "x"`) as RPC errors: 500 with the text.
  if (out.type === "error") throw new CairnError("internal", out.message);
  if (cmd.type === "kv-set") return jsonReply("true");
  return jsonReply(out.type === "bool" && out.ok ? "true" : "false");
}

async function kvDelete(ctx: RequestCtx, env: Env, key: string): Promise<Reply> {
  checkKey(env, key);
  const conflict = conflicting(ctx, ["recurse", "cas"]);
  if (conflict) return conflict;
  const recurse = ctx.query.has("recurse");
  if (!recurse && key === "") throw badRequest("Missing key name");
  const cas = uint64Param(ctx, "cas");
  let cmd: Command;
  if (cas !== undefined) cmd = { type: "kv-delete-cas", key, index: Number(cas) };
  else if (recurse) cmd = { type: "kv-delete-tree", prefix: key };
  else cmd = { type: "kv-delete", key };
  const out = await env.backend.apply(cmd);
  if (out.type === "error") throw new CairnError("internal", out.message);
  if (cas === undefined) return jsonReply("true");
  return jsonReply(out.type === "bool" && out.ok ? "true" : "false");
}
