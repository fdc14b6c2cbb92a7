/**
 * http/server: the HTTP listener(s) of the agent (TCP and/or a unix socket) on node:http,
 * which works on Node and Deno. Turns each request into a RequestCtx, routes it, writes
 * the reply, and keeps the process safe from its clients: header/request/keep-alive
 * timeouts, a connection cap, bounded body reads, no crash on client errors, aborted
 * requests or writes after close. close() stops accepting, answers parked blocking
 * queries at once with their current result, lets in-flight requests finish within a
 * grace period and destroys idle sockets.
 *
 * Seam: everything runtime-specific is in `listen()`; `handle()` is what a Deno.serve
 * adapter would call.
 *
 * Must never: let one client's socket cost more than its own resources, or throw out of
 * an event handler.
 */

import http, { type IncomingMessage, type ServerResponse } from "node:http";
import fs from "node:fs";
import type { Socket } from "node:net";
import type { AgentView, Backend } from "../server/types.ts";
import { isCairnError } from "../shared/errors.ts";
import {
  HTTP_HEADERS_TIMEOUT_MS,
  HTTP_KEEPALIVE_TIMEOUT_MS,
  HTTP_MAX_CONNECTIONS,
  HTTP_REQUEST_TIMEOUT_MS,
  HTTP_SHUTDOWN_GRACE_MS,
  MAX_PARKED_WATCHERS,
} from "../shared/limits.ts";
import { metrics as globalMetrics, type Metrics } from "../shared/metrics.ts";
import { agentMembers, agentMetrics, agentSelf } from "./agent.ts";
import { BlockingEngine, type BlockingDeps, realBlockingDeps } from "./blocking.ts";
import type { BodyResult, Env, HttpLimits, RequestCtx } from "./context.ts";
import { kvHandler } from "./kv.ts";
import { percentDecode, Query } from "./query.ts";
import { acceptsGzip, errorReply, NO_BODY, type Reply, textReply, writeReply } from "./respond.ts";
import { type Route, Router } from "./router.ts";
import { statusLeader, statusPeers } from "./status.ts";
import { txnHandler } from "./txn.ts";
import {
  catalogDatacenters,
  catalogDeregisterHandler,
  catalogNode,
  catalogNodes,
  catalogNodeServices,
  catalogRegisterHandler,
  catalogService,
  catalogServices,
} from "./catalog.ts";
import { healthChecks, healthNode, healthService, healthState } from "./health.ts";
import type { LocalAgentApi } from "../agent/local/types.ts";
import {
  agentHealthById,
  agentHealthByName,
  agentNodeMaintenance,
  agentService,
  agentServiceDeregister,
  agentServiceMaintenance,
  agentServiceRegister,
  agentServices,
} from "./agent_services.ts";
import {
  agentCheckDeregister,
  agentCheckFail,
  agentCheckPass,
  agentCheckRegister,
  agentCheckUpdate,
  agentChecks,
  agentCheckWarn,
} from "./agent_checks.ts";
import {
  agentConnectAuthorize,
  agentConnectCALeaf,
  agentConnectCARoots,
  connectCAConfiguration,
  connectCARoots,
  type ConnectHttp,
} from "./connect.ts";

export type HttpLogLevel = "trace" | "debug" | "info" | "warn" | "error";

export interface HttpServerOptions {
  readonly backend: Backend;
  readonly agent: AgentView;
  readonly host: string;
  /** -1 disables the TCP listener (then socketPath is required); 0 picks a free port. */
  readonly port: number;
  readonly socketPath?: string | undefined;
  readonly limits: HttpLimits;
  readonly responseHeaders?: Readonly<Record<string, string>>;
  readonly disableKvKeyValidation?: boolean;
  readonly log: (level: HttpLogLevel, msg: string) => void;
  /** Time and randomness for blocking queries (tests). */
  readonly deps?: Partial<BlockingDeps>;
  readonly maxParked?: number;
  readonly maxConnections?: number;
  readonly metrics?: Metrics;
  /** The Connect CA endpoints' backing (absent: connect disabled). */
  readonly connect?: ConnectHttp | undefined;
  /** The agent's local services and checks (/v1/agent/service*, /v1/agent/check*). */
  readonly local?: LocalAgentApi | undefined;
}

export interface HttpStats {
  /** Response bodies rendered by blocking-capable reads (cache misses). */
  readonly renders: number;
  /** Blocking queries parked now. */
  readonly parked: number;
  /** Open client connections. */
  readonly connections: number;
}

export interface HttpServer {
  /** "host:port" of the TCP listener, else the unix socket path. */
  address(): string;
  /** Bound TCP port (0 when there is no TCP listener). */
  readonly port: number;
  stats(): HttpStats;
  close(): Promise<void>;
}

export const ROUTES: readonly Route[] = [
  { pattern: "/v1/kv/", methods: ["GET", "PUT", "DELETE"], handler: kvHandler },
  { pattern: "/v1/txn", methods: ["PUT"], handler: txnHandler },
  { pattern: "/v1/status/leader", methods: ["GET"], handler: statusLeader },
  { pattern: "/v1/status/peers", methods: ["GET"], handler: statusPeers },
  { pattern: "/v1/agent/self", methods: ["GET"], handler: agentSelf },
  { pattern: "/v1/agent/members", methods: ["GET"], handler: agentMembers },
  { pattern: "/v1/agent/metrics", methods: ["GET"], handler: agentMetrics },
  { pattern: "/v1/catalog/register", methods: ["PUT"], handler: catalogRegisterHandler },
  { pattern: "/v1/catalog/deregister", methods: ["PUT"], handler: catalogDeregisterHandler },
  { pattern: "/v1/catalog/datacenters", methods: ["GET"], handler: catalogDatacenters },
  { pattern: "/v1/catalog/nodes", methods: ["GET"], handler: catalogNodes },
  { pattern: "/v1/catalog/services", methods: ["GET"], handler: catalogServices },
  { pattern: "/v1/catalog/service/", methods: ["GET"], handler: catalogService },
  { pattern: "/v1/catalog/node/", methods: ["GET"], handler: catalogNode },
  { pattern: "/v1/catalog/node-services/", methods: ["GET"], handler: catalogNodeServices },
  { pattern: "/v1/health/node/", methods: ["GET"], handler: healthNode },
  { pattern: "/v1/health/checks/", methods: ["GET"], handler: healthChecks },
  { pattern: "/v1/health/service/", methods: ["GET"], handler: healthService },
  { pattern: "/v1/health/state/", methods: ["GET"], handler: healthState },
  { pattern: "/v1/connect/ca/roots", methods: ["GET"], handler: connectCARoots },
  { pattern: "/v1/connect/ca/configuration", methods: ["GET", "PUT"], handler: connectCAConfiguration },
  { pattern: "/v1/agent/connect/ca/roots", methods: ["GET"], handler: agentConnectCARoots },
  { pattern: "/v1/agent/connect/ca/leaf/", methods: ["GET"], handler: agentConnectCALeaf },
  { pattern: "/v1/agent/connect/authorize", methods: ["POST"], handler: agentConnectAuthorize },
  // local agent services and checks (agent_services.ts, agent_checks.ts)
  { pattern: "/v1/agent/services", methods: ["GET"], handler: agentServices },
  { pattern: "/v1/agent/service/register", methods: ["PUT"], handler: agentServiceRegister },
  { pattern: "/v1/agent/service/deregister/", methods: ["PUT"], handler: agentServiceDeregister },
  { pattern: "/v1/agent/service/maintenance/", methods: ["PUT"], handler: agentServiceMaintenance },
  { pattern: "/v1/agent/service/", methods: ["GET"], handler: agentService },
  { pattern: "/v1/agent/maintenance", methods: ["PUT"], handler: agentNodeMaintenance },
  { pattern: "/v1/agent/health/service/id/", methods: ["GET"], handler: agentHealthById },
  { pattern: "/v1/agent/health/service/name/", methods: ["GET"], handler: agentHealthByName },
  { pattern: "/v1/agent/checks", methods: ["GET"], handler: agentChecks },
  { pattern: "/v1/agent/check/register", methods: ["PUT"], handler: agentCheckRegister },
  { pattern: "/v1/agent/check/deregister/", methods: ["PUT"], handler: agentCheckDeregister },
  { pattern: "/v1/agent/check/pass/", methods: ["PUT"], handler: agentCheckPass },
  { pattern: "/v1/agent/check/warn/", methods: ["PUT"], handler: agentCheckWarn },
  { pattern: "/v1/agent/check/fail/", methods: ["PUT"], handler: agentCheckFail },
  { pattern: "/v1/agent/check/update/", methods: ["PUT"], handler: agentCheckUpdate },
];

/** Go's http.CanonicalHeaderKey. */
function canonicalHeader(k: string): string {
  return k
    .toLowerCase()
    .split("-")
    .map((p) => (p.length > 0 ? (p[0] as string).toUpperCase() + p.slice(1) : p))
    .join("-");
}

/** Consul's metric key for a route: http.<METHOD>.<parts>, "_" for a trailing slash. */
function metricKey(method: string, pattern: string): string {
  const parts = pattern.split("/").slice(1).map((p) => (p === "" ? "_" : p));
  return ["consul", "http", method, ...parts].join(".");
}

export async function startHttpServer(opts: HttpServerOptions): Promise<HttpServer> {
  const deps: BlockingDeps = { ...realBlockingDeps, ...opts.deps };
  const blocking = new BlockingEngine(deps, opts.maxParked ?? MAX_PARKED_WATCHERS);
  const metrics = opts.metrics ?? globalMetrics;
  const env: Env = {
    backend: opts.backend,
    agent: opts.agent,
    limits: opts.limits,
    blocking,
    metrics,
    disableKvKeyValidation: opts.disableKvKeyValidation ?? false,
    now: deps.now,
    connect: opts.connect,
    local: opts.local,
  };
  const router = new Router(ROUTES);
  const common: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.responseHeaders ?? {})) common[canonicalHeader(k)] = v;
  const wrapped = { "X-Consul-Default-ACL-Policy": "allow" };
  const maxConnections = opts.maxConnections ?? HTTP_MAX_CONNECTIONS;
  const log = opts.log;

  const sockets = new Map<Socket, number>(); // socket -> requests in flight on it
  let inFlight = 0;
  let closing = false;
  let drained: (() => void) | undefined;

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    inFlight++;
    const socket = req.socket;
    sockets.set(socket, (sockets.get(socket) ?? 0) + 1);
    let done = false;
    const abortHooks: (() => void)[] = [];
    let aborted = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      inFlight--;
      const n = (sockets.get(socket) ?? 1) - 1;
      if (sockets.has(socket)) sockets.set(socket, n);
      if (closing && n <= 0) socket.destroySoon?.() ?? socket.destroy();
      if (closing && inFlight === 0) drained?.();
    };
    res.on("finish", finish);
    res.on("close", () => {
      if (!res.writableFinished && !aborted) {
        aborted = true;
        for (const h of abortHooks.splice(0)) {
          try {
            h();
          } catch (e) {
            log("error", `abort hook failed: ${String(e)}`);
          }
        }
      }
      finish();
    });
    req.on("error", () => {
      /* the client went away mid-body; res 'close' handles cleanup */
    });
    res.on("error", () => {
      /* write after the peer closed */
    });

    const start = performance.now();
    const method = req.method ?? "GET";
    let target = req.url ?? "/";
    const abs = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/]*/.exec(target);
    if (abs) target = target.slice(abs[0].length) || "/";
    const qi = target.indexOf("?");
    const rawPath = qi < 0 ? target : target.slice(0, qi);
    const rawQuery = qi < 0 ? "" : target.slice(qi + 1).split("#")[0] ?? "";
    const gzip = acceptsGzip(req.headers["accept-encoding"]);
    const send = (reply: Reply, pretty: boolean): void => {
      writeReply(res, closing ? { ...reply, close: true } : reply, {
        pretty,
        gzip,
        common,
        wrapped,
        head: method === "HEAD",
      });
    };

    const path = rawPath.startsWith("/") ? percentDecode(rawPath, false) : undefined;
    if (path === undefined) {
      send({ ...textReply(400, "400 Bad Request"), close: true }, false);
      return;
    }
    const query = Query.parse(rawQuery);
    if (query === undefined) {
      log("error", `Failed to decode query: ${rawQuery}`);
      send({ status: 500, headers: {}, body: NO_BODY }, false);
      return;
    }
    const pretty = query.has("pretty") || opts.agent.prettyByDefault;
    const cl = req.headers["content-length"];
    const contentLength = cl !== undefined && /^\d+$/.test(cl) ? Number(cl) : -1;
    let bodyTaken = false;

    const ctx: RequestCtx = {
      method,
      path,
      rawPath,
      query,
      headers: req.headers,
      contentLength,
      readBody: (limit: number): Promise<BodyResult> => {
        if (bodyTaken) return Promise.resolve({ ok: true, data: Buffer.alloc(0) });
        bodyTaken = true;
        if (contentLength > limit) return Promise.resolve({ ok: false, received: contentLength, declared: true });
        return new Promise<BodyResult>((resolve) => {
          const chunks: Buffer[] = [];
          let size = 0;
          let settled = false;
          const settle = (r: BodyResult): void => {
            if (settled) return;
            settled = true;
            req.off("data", onData);
            req.off("end", onEnd);
            resolve(r);
          };
          const onData = (c: Buffer): void => {
            size += c.length;
            if (size > limit) {
              req.pause();
              settle({ ok: false, received: size, declared: false });
              return;
            }
            chunks.push(c);
          };
          const onEnd = (): void => settle({ ok: true, data: Buffer.concat(chunks, size) });
          req.on("data", onData);
          req.on("end", onEnd);
          abortHooks.push(() => settle({ ok: false, received: size, declared: false }));
          if (aborted) settle({ ok: false, received: size, declared: false });
        });
      },
      onAbort: (cb) => {
        if (aborted) cb();
        else abortHooks.push(cb);
      },
      isAborted: () => aborted,
    };

    const route = router.match(path);
    router
      .dispatch(ctx, env, rawQuery)
      .then(
        (reply) => {
          if (reply !== undefined && !aborted) send(reply, pretty);
        },
        (e: unknown) => {
          if (isCairnError(e)) {
            send(errorReply(e), pretty);
            return;
          }
          log("error", `Request ${method} ${rawPath}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
          send(textReply(500, e instanceof Error ? e.message : String(e)), pretty);
        },
      )
      .finally(() => {
        if (route) metrics.sample(metricKey(method, route.pattern), performance.now() - start);
      })
      .catch(() => {});
  };

  const servers: http.Server[] = [];
  const makeServer = (): http.Server => {
    const s = http.createServer({ keepAliveTimeout: HTTP_KEEPALIVE_TIMEOUT_MS });
    s.headersTimeout = HTTP_HEADERS_TIMEOUT_MS;
    s.requestTimeout = HTTP_REQUEST_TIMEOUT_MS;
    s.keepAliveTimeout = HTTP_KEEPALIVE_TIMEOUT_MS;
    s.timeout = 0; // blocking queries idle for minutes by design
    s.on("connection", (socket: Socket) => {
      if (closing || sockets.size >= maxConnections) {
        socket.destroy();
        return;
      }
      sockets.set(socket, 0);
      socket.on("error", () => {});
      socket.on("close", () => sockets.delete(socket));
    });
    s.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) => {
      if (!socket.writable || err.code === "ECONNRESET") {
        socket.destroy();
        return;
      }
      const status =
        err.code === "ERR_HTTP_REQUEST_TIMEOUT"
          ? "408 Request Timeout"
          : err.code === "HPE_HEADER_OVERFLOW"
            ? "431 Request Header Fields Too Large"
            : "400 Bad Request";
      try {
        socket.end(`HTTP/1.1 ${status}\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n${status}`);
      } catch {
        socket.destroy();
      }
    });
    s.on("request", handle);
    s.on("error", (e) => log("error", `http server error: ${String(e)}`));
    servers.push(s);
    return s;
  };

  const listen = (s: http.Server, arg: { port: number; host: string } | { path: string }): Promise<void> =>
    new Promise((resolve, reject) => {
      s.once("error", reject);
      const done = (): void => {
        s.off("error", reject);
        resolve();
      };
      if ("path" in arg) s.listen(arg.path, done);
      else s.listen(arg.port, arg.host, done);
    });

  let port = 0;
  let tcpAddr = "";
  if (opts.port !== -1) {
    const s = makeServer();
    await listen(s, { port: opts.port, host: opts.host });
    const a = s.address();
    if (a !== null && typeof a === "object") {
      port = a.port;
      tcpAddr = a.family === "IPv6" ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
    }
  }
  const socketPath = opts.socketPath;
  if (socketPath !== undefined) {
    try {
      if (fs.lstatSync(socketPath).isSocket()) fs.unlinkSync(socketPath);
    } catch {
      /* absent */
    }
    const s = makeServer();
    await listen(s, { path: socketPath });
  }

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      closing = true;
      const serverClosed = Promise.all(
        servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
      );
      blocking.shutdown();
      for (const [socket, n] of sockets) {
        if (n === 0) {
          sockets.delete(socket);
          socket.destroy();
        }
      }
      if (inFlight > 0) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, HTTP_SHUTDOWN_GRACE_MS);
          drained = () => {
            clearTimeout(t);
            resolve();
          };
        });
      }
      for (const socket of [...sockets.keys()]) {
        sockets.delete(socket);
        socket.destroy();
      }
      await serverClosed;
      if (socketPath !== undefined) {
        try {
          fs.unlinkSync(socketPath);
        } catch {
          /* already gone */
        }
      }
    })();
    return closed;
  };

  return {
    address: () => (tcpAddr !== "" ? tcpAddr : (socketPath ?? "")),
    port,
    stats: () => ({ renders: blocking.renders, parked: blocking.parkedCount, connections: sockets.size }),
    close,
  };
}
