/**
 * End to end: a Prometheus-style discovery loop against a real durable agent process.
 * VictoriaMetrics (Debian's package; its consul_sd_configs follows Prometheus's and, like it,
 * uses /v1/agent/self and blocking /v1/catalog/services and /v1/health/service/<s> queries with
 * ?dc=&stale&index=&wait=) discovers the service "web", scrapes the test's /metrics server, and
 * drops the target when the service is deregistered. VictoriaMetrics is installed by
 * tests/setup/ensure_packages.sh when missing; the test skips with a message when that is
 * impossible.
 */

import { suite } from "../shared/suite.ts";
import * as assert from "uvu/assert";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, removeDir, startAgent, tempDir, type AgentProc } from "./agent_proc.ts";

const test = suite("discovery-victoriametrics");
const here = path.dirname(fileURLToPath(import.meta.url));
const JOB = "cairn-web";
/** Each wait (target up, target gone) is bounded by this. */
const WAIT_MS = 15_000;

let haveVm = false;
try {
  execFileSync("sh", [path.join(here, "../setup/ensure_packages.sh"), "victoria-metrics"], { stdio: "ignore", timeout: 180_000 });
  haveVm = true;
} catch {
  console.log("VictoriaMetrics discovery test SKIPPED: victoria-metrics is not installed and tests/setup/ensure_packages.sh could not install it");
}

let agent: AgentProc | null = null;
let vm: ChildProcess | null = null;
let vmOut = "";
let vmExited: Promise<void> = Promise.resolve();
let vmPort = 0;
let metrics: http.Server | null = null;
let metricsPort = 0;
let scrapes = 0;
let dir = "";

test.before(async () => {
  if (!haveVm) return;
  dir = tempDir("cairn-e2e-vm-");
  agent = await startAgent({ args: ["-server", "-bootstrap-expect", "1", "-data-dir", path.join(dir, "agent"), "-node", "vm-node"] });
  metrics = http.createServer((req, res) => {
    if (req.url === "/healthz") {
      res.end("ok");
      return;
    }
    if (req.url !== "/metrics") {
      res.statusCode = 404;
      res.end();
      return;
    }
    scrapes++;
    res.setHeader("content-type", "text/plain; version=0.0.4");
    res.end(`# HELP cairn_e2e_demo A constant.\n# TYPE cairn_e2e_demo gauge\ncairn_e2e_demo 42\n`);
  });
  await new Promise<void>((r) => metrics!.listen(0, "127.0.0.1", r));
  const a = metrics.address();
  metricsPort = typeof a === "object" && a !== null ? a.port : 0;

  const config = [
    "global:",
    "  scrape_interval: 1s",
    "scrape_configs:",
    `  - job_name: ${JOB}`,
    "    scrape_interval: 1s",
    "    consul_sd_configs:",
    `      - server: "127.0.0.1:${agent.httpPort}"`,
    `        services: ["web"]`,
    "    relabel_configs:",
    "      - source_labels: [__meta_consul_service]",
    "        action: keep",
    "        regex: web",
    "      - source_labels: [__meta_consul_service_id]",
    "        target_label: service_id",
    "      - source_labels: [__meta_consul_health]",
    "        target_label: consul_health",
    "",
  ].join("\n");
  fs.writeFileSync(path.join(dir, "scrape.yml"), config);
  vmPort = await freePort();
  vm = spawn(
    "victoria-metrics",
    [
      `-promscrape.config=${path.join(dir, "scrape.yml")}`,
      `-httpListenAddr=127.0.0.1:${vmPort}`,
      `-storageDataPath=${path.join(dir, "vm")}`,
      "-promscrape.consulSDCheckInterval=1s",
      "-search.latencyOffset=0s",
      "-search.disableCache",
      "-loggerLevel=WARN",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const proc = vm;
  proc.stdout?.on("data", (d: Buffer) => (vmOut += d.toString()));
  proc.stderr?.on("data", (d: Buffer) => (vmOut += d.toString()));
  vmExited = new Promise<void>((r) => proc.once("exit", () => r()));
  const deadline = Date.now() + WAIT_MS;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`http://127.0.0.1:${vmPort}/health`)).status === 200) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`victoria-metrics did not start on 127.0.0.1:${vmPort}:\n${vmOut}`);
});

test.after(async () => {
  if (vm !== null && vm.exitCode === null && vm.pid !== undefined) {
    process.kill(vm.pid, "SIGTERM");
    const t = setTimeout(() => vm?.kill("SIGKILL"), 5000);
    await vmExited;
    clearTimeout(t);
  }
  if (metrics !== null) await new Promise<void>((r) => metrics!.close(() => r()));
  if (agent !== null) await agent.stop();
  if (dir !== "") removeDir(dir);
});

interface Target {
  labels: Record<string, string>;
  discoveredLabels: Record<string, string>;
  health: string;
  lastError: string;
}

async function targets(): Promise<Target[]> {
  const r = await fetch(`http://127.0.0.1:${vmPort}/api/v1/targets`);
  const body = (await r.json()) as { data?: { activeTargets?: Target[] } };
  return (body.data?.activeTargets ?? []).filter((t) => t.labels["job"] === JOB);
}

async function waitUntil<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  let last = "";
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = String(e);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const seen = await targets().catch(() => []);
  throw new Error(`${what}: not within ${WAIT_MS} ms (${last}); targets: ${JSON.stringify(seen)}\nvictoria-metrics:\n${vmOut}\nagent:\n${agent?.output() ?? ""}`);
}

async function put(p: string, body?: unknown): Promise<void> {
  const r = await fetch(`${agent!.base}${p}`, { method: "PUT", body: body === undefined ? undefined : JSON.stringify(body) });
  assert.is(r.status, 200, `PUT ${p}: ${await r.text()}`);
}

test("VictoriaMetrics consul_sd finds a registered service, scrapes it, drops it on deregistration", async () => {
  if (!haveVm) return;
  const t0 = Date.now();
  assert.equal(await targets(), [], "no target before registration");
  await put("/v1/agent/service/register", {
    Name: "web",
    ID: "web-vm-1",
    Address: "127.0.0.1",
    Port: metricsPort,
    Tags: ["metrics"],
    Meta: { team: "e2e" },
    Check: { HTTP: `http://127.0.0.1:${metricsPort}/healthz`, Interval: "1s" },
  });

  // Up, and rediscovered once the HTTP check passed (a woken blocking health query): the health
  // is a target label, so VictoriaMetrics replaces the target when it changes.
  const up = await waitUntil("target discovered, up and passing", async () => {
    const t = await targets();
    return t.length === 1 && t[0]!.health === "up" && t[0]!.labels["consul_health"] === "passing" ? t[0] : undefined;
  });
  const tUp = Date.now();
  assert.is(up.labels["instance"], `127.0.0.1:${metricsPort}`);
  assert.is(up.labels["service_id"], "web-vm-1");
  const d = up.discoveredLabels;
  assert.is(d["__meta_consul_service"], "web");
  assert.is(d["__meta_consul_node"], "vm-node");
  assert.is(d["__meta_consul_dc"], "dc1");
  assert.is(d["__meta_consul_tags"], ",metrics,");
  assert.is(d["__meta_consul_service_metadata_team"], "e2e");
  assert.is(d["__meta_consul_service_port"], String(metricsPort));
  assert.ok(scrapes > 0, "the /metrics server was scraped");

  // The scraped samples are queryable: up{job} and the served gauge.
  const sample = await waitUntil("scraped samples queryable", async () => {
    const r = await fetch(`http://127.0.0.1:${vmPort}/api/v1/query?query=${encodeURIComponent(`cairn_e2e_demo{job="${JOB}"}`)}`);
    const body = (await r.json()) as { data?: { result?: Array<{ value: [number, string] }> } };
    const v = body.data?.result?.[0]?.value[1];
    return v === undefined ? undefined : v;
  });
  assert.is(sample, "42");
  const tSample = Date.now();

  await put("/v1/agent/service/deregister/web-vm-1");
  const tDown = Date.now();
  await waitUntil("target dropped", async () => ((await targets()).length === 0 ? true : undefined));
  console.log(`  VictoriaMetrics: target up+passing after ${tUp - t0} ms, sample queryable ${tSample - tUp} ms later, target dropped ${Date.now() - tDown} ms after deregistration`);
  const before = scrapes;
  await new Promise((r) => setTimeout(r, 2500));
  assert.ok(scrapes - before <= 1, `scraping stopped after the target was dropped (${scrapes - before} more)`);
});

test.run();
