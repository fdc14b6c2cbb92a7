/**
 * Drop-in `consul`: does what HashiCorp's Go API test harness (sdk/testutil) does
 * with a `consul` binary (../shared/reference/go-api-harness.md): puts this
 * package's `consul` alias first on PATH, runs `consul version -format=json`,
 * writes the harness's JSON config with free ports, starts
 * `consul agent -config-file`, waits as the harness waits (API up, leader with
 * X-Consul-Index >= 2, active CA root), checks serfHealth, drives KV and catalog
 * calls, and stops the agent with SIGINT within a few seconds.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { isDeno } from "../../src/platform/runtime.ts";
import { ROOT, freePort, tempDir, removeDir } from "./agent_proc.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A bin dir with `consul` -> the package's CLI entry (what npm's bin alias installs). */
function consulOnPath(dir: string): NodeJS.ProcessEnv {
  const bin = path.join(dir, "bin");
  mkdirSync(bin, { recursive: true });
  if (isDeno) {
    // On Deno the CLI runs through a small launcher script named consul.
    const deno = path.join(ROOT, "node_modules/.bin/deno");
    writeFileSync(path.join(bin, "consul"), `#!/bin/sh\nexec "${deno}" run -A "${path.join(ROOT, "src/main.ts")}" "$@"\n`, { mode: 0o755 });
  } else {
    symlinkSync(path.join(ROOT, "bin/cairn.mjs"), path.join(bin, "consul"));
  }
  return { ...process.env, PATH: `${bin}:${process.env.PATH ?? ""}`, DENO_NO_UPDATE_CHECK: "1" };
}

test("consul version -format=json gives a Version the harness can parse", () => {
  const dir = tempDir("cairn-harness-v-");
  try {
    const env = consulOnPath(dir);
    const r = spawnSync("consul", ["version", "-format=json"], { env, encoding: "utf8", timeout: 30_000 });
    const v = JSON.parse(r.stdout) as { Version: string; Cairn?: string };
    // hashicorp/go-version must parse it; >= 1.14 makes the harness add a grpc_tls port.
    const m = /^(\d+)\.(\d+)\.(\d+)(-[0-9A-Za-z.-]+)?$/.exec(v.Version);
    assert.ok(m !== null, v.Version);
    const [major, minor] = [Number(m?.[1]), Number(m?.[2])];
    assert.ok(major > 1 || (major === 1 && minor >= 14), `Version ${v.Version} >= 1.14`);
    assert.type(v.Cairn, "string", "cairn's own version in a field of its own");
  } finally {
    removeDir(dir);
  }
});

test("the harness gets through set-up against `consul agent -config-file`", async () => {
  const dir = tempDir("cairn-harness-");
  const env = consulOnPath(dir);
  const vr = spawnSync("consul", ["version", "-format=json"], { env, encoding: "utf8", timeout: 30_000 });
  const version = (JSON.parse(vr.stdout) as { Version: string }).Version;
  const names = ["dns", "http", "https", "serf_lan", "serf_wan", "server", "grpc", "grpc_tls"] as const;
  const ports: Record<string, number> = {};
  for (const n of names) ports[n] = await freePort();
  const id = randomUUID();
  const config = {
    node_name: `node-${id}`,
    node_id: id,
    performance: { raft_multiplier: 1 },
    bootstrap: true,
    server: true,
    data_dir: path.join(dir, "data"),
    segments: null,
    disable_update_check: true,
    log_level: "debug",
    bind_addr: "127.0.0.1",
    addresses: {},
    ports,
    acl: { tokens: {} },
    connect: { enabled: true, ca_config: { cluster_id: "11111111-2222-3333-4444-555555555555" } },
    skip_leave_on_interrupt: true,
    peering: { enabled: true },
    version,
  };
  const cfgFile = path.join(dir, "config.json");
  writeFileSync(cfgFile, JSON.stringify(config));
  writeFileSync(path.join(dir, "reload.json"), ""); // an empty extra config file is valid
  const start = Date.now();
  const child = spawn("consul", ["agent", "-config-file", cfgFile, "-config-file", path.join(dir, "reload.json")], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d));
  child.stderr.on("data", (d: Buffer) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const base = `http://127.0.0.1:${ports.http}`;
  try {
    // 1. waitForAPI: every 25 ms for 2 s; the last attempt decides.
    let last = false;
    while (Date.now() - start < 2000) {
      try {
        const r = await fetch(`${base}/v1/status/leader`);
        await r.text();
        last = true;
      } catch {
        last = false;
      }
      await sleep(25);
    }
    assert.ok(last, `api unavailable 2 s after start:\n${out}`);

    // 2. WaitForLeader: /v1/catalog/nodes 200, KnownLeader true, index >= 2, within 7 s.
    let leader = false;
    for (const t0 = Date.now(); Date.now() - t0 < 7000 && !leader; await sleep(25)) {
      const r = await fetch(`${base}/v1/catalog/nodes`);
      await r.text();
      leader =
        r.status === 200 &&
        r.headers.get("x-consul-knownleader") === "true" &&
        Number(r.headers.get("x-consul-index")) >= 2;
    }
    assert.ok(leader, "leader and catalog index >= 2");

    // 3. WaitForActiveCARoot.
    let roots = false;
    for (const t0 = Date.now(); Date.now() - t0 < 7000 && !roots; await sleep(25)) {
      const r = await fetch(`${base}/v1/agent/connect/ca/roots`);
      if (r.status !== 200) {
        await r.text();
        continue;
      }
      const j = (await r.json()) as { ActiveRootID?: string; Roots?: unknown[] };
      roots = !!j.ActiveRootID && Array.isArray(j.Roots) && j.Roots.length > 0;
    }
    assert.ok(roots, "active CA root");

    // The node registered itself with a passing serfHealth check.
    const checks = (await (await fetch(`${base}/v1/health/node/${config.node_name}`)).json()) as Array<{ CheckID: string; Status: string }>;
    assert.ok(checks.some((c) => c.CheckID === "serfHealth" && c.Status === "passing"), JSON.stringify(checks));

    // WaitForSerfCheck: the first node of /v1/catalog/nodes?index=0 has a serfHealth check.
    const nodes = (await (await fetch(`${base}/v1/catalog/nodes?index=0`)).json()) as Array<{ Node: string }>;
    assert.ok(nodes.length >= 1);
    const first = (await (await fetch(`${base}/v1/health/node/${nodes[0]?.Node ?? ""}`)).json()) as Array<{ CheckID: string }>;
    assert.ok(first.some((c) => c.CheckID === "serfHealth"), JSON.stringify(first));

    // WaitForServiceIntentions: deleting a service-intentions entry that does not exist is a 200.
    const del = await fetch(`${base}/v1/config/service-intentions/Sa4ohw5raith4si0Ohwuqu3lowiethoh`, { method: "DELETE" });
    assert.is(del.status, 200, await del.text());

    // api TestAPI_ConnectCARoots_list: index > 0, one root, the fixed trust domain.
    const rootsRes = await fetch(`${base}/v1/connect/ca/roots`);
    const rootList = (await rootsRes.json()) as { TrustDomain: string; Roots: unknown[] };
    assert.ok(Number(rootsRes.headers.get("x-consul-index")) > 0);
    assert.is(rootList.Roots.length, 1);
    assert.is(rootList.TrustDomain, "11111111-2222-3333-4444-555555555555.consul");

    // api TestAPI_ConnectCAConfig_get_set: the defaults, then a PUT of what was read with
    // Go-encoded (nanosecond) durations, an empty PrivateKey and test_state, read back as State.
    const NS_PER_H = 3_600_000_000_000;
    const caCfg = (await (await fetch(`${base}/v1/connect/ca/configuration`)).json()) as {
      Provider: string;
      Config: Record<string, unknown>;
      State: Record<string, string> | null;
    };
    assert.is(caCfg.Provider, "consul");
    assert.equal(caCfg.Config, { IntermediateCertTTL: "8760h", LeafCertTTL: "72h", RootCertTTL: "87600h" });
    caCfg.Config["PrivateKey"] = "";
    caCfg.Config["IntermediateCertTTL"] = 300 * 24 * NS_PER_H;
    caCfg.Config["RootCertTTL"] = 11 * 365 * 24 * NS_PER_H;
    caCfg.Config["test_state"] = { foo: "bar" };
    const setCfg = await fetch(`${base}/v1/connect/ca/configuration`, { method: "PUT", body: JSON.stringify(caCfg) });
    assert.is(setCfg.status, 200, await setCfg.text());
    const updated = (await (await fetch(`${base}/v1/connect/ca/configuration`)).json()) as typeof caCfg;
    assert.is(updated.Config["IntermediateCertTTL"], 300 * 24 * NS_PER_H);
    assert.is(updated.State?.["foo"], "bar");
    const afterRoots = (await (await fetch(`${base}/v1/connect/ca/roots`)).json()) as { Roots: unknown[] };
    assert.is(afterRoots.Roots.length, 1, "a TTL change keeps the root");

    // api TestAPI_AgentConnectCALeaf and TestAPI_AgentConnectAuthorize.
    const regFoo = await fetch(`${base}/v1/agent/service/register`, { method: "PUT", body: JSON.stringify({ Name: "foo", Tags: ["bar", "baz"], Port: 8000 }) });
    assert.is(regFoo.status, 200, await regFoo.text());
    const leafRes = await fetch(`${base}/v1/agent/connect/ca/leaf/foo`);
    const leaf = (await leafRes.json()) as Record<string, string | number>;
    assert.ok(Number(leafRes.headers.get("x-consul-index")) > 0);
    for (const k of ["SerialNumber", "CertPEM", "PrivateKeyPEM"]) assert.ok(leaf[k], k);
    assert.is(leaf["Service"], "foo");
    assert.ok(String(leaf["ServiceURI"]).endsWith("/svc/foo"));
    assert.ok(Number(leaf["ModifyIndex"]) > 0);
    assert.ok(Date.parse(String(leaf["ValidAfter"])) < Date.now() && Date.parse(String(leaf["ValidBefore"])) > Date.now());
    const auth = await fetch(`${base}/v1/agent/connect/authorize`, {
      method: "POST",
      body: JSON.stringify({ Target: "foo", ClientCertSerial: "fake", ClientCertURI: "spiffe://11111111-2222-3333-4444-555555555555.consul/ns/default/dc/dc1/svc/web" }),
    });
    assert.equal(await auth.json(), { Authorized: true, Reason: "Default behavior configured by ACLs" });

    // api TestAPI_AgentReload: the extra config file, empty at start, gains a service.
    writeFileSync(path.join(dir, "reload.json"), `{"service":{"name":"redis","port":1234,"Meta":{"some":"meta"}}}`);
    const reload = await fetch(`${base}/v1/agent/reload`, { method: "PUT" });
    assert.is(reload.status, 200, await reload.text());
    const agentSvcs = (await (await fetch(`${base}/v1/agent/services`)).json()) as Record<string, { Port: number; Meta: Record<string, string> }>;
    assert.is(agentSvcs["redis"]?.Port, 1234, JSON.stringify(agentSvcs));
    assert.equal(agentSvcs["redis"]?.Meta, { some: "meta" });

    // A few KV and catalog calls, as the api tests make.
    const put = await fetch(`${base}/v1/kv/harness/key`, { method: "PUT", body: "value" });
    assert.is(await put.text(), "true");
    const raw = await fetch(`${base}/v1/kv/harness/key?raw`);
    assert.is(await raw.text(), "value");
    const reg = await fetch(`${base}/v1/catalog/register`, {
      method: "PUT",
      body: JSON.stringify({ Node: "foobar", Address: "192.0.2.10", Service: { Service: "redis", Port: 6379, Tags: ["primary"] } }),
    });
    assert.is(await reg.text(), "true");
    const svc = (await (await fetch(`${base}/v1/catalog/service/redis`)).json()) as Array<{ Node: string; ServicePort: number; ServiceTags: string[] }>;
    assert.is(svc.length, 2, "the reloaded agent service and the catalog one");
    assert.is(svc.find((x) => x.Node === "foobar")?.ServicePort, 6379);
    const self = (await (await fetch(`${base}/v1/agent/self`)).json()) as { Config: { NodeName: string; Server: boolean } };
    assert.is(self.Config.NodeName, config.node_name);
    assert.is(self.Config.Server, true);

    // Stop as the harness does: SIGINT, and the agent exits within a few seconds.
    const t0 = Date.now();
    if (child.pid !== undefined) process.kill(child.pid, "SIGINT");
    const code = await Promise.race([exited, sleep(10_000).then(() => "timeout" as const)]);
    assert.is.not(code, "timeout", `agent did not exit after SIGINT:\n${out}`);
    assert.is(code, 0, out);
    assert.ok(Date.now() - t0 < 5000, "exited within 5 s");
  } finally {
    child.kill("SIGKILL");
    removeDir(dir);
  }
});

test.run();
