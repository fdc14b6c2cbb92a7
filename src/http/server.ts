/**
 * http/server: the HTTP listener(s) of the agent (TCP and/or a unix socket). The transport
 * is the lean HTTP/1.1 server on node:net (src/http/wire), or node:http when asked
 * (option `transport` or CAIRN_HTTP_TRANSPORT=node); both work on Node and Deno and keep the
 * process safe from its clients: header/request/keep-alive timeouts, a connection cap,
 * bounded body reads, no crash on client errors, aborted requests or writes after close.
 * Requests go through handle.ts (route, handler, reply). close() stops accepting, answers
 * parked blocking queries at once with their current result, lets in-flight requests
 * finish within a grace period and destroys idle sockets.
 *
 * Must never: let one client's socket cost more than its own resources, or throw out of
 * an event handler.
 */

import fs from "node:fs";
import type { AgentView, Backend } from "../server/types.ts";
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
import type { Env, HttpLimits } from "./context.ts";
import { makeHandler } from "./handle.ts";
import { kvHandler } from "./kv.ts";
import { rootRedirect, uiRoutes } from "./ui.ts";
import { type Route, Router } from "./router.ts";
import { createTransport, type Exchange, type ExchangeHandler, type TransportKind, transportFromEnv } from "./wire/index.ts";
import { statusLeader, statusPeers } from "./status.ts";
import { operatorRaftConfiguration, operatorRaftPeer, operatorRaftTransferLeader } from "./operator.ts";
import { operatorAutopilotConfiguration, operatorAutopilotHealth, operatorAutopilotState } from "./operator_autopilot.ts";
import { txnHandler } from "./txn.ts";
import { snapshotHandler } from "./snapshot.ts";
import { coordinateDatacenters, coordinateNode, coordinateNodes, coordinateUpdate } from "./coordinate.ts";
import { sessionCreate, sessionDestroy, sessionInfo, sessionList, sessionNode, sessionRenew } from "./session.ts";
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
import type { AgentOps } from "./agent_ops.ts";
import { eventFire, eventList } from "./event.ts";
import { agentReload } from "./agent_reload.ts";
import { agentMonitor } from "./agent_monitor.ts";
import { agentForceLeave, agentJoin, agentLeave } from "./agent_gossip.ts";
import { operatorKeyring } from "./operator_keyring.ts";
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
  configServiceIntentionsDelete,
  connectCAConfiguration,
  connectCARoots,
  type ConnectHttp,
} from "./connect.ts";

export type HttpLogLevel = "trace" | "debug" | "info" | "warn" | "error";

export interface HttpServerOptions {
  /** "wire" (node:net, default) or "node" (node:http); default from CAIRN_HTTP_TRANSPORT. */
  readonly transport?: TransportKind;
  /** Client timeouts (ms); defaults from limits.ts (tests shorten them). */
  readonly timeouts?: { readonly headersMs?: number; readonly requestMs?: number; readonly keepAliveMs?: number };
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
  /** Events, reload and monitor (/v1/event/*, /v1/agent/reload, /v1/agent/monitor). */
  readonly ops?: AgentOps | undefined;
  /** Client agents: takes an exchange before routing (true = it answers it, e.g. forwarded to a server). */
  readonly intercept?: ((ex: Exchange) => boolean) | undefined;
  /** The built-in web UI (ui_config): served under contentPath ("/ui/" by default) when enabled. */
  readonly ui?: { readonly enabled: boolean; readonly contentPath?: string | undefined } | undefined;
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
  /** The request handler without a socket (servers answer client agents' forwarded requests with it). */
  readonly handle: ExchangeHandler;
  close(): Promise<void>;
}

export const ROUTES: readonly Route[] = [
  { pattern: "/v1/kv/", methods: ["GET", "PUT", "DELETE"], handler: kvHandler },
  { pattern: "/v1/txn", methods: ["PUT"], handler: txnHandler },
  { pattern: "/v1/status/leader", methods: ["GET"], handler: statusLeader },
  { pattern: "/v1/status/peers", methods: ["GET"], handler: statusPeers },
  // Raft operator (operator.ts)
  { pattern: "/v1/operator/raft/configuration", methods: ["GET"], handler: operatorRaftConfiguration },
  { pattern: "/v1/operator/raft/peer", methods: ["DELETE"], handler: operatorRaftPeer },
  { pattern: "/v1/operator/raft/transfer-leader", methods: ["POST"], handler: operatorRaftTransferLeader },
  // snapshots (snapshot.ts)
  { pattern: "/v1/snapshot", methods: ["GET", "PUT"], handler: snapshotHandler },
  { pattern: "/v1/operator/autopilot/configuration", methods: ["GET", "PUT"], handler: operatorAutopilotConfiguration },
  { pattern: "/v1/operator/autopilot/health", methods: ["GET"], handler: operatorAutopilotHealth },
  { pattern: "/v1/operator/autopilot/state", methods: ["GET"], handler: operatorAutopilotState },
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
  { pattern: "/v1/config/service-intentions/", methods: ["DELETE"], handler: configServiceIntentionsDelete },
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
  // sessions (session.ts)
  { pattern: "/v1/session/create", methods: ["PUT"], handler: sessionCreate },
  { pattern: "/v1/session/destroy/", methods: ["PUT"], handler: sessionDestroy },
  { pattern: "/v1/session/renew/", methods: ["PUT"], handler: sessionRenew },
  { pattern: "/v1/session/info/", methods: ["GET"], handler: sessionInfo },
  { pattern: "/v1/session/node/", methods: ["GET"], handler: sessionNode },
  { pattern: "/v1/session/list", methods: ["GET"], handler: sessionList },
  // network coordinates (coordinate.ts)
  { pattern: "/v1/coordinate/datacenters", methods: ["GET"], handler: coordinateDatacenters },
  { pattern: "/v1/coordinate/nodes", methods: ["GET"], handler: coordinateNodes },
  { pattern: "/v1/coordinate/node/", methods: ["GET"], handler: coordinateNode },
  { pattern: "/v1/coordinate/update", methods: ["PUT"], handler: coordinateUpdate },
  // events, reload, monitor (event.ts, agent_reload.ts, agent_monitor.ts)
  { pattern: "/v1/event/fire/", methods: ["PUT"], handler: eventFire },
  { pattern: "/v1/event/list", methods: ["GET"], handler: eventList },
  { pattern: "/v1/agent/reload", methods: ["PUT"], handler: agentReload },
  { pattern: "/v1/agent/monitor", methods: ["GET"], handler: agentMonitor },
  // LAN gossip membership (agent_gossip.ts)
  { pattern: "/v1/agent/join/", methods: ["PUT"], handler: agentJoin },
  { pattern: "/v1/agent/leave", methods: ["PUT"], handler: agentLeave },
  { pattern: "/v1/agent/force-leave/", methods: ["PUT"], handler: agentForceLeave },
  // gossip keyring (operator_keyring.ts)
  { pattern: "/v1/operator/keyring", methods: ["GET", "POST", "PUT", "DELETE"], handler: operatorKeyring },
];

/** Go's http.CanonicalHeaderKey. */
function canonicalHeader(k: string): string {
  return k
    .toLowerCase()
    .split("-")
    .map((p) => (p.length > 0 ? (p[0] as string).toUpperCase() + p.slice(1) : p))
    .join("-");
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
    ops: opts.ops,
  };
  const uiPath = opts.ui?.contentPath ?? "/ui/";
  const uiOn = opts.ui?.enabled === true;
  const router = uiOn ? new Router([...ROUTES, ...uiRoutes(uiPath)], { index: rootRedirect(uiPath) }) : new Router(ROUTES);
  const common: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.responseHeaders ?? {})) common[canonicalHeader(k)] = v;
  const wrapped = { "X-Consul-Default-ACL-Policy": "allow" };
  const log = opts.log;
  const handler = makeHandler({
    env,
    router,
    agent: opts.agent,
    metrics,
    common,
    wrapped,
    log: (level, msg) => log(level, msg),
  });
  const kind = opts.transport ?? transportFromEnv(process.env.CAIRN_HTTP_TRANSPORT);
  const intercept = opts.intercept;
  const entry: ExchangeHandler = intercept === undefined ? handler : (ex) => { if (!intercept(ex)) handler(ex); };
  const transport = createTransport(kind, entry, {
    maxConnections: opts.maxConnections ?? HTTP_MAX_CONNECTIONS,
    headersTimeoutMs: opts.timeouts?.headersMs ?? HTTP_HEADERS_TIMEOUT_MS,
    requestTimeoutMs: opts.timeouts?.requestMs ?? HTTP_REQUEST_TIMEOUT_MS,
    keepAliveTimeoutMs: opts.timeouts?.keepAliveMs ?? HTTP_KEEPALIVE_TIMEOUT_MS,
    log: (level, msg) => log(level, msg),
  });

  let port = 0;
  let tcpAddr = "";
  if (opts.port !== -1) {
    const a = await transport.listen({ port: opts.port, host: opts.host });
    if (a !== undefined) {
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
    await transport.listen({ path: socketPath });
  }

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      await transport.close(HTTP_SHUTDOWN_GRACE_MS, () => blocking.shutdown());
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
    stats: () => ({ renders: blocking.renders, parked: blocking.parkedCount, connections: transport.connections() }),
    handle: entry, // with the intercept hook (a server forwards its clients' requests for other datacenters)
    close,
  };
}
