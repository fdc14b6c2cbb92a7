/**
 * http/handle: one request from a transport (an Exchange) to its reply. Splits the target,
 * decodes path and query, routes, runs the handler (synchronously when it returns a Reply,
 * one promise hop when it returns a promise), turns errors into Consul's error replies,
 * renders the reply (headers, gzip, pretty) and hands it to the transport; records the
 * route's latency metric under a key computed once per route and method.
 *
 * Must never: touch sockets or node:http objects, or let a handler's throw escape.
 */

import type { AgentView } from "../server/types.ts";
import { isCairnError } from "../shared/errors.ts";
import type { Metrics } from "../shared/metrics.ts";
import type { BodyResult, Env, RequestCtx } from "./context.ts";
import { percentDecode, Query } from "./query.ts";
import { acceptsGzip, errorReply, NO_BODY, type Reply, renderReply, textReply, type WriteOpts } from "./respond.ts";
import type { Route, Router } from "./router.ts";
import type { Exchange, ExchangeHandler, HeaderMap } from "./wire/index.ts";

export interface HandleConfig {
  readonly env: Env;
  readonly router: Router;
  readonly agent: AgentView;
  readonly metrics: Metrics;
  /** Configured response headers, canonical names. */
  readonly common: Readonly<Record<string, string>>;
  /** Headers wrap() adds on API endpoints. */
  readonly wrapped: Readonly<Record<string, string>>;
  readonly log: (level: "error", msg: string) => void;
}

const ABSOLUTE = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/]*/;

/** Consul's metric key for a route: consul.http.<METHOD>.<parts>, "_" for a trailing slash. */
export function metricKey(method: string, pattern: string): string {
  const parts = pattern.split("/").slice(1).map((p) => (p === "" ? "_" : p));
  return ["consul", "http", method, ...parts].join(".");
}

/** The RequestCtx a handler sees; body and abort calls go to the transport. */
class Ctx implements RequestCtx {
  readonly method: string;
  readonly path: string;
  readonly rawPath: string;
  readonly query: Query;
  readonly headers: HeaderMap;
  readonly contentLength: number;
  readonly ex: Exchange;
  readonly pretty: boolean;
  readonly gzip: boolean;
  readonly route: Route | undefined;
  readonly start: number;

  constructor(
    ex: Exchange,
    path: string,
    rawPath: string,
    query: Query,
    pretty: boolean,
    gzip: boolean,
    route: Route | undefined,
    start: number,
  ) {
    this.ex = ex;
    this.method = ex.method;
    this.path = path;
    this.rawPath = rawPath;
    this.query = query;
    this.headers = ex.headers;
    this.contentLength = ex.contentLength;
    this.pretty = pretty;
    this.gzip = gzip;
    this.route = route;
    this.start = start;
  }

  readBody(limit: number): Promise<BodyResult> {
    return this.ex.readBody(limit);
  }

  onAbort(cb: () => void): void {
    this.ex.onAbort(cb);
  }

  isAborted(): boolean {
    return this.ex.aborted;
  }
}

function isPromise<T>(v: T | Promise<T>): v is Promise<T> {
  return typeof v === "object" && v !== null && typeof (v as { then?: unknown }).then === "function";
}

export function makeHandler(cfg: HandleConfig): ExchangeHandler {
  const { env, router, agent, metrics, common, wrapped, log } = cfg;
  // The four render options (pretty x gzip), built once.
  const writeOpts: WriteOpts[] = [
    { pretty: false, gzip: false, common, wrapped },
    { pretty: false, gzip: true, common, wrapped },
    { pretty: true, gzip: false, common, wrapped },
    { pretty: true, gzip: true, common, wrapped },
  ];
  const metricKeys = new Map<Route, Map<string, string>>();
  let lastAcceptEncoding: string | undefined;
  let lastGzip = false;

  const send = (ex: Exchange, reply: Reply, pretty: boolean, gzip: boolean): void => {
    const r = renderReply(reply, writeOpts[(pretty ? 2 : 0) + (gzip ? 1 : 0)] as WriteOpts);
    if (r.stream !== undefined) {
      const w = ex.stream(r.status, r.headers, r.close);
      if (w !== undefined) r.stream(w);
      return;
    }
    ex.reply(r.status, r.headers, r.body, r.close);
  };

  const sample = (ctx: Ctx): void => {
    const route = ctx.route;
    if (route === undefined) return;
    let byMethod = metricKeys.get(route);
    if (byMethod === undefined) metricKeys.set(route, (byMethod = new Map()));
    let key = byMethod.get(ctx.method);
    if (key === undefined) {
      key = metricKey(ctx.method, route.pattern);
      if (byMethod.size < 64) byMethod.set(ctx.method, key);
    }
    metrics.sample(key, performance.now() - ctx.start);
  };

  const done = (ctx: Ctx, reply: Reply | undefined): void => {
    try {
      if (reply !== undefined && !ctx.ex.aborted) send(ctx.ex, reply, ctx.pretty, ctx.gzip);
    } catch (e) {
      log("error", `Request ${ctx.method} ${ctx.rawPath}: writing the reply failed: ${String(e)}`);
    }
    sample(ctx);
  };

  const failed = (ctx: Ctx, e: unknown): void => {
    try {
      if (isCairnError(e)) send(ctx.ex, errorReply(e), ctx.pretty, ctx.gzip);
      else {
        log("error", `Request ${ctx.method} ${ctx.rawPath}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
        send(ctx.ex, textReply(500, e instanceof Error ? e.message : String(e)), ctx.pretty, ctx.gzip);
      }
    } catch (e2) {
      log("error", `Request ${ctx.method} ${ctx.rawPath}: writing the error failed: ${String(e2)}`);
    }
    sample(ctx);
  };

  return (ex: Exchange): void => {
    const start = performance.now();
    let target = ex.target;
    if (target.charCodeAt(0) !== 47) {
      const abs = ABSOLUTE.exec(target);
      if (abs) target = target.slice(abs[0].length) || "/";
    }
    const qi = target.indexOf("?");
    const rawPath = qi < 0 ? target : target.slice(0, qi);
    let rawQuery = "";
    if (qi >= 0) {
      const fi = target.indexOf("#", qi + 1);
      rawQuery = fi < 0 ? target.slice(qi + 1) : target.slice(qi + 1, fi);
    }
    const ae = ex.headers["accept-encoding"];
    if (ae !== lastAcceptEncoding) {
      lastAcceptEncoding = ae;
      lastGzip = acceptsGzip(ae);
    }
    const gzip = lastGzip;

    const path = rawPath.charCodeAt(0) === 47 ? percentDecode(rawPath, false) : undefined;
    if (path === undefined) {
      send(ex, { ...textReply(400, "400 Bad Request"), close: true }, false, gzip);
      return;
    }
    const query = Query.parse(rawQuery);
    if (query === undefined) {
      log("error", `Failed to decode query: ${rawQuery}`);
      send(ex, { status: 500, headers: {}, body: NO_BODY }, false, gzip);
      return;
    }
    const pretty = query.has("pretty") || agent.prettyByDefault;
    const route = router.match(path);
    const ctx = new Ctx(ex, path, rawPath, query, pretty, gzip, route, start);
    let r: Reply | undefined | Promise<Reply | undefined>;
    try {
      r = router.dispatch(ctx, env, rawQuery, route);
    } catch (e) {
      failed(ctx, e);
      return;
    }
    if (isPromise(r)) {
      r.then(
        (reply) => done(ctx, reply),
        (e: unknown) => failed(ctx, e),
      );
    } else done(ctx, r);
  };
}
