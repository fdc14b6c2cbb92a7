/**
 * End to end: python-consul (Debian's python3-consul 0.7.1, the client many Python
 * tools embed) against a real -dev agent. tests/e2e/clients/python_consul.py drives
 * KV, blocking queries, agent services and TTL checks, catalog and health, sessions
 * and locks, events, status, and error paths, and prints what it saw; this file asserts
 * on it. The client is installed by tests/setup/ensure_packages.sh; the test skips
 * with a message when it cannot be.
 */
import { test } from "../shared/suite.ts";
import * as assert from "uvu/assert";
import { execFile, execFileSync } from "node:child_process";
import path from "node:path";
import { ROOT, startAgent, type AgentProc } from "./agent_proc.ts";

const PY = "/usr/bin/python3";
let available = true;
try {
  execFileSync("sh", [path.join(ROOT, "tests/setup/ensure_packages.sh"), "python-consul"], { stdio: "ignore", timeout: 180_000 });
} catch {
  available = false;
  console.log("python-consul tests SKIPPED: python3-consul is not installed and tests/setup/ensure_packages.sh could not install it");
}

let dev: AgentProc | undefined;
type Obs = Record<string, Record<string, unknown>>;
let obs: Obs = {};

test.before(async () => {
  if (!available) return;
  dev = await startAgent({ args: ["-dev"] });
  const out = await new Promise<string>((resolve, reject) => {
    execFile(PY, [path.join(ROOT, "tests/e2e/clients/python_consul.py"), String(dev!.httpPort)], { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`python_consul.py failed: ${String(err)}\n${stderr}`));
      else resolve(stdout);
    });
  });
  obs = JSON.parse(out) as Obs;
});

test.after(async () => {
  await dev?.stop();
});

/** One step's observations; a step that raised is reported with its error. */
function stepOf(name: string): Record<string, unknown> {
  const s = obs[name];
  assert.ok(s !== undefined, `step ${name} missing`);
  assert.is(s.error, undefined, `step ${name} raised: ${String(s.error)}`);
  return s;
}

const t = available ? test : test.skip;

t("kv: put, flags, get, keys, recurse, missing, cas, recursive delete", () => {
  const s = stepOf("kv");
  assert.equal(s, {
    put: true, put_flags: true, index_positive: true, get: "one", flags: 7,
    keys: ["py/a", "py/b"], recurse: ["py/a", "py/b"], missing: null,
    cas_bad: false, cas_good: true, delete: true, after_delete: null,
  });
});

t("blocking get wakes on a write with a larger index", () => {
  assert.equal(stepOf("blocking"), { value: "woken", index_grew: true, woke_early: true });
});

t("agent services and TTL checks, catalog and health views", () => {
  const s = stepOf("services");
  assert.is(s.register_web, true);
  assert.is(s.register_db, true);
  assert.equal(s.agent_services, ["db-1", "web-1"]);
  // python-consul 0.7.1 sends pass/fail/deregister as GET: Consul >= 1.0 answers 405, so False.
  assert.is(s.ttl_pass_get, false);
  assert.is(s.deregister_get, false);
  assert.is(s.ttl_pass_put, true);
  assert.equal((s.catalog_services as Record<string, string[]>).web, ["primary", "v1"]);
  assert.equal((s.catalog_services as Record<string, string[]>).db, []);
  assert.equal(s.catalog_service, [["web-1", 8080, ["primary", "v1"]]]);
  assert.equal(s.healthy, ["web-1"]);
  assert.is(s.ttl_fail_put, true);
  assert.equal(s.healthy_after_fail, []);
  assert.equal(s.critical_checks, ["service:web-1"]);
  assert.is(s.by_tag, 1);
  assert.is(s.deregister_put, true);
  assert.equal(s.agent_services_after, ["web-1"]);
});

t("sessions: create, acquire (exclusive), info, list, renew, destroy with behavior=delete", () => {
  assert.equal(stepOf("sessions"), {
    sid_len: 36, acquire: true, acquire_again_other: false, holder_is_sid: true, info_name: "py-lock",
    listed: true, renew: true, destroy: true, deleted_with_session: true,
  });
});

t("status, self, members, events, nodes, datacenters", () => {
  const s = stepOf("misc");
  assert.match(String(s.leader), /^127\.0\.0\.1:\d+$/);
  assert.equal(s.peers, [s.leader]);
  assert.is(s.self_has_config, true);
  assert.is(s.members, 1);
  assert.is(s.event_name, "py-deploy");
  assert.equal(s.event_listed, ["py-deploy"]);
  assert.is(s.nodes, 1);
  assert.equal(s.datacenters, ["dc1"]);
});

t("errors: bad index is BadRequest, unknown service is not ok, oversized value 413 with Consul's text, bad TTL 500", () => {
  const s = stepOf("errors");
  assert.is(s.bad_index, "BadRequest");
  assert.is(s.deregister_missing, false);
  const [code, body] = s.oversized as [number, string];
  assert.is(code, 413);
  assert.match(body, "too large, max size: 524288 bytes");
  assert.match(String(s.bad_ttl), "500 Invalid Session TTL");
});

test.run();
