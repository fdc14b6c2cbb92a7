/**
 * http/session: /v1/session/* — create, destroy/<id>, info/<id>, node/<node>, list,
 * renew/<id> — with Consul's defaults (this agent's node, the serfHealth node check,
 * LockDelay 15 s as "15s" or a number where values under 1000 are seconds, release),
 * its validation texts (RPC errors answer 500 with the text), blocking list reads on
 * the sessions table, and Consul's Session JSON (LockDelay in nanoseconds).
 *
 * IDs are generated here (the leader's Session.Apply does it in Consul), never in the
 * FSM. Renewals only move the leader's TTL timer (server/session_timers), never the log.
 *
 * Must never: answer a write before backend.apply() resolved, or read a body past
 * HTTP_MAX_JSON_BODY.
 */

import { randomUUID } from "node:crypto";
import { badRequest, CairnError } from "../shared/errors.ts";
import { HTTP_MAX_JSON_BODY, MAX_SESSIONS, SESSION_TTL_MAX_MS, SESSION_TTL_MIN_MS } from "../shared/limits.ts";
import type { SessionInput, SessionReader, SessionRow, SessionServiceCheck } from "../state/session_types.ts";
import type { StoreReader } from "../state/types.ts";
import { sessionTimersOf } from "../server/session_timers.ts";
import type { Env, RequestCtx } from "./context.ts";
import { jsonString } from "./json.ts";
import { asObj, BodyDecodeError, str } from "./json_catalog_decode.ts";
import { field, JsonSyntaxError, jsonKind, type JsonValue, parseJson } from "./jsonparse.ts";
import { listQuery, serveQuery } from "./catalog.ts";
import { checkDatacenter, parseGoDuration } from "./query.ts";
import { jsonReply, type Reply, textReply } from "./respond.ts";

const SERF_CHECK_ID = "serfHealth";
const DEFAULT_LOCK_DELAY_NS = 15e9;
/** Consul's lockDelayMinThreshold: numeric lock-delays below it are seconds. */
const LOCK_DELAY_MIN_THRESHOLD = 1000;
const P = "Session";

type Obj = [string, JsonValue][];

function sessions(env: Env): SessionReader & StoreReader {
  const s = env.backend.store as StoreReader & Partial<SessionReader>;
  if (typeof s.sessionGet !== "function") throw new CairnError("internal", "sessions are not supported by this backend");
  return s as SessionReader & StoreReader;
}

// ---- JSON ------------------------------------------------------------------------

function strArr(xs: readonly string[] | null): string {
  return xs === null ? "null" : "[" + xs.map(jsonString).join(",") + "]";
}

/** structs.Session as Consul's JSON (CE: no Namespace/Partition). */
export function renderSession(s: SessionRow): string {
  const sc =
    s.serviceChecks === null
      ? "null"
      : "[" + s.serviceChecks.map((c) => '{"ID":' + jsonString(c.id) + ',"Namespace":' + jsonString(c.namespace) + "}").join(",") + "]";
  return (
    '{"ID":' + jsonString(s.id) +
    ',"Name":' + jsonString(s.name) +
    ',"Node":' + jsonString(s.node) +
    ',"LockDelay":' + String(s.lockDelayNs) +
    ',"Behavior":' + jsonString(s.behavior) +
    ',"TTL":' + jsonString(s.ttl) +
    ',"NodeChecks":' + strArr(s.nodeChecks) +
    ',"ServiceChecks":' + sc +
    (s.checks !== null && s.checks.length > 0 ? ',"Checks":' + strArr(s.checks) : "") +
    ',"CreateIndex":' + s.createIndex +
    ',"ModifyIndex":' + s.modifyIndex +
    "}"
  );
}

export function renderSessions(ss: readonly SessionRow[]): string {
  return "[" + ss.map(renderSession).join(",") + "]";
}

// ---- create ----------------------------------------------------------------------

function decodeErr(v: JsonValue, path: string, goType: string): BodyDecodeError {
  const what = v.t === "num" ? `number ${v.src}` : jsonKind(v);
  return new BodyDecodeError(`json: cannot unmarshal ${what} into Go struct field ${path} of type ${goType}`);
}

/** A JSON string list; undefined when the key is absent, null for JSON null. */
function listField(o: Obj, name: string): string[] | null | undefined {
  const v = field(o, name);
  if (v === undefined) return undefined;
  if (v.t === "null") return null;
  if (v.t !== "arr") throw decodeErr(v, `${P}.${name}`, "[]string");
  return v.v.map((x) => {
    if (x.t !== "str") throw decodeErr(x, `${P}.${name}`, "string");
    return x.v;
  });
}

/** Session.UnmarshalJSON's LockDelay: Go duration text or a number; under 1000 means seconds. */
function lockDelayNs(v: JsonValue | undefined): number | undefined {
  if (v === undefined || v.t === "null") return undefined;
  let ns: number;
  if (v.t === "str") {
    const ms = parseGoDuration(v.v);
    if (ms === undefined) {
      const why = /^[+-]?[0-9.]+$/.test(v.v) && v.v !== "" ? "missing unit in duration" : "invalid duration";
      throw new BodyDecodeError(`time: ${why} ${JSON.stringify(v.v)}`);
    }
    ns = Math.round(ms * 1e6);
  } else if (v.t === "num") {
    ns = Math.trunc(Number(v.src));
  } else {
    // A bool/array/object: Go's interface{} decode accepts it and ignores it (duration 0).
    ns = 0;
  }
  if (ns < LOCK_DELAY_MIN_THRESHOLD) ns *= 1e9;
  if (!Number.isFinite(ns) || ns < 0) ns = 0;
  return Math.min(ns, Number.MAX_SAFE_INTEGER);
}

function serviceChecksField(o: Obj): SessionServiceCheck[] | null | undefined {
  const v = field(o, "ServiceChecks");
  if (v === undefined) return undefined;
  if (v.t === "null") return null;
  if (v.t !== "arr") throw decodeErr(v, `${P}.ServiceChecks`, "[]structs.ServiceCheck");
  return v.v.map((x) => {
    const c = asObj(x, `${P}.ServiceChecks`, "structs.ServiceCheck") ?? [];
    return { id: str(c, "ID", `${P}.ServiceChecks`), namespace: str(c, "Namespace", `${P}.ServiceChecks`) };
  });
}

/**
 * The HTTP handler's defaults, the body decoded over them, and fixupEmptySessionChecks.
 * Returns the session without its ID.
 */
export function decodeSessionCreate(body: JsonValue | undefined, nodeName: string): Omit<SessionInput, "id"> {
  let node = nodeName;
  let name = "";
  let behavior = "release";
  let ttl = "";
  let lockDelay = DEFAULT_LOCK_DELAY_NS;
  let nodeChecks: string[] | null = [SERF_CHECK_ID];
  let checks: string[] | null = [SERF_CHECK_ID];
  let serviceChecks: SessionServiceCheck[] | null = null;
  if (body !== undefined && body.t !== "null") {
    if (body.t !== "obj") throw new BodyDecodeError(`json: cannot unmarshal ${jsonKind(body)} into Go value of type structs.Session`);
    const o = body.v;
    if (field(o, "Node") !== undefined) node = str(o, "Node", P);
    if (field(o, "Name") !== undefined) name = str(o, "Name", P);
    if (field(o, "Behavior") !== undefined) behavior = str(o, "Behavior", P);
    if (field(o, "TTL") !== undefined) ttl = str(o, "TTL", P);
    const ld = lockDelayNs(field(o, "LockDelay"));
    if (ld !== undefined) lockDelay = ld;
    const nc = listField(o, "NodeChecks");
    if (nc !== undefined) nodeChecks = nc;
    const cs = listField(o, "Checks");
    if (cs !== undefined) checks = cs;
    const sc = serviceChecksField(o);
    if (sc !== undefined) serviceChecks = sc;
  }
  // fixupEmptySessionChecks (Consul >= 1.7): `Checks` is the deprecated spelling of NodeChecks.
  if (checks === null || checks.length === 0) nodeChecks = [];
  else if (checks.length === 1 && checks[0] === SERF_CHECK_ID) checks = null;
  else if (nodeChecks === null || nodeChecks.length === 0) checks = null;
  return {
    name,
    node,
    lockDelayNs: lockDelay,
    behavior: behavior as SessionInput["behavior"],
    ttl,
    nodeChecks,
    serviceChecks,
    checks,
  };
}

/** Go's %v of a time.Duration for the TTL bounds ("10s", "24h0m0s"). */
function goDurationText(ms: number): string {
  const totalS = Math.floor(ms / 1000);
  const h = Math.floor(totalS / 3600);
  const m = Math.floor((totalS % 3600) / 60);
  const s = totalS % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

/** Session.Apply's checks before the log (500 with Consul's texts). */
export function validateSession(s: Omit<SessionInput, "id">): void {
  if (s.node === "") throw new CairnError("internal", "Must provide Node");
  if (s.behavior !== "release" && s.behavior !== "delete") {
    throw new CairnError("internal", `Invalid Behavior setting '${String(s.behavior)}'`);
  }
  if (s.ttl !== "") {
    const ms = parseGoDuration(s.ttl);
    if (ms === undefined) {
      const why = /^[+-]?[0-9.]+$/.test(s.ttl) ? "missing unit in duration" : "invalid duration";
      throw new CairnError("internal", `Session TTL '${s.ttl}' invalid: time: ${why} ${JSON.stringify(s.ttl)}`);
    }
    if (ms !== 0 && (ms < SESSION_TTL_MIN_MS || ms > SESSION_TTL_MAX_MS)) {
      throw new CairnError(
        "internal",
        `Invalid Session TTL '${Math.round(ms * 1e6)}', must be between [${goDurationText(SESSION_TTL_MIN_MS)}=${goDurationText(SESSION_TTL_MAX_MS)}]`,
      );
    }
  }
}

async function readBody(ctx: RequestCtx): Promise<JsonValue | undefined | Reply> {
  if (ctx.contentLength === 0) return undefined;
  const body = await ctx.readBody(HTTP_MAX_JSON_BODY);
  if (!body.ok) return { ...textReply(413, `Request body too large, max size: ${HTTP_MAX_JSON_BODY} bytes`), close: true };
  const text = body.data.toString("utf8");
  if (text.trim() === "") return undefined;
  try {
    return parseJson(text);
  } catch (e) {
    if (e instanceof JsonSyntaxError) return textReply(400, `Request decode failed: ${e.message}`);
    throw e;
  }
}

export async function sessionCreate(ctx: RequestCtx, env: Env): Promise<Reply> {
  checkDatacenter(ctx.query, env.agent.datacenter);
  const body = await readBody(ctx);
  if (body !== undefined && "status" in body) return body;
  let s: Omit<SessionInput, "id">;
  try {
    s = decodeSessionCreate(body, env.agent.nodeName);
  } catch (e) {
    if (e instanceof BodyDecodeError) return textReply(400, `Request decode failed: ${e.message}`);
    throw e;
  }
  validateSession(s);
  const store = sessions(env);
  if (store.sessionCount() >= MAX_SESSIONS) throw new CairnError("internal", `Too many sessions (${MAX_SESSIONS})`);
  let id = randomUUID();
  while (store.sessionGet(id).value !== undefined) id = randomUUID();
  const out = await env.backend.apply({ type: "session-create", session: { id, ...s } });
  if (out.type === "error") throw new CairnError("internal", out.message);
  return jsonReply('{"ID":' + jsonString(id) + "}");
}

function pathRest(ctx: RequestCtx, prefix: string): string {
  return ctx.path.startsWith(prefix) ? ctx.path.slice(prefix.length) : "";
}

export async function sessionDestroy(ctx: RequestCtx, env: Env): Promise<Reply> {
  checkDatacenter(ctx.query, env.agent.datacenter);
  const id = pathRest(ctx, "/v1/session/destroy/");
  if (id === "") throw badRequest("Missing session");
  const out = await env.backend.apply({ type: "session-destroy", id, now: env.now() });
  if (out.type === "error") throw new CairnError("internal", out.message);
  return jsonReply("true");
}

export async function sessionRenew(ctx: RequestCtx, env: Env): Promise<Reply> {
  checkDatacenter(ctx.query, env.agent.datacenter);
  const id = pathRest(ctx, "/v1/session/renew/");
  if (id === "") throw badRequest("Missing session");
  await env.backend.readBarrier("default");
  const store = sessions(env);
  const timers = sessionTimersOf(store);
  const s = timers !== undefined ? timers.renew(id) : store.sessionGet(id).value;
  if (s === undefined) return textReply(404, `Session id '${id}' not found`);
  return jsonReply(renderSessions([s]));
}

export function sessionInfo(ctx: RequestCtx, env: Env): Promise<Reply | undefined> {
  const id = pathRest(ctx, "/v1/session/info/");
  if (id === "") throw badRequest("Missing session");
  const store = sessions(env);
  return serveQuery(
    ctx,
    env,
    listQuery(
      "session.info\0" + id.toLowerCase(),
      () => store.sessionGet(id),
      (cb) => store.watchSession(id, cb),
      (s) => (s === undefined ? "[]" : renderSessions([s])),
    ),
  );
}

export function sessionNode(ctx: RequestCtx, env: Env): Promise<Reply | undefined> {
  const node = pathRest(ctx, "/v1/session/node/");
  if (node === "") throw badRequest("Missing node name");
  const store = sessions(env);
  return serveQuery(
    ctx,
    env,
    listQuery(
      "session.node\0" + node.toLowerCase(),
      () => store.sessionsOfNode(node),
      (cb) => store.watchNodeSessions(node, cb),
      renderSessions,
    ),
  );
}

export function sessionList(ctx: RequestCtx, env: Env): Promise<Reply | undefined> {
  const store = sessions(env);
  return serveQuery(
    ctx,
    env,
    listQuery("session.list", () => store.sessionList(), (cb) => store.watchSessions(cb), renderSessions),
  );
}
