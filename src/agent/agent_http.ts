/**
 * agent/agent_http: the agent's HTTP side — the options every HTTP handler of this agent
 * shares (its listeners and, on a server, the in-process handler that runs client agents'
 * forwarded requests), the listeners themselves (TCP or unix socket with its permissions),
 * and client-agent mode's two ends (agent/client.ts, agent/client_serve.ts): a client starts
 * looking for servers and syncs its local state once one shows up; a server answers client
 * agents on its server port, and DNS is forwarded or served accordingly.
 *
 * Must never: leave a listener open when a later one fails to start, or fail the agent's
 * start because a single server cannot serve client agents.
 */

import type { ConnectAgent } from "../connect/index.ts";
import type { AgentOps } from "../http/agent_ops.ts";
import { startHttpServer, type Exchange, type HttpServer, type HttpServerOptions } from "../http/index.ts";
import type { AgentView } from "../server/types.ts";
import type { Store } from "../state/index.ts";
import type { AgentOptions, AgentServer, RunningAgent } from "./agent_types.ts";
import type { ClientAgent } from "./client.ts";
import { serveClients, type ClientService, type ServeClientsOptions } from "./client_serve.ts";
import type { ClusterServer } from "./cluster.ts";
import type { LocalAgent } from "./local/index.ts";
import type { Logger } from "./log.ts";
import { applySocketPerms } from "./unix_socket.ts";

/** What every HTTP handler of the agent is given (all but where it listens and its intercept hook). */
export type HandlerOptions = Omit<HttpServerOptions, "host" | "port" | "socketPath" | "intercept" | "ui">;

export interface HandlerParts {
  readonly server: AgentServer;
  readonly view: AgentView;
  readonly logger: Logger;
  readonly connect: ConnectAgent | undefined;
  readonly local: LocalAgent;
  readonly ops: AgentOps;
}

/** The shared handler options (a fresh copy of the response headers each time). */
export function handlerOptions(opts: AgentOptions, p: HandlerParts): HandlerOptions {
  return {
    backend: p.server,
    agent: p.view,
    limits: { kvMaxValueSize: opts.kvMaxValueSize, txnMaxReqLen: opts.txnMaxReqLen },
    disableKvKeyValidation: opts.disableKvKeyValidation,
    responseHeaders: { ...opts.responseHeaders },
    log: p.logger.named("agent.http"),
    connect: p.connect,
    local: p.local,
    ops: p.ops, // events, reload, monitor, LAN and WAN gossip
  };
}

/** Starts every configured listener; on a failure closes those already started and rethrows. */
export async function startListeners(
  opts: AgentOptions,
  handler: () => HandlerOptions,
  intercept: ((ex: Exchange) => boolean) | undefined,
  log: (level: "info", msg: string) => void,
): Promise<HttpServer[]> {
  const http: HttpServer[] = [];
  try {
    for (const l of opts.httpListeners) {
      const srv = await startHttpServer({
        ...handler(),
        host: l.kind === "tcp" ? l.host : "",
        port: l.kind === "tcp" ? l.port : 0,
        socketPath: l.kind === "unix" ? l.path : undefined,
        intercept, // client agent: forward what is not agent-local; server: other datacenters
        ui: opts.ui, // web UI (src/ui)
      });
      http.push(srv);
      if (l.kind === "unix" && l.perms !== undefined) applySocketPerms(l.path, l.perms);
      log("info", `Started HTTP server on ${srv.address()}`);
    }
  } catch (e) {
    for (const h of http) await h.close();
    throw e;
  }
  return http;
}

export interface ClientSideDeps {
  readonly client: ClientAgent | undefined;
  readonly cluster: ClusterServer | undefined;
  readonly server: AgentServer;
  readonly store: Store;
  readonly local: LocalAgent;
  readonly handler: () => HandlerOptions;
  /** A server's hook for client agents' requests for another datacenter. */
  readonly wanIntercept: ((ex: Exchange) => boolean) | undefined;
  /** This datacenter's LAN keyring operation, served to other datacenters' servers. */
  readonly lanKeyring?: ServeClientsOptions["keyring"];
  readonly shuttingDown: () => boolean;
  readonly logger: Logger;
}

export interface ClientSide {
  /** A server's service to client agents (undefined on a client, or when the port was taken). */
  readonly service: ClientService | undefined;
  readonly dns: RunningAgent["clientDns"];
}

/** Client-agent mode: a client starts forwarding; a server starts answering client agents. */
export async function startClientSide(opts: AgentOptions, deps: ClientSideDeps): Promise<ClientSide> {
  const { client, local } = deps;
  if (client !== undefined) {
    client.onServerUp = () => {
      if (!deps.shuttingDown()) local.ae.start();
    };
    client.start();
    return { service: undefined, dns: { forward: (m, tcp) => client.forwardDns(m, tcp) } };
  }
  if (!opts.server || opts.serverPort <= 0) return { service: undefined, dns: undefined };
  let service: ClientService | undefined;
  try {
    service = await serveClients({
      bindAddr: opts.bindAddr,
      port: opts.serverPort,
      clusterRpc: deps.cluster?.rpc(),
      backend: deps.server,
      catalog: deps.store,
      http: { ...deps.handler(), intercept: deps.wanIntercept }, // WAN gossip: a client's request for another datacenter
      keyring: deps.lanKeyring, // WAN gossip: other datacenters' keyring operations on this LAN pool
      log: deps.logger.named("agent.server.rpc"),
    });
  } catch (e) {
    deps.logger.named("agent")("error", `client RPC: ${e instanceof Error ? e.message : String(e)}`);
  }
  const cs = service;
  return { service, dns: cs === undefined ? undefined : { serve: (fn) => cs.setDns(fn) } };
}
