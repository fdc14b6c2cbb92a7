import { test } from "uvu";
import * as assert from "uvu/assert";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { runInProcess } from "./helpers.ts";
import { removeDir, startAgent, tempDir } from "../e2e/agent_proc.ts";

test("services register/deregister, catalog datacenters/nodes/services and maint against a real agent", async () => {
  const dir = tempDir();
  const a = await startAgent({ args: ["-dev", "-node", "cli-node"] });
  const env = { CONSUL_HTTP_ADDR: `127.0.0.1:${a.httpPort}` };
  try {
    let r = await runInProcess(["services", "register", "-name", "web", "-port", "80", "-tag", "v1", "-meta", "a=b"], env);
    assert.equal([r.code, r.stdout], [0, "Registered service: web\n"]);
    const hcl = path.join(dir, "api.hcl");
    writeFileSync(hcl, 'service {\n  name = "api"\n  port = 9000\n  tags = ["x"]\n  check {\n    id = "api-ttl"\n    ttl = "30s"\n  }\n}\n');
    r = await runInProcess(["services", "register", hcl], env);
    assert.equal([r.code, r.stdout], [0, "Registered service: api\n"]);
    const checks = (await (await fetch(`${a.base}/v1/agent/checks`)).json()) as Record<string, unknown>;
    assert.ok("api-ttl" in checks);
    r = await runInProcess(["services", "register"], env);
    assert.equal([r.code, r.stderr], [1, "Service registration requires at least one argument or flags.\n"]);
    r = await runInProcess(["catalog", "services", "-tags"], env);
    assert.equal(r.stdout, "api     x\nconsul\nweb     v1\n");
    r = await runInProcess(["catalog", "services"], env);
    assert.equal(r.stdout, "api\nconsul\nweb\n");
    r = await runInProcess(["catalog", "datacenters"], env);
    assert.equal(r.stdout, "dc1\n");
    r = await runInProcess(["catalog", "nodes"], env);
    const lines = r.stdout.trimEnd().split("\n");
    assert.match(lines[0]!, /^Node\s+ID\s+Address\s+DC$/);
    assert.match(lines[1]!, /^cli-node\s+[0-9a-f]{8}\s+127\.0\.0\.1\s+dc1$/);
    r = await runInProcess(["catalog", "nodes", "-service", "ghost"], env);
    assert.equal([r.code, r.stderr], [0, "No nodes match the given query - try expanding your search.\n"]);
    r = await runInProcess(["maint", "-enable", "-reason", "patching"], env);
    assert.equal(r.stdout, "Node maintenance is now enabled\n");
    r = await runInProcess(["maint", "-enable", "-service", "web"], env);
    assert.equal(r.stdout, 'Service maintenance is now enabled for "web"\n');
    r = await runInProcess(["maint"], env);
    assert.ok(r.stdout.includes("Node:\n  Name:   cli-node\n  Reason: patching\n\n"));
    assert.ok(r.stdout.includes("Service:\n  ID:     web\n  Reason: Maintenance mode is enabled for this service"));
    r = await runInProcess(["maint", "-disable", "-reason", "x"], env);
    assert.equal([r.code, r.stderr], [1, "Reason may only be provided with -enable\n"]);
    r = await runInProcess(["maint", "-disable"], env);
    assert.equal(r.stdout, "Node maintenance is now disabled\n");
    r = await runInProcess(["maint", "-disable", "-service", "ghost"], env);
    assert.is(r.code, 1);
    assert.match(r.stderr, /^Error disabling service maintenance: Unexpected response code: 404 \(Unknown service ID "ghost"/);
    r = await runInProcess(["services", "deregister", "-id", "web"], env);
    assert.equal(r.stdout, "Deregistered service: web\n");
    r = await runInProcess(["services", "deregister", hcl], env);
    assert.equal(r.stdout, "Deregistered service: api\n");
    r = await runInProcess(["services", "deregister", "-id", "web"], env);
    assert.is(r.code, 1);
    r = await runInProcess(["catalog", "services"], env);
    assert.equal(r.stdout, "consul\n");
  } finally {
    await a.stop();
    removeDir(dir);
  }
});

test.run();
