/**
 * tests/watch/runner: watch plans parsed as Consul's watch.Parse, and the runner's rules
 * on a fake agent and a manual clock: handler on first answer and on data changes only,
 * unchanged index = no change, index going backwards resets once without a busy loop,
 * exponential back-off on errors, event pruning by the last index.
 */

import { test } from "uvu";
import * as assert from "uvu/assert";
import { parsePlan, retryDelay, runPlan, type QueryAnswer, type RunnerDeps, type WatchPlan } from "../../src/watch/index.ts";
import { eventIndex } from "../../src/agent/events.ts";

function plan(params: Record<string, unknown>): WatchPlan {
  const r = parsePlan(params);
  if (!r.ok) throw new Error(r.error);
  return r.plan;
}

test("parsePlan: types, queries, errors as Consul words them", () => {
  assert.equal(plan({ type: "key", key: "a/b" }).query, { path: "/v1/kv/a/b", params: [] });
  assert.equal(plan({ type: "keyprefix", prefix: "a/" }).query, { path: "/v1/kv/a/", params: [["recurse", ""]] });
  assert.equal(plan({ type: "service", service: "web", tag: ["x", "y"], passingonly: true }).query.params, [["tag", "x"], ["tag", "y"], ["passing", "1"]]);
  assert.equal(plan({ type: "checks" }).query.path, "/v1/health/state/any");
  assert.equal(plan({ type: "checks", service: "web" }).query.path, "/v1/health/checks/web");
  assert.equal(plan({ type: "event", name: "deploy" }).query, { path: "/v1/event/list", params: [["name", "deploy"]] });
  assert.is(plan({ type: "event" }).monotonic, false);
  assert.is(plan({ type: "nodes" }).monotonic, true);
  const err = (p: Record<string, unknown>): string => {
    const r = parsePlan(p);
    return r.ok ? "" : r.error;
  };
  assert.is(err({}), "Watch type must be specified");
  assert.is(err({ type: "bogus" }), "Unsupported watch type: bogus");
  assert.is(err({ type: "key" }), "Must specify a single key to watch");
  assert.is(err({ type: "keyprefix" }), "Must specify a single prefix to watch");
  assert.is(err({ type: "service" }), "Must specify a single service to watch");
  assert.is(err({ type: "checks", service: "a", state: "passing" }), "Cannot specify service and state");
  assert.is(err({ type: "nodes", extra: 1 }), "Invalid parameters: [extra]");
  assert.is(err({ type: "nodes", handler_type: "http" }), "Handler type 'http' requires 'http_handler_config' to be set");
  const h = plan({ type: "nodes", handler_type: "http", http_handler_config: { path: "http://x/y", header: { A: ["b"] }, timeout: "3s" } }).handler;
  assert.equal(h, { kind: "http", path: "http://x/y", method: "POST", header: { A: ["b"] }, timeoutMs: 3000, tlsSkipVerify: false });
  assert.equal(plan({ type: "nodes", args: ["/bin/true"] }).handler, { kind: "script", args: ["/bin/true"], command: undefined });
  assert.is(err({ type: "nodes", args: ["a"], handler: "b" }), "Only one watch handler allowed");
});

test("shapes: key -> KVPair or null, keyprefix 404 -> null, event pruning after the last index", () => {
  const k = plan({ type: "key", key: "a" });
  assert.equal(k.shape(200, '[{"Key":"a","Value":"eA=="}]', undefined), { ok: true, data: { Key: "a", Value: "eA==" } });
  assert.equal(k.shape(404, "", undefined), { ok: true, data: null });
  assert.equal(k.shape(500, "boom\n", undefined), { ok: false, error: "Unexpected response code: 500 (boom)" });
  assert.equal(plan({ type: "keyprefix", prefix: "a" }).shape(404, "", undefined), { ok: true, data: null });
  const ids = ["11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222223", "33333333-3333-3333-3333-333333333334"];
  const body = JSON.stringify(ids.map((ID) => ({ ID })));
  const e = plan({ type: "event" });
  const all = e.shape(200, body, undefined);
  assert.is(all.ok && (all.data as unknown[]).length, 3);
  const newer = e.shape(200, body, eventIndex(ids[1] as string));
  assert.equal(newer.ok && newer.data, [{ ID: ids[2] }]);
});

test("retryDelay: 5s x failures^2, capped at 180s", () => {
  assert.is(retryDelay(1), 5000);
  assert.is(retryDelay(2), 20000);
  assert.is(retryDelay(6), 180000);
});

interface Fake {
  deps: RunnerDeps;
  asked: bigint[];
  sleeps: number[];
}

/** A fake agent answering from a script; the clock moves only through sleep() and per query. */
function fake(answers: Array<QueryAnswer | Error>, perQueryMs = 0): Fake {
  let now = 0;
  const asked: bigint[] = [];
  const sleeps: number[] = [];
  let i = 0;
  return {
    asked,
    sleeps,
    deps: {
      query: (_q, index) => {
        asked.push(index);
        now += perQueryMs;
        const a = answers[Math.min(i++, answers.length - 1)] as QueryAnswer | Error;
        return a instanceof Error ? Promise.reject(a) : Promise.resolve(a);
      },
      sleep: (ms) => {
        sleeps.push(ms);
        now += ms;
        return Promise.resolve();
      },
      now: () => now,
      log: () => undefined,
    },
  };
}

const kv = (index: number, value: string): QueryAnswer => ({ status: 200, index: BigInt(index), body: JSON.stringify([{ Key: "k", Value: value }]) });

test("runner: handler on the first answer and on changes only; an unchanged index blocks again", async () => {
  const f = fake([kv(5, "a"), kv(5, "a"), kv(7, "a"), kv(9, "b")], 60_000);
  const calls: Array<[bigint, unknown]> = [];
  await runPlan(plan({ type: "key", key: "k" }), f.deps, (i, d) => {
    calls.push([i, d]);
    return calls.length >= 2 ? "stop" : "continue";
  }, new AbortController().signal);
  assert.equal(f.asked, [0n, 5n, 5n, 7n]);
  assert.equal(calls.map((c) => c[0]), [5n, 9n]);
  assert.equal(f.sleeps, [], "blocking answers need no extra waits");
});

test("runner: an index going backwards resets to 0 once; repeated resets wait; no busy loop", async () => {
  // The agent keeps answering a lower index than asked, immediately.
  const answers: QueryAnswer[] = [kv(100, "a"), kv(50, "a")];
  for (let i = 0; i < 50; i++) answers.push(i % 2 === 0 ? kv(40, "a") : kv(30, "a"));
  const f = fake(answers, 0);
  const ac = new AbortController();
  let n = 0;
  const stats = await runPlan(plan({ type: "keyprefix", prefix: "k" }), { ...f.deps, query: (q, i, s) => (++n > 40 && ac.abort(), f.deps.query(q, i, s)) }, () => "continue", ac.signal);
  assert.equal(f.asked.slice(0, 3), [0n, 100n, 0n], "reset to a non-blocking query after going backwards");
  assert.ok(stats.resets >= 2);
  // Every query after the first reset costs at least one wait of the reset interval or blocks.
  assert.ok(f.sleeps.length >= Math.floor((f.asked.length - 3) / 3), `sleeps ${f.sleeps.length} for ${f.asked.length} queries`);
  assert.ok(f.sleeps.every((s) => s >= 1000));
  assert.is(stats.handlerCalls, 1, "the same data never fires the handler twice");
});

test("runner: an agent that answers an unchanged index at once is slowed down", async () => {
  const f = fake([kv(5, "a")], 0);
  const ac = new AbortController();
  let n = 0;
  await runPlan(plan({ type: "key", key: "k" }), { ...f.deps, query: (q, i, s) => (++n > 10 && ac.abort(), f.deps.query(q, i, s)) }, () => "continue", ac.signal);
  assert.ok(f.sleeps.length >= 8, `slept ${f.sleeps.length} times`);
});

test("runner: errors back off 5s x n^2 and restart from index 0", async () => {
  const f = fake([kv(5, "a"), new Error("connection refused"), new Error("connection refused"), { status: 500, index: 0n, body: "no leader" }, kv(6, "b")], 10);
  const calls: bigint[] = [];
  const logs: string[] = [];
  const stats = await runPlan(plan({ type: "key", key: "k" }), { ...f.deps, log: (_l, m) => logs.push(m) }, (i) => {
    calls.push(i);
    return calls.length === 2 ? "stop" : "continue";
  }, new AbortController().signal);
  assert.equal(f.sleeps, [5000, 20000, 45000]);
  assert.equal(f.asked, [0n, 5n, 0n, 0n, 0n]);
  assert.is(stats.errors, 3);
  assert.match(logs[0] ?? "", /Watch \(type: key\) errored: connection refused, retry in 5000ms/);
  assert.match(logs[2] ?? "", /Unexpected response code: 500 \(no leader\)/);
  assert.equal(calls, [5n, 6n]);
});

test("runner: event watches never reset (the index is UUID-derived) and get only new events", async () => {
  const id1 = "11111111-1111-1111-1111-111111111112";
  const id2 = "99999999-9999-9998-9999-999999999999";
  const ev = (ids: string[]): QueryAnswer => ({ status: 200, index: eventIndex(ids[ids.length - 1] as string), body: JSON.stringify(ids.map((ID) => ({ ID }))) });
  const f = fake([ev([id1]), ev([id1, id2])], 10);
  const got: unknown[] = [];
  await runPlan(plan({ type: "event" }), f.deps, (_i, d) => (got.push(d), got.length === 2 ? "stop" : "continue"), new AbortController().signal);
  assert.ok(eventIndex(id2) < eventIndex(id1), "the second index is lower");
  assert.equal(got, [[{ ID: id1 }], [{ ID: id2 }]]);
  assert.equal(f.asked, [0n, eventIndex(id1)]);
});

test.run();
