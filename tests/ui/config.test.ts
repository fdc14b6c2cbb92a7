/**
 * ui/config: the UI's switches reach the agent's options (lifecycle agentOptions → the HTTP
 * server's `ui`): on in -dev (as Consul's DevSource), off by default, on with -ui, with
 * ui_config { enabled = true } and with the legacy `ui = true`; ui_config.content_path is
 * normalised ("/console" → "/console/").
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadArgs } from "../agent/config/load_args.ts";
import { agentOptions } from "../../src/agent/lifecycle.ts";

const load = loadArgs;

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "cairn-uicfg-"));
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("-dev: the UI is on at /ui/; -dev -ui=false turns it off", async () => {
  assert.equal(agentOptions(await load(["-dev"])).ui, { enabled: true, contentPath: "/ui/" });
  assert.equal(agentOptions(await load(["-dev", "-ui=false"])).ui, { enabled: false, contentPath: "/ui/" });
});

test("a server without UI settings: off; -ui: on", async () => {
  await withDir(async (dir) => {
    const base = ["-server", "-data-dir", dir, "-bind", "127.0.0.1"];
    assert.is(agentOptions(await load(base)).ui?.enabled, false);
    assert.is(agentOptions(await load([...base, "-ui"])).ui?.enabled, true);
  });
});

test("config files: ui_config { enabled, content_path } and the legacy ui = true", async () => {
  await withDir(async (dir) => {
    const base = ["-server", "-data-dir", dir, "-bind", "127.0.0.1"];
    const a = path.join(dir, "a.hcl");
    writeFileSync(a, 'ui_config {\n  enabled = true\n  content_path = "/console"\n}\n');
    assert.equal(agentOptions(await load([...base, "-config-file", a])).ui, { enabled: true, contentPath: "/console/" });
    const b = path.join(dir, "b.hcl");
    writeFileSync(b, "ui = true\n");
    assert.is(agentOptions(await load([...base, "-config-file", b])).ui?.enabled, true);
  });
});

test.run();
