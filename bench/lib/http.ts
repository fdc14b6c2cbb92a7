/**
 * bench/lib/http: a tiny promise wrapper over node:http for setup, readiness and scale loading.
 *
 * Must never: be used to generate measured load (autocannon in a child process does that),
 * or retry silently.
 */

import http from "node:http";
import { HTTP_TIMEOUT_MS } from "./config.ts";

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

export interface HttpReply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface RequestOptions {
  readonly body?: string | Buffer;
  readonly agent?: http.Agent;
  readonly timeoutMs?: number;
  readonly contentType?: string;
}

export function baseUrl(ep: Endpoint): string {
  return `http://${ep.host}:${ep.port}`;
}

export function httpRequest(ep: Endpoint, method: string, path: string, opts: RequestOptions = {}): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders = {};
    if (opts.body !== undefined) {
      headers["content-length"] = Buffer.byteLength(opts.body);
      if (opts.contentType) headers["content-type"] = opts.contentType;
    }
    const req = http.request(
      { host: ep.host, port: ep.port, method, path, headers, agent: opts.agent ?? false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on("error", reject);
      },
    );
    req.setTimeout(opts.timeoutMs ?? HTTP_TIMEOUT_MS, () => req.destroy(new Error(`${method} ${path}: timeout`)));
    req.on("error", reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

/** X-Consul-Index of a reply, 0 when absent or malformed. */
export function consulIndex(headers: http.IncomingHttpHeaders): number {
  const raw = headers["x-consul-index"];
  const n = Number(Array.isArray(raw) ? raw[0] : raw);
  return Number.isFinite(n) && n > 0 ? n : 0;
}

/** Run `fn(i)` for i in [0, n) with at most `limit` in flight; the first rejection wins. */
export async function forEachLimited(n: number, limit: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, n) }, async () => {
    while (next < n) {
      const i = next++;
      await fn(i);
    }
  });
  await Promise.all(lanes);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Monotonic clock in ms, comparable across processes on one machine (CLOCK_MONOTONIC). */
export function monoMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
