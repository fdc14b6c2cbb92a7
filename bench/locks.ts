/**
 * bench/locks: sessions and locks against a real cairn agent process (-dev, in-memory log).
 *
 * Measures: session creates/s and renews/s (16 concurrent clients), with a plain KV PUT/s
 * ceiling from the same agent and clients; lock hand-off latency p50/p99 on a voluntary
 * release (holder ?release= -> the waiter, parked on a blocking read of the key, holds it);
 * hand-off latency when the holder's node dies (catalog deregistration -> the waiter, using
 * cairn lock's algorithm, holds it), reported as time past the lock-delay; and the CPU cost
 * of 10k TTL sessions on an idle leader (process CPU over an idle window, without and with
 * them). Prints a Markdown table on stdout, progress on stderr.
 * Usage: npm run bench -- locks [--ops=N] [--handoffs=N] [--deaths=N] [--sessions=N] [--idle=SECONDS]
 *
 * Must never: leave the agent running, or bind anything but 127.0.0.1.
 */

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Locker, LockHttp, LOCK_FLAG_VALUE } from "../src/cli/lock_api.ts";
import { cpuMsOf, freePort } from "./lib/index.ts";

function arg(name: string, def: number): number {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : def;
}
const OPS = arg("ops", 4000);
const HANDOFFS = arg("handoffs", 200);
const DEATHS = arg("deaths", 10);
const SESSIONS = arg("sessions", 10_000);
const IDLE_S = arg("idle", 10);
const CONC = 16;
const DEATH_DELAY_MS = 1000;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const rows: [string, string, string][] = [];
const row = (what: string, value: string, target = ""): void => {
  rows.push([what, value, target]);
  process.stderr.write(`${what}: ${value}\n`);
};

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const dataDir = mkdtempSync(path.join(os.tmpdir(), "cairn-bench-locks-"));
const agent = spawn(
  process.execPath,
  [path.join(root, "bin/cairn.mjs"), "agent", "-dev", "-bind", "127.0.0.1", "-client", "127.0.0.1", "-http-port", String(port),
    "-dns-port", "-1", "-server-port", "-1", "-serf-lan-port", "-1", "-serf-wan-port", "-1", "-log-level", "warn"],
  { stdio: ["ignore", "ignore", "inherit"] },
);
const cleanup = (): void => {
  agent.kill("SIGKILL");
  rmSync(dataDir, { recursive: true, force: true });
};
process.on("exit", cleanup);

async function call(method: string, p: string, body?: string): Promise<{ status: number; text: string; index: number }> {
  const r = await fetch(base + p, { method, ...(body === undefined ? {} : { body }) });
  return { status: r.status, text: await r.text(), index: Number(r.headers.get("x-consul-index") ?? 0) };
}
async function ok(method: string, p: string, body?: string): Promise<string> {
  const r = await call(method, p, body);
  if (r.status !== 200) throw new Error(`${method} ${p}: ${r.status} ${r.text}`);
  return r.text;
}
const idOf = (t: string): string => (JSON.parse(t) as { ID: string }).ID;

for (let i = 0; ; i++) {
  try {
    if ((await call("GET", "/v1/status/leader")).status === 200) break;
  } catch {
    // not up yet
  }
  if (i > 400) throw new Error("agent did not start");
  await new Promise((r) => setTimeout(r, 50));
}

async function rate(label: string, n: number, f: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONC }, async () => {
      for (let i = next++; i < n; i = next++) await f(i);
    }),
  );
  const perS = (n / (performance.now() - t0)) * 1000;
  process.stderr.write(`${label}: ${perS.toFixed(0)}/s\n`);
  return perS;
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

// ---- throughput: creates, renews, and the KV PUT ceiling ----------------------------------
await rate("warm-up", OPS, (i) => ok("PUT", `/v1/kv/bench/warm/${i}`, "x"));
await rate("warm-up sessions", OPS / 4, async () => ok("PUT", `/v1/session/destroy/${idOf(await ok("PUT", "/v1/session/create", '{"NodeChecks":[]}'))}`));
const kvPut = await rate("kv PUT", OPS, (i) => ok("PUT", `/v1/kv/bench/ceiling/${i}`, "x"));
const ids: string[] = [];
const creates = await rate("session create", OPS, async () => ids.push(idOf(await ok("PUT", "/v1/session/create", '{"TTL":"60s","NodeChecks":[]}'))));
const renews = await rate("session renew", OPS, (i) => ok("PUT", `/v1/session/renew/${ids[i % ids.length]}`));
await rate("session destroy", ids.length, (i) => ok("PUT", `/v1/session/destroy/${ids[i]}`));
row(`session creates/s (${CONC} clients; TTL 60s)`, creates.toFixed(0), `ceiling: kv PUT/s ${kvPut.toFixed(0)}`);
row(`session renews/s (${CONC} clients)`, renews.toFixed(0), "no log write");

// ---- voluntary hand-off ---------------------------------------------------------------------
{
  const a = idOf(await ok("PUT", "/v1/session/create", '{"NodeChecks":[]}'));
  const b = idOf(await ok("PUT", "/v1/session/create", '{"NodeChecks":[]}'));
  const lat: number[] = [];
  let holder = a;
  let waiter = b;
  await ok("PUT", `/v1/kv/bench/lock?acquire=${holder}`);
  for (let i = 0; i < HANDOFFS; i++) {
    const idx = (await call("GET", "/v1/kv/bench/lock")).index;
    // The waiter parks on the key, wakes when it changes, and acquires.
    const w = (async () => {
      await call("GET", `/v1/kv/bench/lock?index=${idx}&wait=10s`);
      const r = await ok("PUT", `/v1/kv/bench/lock?acquire=${waiter}`);
      const t = performance.now();
      if (r.trim() !== "true") throw new Error("waiter did not acquire");
      return t;
    })();
    await new Promise((r) => setTimeout(r, 2));
    const t0 = performance.now();
    await ok("PUT", `/v1/kv/bench/lock?release=${holder}`);
    lat.push((await w) - t0);
    [holder, waiter] = [waiter, holder];
  }
  row(`hand-off on voluntary release, p50 / p99 (${HANDOFFS} runs)`, `${pct(lat, 50).toFixed(2)} / ${pct(lat, 99).toFixed(2)} ms`, "p99 < 20 ms");
}

// ---- hand-off when the holder's node dies ------------------------------------------------------
{
  const past: number[] = [];
  const http = new LockHttp({ address: `127.0.0.1:${port}`, token: "", datacenter: "", stale: false, ssl: undefined });
  for (let i = 0; i < DEATHS; i++) {
    const node = `bench-node-${i}`;
    await ok("PUT", "/v1/catalog/register", JSON.stringify({ Node: node, Address: "127.0.0.2", Check: { CheckID: "serfHealth", Name: "serf", Status: "passing" } }));
    const holder = idOf(await ok("PUT", "/v1/session/create", JSON.stringify({ Node: node, LockDelay: `${DEATH_DELAY_MS}ms` })));
    const prefix = `bench/death/${i}`;
    await ok("PUT", `/v1/kv/${prefix}/.lock?acquire=${holder}&flags=${LOCK_FLAG_VALUE}`);
    const locker = new Locker(http, { limit: 1, prefix, sessionName: "bench", waitMs: 0, monitorRetries: 0, monitorRetryMs: 1000 });
    const got = locker.acquire().then(() => performance.now());
    await new Promise((r) => setTimeout(r, 300));
    const t0 = performance.now();
    await ok("PUT", "/v1/catalog/deregister", JSON.stringify({ Node: node }));
    past.push((await got) - t0 - DEATH_DELAY_MS);
    await locker.release();
  }
  row(
    `hand-off when the holder's node dies, past the lock-delay, p50 / p99 (${DEATHS} runs, lock-delay ${DEATH_DELAY_MS} ms)`,
    `${pct(past, 50).toFixed(1)} / ${pct(past, 99).toFixed(1)} ms`,
    "< 50 ms",
  );
}

// ---- CPU of TTL sessions on an idle leader --------------------------------------------------
async function idleCpu(): Promise<number> {
  const pid = agent.pid ?? 0;
  const c0 = cpuMsOf(pid);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, IDLE_S * 1000));
  return ((cpuMsOf(pid) - c0) / (performance.now() - t0)) * 100;
}
{
  const without = await idleCpu();
  const t0 = performance.now();
  // TTLs spread over 30..60 min so none expires in the window: the cost is holding the timers.
  await rate(`create ${SESSIONS} TTL sessions`, SESSIONS, (i) => ok("PUT", "/v1/session/create", JSON.stringify({ TTL: `${1800 + (i % 1800)}s`, NodeChecks: [] })));
  process.stderr.write(`created in ${(performance.now() - t0).toFixed(0)} ms\n`);
  const withSessions = await idleCpu();
  row(`idle leader CPU over ${IDLE_S}s: no sessions / ${SESSIONS} TTL sessions`, `${without.toFixed(2)}% / ${withSessions.toFixed(2)}%`, "< +5% CPU");
}

agent.kill("SIGTERM");
process.stdout.write(`\n| locks (cairn -dev, Node ${process.versions.node}) | value | target / ceiling |\n|---|---|---|\n`);
for (const [w, v, t] of rows) process.stdout.write(`| ${w} | ${v} | ${t} |\n`);
