// Leader session TTL timers (server/session_timers) on a manual clock over a real Store:
// 2 x TTL grace, renewals, re-arming by a new leader, no resurrection after expiry,
// dropped timers of destroyed sessions, lock-delay stamping, and the heap bound.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { FakeClock } from "../checks/fake_timers.ts";
import { StoreBackend } from "./catalog_helpers.ts";
import { SessionTimers } from "../../src/server/session_timers.ts";
import { parseGoDuration } from "../../src/http/query.ts";
import { Store, type SessionInput } from "../../src/state/index.ts";
import { chk, reg, sess } from "../state/session_helpers.ts";

const BASE = 1_700_000_000_000;

function setup(backend = new StoreBackend()): { b: StoreBackend; clock: FakeClock; timers: SessionTimers } {
  const clock = new FakeClock();
  const timers = new SessionTimers(backend, {
    now: () => BASE + clock.now,
    setTimer: clock.deps.setTimer,
    clearTimer: clock.deps.clearTimer,
    parseDuration: parseGoDuration,
    log: () => {},
  });
  return { b: backend, clock, timers };
}

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

async function create(b: StoreBackend, s: SessionInput): Promise<void> {
  const r = await b.apply({ type: "session-create", session: s });
  assert.equal(r, { type: "none" });
}

test("a TTL session expires through the log between TTL and 2 x TTL, renewals push it back", async () => {
  const { b, clock, timers } = setup();
  await b.apply(reg("n1", { checks: [chk("n1", "serfHealth", "passing")] }));
  timers.start();
  await create(b, sess("a", "n1", { ttl: "10s" }));
  await create(b, sess("b", "n1", { ttl: "10s" }));
  await create(b, sess("forever", "n1"));
  assert.is(timers.size(), 2);
  assert.is(timers.deadlineOf("a"), BASE + 20_000);
  await b.apply({ type: "kv-lock", key: "k", value: new Uint8Array(0), flags: 0n, session: "a", now: BASE });
  clock.advance(15_000);
  assert.ok(timers.renew("b") !== undefined);
  assert.is(timers.deadlineOf("b"), BASE + 35_000);
  clock.advance(4_999);
  await flush();
  assert.ok(b.store.sessionGet("a").value !== undefined);
  clock.advance(30); // the 25 ms granularity rounds the wake-up up
  await flush();
  assert.is(b.store.sessionGet("a").value, undefined);
  assert.is(b.store.kvGet("k").value?.session, "");
  assert.is(b.store.lockDelayOf("k"), BASE + 20_000 + 15_000);
  assert.ok(b.store.sessionGet("b").value !== undefined);
  clock.advance(15_000);
  await flush();
  assert.is(b.store.sessionGet("b").value, undefined);
  assert.ok(b.store.sessionGet("forever").value !== undefined);
  assert.is(timers.expired, 2);
  assert.is(timers.size(), 0);
  timers.stop();
  assert.is(clock.pending(), 0);
});

test("a new leader re-arms every TTL session at 2 x TTL from its start; an expired one never comes back", async () => {
  const first = setup();
  await first.b.apply(reg("n1", { checks: [chk("n1", "serfHealth", "passing")] }));
  first.timers.start();
  await create(first.b, sess("old", "n1", { ttl: "10s" }));
  await create(first.b, sess("live", "n1", { ttl: "30s" }));
  first.clock.advance(20_100);
  await flush();
  assert.is(first.b.store.sessionGet("old").value, undefined);
  first.timers.stop(); // leadership lost
  // The new leader's store is restored from the old one's state (as a follower's would be).
  const b2 = new StoreBackend();
  (b2 as { store: Store }).store.restore(first.b.store.snapshot());
  b2.index = first.b.index;
  const second = setup(b2);
  second.clock.now = 50_000;
  second.timers.start();
  assert.is(second.timers.deadlineOf("old"), undefined);
  assert.is(second.timers.deadlineOf("live"), BASE + 50_000 + 60_000);
  second.clock.advance(59_000);
  await flush();
  assert.ok(b2.store.sessionGet("live").value !== undefined);
  second.clock.advance(1_100);
  await flush();
  assert.is(b2.store.sessionGet("live").value, undefined);
  second.timers.stop();
});

test("sessions destroyed by the FSM drop their timers; pending lock-delays are stamped with the leader's clock", async () => {
  const { b, clock, timers } = setup();
  await b.apply(reg("n1", { checks: [chk("n1", "serfHealth", "passing"), chk("n1", "c1", "passing")] }));
  timers.start();
  await create(b, sess("s", "n1", { ttl: "10s", nodeChecks: ["c1"], lockDelayNs: 2e9 }));
  await b.apply({ type: "kv-lock", key: "k", value: new Uint8Array(0), flags: 0n, session: "s", now: BASE });
  assert.is(timers.size(), 1);
  clock.advance(1000);
  await b.apply(reg("n1", { checks: [chk("n1", "c1", "critical")] }));
  assert.is(timers.size(), 0);
  await flush();
  assert.is(b.store.lockDelayOf("k"), BASE + 1000 + 2000);
  assert.is(b.store.lockDelaysPending(), false);
  clock.advance(60_000);
  await flush();
  assert.is(timers.expired, 0);
  timers.stop();
});

test("10k TTL sessions: one heap entry each, renewals do not grow it, wake-ups bounded by the granularity", async () => {
  const { b, clock, timers } = setup();
  await b.apply(reg("n1", { checks: [chk("n1", "serfHealth", "passing")] }));
  timers.start();
  const N = 10_000;
  for (let i = 0; i < N; i++) {
    await create(b, sess("s" + i, "n1", { ttl: `${10 + (i % 50)}s` }));
    if (i % 100 === 0) clock.advance(1);
  }
  assert.is(timers.heapSize(), N);
  // Renew everything every 5 s for a minute: no expiry, heap stays at N, few wake-ups.
  for (let t = 0; t < 12; t++) {
    clock.advance(5000);
    for (let i = 0; i < N; i++) timers.renew("s" + i);
    assert.ok(timers.heapSize() <= N);
  }
  await flush();
  assert.is(timers.expired, 0);
  assert.is(b.store.sessionCount(), N);
  assert.ok(timers.wakeups <= 60_000 / 25, `wakeups ${timers.wakeups}`);
  // Stop renewing: all expire within 2 x the longest TTL.
  clock.advance(2 * 59_000 + 100);
  for (let i = 0; i < 50; i++) await flush();
  assert.is(b.store.sessionCount(), 0);
  assert.is(timers.size(), 0);
  timers.stop();
});

test.run();
