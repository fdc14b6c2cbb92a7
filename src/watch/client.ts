/**
 * watch/client: the small HTTP client watch plans, watch handlers and remote exec use to
 * talk to an agent: address forms as Consul's api (host:port, http://, https://,
 * unix:///path), X-Consul-Token, ?dc, ?stale, cancellation through an AbortSignal, and
 * Go's error wording ("Unexpected response code: N (body)").
 *
 * Must never: retry on its own (callers own back-off) or print.
 */

import * as http from "node:http";
import * as https from "node:https";

export type AgentEndpoint =
  | { readonly kind: "tcp"; readonly scheme: "http" | "https"; readonly host: string; readonly port: number }
  | { readonly kind: "unix"; readonly socketPath: string };

/** Parses an agent address the way api.NewClient does. */
export function parseEndpoint(addr: string, ssl = false): AgentEndpoint {
  let rest = addr.trim();
  if (rest.startsWith("unix://")) return { kind: "unix", socketPath: rest.slice("unix://".length) };
  let scheme: "http" | "https" = ssl ? "https" : "http";
  const m = /^(https?):\/\//.exec(rest);
  if (m) {
    scheme = m[1] === "https" ? "https" : "http";
    rest = rest.slice(m[0].length);
  }
  rest = rest.replace(/\/+$/, "");
  let host = rest;
  let port = scheme === "https" ? 443 : 80;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(rest);
  if (v6) {
    host = v6[1] ?? "";
    if (v6[2]) port = Number(v6[2]);
  } else {
    const i = rest.lastIndexOf(":");
    if (i > 0 && rest.indexOf(":") === i) {
      host = rest.slice(0, i);
      port = Number(rest.slice(i + 1));
    }
  }
  return { kind: "tcp", scheme, host, port };
}

export interface ClientConfig {
  readonly endpoint: AgentEndpoint;
  readonly token?: string;
  readonly datacenter?: string;
  readonly stale?: boolean;
  readonly tlsSkipVerify?: boolean;
}

export interface AgentResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
  /** X-Consul-Index as an unsigned 64-bit value (0n when absent). */
  readonly index: bigint;
}

export class ResponseError extends Error {
  readonly status: number;
  constructor(status: number, body: string) {
    super(`Unexpected response code: ${status} (${body.trim()})`);
    this.name = "ResponseError";
    this.status = status;
  }
}

/** Escapes a KV key or path segment as Go's url.URL does for paths. */
export function escapePath(p: string): string {
  let out = "";
  for (const b of new TextEncoder().encode(p)) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~$&+,/:;=@]/.test(c)) out += c;
    else out += "%" + b.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

function parseIndex(h: string | string[] | undefined): bigint {
  const v = Array.isArray(h) ? h[0] : h;
  if (v === undefined || !/^\d+$/.test(v)) return 0n;
  return BigInt(v);
}

export class AgentClient {
  readonly cfg: ClientConfig;

  constructor(cfg: ClientConfig) {
    this.cfg = cfg;
  }

  request(
    method: string,
    path: string,
    params: ReadonlyArray<readonly [string, string]> = [],
    body?: Uint8Array,
    signal?: AbortSignal,
  ): Promise<AgentResponse> {
    const all = [...params];
    if (this.cfg.datacenter) all.push(["dc", this.cfg.datacenter]);
    if (this.cfg.stale && method === "GET") all.push(["stale", ""]);
    const qs = all.map(([k, v]) => (v === "" && k === "stale" ? k : `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)).join("&");
    const fullPath = escapePath(path) + (qs ? `?${qs}` : "");
    const headers: Record<string, string> = {};
    if (this.cfg.token) headers["X-Consul-Token"] = this.cfg.token;
    if (body !== undefined) headers["Content-Length"] = String(body.byteLength);
    const ep = this.cfg.endpoint;
    const base: https.RequestOptions = { method, path: fullPath, headers, agent: false };
    const opts: https.RequestOptions =
      ep.kind === "unix"
        ? { ...base, socketPath: ep.socketPath }
        : { ...base, host: ep.host, port: ep.port, rejectUnauthorized: this.cfg.tlsSkipVerify !== true };
    const lib = ep.kind === "tcp" && ep.scheme === "https" ? https : http;
    return new Promise<AgentResponse>((resolve, reject) => {
      const req = lib.request(opts, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), index: parseIndex(res.headers["x-consul-index"]) }),
        );
        res.on("error", reject);
      });
      req.on("error", reject);
      if (signal !== undefined) {
        const onAbort = (): void => void req.destroy(new Error("watch stopped"));
        if (signal.aborted) onAbort();
        else {
          signal.addEventListener("abort", onAbort, { once: true });
          req.on("close", () => signal.removeEventListener("abort", onAbort));
        }
      }
      if (body !== undefined) req.end(Buffer.from(body));
      else req.end();
    });
  }

  /** GET that requires 200 and parses JSON. */
  async getJson(path: string, params: ReadonlyArray<readonly [string, string]> = [], signal?: AbortSignal): Promise<unknown> {
    const r = await this.request("GET", path, params, undefined, signal);
    if (r.status !== 200) throw new ResponseError(r.status, r.body.toString("utf8"));
    return JSON.parse(r.body.toString("utf8")) as unknown;
  }
}
