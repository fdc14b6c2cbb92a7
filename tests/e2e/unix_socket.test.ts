/**
 * addresses { http = "unix:///path" } serves the HTTP API on a unix socket, with
 * unix_sockets { mode } applied to the socket file; the CLI reaches it through
 * CONSUL_HTTP_ADDR=unix:///path.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn, spawnSync } from "node:child_process";
import { statSync, writeFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { cairnCommand, ROOT, tempDir, removeDir } from "./agent_proc.ts";

function request(socketPath: string, method: string, p: string, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, method, path: p }, (res) => {
      let data = "";
      res.on("data", (d: Buffer) => (data += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: data }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

test("the HTTP API on a unix socket, with its mode, reachable by the CLI", async () => {
  const dir = tempDir("cairn-unix-");
  const sock = path.join(dir, "agent.sock");
  const cfg = path.join(dir, "agent.hcl");
  writeFileSync(cfg, `addresses { http = "unix://${sock}" }\nunix_sockets { mode = "0700" }\n`);
  const { cmd, args } = cairnCommand();
  const child = spawn(cmd, [...args, "agent", "-dev", "-config-file", cfg, "-dns-port", "-1"], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, DENO_NO_UPDATE_CHECK: "1" },
  });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d));
  child.stderr.on("data", (d: Buffer) => (out += d));
  const exited = new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
  try {
    let up = false;
    for (let i = 0; i < 200 && !up; i++) {
      try {
        up = (await request(sock, "GET", "/v1/status/leader")).status === 200;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    assert.ok(up, `agent did not answer on ${sock}:\n${out}`);
    assert.is(statSync(sock).mode & 0o777, 0o700);
    assert.is((await request(sock, "PUT", "/v1/kv/unix/k", "over-a-socket")).body.trim(), "true");
    const cli = spawnSync(cmd, [...args, "kv", "get", "unix/k"], {
      cwd: ROOT,
      encoding: "utf8",
      env: { ...process.env, DENO_NO_UPDATE_CHECK: "1", CONSUL_HTTP_ADDR: `unix://${sock}` },
      timeout: 30_000,
    });
    assert.is(cli.stdout.trim(), "over-a-socket", cli.stderr);
  } finally {
    if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, "SIGINT");
    const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r("timeout"), 10_000))]);
    if (code === "timeout") child.kill("SIGKILL");
    removeDir(dir);
  }
});

test.run();
