/**
 * The Node single executable (scripts/sea/build.mjs, `npm run compile` when no denort):
 * builds dist/sea (or reuses it when its stamp matches the sources), then runs the binary
 * under both names: version output, usage naming the program, and a durable single server
 * whose WAL worker and health-check pool run inside the executable (KV survives a SIGTERM
 * restart, a TCP check turns passing, SIGINT exits 0).
 * Node only: the SEA is a Node artifact; on Deno the suite is skipped.
 * Children get TMPDIR set to a test temp dir, so the extracted worker files go away with it.
 */
import { test } from "../shared/suite.ts";
import * as assert from "uvu/assert";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { isDeno } from "../../src/platform/runtime.ts";
import { ROOT, freePort, removeDir, tempDir } from "./agent_proc.ts";

const BUILD_TIMEOUT_MS = 240_000;
const CMD_TIMEOUT_MS = 15_000;
const READY_TIMEOUT_MS = 20_000;
const CHECK_PASS_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 15_000;

const SEA_DIR = path.join(ROOT, "dist", "sea");
const CAIRN = path.join(SEA_DIR, "cairn");
const CONSUL = path.join(SEA_DIR, "consul");

const live = new Set<ChildProcess>();
const dirs: string[] = [];
process.on("exit", () => {
  for (const c of live) c.kill("SIGKILL");
  for (const d of dirs) removeDir(d);
});

interface Ran {
  code: number | string;
  out: string;
  err: string;
}

function run(cmd: string, args: string[], env: Record<string, string>, timeoutMs: number): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
    live.add(child);
    let out = "";
    let err = "";
    child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
    const t = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (code, sig) => {
      clearTimeout(t);
      live.delete(child);
      resolve({ code: code ?? sig ?? -1, out, err });
    });
  });
}

interface Agent {
  readonly base: string;
  output(): string;
  stop(signal: NodeJS.Signals): Promise<number | string>;
}

async function startSeaAgent(exe: string, dataDir: string, env: Record<string, string>): Promise<Agent> {
  const port = await freePort();
  const args = ["agent", "-server", "-bootstrap-expect", "1", "-data-dir", dataDir, "-bind", "127.0.0.1", "-client", "127.0.0.1"];
  args.push("-http-port", String(port), "-dns-port", "-1", "-server-port", "-1", "-serf-lan-port", "-1", "-serf-wan-port", "-1");
  const child = spawn(exe, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  live.add(child);
  let out = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  let gone = false;
  const exited = new Promise<number | string>((resolve) => {
    child.on("exit", (code, sig) => {
      gone = true;
      live.delete(child);
      resolve(code ?? sig ?? -1);
    });
  });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let ready = false;
  while (!ready && !gone && Date.now() < deadline) {
    try {
      const r = await fetch(`${base}/v1/status/leader`);
      ready = r.status === 200 && (await r.text()).length > 2;
    } catch {
      // not listening yet
    }
    if (!ready) await new Promise((r) => setTimeout(r, 50));
  }
  const stop = async (signal: NodeJS.Signals): Promise<number | string> => {
    if (!gone && child.pid !== undefined) process.kill(child.pid, signal);
    const t = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
    const code = await exited;
    clearTimeout(t);
    return code;
  };
  if (!ready) {
    await stop("SIGKILL");
    throw new Error(`SEA agent did not become ready on ${base}; output:\n${out}`);
  }
  return { base, output: () => out, stop };
}

if (isDeno) {
  console.log("sea: SKIPPED on Deno - the single executable is a Node artifact (run: node scripts/test.mjs node tests/e2e sea)");
  test.skip("sea: Node single executable (Node only)", () => {});
} else {
  let tmp = "";
  let env: Record<string, string> = {};

  test.before(async () => {
    tmp = tempDir("cairn-sea-test-");
    dirs.push(tmp);
    env = { TMPDIR: tmp, NO_COLOR: "1" };
    const r = await run(process.execPath, [path.join(ROOT, "scripts/sea/build.mjs")], {}, BUILD_TIMEOUT_MS);
    if (r.code !== 0) throw new Error(`SEA build failed (${r.code}):\n${r.out}${r.err}`);
  });

  test.after(() => {
    for (const c of live) c.kill("SIGKILL");
    removeDir(tmp);
  });

  test("sea: build leaves cairn and consul (one binary under two names)", () => {
    assert.ok(existsSync(CAIRN) && existsSync(CONSUL));
    const a = statSync(CAIRN);
    const b = statSync(CONSUL);
    assert.is(a.size, b.size);
    assert.ok((a.mode & 0o111) !== 0, "executable");
  });

  test("sea: consul version -format=json and cairn version", async () => {
    const j = await run(CONSUL, ["version", "-format=json"], env, CMD_TIMEOUT_MS);
    assert.is(j.code, 0, j.err);
    const v = JSON.parse(j.out) as { Version?: unknown };
    assert.type(v.Version, "string");
    assert.match(String(v.Version), /^\d+\.\d+\.\d+/);
    const c = await run(CAIRN, ["version"], env, CMD_TIMEOUT_MS);
    assert.is(c.code, 0, c.err);
    assert.match(c.out, /^Consul v\d+\.\d+\.\d+/);
  });

  test("sea: usage names the program by the name it was started as", async () => {
    const a = await run(CONSUL, [], env, CMD_TIMEOUT_MS);
    assert.match(a.out + a.err, /Usage: consul /);
    const b = await run(CAIRN, [], env, CMD_TIMEOUT_MS);
    assert.match(b.out + b.err, /Usage: cairn /);
  });

  test("sea: agent KV survives a SIGTERM restart, a TCP check passes, SIGINT exits 0", async () => {
    const data = path.join(tmp, "data");
    let agent = await startSeaAgent(CONSUL, data, env);
    try {
      const put = await fetch(`${agent.base}/v1/kv/sea/hello`, { method: "PUT", body: "from the single executable" });
      assert.is(await put.text(), "true");
      const got = await fetch(`${agent.base}/v1/kv/sea/hello?raw`);
      assert.is(await got.text(), "from the single executable");
      assert.is(await agent.stop("SIGTERM"), 0, agent.output());

      agent = await startSeaAgent(CAIRN, data, env);
      const again = await fetch(`${agent.base}/v1/kv/sea/hello?raw`);
      assert.is(again.status, 200, agent.output());
      assert.is(await again.text(), "from the single executable");

      const addr = agent.base.replace("http://", "");
      const reg = await fetch(`${agent.base}/v1/agent/check/register`, {
        method: "PUT",
        body: JSON.stringify({ ID: "sea-tcp", Name: "sea tcp", TCP: addr, Interval: "1s", Timeout: "2s" }),
      });
      assert.is(reg.status, 200, await reg.text());
      let status = "";
      let output = "";
      const deadline = Date.now() + CHECK_PASS_TIMEOUT_MS;
      while (status !== "passing" && Date.now() < deadline) {
        const r = await fetch(`${agent.base}/v1/agent/checks`);
        const checks = (await r.json()) as Record<string, { Status?: string; Output?: string }>;
        status = checks["sea-tcp"]?.Status ?? "";
        output = checks["sea-tcp"]?.Output ?? "";
        if (status !== "passing") await new Promise((res) => setTimeout(res, 100));
      }
      assert.is(status, "passing", `${output}\n${agent.output()}`);
      assert.match(output, /TCP connect .*: Success/);

      // The worker bundles were extracted once into a private dir under TMPDIR.
      const extracted = readdirSync(tmp).filter((n) => /^cairn-sea-[0-9a-f]+$/.test(n));
      assert.is(extracted.length, 1, readdirSync(tmp).join(", "));
      assert.is(statSync(path.join(tmp, extracted[0] as string)).mode & 0o777, 0o700);

      assert.is(await agent.stop("SIGINT"), 0, agent.output());
      // No runtime warnings (e.g. a native addon require()d from the SEA's main script).
      assert.not.match(agent.output(), /\(node:\d+\) \w*Warning/);
    } finally {
      await agent.stop("SIGKILL");
    }
  });
}

test.run();
