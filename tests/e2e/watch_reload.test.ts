/**
 * tests/e2e/watch_reload: config reload and log monitoring on a real agent — `cairn
 * reload` applies a new service and a new log level, a broken file leaves everything as
 * it was and says why, SIGHUP reloads too, watches in the reloaded config start, and
 * `cairn monitor` streams lines at its own level and exits 0 on SIGINT.
 */

import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { removeDir, startAgent, tempDir } from "./agent_proc.ts";
import { runCli, startCli, waitFor } from "./watch_helpers.ts";
import { isDeno } from "../../src/platform/runtime.ts";

async function services(base: string): Promise<string[]> {
  return Object.keys((await (await fetch(`${base}/v1/agent/services`)).json()) as Record<string, unknown>).sort();
}

test("reload: new service and log level applied; a broken file changes nothing and says why; SIGHUP; monitor", async () => {
  const dir = tempDir("cairn-reload-");
  const confDir = path.join(dir, "conf.d");
  const { mkdirSync } = await import("node:fs");
  mkdirSync(confDir);
  writeFileSync(path.join(confDir, "a.hcl"), 'log_level = "info"\nservice {\n  name = "web"\n  port = 80\n}\n');
  const agent = await startAgent({ args: ["-dev", "-config-dir", confDir] });
  const addr = `127.0.0.1:${agent.httpPort}`;
  try {
    assert.equal(await services(agent.base), ["web"]);
    // A monitor at debug sees debug lines while the agent logs at info.
    const mon = startCli(["monitor", "-http-addr", addr, "-log-level", "debug"]);
    await new Promise((r) => setTimeout(r, 1500));
    await fetch(`${agent.base}/v1/event/fire/before-reload`, { method: "PUT" });
    await waitFor(() => mon.out().includes("new event: before-reload"), 10_000, "monitor line");
    assert.match(mon.out(), /\[DEBUG\] agent: new event: before-reload/);
    assert.not.match(agent.output(), /new event: before-reload/, "the agent itself logs at info");
    assert.is(await mon.stop("SIGINT"), 0);

    // New service, new level, a watch.
    writeFileSync(
      path.join(confDir, "a.hcl"),
      'log_level = "debug"\nservice {\n  name = "web"\n  port = 80\n}\nservice {\n  name = "api"\n  port = 81\n}\n' +
        `watches = [{ type = "keyprefix", prefix = "rl/", args = ["/bin/sh", "-c", "cat > ${path.join(dir, "rl.json")}"] }]\n`,
    );
    const ok = await runCli(["reload", "-http-addr", addr]);
    assert.is(ok.code, 0, ok.err);
    assert.is(ok.out, "Configuration reload triggered\n");
    assert.equal(await services(agent.base), ["api", "web"]);
    await fetch(`${agent.base}/v1/event/fire/after-reload`, { method: "PUT" });
    await waitFor(() => agent.output().includes("new event: after-reload"), 5000, "debug line after reload");
    await fetch(`${agent.base}/v1/kv/rl/x`, { method: "PUT", body: "1" });
    await waitFor(() => existsSync(path.join(dir, "rl.json")) && readFileSync(path.join(dir, "rl.json"), "utf8").includes("rl/x"), 10_000, "reloaded watch");

    // A broken file: error text, nothing changes.
    writeFileSync(path.join(confDir, "b.hcl"), 'service {\n  name = "db"\n');
    const bad = await runCli(["reload", "-http-addr", addr]);
    assert.is(bad.code, 1);
    assert.match(bad.err, /^Error reloading: Unexpected response code: 500 \(Failed to reload configs: failed to parse .*b\.hcl/);
    assert.equal(await services(agent.base), ["api", "web"]);
    const http = await fetch(`${agent.base}/v1/agent/reload`, { method: "PUT" });
    assert.is(http.status, 500);
    assert.match(await http.text(), /Failed to reload configs/);

    // Removing a service from the config deregisters it; SIGHUP reloads as well.
    writeFileSync(path.join(confDir, "b.hcl"), "");
    writeFileSync(path.join(confDir, "a.hcl"), 'log_level = "info"\nservice {\n  name = "api"\n  port = 81\n}\n');
    if (!isDeno && agent.child.pid !== undefined) {
      process.kill(agent.child.pid, "SIGHUP");
      await waitFor(async () => (await services(agent.base)).join() === "api", 10_000, "SIGHUP reload").catch((e: unknown) => {
        throw new Error(`${String(e)}\n${agent.output().slice(-3000)}`);
      });
    } else {
      assert.is((await runCli(["reload", "-http-addr", addr])).code, 0);
    }
    assert.equal(await services(agent.base), ["api"]);
  } finally {
    await agent.stop();
    removeDir(dir);
  }
});

test.run();
