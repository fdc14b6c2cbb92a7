/**
 * End to end: a lock held by a TTL session that is never renewed. A real -dev agent, a
 * holder session (TTL 10s, Consul's minimum, LockDelay 2s) holding `<prefix>/.lock` in
 * `cairn lock`'s layout, and a waiting `cairn lock` process: the waiter gets the lock (and
 * runs its child) only once the session has expired (Consul invalidates between TTL and
 * 2 x TTL after the last renewal) and the holder's lock-delay has run out; SIGTERM then
 * stops the child, releases the lock and removes the key and the waiter's session.
 *
 * Must never: leave the agent or a `cairn lock` process running, or its temp dir behind.
 */
import { test } from "../shared/suite.ts";
import * as assert from "uvu/assert";
import path from "node:path";
import { startAgent, tempDir, removeDir, type AgentProc } from "./agent_proc.ts";
import { api, fileLines, LOCK_FLAGS, runLock, until, waitHolderChange } from "./lock_helpers.ts";

const TTL_MS = 10_000;
const LOCK_DELAY_MS = 2000;
/** Scheduling and observation noise allowed on a loaded 2-core machine. */
const SLACK_MS = 2500;

let agent: AgentProc;
let dir: string;

test.before(async () => {
  agent = await startAgent({ args: ["-dev"] });
  dir = tempDir("cairn-lock-ttl-");
});
test.after(async () => {
  await agent.stop();
  removeDir(dir);
});

const lines = fileLines;

test("a never-renewed TTL session's lock passes to the waiting cairn lock only after expiry + lock-delay", async () => {
  const prefix = "ttl-lapse";
  const key = `${prefix}/.lock`;
  const t0 = Date.now();
  const created = await api(agent.base, "PUT", "/v1/session/create", { Name: "ttl-holder", TTL: "10s", LockDelay: "2s", Behavior: "release" });
  assert.is(created.status, 200, created.text);
  const holder = (JSON.parse(created.text) as { ID: string }).ID;
  const info = JSON.parse((await api(agent.base, "GET", `/v1/session/info/${holder}`)).text) as Array<{ TTL: string; LockDelay: number }>;
  assert.is(info[0]?.TTL, "10s");
  assert.is(info[0]?.LockDelay, LOCK_DELAY_MS * 1e6, "LockDelay reported in ns");
  const acq = await api(agent.base, "PUT", `/v1/kv/${key}?acquire=${holder}&flags=${LOCK_FLAGS}`, "");
  assert.is(acq.text.trim(), "true", acq.text);

  const started = path.join(dir, "started");
  const waiter = runLock(agent.httpPort, ["-verbose", prefix, `date +%s%N > ${started}; sleep 60`]);
  try {
    // The waiter parks on the key; the holder never renews.
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(lines(started), [], "child started while the TTL session held the lock");

    const freed = await waitHolderChange(agent.base, key, holder, 2 * TTL_MS + SLACK_MS + 2000);
    const freedMs = freed.at - t0;
    assert.is(freed.session, "", `holder replaced by ${freed.session} without a free key in between`);
    // The session itself is gone (invalidated), not just detached from the key.
    assert.equal(JSON.parse((await api(agent.base, "GET", `/v1/session/info/${holder}`)).text), []);

    const got = await waitHolderChange(agent.base, key, "", LOCK_DELAY_MS + SLACK_MS + 2000);
    const gotMs = got.at - t0;
    const delayMs = got.at - freed.at;
    console.log(`    TTL session invalidated ${freedMs} ms after create (TTL 10 s, limit 2 x TTL); waiter holds the lock at ${gotMs} ms (${delayMs} ms after the key was freed, lock-delay ${LOCK_DELAY_MS} ms)`);
    assert.ok(got.session !== "" && got.session !== holder);
    assert.ok(freedMs >= TTL_MS, `session expired after ${freedMs} ms, before its TTL`);
    assert.ok(gotMs >= TTL_MS + LOCK_DELAY_MS, `lock taken after ${gotMs} ms, before TTL + lock-delay`);
    // freed.at is observed a little after the invalidation, so the measured gap can only be shorter than the real one.
    assert.ok(delayMs >= LOCK_DELAY_MS - 500, `lock taken ${delayMs} ms after the key was freed, inside the lock-delay`);
    assert.ok(gotMs <= 2 * TTL_MS + LOCK_DELAY_MS + SLACK_MS, `lock taken only after ${gotMs} ms`);

    // The waiter's child runs, started after the acquisition.
    assert.ok(await until(() => lines(started).length === 1, 5000), waiter.output());
    const childAt = Number(lines(started)[0]) / 1e6;
    assert.ok(childAt - t0 >= TTL_MS + LOCK_DELAY_MS, `child started ${childAt - t0} ms after create`);
    const pair = JSON.parse((await api(agent.base, "GET", `/v1/kv/${key}`)).text) as Array<{ Flags: number; LockIndex: number; Session: string }>;
    assert.is(pair[0]?.Session, got.session);
    assert.is(pair[0]?.LockIndex, 2, "second acquisition of the key");
    assert.match(waiter.output(), /Attempting lock acquisition/);

    // SIGTERM: child stopped, lock released, key and session cleaned up.
    waiter.signal("SIGTERM");
    assert.is(await waiter.exited, 0, waiter.output());
    assert.is((await api(agent.base, "GET", `/v1/kv/${key}`)).status, 404);
    assert.equal(JSON.parse((await api(agent.base, "GET", "/v1/session/list")).text), []);
  } finally {
    waiter.signal("SIGKILL");
  }
});

test.run();
