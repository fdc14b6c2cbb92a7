/**
 * cli/http_client: the small HTTP client CLI commands use to talk to an agent.
 *
 * Mirrors what Consul's CLI gets from command/flags/http.go + api.Client:
 * address from -http-addr or CONSUL_HTTP_ADDR (`host:port`, `http://`, `https://`,
 * `unix:///path`), token from -token / -token-file / CONSUL_HTTP_TOKEN(_FILE),
 * `?dc=` from -datacenter, `?stale` from -stale, and Go's error texts
 * ("Unexpected response code: 500 (body)", `Get "url": dial tcp ...`).
 *
 * Must never: print; errors come back as HttpClientError.
 */

import * as http from "node:http";
import * as https from "node:https";
import { readFile } from "node:fs/promises";
import type { FlagSet } from "./flags.ts";
import { escapePath, parseEndpoint, type AgentEndpoint } from "../watch/client.ts";

export const DEFAULT_HTTP_ADDR = "127.0.0.1:8500";
/** A CLI request that takes longer than this fails (ms). */
export const CLI_HTTP_TIMEOUT_MS = 15 * 60 * 1000;

export class HttpClientError extends Error {
  readonly status: number | undefined;
  constructor(message: string, status?: number) {
    super(message);
    this.name = "HttpClientError";
    this.status = status;
  }
}

/** Adds Consul's "HTTP API Options" flags to a command's flag set. */
export function addHttpFlags(fs: FlagSet, serverFlags = true): void {
  fs.add({
    name: "http-addr",
    kind: "string",
    section: "http",
    usage:
      "The `address` and port of the Consul HTTP agent. The value can be an IP " +
      "address or DNS address, but it must also include the port. This can " +
      "also be specified via the CONSUL_HTTP_ADDR environment variable. The " +
      "default value is http://127.0.0.1:8500. The scheme can also be set to " +
      "HTTPS by setting the environment variable CONSUL_HTTP_SSL=true.",
  });
  const str = (name: string, usage: string): void => {
    fs.add({ name, kind: "string", section: "http", usage, example: "value" });
  };
  str(
    "token",
    "ACL token to use in the request. This can also be specified via the " +
      "CONSUL_HTTP_TOKEN environment variable. If unspecified, the query will " +
      "default to the token of the Consul agent at the HTTP address.",
  );
  str(
    "token-file",
    "File containing the ACL token to use in the request instead of one specified " +
      "via the -token argument or CONSUL_HTTP_TOKEN environment variable. " +
      "This can also be specified via the CONSUL_HTTP_TOKEN_FILE environment variable.",
  );
  str(
    "ca-file",
    "Path to a CA file to use for TLS when communicating with Consul. This " +
      "can also be specified via the CONSUL_CACERT environment variable.",
  );
  str(
    "ca-path",
    "Path to a directory of CA certificates to use for TLS when communicating " +
      "with Consul. This can also be specified via the CONSUL_CAPATH environment variable.",
  );
  str(
    "client-cert",
    "Path to a client cert file to use for TLS when 'verify_incoming' is enabled. This " +
      "can also be specified via the CONSUL_CLIENT_CERT environment variable.",
  );
  str(
    "client-key",
    "Path to a client key file to use for TLS when 'verify_incoming' is enabled. This " +
      "can also be specified via the CONSUL_CLIENT_KEY environment variable.",
  );
  str(
    "tls-server-name",
    "The server name to use as the SNI host when connecting via TLS. This " +
      "can also be specified via the CONSUL_TLS_SERVER_NAME environment variable.",
  );
  if (!serverFlags) return;
  str(
    "datacenter",
    "Name of the datacenter to query. If unspecified, this will default to " +
      "the datacenter of the queried agent.",
  );
  fs.add({
    name: "stale",
    kind: "bool",
    section: "http",
    usage:
      "Permit any Consul server (non-leader) to respond to this request. This " +
      "allows for lower latency and higher throughput, but can result in " +
      "stale data. This option has no effect on non-read operations. The " +
      "default value is false.",
  });
}

export type Endpoint = AgentEndpoint;

/** Parses an agent address the way api.NewClient does (CONSUL_HTTP_SSL "true"/"1" means https). */
export function parseAddress(addr: string, sslEnv: string | undefined): Endpoint {
  return parseEndpoint(addr, sslEnv === "true" || sslEnv === "1");
}

export interface ClientOptions {
  readonly address: string;
  readonly token: string;
  readonly datacenter: string;
  readonly stale: boolean;
  readonly ssl: string | undefined;
}

/** Resolves the client options from the parsed HTTP flags and the environment. */
export async function clientOptions(
  fs: FlagSet,
  env: Readonly<Record<string, string | undefined>>,
): Promise<ClientOptions> {
  const address = fs.getOptionalString("http-addr") ?? env["CONSUL_HTTP_ADDR"] ?? DEFAULT_HTTP_ADDR;
  let token = fs.getOptionalString("token") ?? "";
  const tokenFile = fs.getOptionalString("token-file") ?? "";
  if (!token && tokenFile) token = (await readFile(tokenFile, "utf8")).trim();
  if (!token) token = env["CONSUL_HTTP_TOKEN"] ?? "";
  if (!token && env["CONSUL_HTTP_TOKEN_FILE"]) {
    token = (await readFile(env["CONSUL_HTTP_TOKEN_FILE"], "utf8")).trim();
  }
  const datacenter = fs.definitions().some((d) => d.name === "datacenter") ? fs.getString("datacenter") : "";
  const stale = fs.definitions().some((d) => d.name === "stale") ? fs.getBool("stale") : false;
  return { address, token, datacenter, stale, ssl: env["CONSUL_HTTP_SSL"] };
}

export { escapePath };

export interface HttpResponse {
  readonly status: number;
  readonly body: Buffer;
  readonly headers: http.IncomingHttpHeaders;
}

export type QueryParams = ReadonlyArray<readonly [string, string]>;

/** Go url.Values.Encode: keys sorted, query-escaped. */
function encodeQuery(params: QueryParams): string {
  const sorted = [...params].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return sorted
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v).replaceAll("%20", "+")}`)
    .join("&");
}

const METHOD_WORD: Record<string, string> = { GET: "Get", PUT: "Put", DELETE: "Delete", POST: "Post" };

export class ConsulHttpClient {
  private readonly endpoint: Endpoint;
  private readonly opts: ClientOptions;

  constructor(opts: ClientOptions) {
    this.opts = opts;
    this.endpoint = parseAddress(opts.address, opts.ssl);
  }

  /** Sends one request; `read` adds ?stale when -stale was given. */
  request(
    method: "GET" | "PUT" | "DELETE" | "POST",
    path: string,
    params: QueryParams = [],
    body?: Uint8Array,
    read = false,
  ): Promise<HttpResponse> {
    const all: Array<readonly [string, string]> = [...params];
    if (this.opts.datacenter) all.push(["dc", this.opts.datacenter]);
    if (read && this.opts.stale) all.push(["stale", ""]);
    const query = encodeQuery(all);
    const fullPath = escapePath(path) + (query ? `?${query}` : "");
    const ep = this.endpoint;
    const url =
      ep.kind === "unix"
        ? `http://${ep.socketPath.replaceAll("/", "%2F")}${fullPath}`
        : `${ep.scheme}://${ep.host.includes(":") ? `[${ep.host}]` : ep.host}:${ep.port}${fullPath}`;
    const headers: Record<string, string> = {};
    if (this.opts.token) headers["X-Consul-Token"] = this.opts.token;
    if (body !== undefined) {
      headers["Content-Type"] = "application/octet-stream";
      headers["Content-Length"] = String(body.byteLength);
    }
    const base: http.RequestOptions = { method, path: fullPath, headers, timeout: CLI_HTTP_TIMEOUT_MS };
    const reqOpts: http.RequestOptions =
      ep.kind === "unix" ? { ...base, socketPath: ep.socketPath } : { ...base, host: ep.host, port: ep.port };
    const word = METHOD_WORD[method] ?? method;
    return new Promise<HttpResponse>((resolve, reject) => {
      const lib = ep.kind === "tcp" && ep.scheme === "https" ? https : http;
      const req = lib.request(reqOpts, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers }));
        res.on("error", (e: Error) => reject(new HttpClientError(`${word} "${url}": ${e.message}`)));
      });
      req.on("timeout", () => req.destroy(new Error("context deadline exceeded")));
      req.on("error", (e: Error & { code?: string }) => {
        const target = ep.kind === "unix" ? `unix ${ep.socketPath}` : `tcp ${ep.host}:${ep.port}`;
        const reason =
          e.code === "ECONNREFUSED"
            ? `dial ${target}: connect: connection refused`
            : e.code === "ENOENT"
              ? `dial ${target}: connect: no such file or directory`
              : e.message;
        reject(new HttpClientError(`${word} "${url}": ${reason}`));
      });
      if (body !== undefined) req.end(Buffer.from(body));
      else req.end();
    });
  }
}

/** api.requireOK: anything but 200 becomes "Unexpected response code: N (body)". */
export function requireOk(res: HttpResponse): void {
  if (res.status === 200) return;
  throw new HttpClientError(
    `Unexpected response code: ${res.status} (${res.body.toString("utf8").trim()})`,
    res.status,
  );
}
