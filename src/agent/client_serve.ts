/**
 * agent/client_serve: the server side of client-agent mode, wired into a server agent.
 *
 * serveClients() takes the RPC server on the server port — the Raft cluster's own (given by
 * agent/cluster.ts) or, for a single server, a new one it listens with — builds an in-process HTTP handler with the same options as the agent's
 * listeners (no socket: forwarded requests run through it), and registers the client RPC
 * methods of server/rpc_endpoints.ts. A single server whose port cannot be bound logs a
 * warning and serves no clients (as -dev agents that share a machine would collide on 8300).
 *
 * Must never: close an RPC server it did not create, or fail the agent's start because the
 * port of a single server is taken.
 */

import { RpcServer } from "../rpc/index.ts";
import { startHttpServer, type HttpServer, type HttpServerOptions } from "../http/index.ts";
import { registerClientEndpoints, type ClientEndpointDeps } from "../server/rpc_endpoints.ts";
import type { Backend } from "../server/types.ts";
import type { CatalogReader } from "../state/catalog_types.ts";
import { CLIENT_RPC_MAX_INFLIGHT } from "../shared/limits.ts";

export interface ServeClientsOptions {
  /** Where a single server's RPC listener binds. */
  readonly bindAddr: string;
  readonly port: number;
  /** A Raft cluster's RpcServer, already listening on `port`; undefined on a single server. */
  readonly clusterRpc: RpcServer | undefined;
  readonly backend: Backend;
  readonly catalog: CatalogReader;
  /** Options of the agent's HTTP listeners (the in-process handler uses them without a socket). */
  readonly http: Omit<HttpServerOptions, "host" | "port" | "socketPath">;
  /** This datacenter's LAN keyring operation, for other datacenters' servers (Internal.KeyringOperation). */
  readonly keyring?: ClientEndpointDeps["keyring"];
  readonly log: (level: "debug" | "info" | "warn" | "error", msg: string) => void;
}

export interface ClientService {
  /** Answer Client.DNS with this resolver from now on. */
  setDns(fn: ((query: Buffer, tcp: boolean) => Promise<Buffer | null>) | undefined): void;
  close(): Promise<void>;
}

export async function serveClients(o: ServeClientsOptions): Promise<ClientService | undefined> {
  let rpc: RpcServer | undefined;
  let own = false;
  if (o.clusterRpc !== undefined) {
    rpc = o.clusterRpc;
  } else {
    // A client agent's parked blocking queries are requests in flight on its one connection.
    const r = new RpcServer({ limits: { maxInflight: CLIENT_RPC_MAX_INFLIGHT } });
    try {
      await r.listen(o.bindAddr === "" ? "0.0.0.0" : o.bindAddr, o.port);
    } catch (e) {
      o.log("warn", `client RPC: cannot listen on ${o.bindAddr}:${o.port}: ${e instanceof Error ? e.message : String(e)}; client agents cannot use this server`);
      await r.close();
      return undefined;
    }
    rpc = r;
    own = true;
  }
  let inproc: HttpServer;
  try {
    inproc = await startHttpServer({ ...o.http, host: "", port: -1, socketPath: undefined });
  } catch (e) {
    if (own) await rpc.close();
    throw e;
  }
  let dns: ((query: Buffer, tcp: boolean) => Promise<Buffer | null>) | undefined;
  const unregister = registerClientEndpoints(rpc, {
    backend: o.backend,
    catalog: o.catalog,
    http: () => inproc.handle,
    dns: (q, tcp) => (dns === undefined ? Promise.reject(new Error("this server does not serve DNS")) : dns(q, tcp)),
    keyring: o.keyring,
    log: o.log,
  });
  if (own) o.log("info", `client RPC: serving client agents on ${rpc.address()}`);
  const server = rpc;
  let closed: Promise<void> | undefined;
  return {
    setDns: (fn) => {
      dns = fn;
    },
    close: () => {
      closed ??= (async () => {
        unregister();
        await inproc.close();
        if (own) await server.close();
      })();
      return closed;
    },
  };
}
