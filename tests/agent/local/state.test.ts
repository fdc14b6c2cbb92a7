import { test } from "uvu";
import * as assert from "uvu/assert";
import { LocalState } from "../../../src/agent/local/state.ts";
import { nextFullSyncMs, scaleFactor, AntiEntropy } from "../../../src/agent/local/ae.ts";
import { decodeCheck, decodeService } from "../../../src/agent/local/decode.ts";
import type { LocalCheck } from "../../../src/agent/local/types.ts";
import { FakeClock } from "../../checks/fake_timers.ts";

const check = (over: Partial<LocalCheck> = {}): LocalCheck => ({
  node: "n",
  checkId: "c",
  name: "c",
  status: "passing",
  notes: "",
  output: "",
  serviceId: "",
  serviceName: "",
  serviceTags: [],
  type: "ttl",
  intervalNs: 0,
  timeoutNs: 0,
  exposedPort: 0,
  ...over,
});

test("state: status changes sync at once; output-only changes are deferred by interval/2 + stagger", () => {
  const clock = new FakeClock();
  clock.randomValue = 0.5;
  let changes = 0;
  const st = new LocalState({ checkUpdateIntervalMs: 1000, deps: clock.deps, onChange: () => changes++ });
  st.addCheck(check(), "");
  const cs = st.checkState("c")!;
  cs.inSync = true;
  changes = 0;
  st.updateCheck("c", "passing", "new output");
  assert.is(st.check("c")!.output, "new output");
  assert.is(cs.inSync, true, "output-only change waits");
  assert.is(changes, 0);
  clock.advance(999); // 500 + 0.5 * 1000 = 1000
  assert.is(cs.inSync, true);
  clock.advance(1);
  assert.is(cs.inSync, false);
  assert.is(changes, 1);
  cs.inSync = true;
  st.updateCheck("c", "critical", "down");
  assert.is(cs.inSync, false, "status change syncs at once");
  assert.is(changes, 2);
  clock.advance(5000);
  assert.is(st.criticalFor("c"), 5000);
  st.updateCheck("c", "passing", "up");
  assert.is(st.criticalFor("c"), 0);
  // identical update: nothing
  cs.inSync = true;
  st.updateCheck("c", "passing", "up");
  assert.is(cs.inSync, true);
  // removal leaves a tombstone for anti-entropy
  assert.ok(st.removeCheck("c"));
  assert.is(st.check("c"), undefined);
  assert.is(st.checks.get("c")!.deleted, true);
  st.close();
});

test("state: interval 0 syncs output changes at once; watchers fire once", () => {
  const clock = new FakeClock();
  const st = new LocalState({ checkUpdateIntervalMs: 0, deps: clock.deps, onChange: () => {} });
  st.addService({ kind: "", id: "web", service: "web", tags: [], address: "", taggedAddresses: {}, meta: {}, port: 0, socketPath: "", weights: { passing: 1, warning: 1 }, enableTagOverride: false, proxy: null, connect: null, locality: null }, "");
  st.addCheck(check({ serviceId: "web" }), "");
  let fired = 0;
  st.watchService("web", () => fired++);
  st.checkState("c")!.inSync = true;
  st.updateCheck("c", "passing", "x");
  assert.is(st.checkState("c")!.inSync, false);
  st.updateCheck("c", "warning", "x");
  assert.is(fired, 1);
  assert.equal(st.checksForService("web", false).map((c) => c.checkId), ["c"]);
});

test("anti-entropy: scale factor and next full sync", () => {
  assert.is(scaleFactor(1), 1);
  assert.is(scaleFactor(128), 1);
  assert.is(scaleFactor(129), 2);
  assert.is(scaleFactor(256), 2);
  assert.is(scaleFactor(257), 3);
  assert.is(scaleFactor(1024), 4);
  assert.is(scaleFactor(8192), 7);
  assert.is(nextFullSyncMs(60_000, 1, () => 0.5), 90_000);
  assert.is(nextFullSyncMs(60_000, 1024, () => 0.5), 60_000 + 120_000);
});

test("anti-entropy: full sync at start, partial syncs coalesced, failures retried, periodic full", async () => {
  const clock = new FakeClock();
  clock.randomValue = 0;
  const log: string[] = [];
  let fail = false;
  const ae = new AntiEntropy({
    deps: clock.deps,
    clusterSize: () => 1,
    intervalMs: 1000,
    full: async () => {
      log.push("full");
      if (fail) throw new Error("x");
    },
    partial: async () => {
      log.push("partial");
    },
    onError: () => log.push("error"),
  });
  ae.start();
  clock.advance(0);
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(log, ["full"]);
  ae.trigger();
  ae.trigger();
  ae.trigger();
  clock.advance(0);
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(log, ["full", "partial"]);
  fail = true;
  clock.advance(1000);
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(log.slice(2), ["full", "error"]);
  fail = false;
  clock.advance(15_000);
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(log.slice(4), ["full"]);
  const done = ae.syncNow();
  clock.advance(0);
  await done;
  assert.is(log[5], "partial");
  ae.stop();
  assert.is(clock.pending(), 0);
});

test("decode: case-insensitive keys, snake_case, durations as strings or ns, aliases", () => {
  const d = decodeService(
    {
      NAME: "web",
      id: "web1",
      enable_tag_override: true,
      tagged_addresses: { lan: { address: "10.0.0.1", port: 1 } },
      weights: { passing: 3 },
      checks: [
        { args: ["/bin/true"], interval: "10s", deregister_critical_service_after: "1m", failures_before_critical: 2 },
        { CheckID: "t", TTL: 30_000_000_000, status: "passing" },
      ],
      connect: { sidecar_service: {} },
    },
    true,
  );
  assert.equal([d.service.service, d.service.id, d.service.enableTagOverride], ["web", "web1", true]);
  assert.equal(d.service.taggedAddresses, { lan: { address: "10.0.0.1", port: 1 } });
  assert.equal(d.service.weights, { passing: 3, warning: 1 });
  assert.is(d.hadSidecar, true);
  assert.is(d.service.connect, null);
  assert.equal(d.checks[0]!.spec.scriptArgs, ["/bin/true"]);
  assert.is(d.checks[0]!.spec.intervalMs, 10_000);
  assert.is(d.checks[0]!.spec.deregisterCriticalServiceAfterMs, 60_000);
  assert.is(d.checks[0]!.spec.failuresBeforeCritical, 2);
  assert.is(d.checks[1]!.spec.ttlMs, 30_000);
  assert.is(d.checks[1]!.id, "t");
  const c = decodeCheck({ ID: "x", Name: "n", ServiceID: "s", ScriptArgs: ["a"], Interval: "2s" }, "CheckDefinition", false);
  assert.equal([c.id, c.serviceId, c.spec.scriptArgs], ["x", "s", ["a"]]);
  assert.throws(() => decodeCheck({ Interval: "soon" }, "CheckDefinition", false), /time: invalid duration "soon"/);
});

test.run();
