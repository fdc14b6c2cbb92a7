import { test } from "uvu";
import * as assert from "uvu/assert";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { removeDir, startAgent, tempDir } from "../../e2e/agent_proc.ts";

type Json = Record<string, unknown>;

test("a real agent keeps API-registered services and checks across a restart; config-file services load", async () => {
  const dir = tempDir();
  const cfgFile = path.join(dir, "svc.json");
  writeFileSync(cfgFile, JSON.stringify({ service: { name: "fromfile", port: 7000, check: { id: "ff", ttl: "60s", status: "passing" } } }));
  const args = ["-server", "-bootstrap-expect", "1", "-data-dir", path.join(dir, "data"), "-node", "n1", "-config-file", cfgFile];
  let a = await startAgent({ args });
  try {
    let r = await fetch(`${a.base}/v1/agent/service/register`, {
      method: "PUT",
      body: JSON.stringify({ Name: "web", Port: 80, Check: { CheckID: "web-ttl", TTL: "60s" } }),
    });
    assert.is(r.status, 200);
    r = await fetch(`${a.base}/v1/agent/check/pass/web-ttl?note=ok`, { method: "PUT" });
    assert.is(r.status, 200);
    const hs = (await (await fetch(`${a.base}/v1/health/service/web?passing`)).json()) as Json[];
    assert.is(hs.length, 1);
    assert.is(await a.stop(), 0);
    a = await startAgent({ args });
    const svcs = (await (await fetch(`${a.base}/v1/agent/services`)).json()) as Json;
    assert.equal(Object.keys(svcs).sort(), ["fromfile", "web"]);
    const checks = (await (await fetch(`${a.base}/v1/agent/checks`)).json()) as Record<string, Json>;
    assert.equal(Object.keys(checks).sort(), ["ff", "web-ttl"]);
    assert.equal([checks["web-ttl"]!["Status"], checks["web-ttl"]!["Output"]], ["passing", "ok"]);
    const cat = (await (await fetch(`${a.base}/v1/catalog/service/fromfile`)).json()) as Json[];
    assert.is(cat.length, 1);
    assert.is(cat[0]!["ServicePort"], 7000);
  } finally {
    await a.stop();
    removeDir(dir);
  }
});

test.run();
