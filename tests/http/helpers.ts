/**
 * tests/http/helpers: start the HTTP server on 127.0.0.1:0 over a FakeBackend and make
 * real HTTP requests (one connection per request unless told otherwise).
 *
 * Must never: leave servers or sockets open after a test (callers close what they start).
 */

import http from "node:http";
import type { AgentView, MemberView } from "../../src/server/types.ts";
import { Metrics } from "../../src/shared/metrics.ts";
import { startHttpServer, type HttpServer, type HttpServerOptions } from "../../src/http/index.ts";
import { FakeBackend } from "./fake_backend.ts";

export function fakeAgent(over: Partial<AgentView> = {}): AgentView {
  const self: MemberView = { name: "node1", addr: "127.0.0.1", port: 8301, tags: { role: "consul", dc: "dc1" }, status: 1 };
  return {
    nodeName: "node1",
    nodeId: "6e2d1f1a-0000-4000-8000-000000000001",
    datacenter: "dc1",
    primaryDatacenter: "dc1",
    server: true,
    version: "1.21.5",
    cairnVersion: "0.1.0",
    revision: "abc123",
    buildDate: "2026-11-01T00:00:00Z",
    prettyByDefault: false,
    debugConfig: () => ({ Datacenter: "dc1", NodeName: "node1" }),
    members: (wan) => (wan ? [] : [self]),
    ...over,
  };
}

export interface Harness {
  readonly backend: FakeBackend;
  readonly server: HttpServer;
  readonly base: string;
  readonly port: number;
  readonly metrics: Metrics;
  close(): Promise<void>;
}

export async function startHarness(over: Partial<HttpServerOptions> = {}): Promise<Harness> {
  const backend = new FakeBackend();
  const metrics = new Metrics();
  const server = await startHttpServer({
    backend,
    agent: fakeAgent(),
    host: "127.0.0.1",
    port: 0,
    limits: { kvMaxValueSize: 512 * 1024, txnMaxReqLen: 512 * 1024 },
    log: () => {},
    metrics,
    ...over,
  });
  return {
    backend,
    server,
    base: `http://127.0.0.1:${server.port}`,
    port: server.port,
    metrics,
    close: () => server.close(),
  };
}

export interface Res {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
  readonly text: string;
}

export interface ReqOpts {
  readonly method?: string;
  readonly body?: string | Buffer;
  readonly headers?: Record<string, string>;
  readonly timeoutMs?: number;
  readonly socketPath?: string;
  readonly signal?: AbortSignal;
}

/** One request on a fresh connection; resolves with the raw (still compressed) body. */
export function request(port: number, path: string, o: ReqOpts = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        socketPath: o.socketPath,
        path,
        method: o.method ?? "GET",
        headers: o.headers,
        agent: false,
        signal: o.signal,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const body = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString("utf8") });
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    const t = setTimeout(() => {
      req.destroy(new Error(`request ${path} timed out`));
    }, o.timeoutMs ?? 10_000);
    req.on("close", () => clearTimeout(t));
    if (o.body !== undefined) req.end(o.body);
    else req.end();
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Poll until cond() or the deadline. */
export async function until(cond: () => boolean, ms = 3000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await sleep(5);
  }
  return cond();
}
