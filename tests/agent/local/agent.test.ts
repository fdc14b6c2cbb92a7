import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { startLocalAgent, decodeService } from "../../../src/agent/local/index.ts";
import { StoreBackend } from "../../http/catalog_helpers.ts";
import { httpServer } from "../../checks/servers.ts";

const base = {
  nodeName: "node1",
  nodeId: "6e2d1f1a-0000-4000-8000-000000000001",
  datacenter: "dc1",
  address: "127.0.0.1",
  logger: () => {},
};
const cfg = {
  services: [],
  checks: [],
  enableScriptChecks: false,
  enableLocalScriptChecks: false,
  checkOutputMaxSize: 4096,
  checkUpdateIntervalMs: 0,
};

async function until(cond: () => boolean, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end && !cond()) await new Promise((r) => setTimeout(r, 20));
  return cond();
}

test("config-file services and checks are registered (not persisted); local scripts need enable_local_script_checks", async () => {
  const backend = new StoreBackend();
  const dir = mkdtempSync(path.join(os.tmpdir(), "cairn-local-"));
  const services = [{ name: "web", port: 80, checks: [{ args: ["/bin/sh", "-c", "echo ok"], interval: "1s" }] }];
  const checks = [{ id: "mem", name: "mem", ttl: "30s" }];
  try {
    let err = "";
    try {
      await startLocalAgent({ ...base, backend, dataDir: dir, config: { ...cfg, services, checks } });
    } catch (e) {
      err = (e as Error).message;
    }
    assert.is(err, `Failed to register service "web": Scripts are disabled on this agent; to enable, configure 'enable_script_checks' or 'enable_local_script_checks' to true`);
    const local = await startLocalAgent({ ...base, backend, dataDir: dir, config: { ...cfg, services, checks, enableLocalScriptChecks: true } });
    try {
      assert.equal(local.services().map((s) => s.id), ["web"]);
      assert.equal(local.checks().map((c) => c.checkId), ["mem", "service:web"]);
      assert.ok(await until(() => local.check("service:web")?.status === "passing"));
      assert.is(local.check("service:web")!.output, "ok\n");
      await local.syncNow();
      assert.is(backend.store.healthService("web").value[0]!.checks.find((c) => c.checkId === "service:web")!.status, "passing");
      // remote script registration is refused without enable_script_checks
      let remote = "";
      try {
        await local.registerService(decodeService({ Name: "x", Check: { Args: ["/bin/true"], Interval: "1s" } }, false), { replaceExistingChecks: false, token: "" });
      } catch (e) {
        remote = (e as Error).message;
      }
      assert.match(remote, /from remote calls/);
    } finally {
      await local.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("flapping HTTP check with failures_before_critical; deregister_critical_service_after reaps the service", async () => {
  const backend = new StoreBackend();
  let ok = true;
  const srv = await httpServer((_q, res) => {
    res.statusCode = ok ? 200 : 500;
    res.end(ok ? "up" : "down");
  });
  const local = await startLocalAgent({ ...base, backend, dataDir: undefined, config: cfg, reapIntervalMs: 100, deregisterMinMs: 10 });
  try {
    await local.registerService(
      decodeService(
        {
          Name: "web",
          Check: { CheckID: "h", HTTP: `http://127.0.0.1:${srv.port}/`, Interval: "1s", FailuresBeforeCritical: 2, DeregisterCriticalServiceAfter: "1500ms" },
        },
        false,
      ),
      { replaceExistingChecks: false, token: "" },
    );
    assert.ok(await until(() => local.check("h")?.status === "passing", 3000));
    ok = false;
    const runs = local.runsOf("h");
    assert.ok(await until(() => local.runsOf("h") === runs + 1, 3000));
    assert.is(local.check("h")!.status, "passing", "one failure is below failures_before_critical");
    assert.ok(await until(() => local.check("h")?.status === "critical", 3000));
    assert.ok(local.check("h")!.output.includes("500 Internal Server Error"));
    // critical for > 1.5 s: the reaper removes the service and its check
    assert.ok(await until(() => local.service("web") === undefined, 6000), "reaped");
    assert.is(local.check("h"), undefined);
    await local.syncNow();
    assert.equal(backend.store.catalogService("web").value, []);
  } finally {
    await local.close();
    await srv.close();
  }
});

test("alias check mirrors the local service's checks", async () => {
  const backend = new StoreBackend();
  const local = await startLocalAgent({ ...base, backend, dataDir: undefined, config: cfg });
  try {
    await local.registerService(decodeService({ Name: "db", Check: { CheckID: "dbttl", TTL: "30s", Status: "passing" } }, false), { replaceExistingChecks: false, token: "" });
    await local.registerService(decodeService({ Name: "proxy", Check: { CheckID: "alias", AliasService: "db" } }, false), { replaceExistingChecks: false, token: "" });
    assert.ok(await until(() => local.check("alias")?.status === "passing"));
    assert.is(local.check("alias")!.output, "All checks passing.");
    await local.updateTtl("dbttl", "critical", "boom");
    assert.ok(await until(() => local.check("alias")?.status === "critical"));
    assert.is(local.check("alias")!.output, 'Aliased check "Service \'db\' check" failing: boom');
    await local.deregisterService("db");
    assert.ok(await until(() => local.check("alias")?.output === "Service db could not be found on node "));
  } finally {
    await local.close();
  }
});

test("persistence: API registrations, TTL state and maintenance survive a restart; checks come back critical", async () => {
  const backend = new StoreBackend();
  const dir = mkdtempSync(path.join(os.tmpdir(), "cairn-local-"));
  try {
    let local = await startLocalAgent({ ...base, backend, dataDir: dir, config: cfg });
    await local.registerService(decodeService({ Name: "web", Port: 80, Checks: [{ CheckID: "t", TTL: "60s" }, { CheckID: "t2", TTL: "60s", Status: "passing" }] }, false), { replaceExistingChecks: false, token: "" });
    await local.updateTtl("t", "passing", "fine");
    await local.enableNodeMaintenance("", "");
    await local.close();
    local = await startLocalAgent({ ...base, backend, dataDir: dir, config: cfg });
    try {
      assert.equal(local.services().map((s) => s.id), ["web"]);
      assert.equal(local.checks().map((c) => c.checkId), ["_node_maintenance", "t", "t2"]);
      assert.equal([local.check("t")!.status, local.check("t")!.output], ["passing", "fine"], "TTL state restored");
      assert.is(local.check("t2")!.status, "critical", "restored checks start critical");
      await local.deregisterService("web");
      await local.disableNodeMaintenance();
    } finally {
      await local.close();
    }
    local = await startLocalAgent({ ...base, backend, dataDir: dir, config: cfg });
    assert.equal(local.services(), []);
    assert.equal(local.checks(), []);
    await local.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
