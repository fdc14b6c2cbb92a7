/**
 * tests/cli/helpers: running the CLI in-process (memory I/O) or as a child
 * process (Node via tsx, Deno via deno run), and a tiny fake Consul KV server.
 */

import { spawn } from "node:child_process";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { COMMANDS, runCli } from "../../src/cli/index.ts";
import type { CliIO } from "../../src/cli/index.ts";
import { isDeno } from "../../src/platform/runtime.ts";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in this process with captured output. */
export async function runInProcess(
  args: string[],
  env: Record<string, string | undefined> = {},
  stdin = "",
  prog = "consul",
): Promise<RunResult> {
  let stdout = "";
  let stderr = "";
  const io: CliIO = {
    out: (d) => {
      stdout += typeof d === "string" ? d : Buffer.from(d).toString("utf8");
    },
    err: (d) => {
      stderr += typeof d === "string" ? d : Buffer.from(d).toString("utf8");
    },
    readStdin: () => Promise.resolve(stdin),
    env,
    prog,
  };
  const code = await runCli(args, COMMANDS, io);
  return { code, stdout, stderr };
}

const CHILD_TIMEOUT_MS = 20_000;

/** Runs src/main.ts in a child process of the current runtime. */
export function runMain(args: string[], env: Record<string, string> = {}, stdin = ""): Promise<RunResult> {
  const cmd = process.execPath;
  const pre = isDeno ? ["run", "-A", "src/main.ts"] : ["--import", "tsx", "src/main.ts"];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, [...pre, ...args], {
      cwd: ROOT,
      env: { ...process.env, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1", ...env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), CHILD_TIMEOUT_MS);
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end(stdin);
  });
}

export interface SeenRequest {
  method: string;
  url: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

interface Entry {
  value: Buffer;
  flags: number;
  createIndex: number;
  modifyIndex: number;
  session?: string;
}

/** A fake agent answering /v1/kv/ like Consul does (404 for missing keys, "true"/"false" for writes). */
export class FakeKV {
  readonly requests: SeenRequest[] = [];
  readonly data = new Map<string, Entry>();
  private index = 10;
  private server: http.Server | undefined;
  /** When set, every response has this status and body. */
  failWith: { status: number; body: string } | undefined;

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => this.handle(req, Buffer.concat(chunks), res));
    });
    await new Promise<void>((r) => this.server?.listen(0, "127.0.0.1", () => r()));
    const addr = this.server.address() as AddressInfo;
    return `127.0.0.1:${addr.port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => {
      if (!this.server) return r();
      this.server.closeAllConnections();
      this.server.close(() => r());
    });
  }

  set(key: string, value: string, flags = 0, session?: string): void {
    this.index++;
    this.data.set(key, {
      value: Buffer.from(value),
      flags,
      createIndex: this.index,
      modifyIndex: this.index,
      ...(session ? { session } : {}),
    });
  }

  private json(key: string, e: Entry): Record<string, unknown> {
    return {
      LockIndex: 0,
      Key: key,
      Flags: e.flags,
      Value: e.value.length === 0 ? null : e.value.toString("base64"),
      ...(e.session ? { Session: e.session } : {}),
      CreateIndex: e.createIndex,
      ModifyIndex: e.modifyIndex,
    };
  }

  private handle(req: http.IncomingMessage, body: Buffer, res: http.ServerResponse): void {
    const u = new URL(req.url ?? "/", "http://x");
    this.requests.push({
      method: req.method ?? "",
      url: req.url ?? "",
      path: u.pathname,
      query: u.searchParams,
      headers: req.headers,
      body,
    });
    const send = (status: number, text: string): void => {
      res.writeHead(status, { "Content-Type": "application/json", "X-Consul-Index": String(this.index) });
      res.end(text);
    };
    if (this.failWith) return send(this.failWith.status, this.failWith.body);
    if (!u.pathname.startsWith("/v1/kv/")) return send(404, "");
    const key = decodeURIComponent(u.pathname.slice("/v1/kv/".length));
    const q = u.searchParams;
    const sorted = [...this.data.keys()].sort();
    if (req.method === "GET") {
      if (q.has("keys")) {
        const sep = q.get("separator") ?? "";
        const out = new Set<string>();
        for (const k of sorted) {
          if (!k.startsWith(key)) continue;
          const rest = k.slice(key.length);
          const i = sep ? rest.indexOf(sep) : -1;
          out.add(i >= 0 ? key + rest.slice(0, i + sep.length) : k);
        }
        return out.size === 0 ? send(404, "") : send(200, JSON.stringify([...out]));
      }
      if (q.has("recurse")) {
        const list = sorted.filter((k) => k.startsWith(key)).map((k) => this.json(k, this.data.get(k) as Entry));
        return list.length === 0 ? send(404, "") : send(200, JSON.stringify(list));
      }
      const e = this.data.get(key);
      return e ? send(200, JSON.stringify([this.json(key, e)])) : send(404, "");
    }
    if (req.method === "PUT") {
      const cas = q.get("cas");
      const cur = this.data.get(key);
      if (cas !== null && (cur?.modifyIndex ?? 0) !== Number(cas)) return send(200, "false");
      this.index++;
      this.data.set(key, {
        value: body,
        flags: Number(q.get("flags") ?? "0"),
        createIndex: cur?.createIndex ?? this.index,
        modifyIndex: this.index,
      });
      return send(200, "true");
    }
    if (req.method === "DELETE") {
      const cas = q.get("cas");
      if (cas !== null) {
        const cur = this.data.get(key);
        if (!cur || cur.modifyIndex !== Number(cas)) return send(200, "false");
      }
      if (q.has("recurse")) {
        for (const k of sorted) if (k.startsWith(key)) this.data.delete(k);
      } else {
        this.data.delete(key);
      }
      return send(200, "true");
    }
    send(405, "method not allowed");
  }
}
