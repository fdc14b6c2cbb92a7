/**
 * tests/http/catalog_helpers: the HTTP server over a small REAL backend (a Store applied
 * immediately, in index order) for the catalog, health and txn catalog tests.
 *
 * Must never: leave servers open (callers close what they start).
 */

import type { Backend, Consistency, LeaderView } from "../../src/server/types.ts";
import type { ApplyResult, Command } from "../../src/state/types.ts";
import { Store } from "../../src/state/store.ts";
import { startHttpServer, type HttpServer } from "../../src/http/index.ts";
import { Metrics } from "../../src/shared/metrics.ts";
import { fakeAgent, request, type Res } from "./helpers.ts";

export class StoreBackend implements Backend {
  readonly store = new Store();
  index = 0;
  async apply(cmd: Command): Promise<ApplyResult> {
    return this.store.apply(++this.index, cmd);
  }
  async readBarrier(_mode: Consistency): Promise<LeaderView> {
    return this.leader();
  }
  leader(): LeaderView {
    return { knownLeader: true, lastContactMs: 0, leaderAddr: "127.0.0.1:8300" };
  }
  peers(): string[] {
    return ["127.0.0.1:8300"];
  }
}

export interface CatHarness {
  readonly backend: StoreBackend;
  readonly server: HttpServer;
  readonly port: number;
  get(path: string): Promise<Res>;
  put(path: string, body: unknown): Promise<Res>;
  close(): Promise<void>;
}

export async function startCatalog(): Promise<CatHarness> {
  const backend = new StoreBackend();
  const server = await startHttpServer({
    backend,
    agent: fakeAgent(),
    host: "127.0.0.1",
    port: 0,
    limits: { kvMaxValueSize: 512 * 1024, txnMaxReqLen: 512 * 1024 },
    log: () => {},
    metrics: new Metrics(),
  });
  const port = server.port;
  return {
    backend,
    server,
    port,
    get: (path) => request(port, path),
    put: (path, body) => request(port, path, { method: "PUT", body: typeof body === "string" ? body : JSON.stringify(body) }),
    close: () => server.close(),
  };
}
