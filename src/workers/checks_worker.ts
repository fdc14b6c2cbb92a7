/**
 * workers/checks_worker: the piscina task that runs ONE health check (HTTP, TCP, UDP,
 * gRPC health protocol, script) with its own timeout and answers {status, output}, or
 * {same: true} when the result equals the previous one (so only changes cross threads).
 * Status rules and output texts follow Consul's agent/checks (2xx passing, 429 warning,
 * "HTTP GET <url>: 200 OK Output: ...", "TCP connect <addr>: Success", script exit
 * 0/1/other, "Timed out (30s) running check").
 *
 * Must never: touch agent state, keep state between tasks, or run without a timeout.
 */

import http from "node:http";
import https from "node:https";
import http2 from "node:http2";
import net from "node:net";
import tls from "node:tls";
import dgram from "node:dgram";
import { spawn } from "node:child_process";
import type { CheckResult, CheckStatus, CheckTask } from "../checks/types.ts";
import { resultKey } from "../checks/types.ts";
import { TailBuffer, goDurationMs, scriptOutput } from "../checks/output.ts";
import { CHECK_HTTP_MAX_REDIRECTS } from "../shared/limits.ts";

interface Raw {
  readonly status: CheckStatus;
  readonly output: string;
}

function answer(prevKey: string, r: Raw): CheckResult {
  const key = resultKey(r.status, r.output);
  if (key === prevKey) return { same: true };
  return { same: false, status: r.status, output: r.output, key };
}

/** "host:port" -> parts (IPv6 in brackets). */
export function splitHostPort(addr: string): { host: string; port: number } | undefined {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(addr) ?? /^([^:]*):(\d+)$/.exec(addr);
  if (!m) return undefined;
  return { host: m[1] === "" ? "127.0.0.1" : (m[1] as string), port: Number(m[2]) };
}

/** Go's net error text for a failed dial. */
function dialError(network: string, addr: string, e: NodeJS.ErrnoException | undefined, timedOut: boolean): string {
  if (timedOut) return `dial ${network} ${addr}: i/o timeout`;
  switch (e?.code) {
    case "ECONNREFUSED":
      return `dial ${network} ${addr}: connect: connection refused`;
    case "EHOSTUNREACH":
      return `dial ${network} ${addr}: connect: no route to host`;
    case "ENETUNREACH":
      return `dial ${network} ${addr}: connect: network is unreachable`;
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return `dial ${network} ${addr}: lookup ${addr.replace(/:\d+$/, "")}: no such host`;
    default:
      return `dial ${network} ${addr}: ${e?.message ?? "unknown error"}`;
  }
}

// ---- HTTP -----------------------------------------------------------------------

function goMethodWord(m: string): string {
  return m.length === 0 ? m : m[0]!.toUpperCase() + m.slice(1).toLowerCase();
}

async function runHttp(t: Extract<CheckTask, { kind: "http" }>): Promise<Raw> {
  const deadline = Date.now() + t.timeoutMs;
  let url: URL;
  try {
    url = new URL(t.url);
  } catch {
    return { status: "critical", output: `parse ${JSON.stringify(t.url)}: invalid URI for request` };
  }
  let method = t.method;
  let body: string | undefined = t.body;
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(t.header)) headers[k] = [...v];
  const has = (name: string): boolean => Object.keys(headers).some((k) => k.toLowerCase() === name);
  if (!has("user-agent")) headers["User-Agent"] = "Consul Health Check";
  if (!has("accept")) headers["Accept"] = "text/plain, text/*, */*";
  const target = t.url;
  for (let hop = 0; ; hop++) {
    const remaining = deadline - Date.now();
    const res = await httpOnce(url, method, headers, body, Math.max(1, remaining), t);
    if ("error" in res) {
      const what = res.timedOut
        ? "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
        : res.error;
      return { status: "critical", output: `${goMethodWord(method)} ${JSON.stringify(url.href)}: ${what}` };
    }
    const loc = res.location;
    if (!t.disableRedirects && loc !== undefined && [301, 302, 303, 307, 308].includes(res.code)) {
      if (hop + 1 >= CHECK_HTTP_MAX_REDIRECTS) {
        return { status: "critical", output: `${goMethodWord(method)} ${JSON.stringify(loc)}: stopped after 10 redirects` };
      }
      url = new URL(loc, url);
      if (res.code === 301 || res.code === 302 || res.code === 303) {
        if (method !== "GET" && method !== "HEAD") method = "GET";
        body = undefined;
      }
      continue;
    }
    const result = `HTTP ${t.method} ${target}: ${res.code} ${res.reason} Output: ${res.output}`;
    if (res.code >= 200 && res.code <= 299) return { status: "passing", output: result };
    if (res.code === 429) return { status: "warning", output: result };
    return { status: "critical", output: result };
  }
}

type HttpOnce =
  | { readonly code: number; readonly reason: string; readonly output: string; readonly location: string | undefined }
  | { readonly error: string; readonly timedOut: boolean };

function httpOnce(
  url: URL,
  method: string,
  headers: Record<string, string | string[]>,
  body: string | undefined,
  timeoutMs: number,
  t: Extract<CheckTask, { kind: "http" }>,
): Promise<HttpOnce> {
  return new Promise((resolve) => {
    const isHttps = url.protocol === "https:";
    const lib = isHttps ? https : http;
    const host = url.hostname.replace(/^\[|\]$/g, "");
    const port = url.port !== "" ? Number(url.port) : isHttps ? 443 : 80;
    const addr = `${url.hostname}:${port}`;
    const hostHeader = Object.entries(headers).find(([k]) => k.toLowerCase() === "host");
    let done = false;
    const finish = (r: HttpOnce): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(r);
    };
    const opts: https.RequestOptions = {
      method,
      host,
      port,
      path: url.pathname + url.search,
      headers: { ...headers, ...(hostHeader ? {} : { Host: url.host }), Connection: "close" },
      agent: false,
    };
    if (isHttps) {
      opts.rejectUnauthorized = !t.tlsSkipVerify;
      if (t.tlsServerName !== "") opts.servername = t.tlsServerName;
    }
    const req = lib.request(opts, (res) => {
      const buf = new TailBuffer(t.maxOutput);
      res.on("data", (c: Buffer) => buf.write(c));
      res.on("end", () =>
        finish({
          code: res.statusCode ?? 0,
          reason: res.statusMessage ?? "",
          output: buf.toString(),
          location: typeof res.headers.location === "string" ? res.headers.location : undefined,
        }),
      );
      res.on("error", (e: Error) => finish({ error: e.message, timedOut: false }));
    });
    const timer = setTimeout(() => {
      finish({ error: "", timedOut: true });
      req.destroy();
    }, timeoutMs);
    req.on("error", (e: NodeJS.ErrnoException) => {
      const msg = e.code !== undefined && /^E[A-Z]+$/.test(e.code) && e.syscall === "connect"
        ? dialError("tcp", addr, e, false)
        : e.code === "ECONNREFUSED"
          ? dialError("tcp", addr, e, false)
          : e.message;
      finish({ error: msg, timedOut: false });
    });
    if (body !== undefined && body !== "") req.end(body);
    else req.end();
  });
}

// ---- TCP ------------------------------------------------------------------------

function runTcp(t: Extract<CheckTask, { kind: "tcp" }>): Promise<Raw> {
  const hp = splitHostPort(t.address);
  if (!hp) return Promise.resolve({ status: "critical", output: `dial tcp ${t.address}: address ${t.address}: missing port in address` });
  const label = t.useTls ? "TCP+TLS" : "TCP";
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: Raw): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const onOk = (): void => finish({ status: "passing", output: `${label} connect ${t.address}: Success` });
    const sock: net.Socket = t.useTls
      ? tls.connect({
          host: hp.host,
          port: hp.port,
          rejectUnauthorized: !t.tlsSkipVerify,
          ...(t.tlsServerName !== "" ? { servername: t.tlsServerName } : {}),
        }, onOk)
      : net.connect({ host: hp.host, port: hp.port }, onOk);
    const timer = setTimeout(
      () => finish({ status: "critical", output: dialError("tcp", t.address, undefined, true) }),
      t.timeoutMs,
    );
    sock.on("error", (e: NodeJS.ErrnoException) =>
      finish({ status: "critical", output: e.syscall === "connect" || e.code === "ECONNREFUSED" ? dialError("tcp", t.address, e, false) : e.message }),
    );
  });
}

// ---- UDP ------------------------------------------------------------------------

function runUdp(t: Extract<CheckTask, { kind: "udp" }>): Promise<Raw> {
  const hp = splitHostPort(t.address);
  if (!hp) return Promise.resolve({ status: "critical", output: `dial udp ${t.address}: address ${t.address}: missing port in address` });
  const ok: Raw = { status: "passing", output: `UDP connect ${t.address}: Success` };
  return new Promise((resolve) => {
    const sock = dgram.createSocket(net.isIPv6(hp.host) ? "udp6" : "udp4");
    let done = false;
    const finish = (r: Raw): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      try {
        sock.close();
      } catch {
        /* already closed */
      }
      resolve(r);
    };
    // No answer within the timeout counts as success (Consul treats an i/o timeout as passing).
    const timer = setTimeout(() => finish(ok), t.timeoutMs);
    sock.on("message", () => finish(ok));
    sock.on("error", (e: NodeJS.ErrnoException) => {
      let local = "";
      try {
        const a = sock.address();
        local = `${a.address}:${a.port}`;
      } catch {
        /* not bound */
      }
      const why = e.code === "ECONNREFUSED" ? "read: connection refused" : e.message;
      finish({ status: "critical", output: `read udp ${local}->${t.address}: ${why}` });
    });
    sock.connect(hp.port, hp.host, () => {
      sock.send(Buffer.alloc(0), (err) => {
        if (err) finish({ status: "critical", output: `write udp ${t.address}: ${err.message}` });
      });
    });
  });
}

// ---- gRPC health protocol ---------------------------------------------------------

const GRPC_CODES = [
  "OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound", "AlreadyExists",
  "PermissionDenied", "ResourceExhausted", "FailedPrecondition", "Aborted", "OutOfRange",
  "Unimplemented", "Internal", "Unavailable", "DataLoss", "Unauthenticated",
];
const SERVING_STATUS = ["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"];

/** HealthCheckRequest{service} as a length-prefixed gRPC message. */
export function grpcHealthRequest(service: string): Buffer {
  const s = Buffer.from(service, "utf8");
  const msg = s.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a]), varint(s.length), s]);
  const head = Buffer.alloc(5);
  head.writeUInt32BE(msg.length, 1);
  return Buffer.concat([head, msg]);
}

function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return Buffer.from(out);
}

/** The `status` field (1, varint) of a HealthCheckResponse message; 0 when absent. */
export function decodeServingStatus(msg: Buffer): number {
  let i = 0;
  let status = 0;
  while (i < msg.length) {
    const tag = msg[i++]!;
    const field = tag >> 3;
    const wire = tag & 7;
    if (wire === 0) {
      let v = 0;
      let shift = 0;
      while (i < msg.length) {
        const b = msg[i++]!;
        v += (b & 0x7f) * 2 ** shift;
        shift += 7;
        if ((b & 0x80) === 0) break;
      }
      if (field === 1) status = v;
    } else if (wire === 2) {
      let len = 0;
      let shift = 0;
      while (i < msg.length) {
        const b = msg[i++]!;
        len += (b & 0x7f) * 2 ** shift;
        shift += 7;
        if ((b & 0x80) === 0) break;
      }
      i += len;
    } else if (wire === 5) i += 4;
    else if (wire === 1) i += 8;
    else break;
  }
  return status;
}

function runGrpc(t: Extract<CheckTask, { kind: "grpc" }>): Promise<Raw> {
  const slash = t.target.indexOf("/");
  const server = slash < 0 ? t.target : t.target.slice(0, slash);
  const service = slash < 0 ? "" : t.target.slice(slash + 1);
  const hp = splitHostPort(server);
  if (!hp) return Promise.resolve({ status: "critical", output: `rpc error: code = Unavailable desc = name resolver error: produced zero addresses` });
  const rpcErr = (code: number, desc: string): Raw => ({
    status: "critical",
    output: `rpc error: code = ${GRPC_CODES[code] ?? `Code(${code})`} desc = ${desc}`,
  });
  return new Promise((resolve) => {
    let done = false;
    const authority = `${hp.host.includes(":") ? `[${hp.host}]` : hp.host}:${hp.port}`;
    const session = http2.connect(`${t.useTls ? "https" : "http"}://${authority}`, t.useTls
      ? { rejectUnauthorized: !t.tlsSkipVerify, ...(t.tlsServerName !== "" ? { servername: t.tlsServerName } : {}) }
      : {});
    const finish = (r: Raw): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      session.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish(rpcErr(4, "context deadline exceeded")), t.timeoutMs);
    session.on("error", (e: NodeJS.ErrnoException) =>
      finish(rpcErr(14, `connection error: desc = "transport: Error while dialing: ${dialError("tcp", server, e, false)}"`)),
    );
    const req = session.request({
      ":method": "POST",
      ":path": "/grpc.health.v1.Health/Check",
      "content-type": "application/grpc",
      te: "trailers",
    });
    const chunks: Buffer[] = [];
    let headerStatus: string | undefined;
    let headerMessage = "";
    req.on("response", (h) => {
      const s = h["grpc-status"];
      if (typeof s === "string") {
        headerStatus = s;
        headerMessage = typeof h["grpc-message"] === "string" ? decodeURIComponent(h["grpc-message"]) : "";
      }
      const st = h[":status"];
      if (typeof st === "number" && st !== 200 && headerStatus === undefined) {
        finish(rpcErr(12, `unexpected HTTP status code received from server: ${st}`));
      }
    });
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("trailers", (h) => {
      const s = h["grpc-status"];
      if (typeof s === "string") headerStatus = s;
      if (typeof h["grpc-message"] === "string") headerMessage = decodeURIComponent(h["grpc-message"]);
    });
    req.on("error", (e: Error & { cause?: NodeJS.ErrnoException }) => {
      const cause = e.cause ?? (e as NodeJS.ErrnoException);
      if (cause.syscall === "connect" || cause.code === "ECONNREFUSED") {
        finish(rpcErr(14, `connection error: desc = "transport: Error while dialing: ${dialError("tcp", server, cause, false)}"`));
      } else finish(rpcErr(14, e.message));
    });
    req.on("end", () => {
      const code = headerStatus === undefined ? 2 : Number(headerStatus);
      if (code !== 0) {
        finish(rpcErr(code, headerStatus === undefined ? "server closed the stream without sending trailers" : headerMessage));
        return;
      }
      const all = Buffer.concat(chunks);
      if (all.length < 5) {
        finish(rpcErr(13, "grpc: failed to unmarshal the received message"));
        return;
      }
      const len = all.readUInt32BE(1);
      const status = decodeServingStatus(all.subarray(5, 5 + len));
      if (status !== 1) {
        finish({ status: "critical", output: `gRPC ${t.target} serving status: ${SERVING_STATUS[status] ?? String(status)}` });
        return;
      }
      finish({ status: "passing", output: `gRPC check ${t.target}: success` });
    });
    req.end(grpcHealthRequest(service));
  });
}

// ---- script -----------------------------------------------------------------------

function runScript(t: Extract<CheckTask, { kind: "script" }>): Promise<Raw> {
  return new Promise((resolve) => {
    const [cmd, ...args] = t.args;
    if (cmd === undefined) {
      resolve({ status: "critical", output: "exec: no command" });
      return;
    }
    const buf = new TailBuffer(t.maxOutput);
    let settled = false;
    let timedOut = false;
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], detached: true });
    const finish = (r: Raw): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    child.stdout?.on("data", (c: Buffer) => buf.write(c));
    child.stderr?.on("data", (c: Buffer) => buf.write(c));
    child.on("error", (e: NodeJS.ErrnoException) => {
      const msg = e.code === "ENOENT" ? `exec: ${JSON.stringify(cmd)}: executable file not found in $PATH` : e.message;
      finish({ status: "critical", output: msg });
    });
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    }, t.timeoutMs);
    child.on("close", (code) => {
      const out = scriptOutput(buf);
      if (timedOut) {
        let msg = `Timed out (${goDurationMs(t.timeoutMs)}) running check`;
        if (out.length > 0) msg += "\n\n" + out;
        finish({ status: "critical", output: msg });
        return;
      }
      if (code === 0) finish({ status: "passing", output: out });
      else if (code === 1) finish({ status: "warning", output: out });
      else finish({ status: "critical", output: out });
    });
  });
}

// ---- entry --------------------------------------------------------------------------

export async function runCheck(t: CheckTask): Promise<Raw> {
  switch (t.kind) {
    case "http":
      return runHttp(t);
    case "tcp":
      return runTcp(t);
    case "udp":
      return runUdp(t);
    case "grpc":
      return runGrpc(t);
    case "script":
      return runScript(t);
    case "fault":
      if (t.mode === "exit") process.exit(7);
      if (t.mode === "hang") for (;;) { /* a wedged worker: only an abort ends this */ }
      throw new Error("fault injected");
    default: {
      const never: never = t;
      throw new Error(`unknown check task ${JSON.stringify(never)}`);
    }
  }
}

export default async function checkTask(t: CheckTask): Promise<CheckResult> {
  return answer(t.prevKey, await runCheck(t));
}
