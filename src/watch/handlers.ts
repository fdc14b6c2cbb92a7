/**
 * watch/handlers: running a watch handler as Consul's agent and CLI do. A script handler
 * gets the data as JSON (one line) on stdin and CONSUL_INDEX in its environment; it runs
 * through the shell ($SHELL or /bin/sh -c) for a command string, or directly for args. An
 * HTTP handler gets the JSON as the body of `method` (default POST) to `path`, with the
 * configured headers, X-Consul-Index, a timeout and optional TLS verification skip.
 *
 * Must never: let a handler's output grow without bound in memory (the caller gets at most
 * WATCH_HANDLER_OUTPUT_BYTES when it asks to capture), or throw for a failing handler
 * (failures come back as values).
 */

import { spawn } from "node:child_process";
import * as http from "node:http";
import * as https from "node:https";
import { WATCH_HANDLER_OUTPUT_BYTES } from "../shared/limits.ts";

export type HandlerResult = { readonly ok: true; readonly output: string } | { readonly ok: false; readonly error: string; readonly output: string };

export interface ScriptOptions {
  /** Run directly (no shell). */
  readonly args?: readonly string[] | undefined;
  /** Run through the shell. */
  readonly command?: string | undefined;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Where output goes; absent: captured (bounded) and returned. */
  readonly onStdout?: (d: Buffer) => void;
  readonly onStderr?: (d: Buffer) => void;
}

/** Go's json.Encoder.Encode: compact JSON and a newline. */
export function encodeData(data: unknown): string {
  return JSON.stringify(data === undefined ? null : data) + "\n";
}

export function runScriptHandler(o: ScriptOptions, index: bigint, data: unknown): Promise<HandlerResult> {
  let cmd: string;
  let argv: string[];
  if (o.args !== undefined && o.args.length > 0) {
    cmd = o.args[0] as string;
    argv = o.args.slice(1);
  } else {
    cmd = process.env["SHELL"] || "/bin/sh";
    argv = ["-c", o.command ?? ""];
  }
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...(o.env ?? {}) })) if (v !== undefined) env[k] = v;
  env["CONSUL_INDEX"] = index.toString();
  return new Promise<HandlerResult>((resolve) => {
    let output = "";
    const keep = (d: Buffer): void => {
      if (output.length < WATCH_HANDLER_OUTPUT_BYTES) output += d.toString("utf8").slice(0, WATCH_HANDLER_OUTPUT_BYTES - output.length);
    };
    let child;
    try {
      child = spawn(cmd, argv, { env, stdio: ["pipe", "pipe", "pipe"] });
    } catch (e) {
      resolve({ ok: false, error: `Error starting handler: ${e instanceof Error ? e.message : String(e)}`, output });
      return;
    }
    child.stdout.on("data", (d: Buffer) => (o.onStdout ? o.onStdout(d) : keep(d)));
    child.stderr.on("data", (d: Buffer) => (o.onStderr ? o.onStderr(d) : keep(d)));
    child.stdin.on("error", () => {
      /* the handler did not read its input */
    });
    child.on("error", (e) => resolve({ ok: false, error: `Error starting handler: ${e.message}`, output }));
    child.on("close", (code, signal) => {
      if (code === 0) resolve({ ok: true, output });
      else resolve({ ok: false, error: signal !== null ? `signal: ${signal}` : `exit status ${code ?? -1}`, output });
    });
    child.stdin.end(encodeData(data));
  });
}

export interface HttpHandlerOptions {
  readonly path: string;
  readonly method: string;
  readonly header: Readonly<Record<string, readonly string[]>>;
  readonly timeoutMs: number;
  readonly tlsSkipVerify: boolean;
}

export function runHttpHandler(o: HttpHandlerOptions, index: bigint, data: unknown): Promise<HandlerResult> {
  let url: URL;
  try {
    url = new URL(o.path);
  } catch {
    return Promise.resolve({ ok: false, error: `Failed to create HTTP watch request: invalid URL ${o.path}`, output: "" });
  }
  const body = Buffer.from(encodeData(data), "utf8");
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(o.header)) headers[k] = [...v];
  headers["Content-Type"] = "application/json";
  headers["Content-Length"] = String(body.length);
  headers["X-Consul-Index"] = index.toString();
  const lib = url.protocol === "https:" ? https : http;
  return new Promise<HandlerResult>((resolve) => {
    let settled = false;
    const settle = (r: HandlerResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const req = lib.request(
      url,
      { method: o.method, headers, agent: false, rejectUnauthorized: !o.tlsSkipVerify },
      (res) => {
        let output = "";
        res.on("data", (d: Buffer) => {
          if (output.length < WATCH_HANDLER_OUTPUT_BYTES) output += d.toString("utf8").slice(0, WATCH_HANDLER_OUTPUT_BYTES - output.length);
        });
        res.on("end", () => {
          const st = res.statusCode ?? 0;
          if (st >= 200 && st < 300) settle({ ok: true, output });
          else settle({ ok: false, error: `http watch handler '${o.path}' got '${st} ${res.statusMessage ?? ""}' status`, output });
        });
        res.on("error", (e) => settle({ ok: false, error: e.message, output }));
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      settle({ ok: false, error: `Failed to invoke http watch handler '${o.path}': timeout after ${o.timeoutMs}ms`, output: "" });
    }, o.timeoutMs);
    req.on("error", (e) => settle({ ok: false, error: `Failed to invoke http watch handler '${o.path}': ${e.message}`, output: "" }));
    req.end(body);
  });
}
