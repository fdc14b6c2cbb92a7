/**
 * End to end: `cairn lock` processes against a real agent. Two contenders hand the lock over
 * on a voluntary release at once; when the holder's node dies or its check fails, the waiter
 * gets the lock only after the holder's lock-delay; SIGTERM stops the child and releases.
 */
import { test } from "../shared/suite.ts";
import * as assert from "uvu/assert";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { startAgent, tempDir, removeDir, type AgentProc } from "./agent_proc.ts";
import { api, fileLines, LOCK_FLAGS, registerNode, runLock, until, waitHolderChange } from "./lock_helpers.ts";

let agent: AgentProc;
let dir: string;

test.before(async () => {
  agent = await startAgent({ args: ["-dev"] });
  dir = tempDir("cairn-lock-");
});
test.after(async () => {
  await agent.stop();
  removeDir(dir);
});

const lines = fileLines;

test("two cairn lock processes: one runs its child at a time; a voluntary release hands over at once", async () => {
  const log = path.join(dir, "contend.log");
  writeFileSync(log, "");
  const child = (name: string): string => `echo "+${name} $(date +%s%N)" >> ${log}; sleep 0.8; echo "-${name} $(date +%s%N)" >> ${log}`;
  const a = runLock(agent.httpPort, ["-verbose", "contend", child("A")]);
  const b = runLock(agent.httpPort, ["contend", child("B")]);
  const [ca, cb] = await Promise.all([a.exited, b.exited]);
  assert.is(ca, 0, a.output());
  assert.is(cb, 0, b.output());
  const l = lines(log);
  assert.is(l.length, 4, l.join("\n"));
  const first = l[0]!.slice(1, 2);
  const second = first === "A" ? "B" : "A";
  assert.equal(l.map((x) => x.split(" ")[0]), [`+${first}`, `-${first}`, `+${second}`, `-${second}`]);
  const gapMs = (Number(l[2]!.split(" ")[1]) - Number(l[1]!.split(" ")[1])) / 1e6;
  console.log(`    voluntary hand-off (child end -> next child start, incl. spawn): ${gapMs.toFixed(1)} ms`);
  assert.ok(gapMs < 1000, `hand-off took ${gapMs} ms`);
  assert.match(a.output(), /Setting up lock at path: contend\/.lock/);
  assert.match(a.output(), /Attempting lock acquisition/);
  // Cleanup removed the lock key once nobody used it.
  assert.is((await api(agent.base, "GET", "/v1/kv/contend/.lock")).status, 404);
});

for (const cause of ["node", "check"] as const) {
  test(`holder's ${cause === "node" ? "node dies" : "check fails"}: the waiting cairn lock gets the lock only after the lock-delay`, async () => {
    const node = "other-" + cause;
    const prefix = "svc-" + cause;
    await registerNode(agent.base, node);
    const created = await api(agent.base, "PUT", "/v1/session/create", { Node: node, NodeChecks: ["serfHealth", "c1"], LockDelay: "1500ms", Name: "holder" });
    assert.is(created.status, 200, created.text);
    const holder = (JSON.parse(created.text) as { ID: string }).ID;
    const acq = await api(agent.base, "PUT", `/v1/kv/${prefix}/.lock?acquire=${holder}&flags=${LOCK_FLAGS}`, "");
    assert.is(acq.text.trim(), "true");
    const started = path.join(dir, `started-${cause}`);
    const waiter = runLock(agent.httpPort, [prefix, `date +%s%N > ${started}; sleep 30`]);
    // Let the waiter park on the key, then take the holder's node (or check) down.
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(lines(started), []);
    const t0 = Date.now();
    if (cause === "node") await api(agent.base, "PUT", "/v1/catalog/deregister", { Node: node });
    else await registerNode(agent.base, node, "critical");
    const freed = await waitHolderChange(agent.base, `${prefix}/.lock`, holder, 5000);
    assert.is(freed.session, "");
    const got = await waitHolderChange(agent.base, `${prefix}/.lock`, "", 5000);
    const dt = got.at - t0;
    console.log(`    ${cause}: invalidation -> waiter holds the lock after ${dt} ms (lock-delay 1500 ms)`);
    assert.ok(dt >= 1500, `acquired after ${dt} ms, inside the lock-delay`);
    assert.ok(dt <= 1500 + 400, `acquired after ${dt} ms`);
    assert.ok(await until(() => lines(started).length === 1, 5000));
    // SIGTERM: the child is stopped, the lock released and cleaned up.
    waiter.signal("SIGTERM");
    assert.is(await waiter.exited, 0, waiter.output());
    assert.is((await api(agent.base, "GET", `/v1/kv/${prefix}/.lock`)).status, 404);
    assert.equal(JSON.parse((await api(agent.base, "GET", "/v1/session/list")).text), []);
  });
}

test("the lock is lost when its session is destroyed: the child is stopped, exit code 0", async () => {
  const marker = path.join(dir, "lost");
  const p = runLock(agent.httpPort, ["-verbose", "lost", `echo up > ${marker}; sleep 30`]);
  assert.ok(await until(() => lines(marker).length === 1, 10_000), p.output());
  const r = await api(agent.base, "GET", "/v1/kv/lost/.lock");
  const session = (JSON.parse(r.text) as Array<{ Session: string }>)[0]!.Session;
  await api(agent.base, "PUT", `/v1/session/destroy/${session}`);
  assert.is(await p.exited, 0);
  assert.match(p.output(), /Lock lost, killing child/);
});

test("usage errors keep Consul's texts", async () => {
  const a = runLock(agent.httpPort, ["only-prefix"]);
  assert.is(await a.exited, 1);
  assert.match(a.output(), /Key prefix and child command must be specified/);
  const b = runLock(agent.httpPort, ["-n", "0", "p", "true"]);
  assert.is(await b.exited, 1);
  assert.match(b.output(), /Lock holder limit must be positive/);
  // -timeout: a held lock is not acquired in time.
  const holder = runLock(agent.httpPort, ["busy", "sleep 30"]);
  assert.ok(await until(async () => (await api(agent.base, "GET", "/v1/kv/busy/.lock")).status === 200, 10_000));
  const c = runLock(agent.httpPort, ["-timeout", "300ms", "busy", "true"]);
  assert.is(await c.exited, 1);
  assert.match(c.output(), /Shutdown triggered or timeout during lock acquisition/);
  holder.signal("SIGINT");
  assert.is(await holder.exited, 0);
});

test.run();
