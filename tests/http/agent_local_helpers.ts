/**
 * tests/http/agent_local_helpers: the HTTP server over a real Store backend plus a real
 * local agent (check worker pool, anti-entropy), for the agent service/check endpoint tests.
 *
 * Must never: leave servers, pools or timers running (close() stops everything).
 */

import { startHttpServer, type HttpServer } from "../../src/http/index.ts";
import { startLocalAgent, type LocalAgent, type LocalConfig } from "../../src/agent/local/index.ts";
import { Metrics } from "../../src/shared/metrics.ts";
import { StoreBackend } from "./catalog_helpers.ts";
import { fakeAgent, request, type Res } from "./helpers.ts";

export interface LocalHarness {
  readonly backend: StoreBackend;
  readonly local: LocalAgent;
  readonly server: HttpServer;
  readonly port: number;
  get(path: string, headers?: Record<string, string>): Promise<Res>;
  put(path: string, body?: unknown): Promise<Res>;
  close(): Promise<void>;
}

export async function startLocalHarness(
  config: Partial<LocalConfig> = {},
  opts: { dataDir?: string; reapIntervalMs?: number; deregisterMinMs?: number } = {},
): Promise<LocalHarness> {
  const backend = new StoreBackend();
  const local = await startLocalAgent({
    backend,
    nodeName: "node1",
    nodeId: "6e2d1f1a-0000-4000-8000-000000000001",
    datacenter: "dc1",
    address: "127.0.0.1",
    dataDir: opts.dataDir,
    config: {
      services: [],
      checks: [],
      enableScriptChecks: false,
      enableLocalScriptChecks: false,
      checkOutputMaxSize: 4096,
      checkUpdateIntervalMs: 0,
      ...config,
    },
    logger: () => {},
    ...(opts.reapIntervalMs !== undefined ? { reapIntervalMs: opts.reapIntervalMs } : {}),
    ...(opts.deregisterMinMs !== undefined ? { deregisterMinMs: opts.deregisterMinMs } : {}),
  });
  await local.syncNow();
  const server = await startHttpServer({
    backend,
    agent: fakeAgent(),
    host: "127.0.0.1",
    port: 0,
    limits: { kvMaxValueSize: 512 * 1024, txnMaxReqLen: 512 * 1024 },
    log: () => {},
    metrics: new Metrics(),
    local,
  });
  const port = server.port;
  return {
    backend,
    local,
    server,
    port,
    get: (path, headers) => request(port, path, headers ? { headers } : {}),
    put: (path, body) =>
      request(port, path, { method: "PUT", ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }) }),
    close: async () => {
      await server.close();
      await local.close();
    },
  };
}

export async function waitFor(cond: () => boolean | Promise<boolean>, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return cond();
}
