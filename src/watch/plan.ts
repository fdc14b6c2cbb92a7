/**
 * watch/plan: Consul's watch plans (api/watch: watch.go, funcs.go) parsed from a params
 * map (the CLI's flags or a `watches` entry of the agent config): the type, the blocking
 * query it runs, how its answer becomes the handler's data (key -> KVPair or null,
 * keyprefix -> KVPairs, services -> map, nodes -> []Node, service -> []ServiceEntry,
 * checks -> []HealthCheck, event -> []UserEvent newer than the last seen), whether its
 * index is monotonic (all but event), and the handler (script args/handler, or http).
 *
 * Must never: do I/O; errors are texts as Consul words them.
 */

import { eventIndex } from "../agent/events.ts";
import { WATCH_HTTP_HANDLER_TIMEOUT_MS } from "../shared/limits.ts";

export type WatchType = "key" | "keyprefix" | "services" | "nodes" | "service" | "checks" | "event";

export const WATCH_TYPES: readonly WatchType[] = ["key", "keyprefix", "services", "nodes", "service", "checks", "event"];

export interface WatchQuery {
  readonly path: string;
  readonly params: ReadonlyArray<readonly [string, string]>;
}

export type HandlerSpec =
  | { readonly kind: "script"; readonly args: readonly string[] | undefined; readonly command: string | undefined }
  | {
      readonly kind: "http";
      readonly path: string;
      readonly method: string;
      readonly header: Readonly<Record<string, readonly string[]>>;
      readonly timeoutMs: number;
      readonly tlsSkipVerify: boolean;
    };

export type Shaped = { readonly ok: true; readonly data: unknown } | { readonly ok: false; readonly error: string };

export interface WatchPlan {
  readonly type: WatchType;
  readonly datacenter: string;
  readonly token: string;
  readonly stale: boolean;
  readonly query: WatchQuery;
  /** Indexes only grow (raft indexes); false for events (UUID-derived). */
  readonly monotonic: boolean;
  /** The handler's data from an answer; `lastIndex` is the index the query waited on. */
  shape(status: number, body: string, lastIndex: bigint | undefined): Shaped;
  /** Undefined: none configured (the CLI prints instead). */
  readonly handler: HandlerSpec | undefined;
}

export type ParseResult = { readonly ok: true; readonly plan: WatchPlan } | { readonly ok: false; readonly error: string };

type Params = Map<string, unknown>;

class ParseError extends Error {}

function take(p: Params, key: string): unknown {
  const v = p.get(key);
  p.delete(key);
  return v;
}

function str(p: Params, key: string): string {
  const v = take(p, key);
  if (v === undefined || v === null) return "";
  if (typeof v === "string") return v;
  if (Array.isArray(v) && v.length === 1 && typeof v[0] === "string") return v[0];
  throw new ParseError(`Expecting string value for parameter ${key}`);
}

function bool(p: Params, key: string): boolean {
  const v = take(p, key);
  if (v === undefined || v === null) return false;
  if (typeof v === "boolean") return v;
  if (typeof v === "string") {
    if (["1", "t", "T", "true", "TRUE", "True"].includes(v)) return true;
    if (["0", "f", "F", "false", "FALSE", "False"].includes(v)) return false;
  }
  throw new ParseError(`Expecting boolean value for parameter ${key}`);
}

function strList(p: Params, key: string): string[] {
  const v = take(p, key);
  if (v === undefined || v === null) return [];
  if (typeof v === "string") return [v];
  if (Array.isArray(v) && v.every((x) => typeof x === "string")) return v as string[];
  throw new ParseError(`Expecting string slice value for parameter ${key}`);
}

function parseJson(body: string): Shaped {
  try {
    return { ok: true, data: JSON.parse(body) as unknown };
  } catch (e) {
    return { ok: false, error: `malformed response: ${e instanceof Error ? e.message : String(e)}` };
  }
}

function unexpected(status: number, body: string): Shaped {
  return { ok: false, error: `Unexpected response code: ${status} (${body.trim()})` };
}

/** 200 -> JSON; `notFound` maps 404 (KV reads) to a value. */
function jsonShape(notFound?: unknown): WatchPlan["shape"] {
  return (status, body) => {
    if (status === 404 && notFound !== undefined) return { ok: true, data: notFound };
    if (status !== 200) return unexpected(status, body);
    return parseJson(body);
  };
}

function parseDuration(s: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)$/.exec(s.trim());
  if (!m) return undefined;
  const mult: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  return Number(m[1]) * (mult[m[2] ?? "s"] ?? 1);
}

function httpHandler(v: unknown): HandlerSpec {
  const cfg = Array.isArray(v) && v.length === 1 ? v[0] : v;
  if (typeof cfg !== "object" || cfg === null || Array.isArray(cfg)) throw new ParseError("Failed to parse http handler config: expected a map");
  const c = new Map(Object.entries(cfg as Record<string, unknown>).map(([k, x]) => [k.toLowerCase().replaceAll("-", "_"), x] as const));
  const path = str(c, "path");
  if (path === "") throw new ParseError("Failed to parse http handler config: http handler requires 'path' to be set");
  const method = str(c, "method") || "POST";
  const timeoutText = str(c, "timeout");
  let timeoutMs = WATCH_HTTP_HANDLER_TIMEOUT_MS;
  if (timeoutText !== "") {
    const d = parseDuration(timeoutText);
    if (d === undefined) throw new ParseError(`Failed to parse http handler config: invalid timeout ${JSON.stringify(timeoutText)}`);
    timeoutMs = d;
  }
  const tlsSkipVerify = bool(c, "tls_skip_verify");
  const header: Record<string, string[]> = {};
  const h = take(c, "header");
  const hm = Array.isArray(h) && h.length === 1 ? h[0] : h;
  if (hm !== undefined && hm !== null) {
    if (typeof hm !== "object" || Array.isArray(hm)) throw new ParseError("Failed to parse http handler config: header must be a map");
    for (const [k, x] of Object.entries(hm as Record<string, unknown>)) {
      header[k] = Array.isArray(x) ? x.map(String) : [String(x)];
    }
  }
  return { kind: "http", path, method: method.toUpperCase(), header, timeoutMs, tlsSkipVerify };
}

/**
 * watch.Parse: `params` as Consul's map (keys type, datacenter, token, key, prefix,
 * service, tag, passingonly, state, name, stale, handler_type, http_handler_config,
 * args, handler). Unknown keys are an error ("Invalid parameters: [...]").
 */
export function parsePlan(params: Readonly<Record<string, unknown>>): ParseResult {
  const p: Params = new Map(Object.entries(params).filter(([, v]) => v !== undefined));
  try {
    const datacenter = str(p, "datacenter");
    const token = str(p, "token");
    const type = str(p, "type");
    if (type === "") throw new ParseError("Watch type must be specified");
    const handlerType = str(p, "handler_type");
    let handler: HandlerSpec | undefined;
    if (handlerType === "http") {
      if (!p.has("http_handler_config")) throw new ParseError("Handler type 'http' requires 'http_handler_config' to be set");
      handler = httpHandler(take(p, "http_handler_config"));
    } else if (handlerType !== "" && handlerType !== "script") {
      throw new ParseError(`Handler type '${handlerType}' not recognized`);
    }
    if (!(WATCH_TYPES as readonly string[]).includes(type)) throw new ParseError(`Unsupported watch type: ${type}`);
    const wt = type as WatchType;
    let stale = false;
    let query: WatchQuery;
    let shape: WatchPlan["shape"];
    let monotonic = true;
    switch (wt) {
      case "key": {
        stale = bool(p, "stale");
        const key = str(p, "key");
        if (key === "") throw new ParseError("Must specify a single key to watch");
        query = { path: `/v1/kv/${key}`, params: [] };
        shape = (status, body) => {
          if (status === 404) return { ok: true, data: null };
          if (status !== 200) return unexpected(status, body);
          const j = parseJson(body);
          if (!j.ok) return j;
          return { ok: true, data: Array.isArray(j.data) ? (j.data[0] ?? null) : null };
        };
        break;
      }
      case "keyprefix": {
        stale = bool(p, "stale");
        const prefix = str(p, "prefix");
        if (prefix === "") throw new ParseError("Must specify a single prefix to watch");
        query = { path: `/v1/kv/${prefix}`, params: [["recurse", ""]] };
        shape = jsonShape(null);
        break;
      }
      case "services":
        stale = bool(p, "stale");
        query = { path: "/v1/catalog/services", params: [] };
        shape = jsonShape();
        break;
      case "nodes":
        stale = bool(p, "stale");
        query = { path: "/v1/catalog/nodes", params: [] };
        shape = jsonShape();
        break;
      case "service": {
        stale = bool(p, "stale");
        const service = str(p, "service");
        if (service === "") throw new ParseError("Must specify a single service to watch");
        const tags = strList(p, "tag");
        const passing = bool(p, "passingonly");
        const qp: Array<readonly [string, string]> = tags.map((t) => ["tag", t] as const);
        if (passing) qp.push(["passing", "1"]);
        query = { path: `/v1/health/service/${service}`, params: qp };
        shape = jsonShape();
        break;
      }
      case "checks": {
        stale = bool(p, "stale");
        const service = str(p, "service");
        let state = str(p, "state");
        if (service !== "" && state !== "") throw new ParseError("Cannot specify service and state");
        if (service === "" && state === "") state = "any";
        const tags = strList(p, "tag");
        query =
          state !== ""
            ? { path: `/v1/health/state/${state}`, params: tags.map((t) => ["tag", t] as const) }
            : { path: `/v1/health/checks/${service}`, params: [] };
        shape = jsonShape();
        break;
      }
      case "event": {
        const name = str(p, "name");
        monotonic = false;
        query = { path: "/v1/event/list", params: name !== "" ? [["name", name]] : [] };
        shape = (status, body, lastIndex) => {
          if (status !== 200) return unexpected(status, body);
          const j = parseJson(body);
          if (!j.ok) return j;
          let events = Array.isArray(j.data) ? (j.data as unknown[]) : [];
          // Keep only the events after the one the last answer ended with.
          if (lastIndex !== undefined) {
            for (let i = 0; i < events.length; i++) {
              const e = events[i] as { ID?: unknown };
              if (typeof e.ID === "string" && eventIndex(e.ID) === lastIndex) {
                events = events.slice(i + 1);
                break;
              }
            }
          }
          return { ok: true, data: events };
        };
        break;
      }
    }
    // Script handlers (the agent's config form): args, or the deprecated handler string.
    if (handler === undefined) {
      const args = p.has("args") ? strList(p, "args") : undefined;
      const command = p.has("handler") ? str(p, "handler") : undefined;
      if (args !== undefined && command !== undefined) throw new ParseError("Only one watch handler allowed");
      if ((args !== undefined && args.length > 0) || (command !== undefined && command !== "")) {
        handler = { kind: "script", args: args !== undefined && args.length > 0 ? args : undefined, command: command || undefined };
      }
    } else if (p.has("args") || p.has("handler")) {
      throw new ParseError("Only one watch handler allowed");
    }
    if (p.size > 0) throw new ParseError(`Invalid parameters: [${[...p.keys()].join(" ")}]`);
    return { ok: true, plan: { type: wt, datacenter, token, stale, query, monotonic, shape, handler } };
  } catch (e) {
    if (e instanceof ParseError) return { ok: false, error: e.message };
    throw e;
  }
}
