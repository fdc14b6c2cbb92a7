/**
 * tests/http/connect_helpers: the HTTP server with the Connect CA over a REAL store backend
 * (tests/http/catalog_helpers.ts StoreBackend), a CALeader initialised through apply, and the
 * agent's leaf cache (with injectable clock for renewal tests).
 *
 * Must never: leave servers open (callers close what they start).
 */

import { randomUUID } from "node:crypto";
import { CALeader, LeafCache, realLeafCacheDeps, storeLeafSigner, systemCADeps } from "../../src/connect/index.ts";
import type { LeafCacheDeps } from "../../src/connect/index.ts";
import { startHttpServer, type HttpServer } from "../../src/http/index.ts";
import { Metrics } from "../../src/shared/metrics.ts";
import { StoreBackend } from "./catalog_helpers.ts";
import { fakeAgent, request, type Res } from "./helpers.ts";

export const CLUSTER_ID = "11111111-2222-3333-4444-555555555555";

export interface ConnectHarness {
  readonly backend: StoreBackend;
  readonly leader: CALeader;
  readonly leaves: LeafCache;
  readonly server: HttpServer;
  get(path: string): Promise<Res>;
  put(path: string, body: unknown): Promise<Res>;
  post(path: string, body: unknown): Promise<Res>;
  close(): Promise<void>;
}

export async function startConnect(
  caConfig: Record<string, unknown> = { cluster_id: CLUSTER_ID },
  leafDeps: LeafCacheDeps = realLeafCacheDeps,
): Promise<ConnectHarness> {
  const backend = new StoreBackend();
  await backend.apply({ type: "noop" });
  const leader = new CALeader(
    { apply: (c) => backend.apply(c), reader: backend.store, ca: systemCADeps, newClusterId: randomUUID, log: () => {} },
    { ca_config: caConfig },
  );
  await leader.initialize();
  const leaves = new LeafCache(storeLeafSigner(backend.store, "dc1", systemCADeps), leafDeps);
  const server = await startHttpServer({
    backend,
    agent: fakeAgent(),
    host: "127.0.0.1",
    port: 0,
    limits: { kvMaxValueSize: 512 * 1024, txnMaxReqLen: 512 * 1024 },
    log: () => {},
    metrics: new Metrics(),
    connect: { reader: backend.store, leader, leaves },
  });
  const port = server.port;
  const send = (method: string) => (path: string, body: unknown) =>
    request(port, path, { method, body: typeof body === "string" ? body : JSON.stringify(body) });
  return {
    backend,
    leader,
    leaves,
    server,
    get: (path) => request(port, path),
    put: send("PUT"),
    post: send("POST"),
    close: async () => {
      await server.close();
      await leader.stop();
    },
  };
}
