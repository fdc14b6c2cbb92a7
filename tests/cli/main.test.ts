import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { CAIRN_VERSION, CONSUL_API_VERSION } from "../../src/shared/version.ts";
import { ROOT, runInProcess, runMain } from "./helpers.ts";

test("version: Consul's text lines plus cairn's own", async () => {
  const r = await runMain(["version"], { CAIRN_REVISION: "abc123", CAIRN_BUILD_DATE: "2026-02-03T04:05:06Z" });
  assert.is(r.code, 0, r.stderr);
  const lines = r.stdout.split("\n");
  assert.is(lines[0], `Consul v${CONSUL_API_VERSION}`);
  assert.is(lines[1], "Revision abc123");
  assert.is(lines[2], "Build Date 2026-02-03T04:05:06Z");
  assert.is(
    lines[3],
    "Protocol 2 spoken by default, understands 2 to 3 (agent will automatically use protocol >2 when speaking to compatible agents)",
  );
  assert.ok(lines[4]?.startsWith(`cairn v${CAIRN_VERSION} (`), lines[4]);
});

test("version -format=json: Consul's fields and Cairn", async () => {
  const r = await runMain(["version", "-format=json"]);
  assert.is(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.equal(Object.keys(j), ["Version", "Revision", "Prerelease", "BuildDate", "RPC", "Cairn"]);
  assert.is(j["Version"], CONSUL_API_VERSION);
  assert.is(j["Revision"], "unknown");
  assert.equal(j["RPC"], { Default: 2, Min: 2, Max: 3 });
  assert.is(j["Cairn"], CAIRN_VERSION);
  assert.ok(r.stdout.startsWith('{\n   "Version"'), "three-space indent like Go");
});

test("cairn's version matches package.json", () => {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { version: string };
  assert.is(CAIRN_VERSION, pkg.version);
});

test("-v and --version are the version command", async () => {
  const a = await runInProcess(["-v"]);
  const b = await runInProcess(["--version"]);
  assert.is(a.code, 0);
  assert.ok(a.stdout.startsWith(`Consul v${CONSUL_API_VERSION}\n`));
  assert.is(a.stdout, b.stdout);
  const bad = await runInProcess(["version", "-format=xml"]);
  assert.is(bad.code, 1);
  assert.is(bad.stderr, "Unknown format: xml\n");
});

test("no arguments: command list on stderr, exit 127 (mitchellh/cli)", async () => {
  const r = await runMain([]);
  assert.is(r.code, 127);
  assert.is(r.stdout, "");
  assert.ok(r.stderr.startsWith("Usage: cairn [--version] [--help] <command> [<args>]\n\nAvailable commands are:\n"));
  // Names are padded to the longest command name, then 4 spaces (the synopses line up).
  const agentLine = /\n( {4}agent +)Runs a Consul agent\n/.exec(r.stderr);
  const kvLine = /\n( {4}kv +)Interact with the key-value store\n/.exec(r.stderr);
  assert.ok(agentLine !== null && kvLine !== null);
  assert.is(agentLine?.[1]?.length, kvLine?.[1]?.length);
  assert.match(r.stderr, /\n {4}force-leave {4}Forces a member of the cluster to enter the "left" state\n/);
});

test("unknown command: command list, exit 127; --help alone: exit 0", async () => {
  const r = await runInProcess(["bogus"]);
  assert.is(r.code, 127);
  assert.ok(r.stderr.startsWith("Usage: consul [--version] [--help] <command> [<args>]"));
  const h = await runInProcess(["--help"]);
  assert.is(h.code, 0);
  assert.ok(h.stderr.includes("Available commands are:"));
});

test("kv alone or with an unknown subcommand: kv help with subcommands, exit 1", async () => {
  for (const args of [["kv"], ["kv", "bogus"]]) {
    const r = await runInProcess(args);
    assert.is(r.code, 1);
    assert.ok(r.stderr.startsWith("Usage: consul kv <subcommand> [options] [args]"));
    assert.ok(r.stderr.includes("\nSubcommands:\n    delete    Removes data from the KV store\n"));
  }
});

test("flags before the command are rejected", async () => {
  const r = await runInProcess(["-foo", "version"]);
  assert.is(r.code, 1);
  assert.ok(r.stderr.startsWith("Invalid flags before the subcommand."));
});

function tmp(): string {
  return mkdtempSync(path.join(tmpdir(), "cairn-main-"));
}

test("configtest: valid config -> 'Configuration is valid!' exit 0", async () => {
  const dir = tmp();
  try {
    const f = path.join(dir, "ok.json");
    writeFileSync(f, JSON.stringify({ data_dir: path.join(dir, "data"), bind_addr: "127.0.0.1", node_name: "n1" }));
    const r = await runMain(["configtest", "-config-file", f]);
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout, "Configuration is valid!\n");
    const v = await runMain(["validate", "-quiet", f]);
    assert.is(v.code, 0, v.stderr);
    assert.is(v.stdout, "");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("configtest: every error, with file and key, exit 1", async () => {
  const dir = tmp();
  try {
    const a = path.join(dir, "a.hcl");
    const b = path.join(dir, "b.json");
    writeFileSync(a, 'limits { kv_max_value_sizee = 1 }\nbind_addr = "127.0.0.1"\n');
    writeFileSync(b, '{"ports": {"http": "8500"}}');
    const r = await runMain(["configtest", "-config-file", a, "-config-dir", dir]);
    assert.is(r.code, 1);
    assert.is(r.stdout, "");
    const lines = r.stderr.trim().split("\n");
    assert.ok(lines.includes(`Config validation failed: failed to parse ${a}: invalid config key limits.kv_max_value_sizee`), r.stderr);
    assert.ok(
      lines.includes(
        `Config validation failed: failed to parse ${b}: 'ports.http' expected type 'int', got unconvertible type 'string', value: '8500'`,
      ),
      r.stderr,
    );
    const none = await runMain(["configtest"]);
    assert.is(none.code, 1);
    assert.is(none.stderr, "Must specify at least one config file or directory\n");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("agent: bad config prints '==> ' errors and exits 1", async () => {
  const dir = tmp();
  try {
    const f = path.join(dir, "bad.json");
    writeFileSync(f, '{"bootstrap": true, "bootstrap_expect": 3, "server": true, "bind_addr": "127.0.0.1", "data_dir": "' + dir + '"}');
    const r = await runMain(["agent", "-config-file", f]);
    assert.is(r.code, 1);
    assert.is(r.stderr, "==> 'bootstrap_expect > 0' and 'bootstrap = true' are mutually exclusive\n");
    const bad = await runInProcess(["agent", "-http-port=abc", "-dev"]);
    assert.is(bad.code, 1);
    assert.is(bad.stderr, '==> invalid value "abc" for flag -http-port: parse error\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("agent -help lists its flags", async () => {
  const r = await runInProcess(["agent", "-help"]);
  assert.is(r.code, 0);
  assert.ok(r.stderr.startsWith("Usage: consul agent [options]"));
  assert.ok(r.stderr.includes("  -dev\n"));
  assert.ok(r.stderr.includes("  -config-file=<value>\n"));
});

test.run();
