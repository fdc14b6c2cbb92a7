/**
 * tests/e2e/watch: watches against a real agent — `cairn watch` with a handler (JSON on
 * stdin, CONSUL_INDEX), `cairn watch` without one (prints once), config `watches` firing
 * their script handler, no busy loop after the watched prefix is deleted (queries counted
 * over time), back-off while the agent is unreachable.
 */

import { test } from "../shared/suite.ts";
import * as assert from "uvu/assert";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { freePort, removeDir, startAgent, tempDir, type AgentProc } from "./agent_proc.ts";
import { runCli, startCli, waitFor } from "./watch_helpers.ts";
import { AgentClient, clientQuery, parseEndpoint, parsePlan, realRunnerTime, runPlan } from "../../src/watch/index.ts";

let agent: AgentProc;
let dir: string;
let addr: string;

test.before(async () => {
  dir = tempDir("cairn-watch-");
  const cfg = path.join(dir, "watches.json");
  writeFileSync(
    cfg,
    JSON.stringify({
      watches: [{ type: "keyprefix", prefix: "cfg/", args: ["/bin/sh", "-c", `cat > ${path.join(dir, "cfg.json")}; echo $CONSUL_INDEX > ${path.join(dir, "cfg.idx")}`] }],
    }),
  );
  agent = await startAgent({ args: ["-dev", "-config-file", cfg] });
  addr = `127.0.0.1:${agent.httpPort}`;
});

test.after(async () => {
  await agent.stop();
  removeDir(dir);
});

async function put(key: string, value: string): Promise<void> {
  const r = await fetch(`${agent.base}/v1/kv/${key}`, { method: "PUT", body: value });
  assert.is(r.status, 200);
}

test("cairn watch -type key with a handler: KVPair JSON on stdin and CONSUL_INDEX, on every change", async () => {
  await put("w/foo", "one");
  const outFile = path.join(dir, "key.out");
  const w = startCli(["watch", "-http-addr", addr, "-type", "key", "-key", "w/foo", `cat >> ${outFile}; echo " IDX=$CONSUL_INDEX" >> ${outFile}`]);
  try {
    await waitFor(() => existsSync(outFile) && readFileSync(outFile, "utf8").includes("IDX="), 15_000, "first handler run");
    await put("w/foo", "two");
    await waitFor(() => (readFileSync(outFile, "utf8").match(/IDX=/g) ?? []).length >= 2, 10_000, "second handler run");
    const lines = readFileSync(outFile, "utf8").trim().split("\n");
    const first = JSON.parse(lines[0] ?? "") as Record<string, unknown>;
    assert.is(first["Key"], "w/foo");
    assert.is(first["Value"], Buffer.from("one").toString("base64"));
    assert.ok(typeof first["ModifyIndex"] === "number");
    const idx1 = /IDX=(\d+)/.exec(lines[1] ?? "")?.[1];
    assert.is(idx1, String(first["ModifyIndex"]));
    const second = JSON.parse(lines[2] ?? "") as Record<string, unknown>;
    assert.is(second["Value"], Buffer.from("two").toString("base64"));
    assert.ok(Number(/IDX=(\d+)/.exec(lines[3] ?? "")?.[1]) > Number(idx1));
  } finally {
    assert.is(await w.stop("SIGINT"), 0);
  }
});

test("cairn watch without a handler prints the result once (indented) and exits 0", async () => {
  await put("p/a", "x");
  const r = await runCli(["watch", "-http-addr", addr, "-type", "keyprefix", "-prefix", "p/"]);
  assert.is(r.code, 0, r.err);
  const data = JSON.parse(r.out) as Array<Record<string, unknown>>;
  assert.is(data[0]?.["Key"], "p/a");
  assert.match(r.out, /^\[\n {4}\{\n {8}"/);
  const bad = await runCli(["watch", "-http-addr", addr, "-type", "nope"]);
  assert.is(bad.code, 1);
  assert.match(bad.err, /Unsupported watch type: nope/);
  const svc = await runCli(["watch", "-http-addr", addr, "-type", "services"]);
  assert.is(svc.code, 0);
  assert.ok("consul" in (JSON.parse(svc.out) as Record<string, unknown>));
});

test("config watches fire their script handler with the data", async () => {
  await put("cfg/a", "1");
  await waitFor(() => existsSync(path.join(dir, "cfg.json")) && readFileSync(path.join(dir, "cfg.json"), "utf8").includes("cfg/a"), 10_000, "config watch");
  const data = JSON.parse(readFileSync(path.join(dir, "cfg.json"), "utf8")) as Array<Record<string, unknown>>;
  assert.is(data[0]?.["Key"], "cfg/a");
  assert.ok(Number(readFileSync(path.join(dir, "cfg.idx"), "utf8").trim()) > 0);
});

test("no busy loop after the watched prefix is deleted (queries counted over time)", async () => {
  await put("gone/a", "1");
  await put("gone/b", "2");
  const r = parsePlan({ type: "keyprefix", prefix: "gone/" });
  assert.ok(r.ok);
  if (!r.ok) return;
  const client = new AgentClient({ endpoint: parseEndpoint(addr) });
  const base = clientQuery(client, 2000);
  let queries = 0;
  const calls: unknown[] = [];
  const ac = new AbortController();
  const run = runPlan(
    r.plan,
    { ...realRunnerTime, log: () => undefined, query: (q, i, s) => (queries++, base(q, i, s)) },
    (_i, d) => (calls.push(d), "continue"),
    ac.signal,
  );
  await waitFor(() => calls.length === 1, 5000, "first answer");
  const del = await fetch(`${agent.base}/v1/kv/gone/?recurse`, { method: "DELETE" });
  assert.is(del.status, 200);
  const before = queries;
  await new Promise((res) => setTimeout(res, 2500));
  ac.abort();
  await run;
  const n = queries - before;
  assert.ok(n <= 6, `${n} queries in 2.5 s after the delete`);
  assert.ok(calls.length >= 2, "the deletion reached the handler");
  assert.is(calls[calls.length - 1], null);
});

test("back-off while the agent is unreachable", async () => {
  const port = await freePort();
  const r = parsePlan({ type: "nodes" });
  assert.ok(r.ok);
  if (!r.ok) return;
  const client = new AgentClient({ endpoint: parseEndpoint(`127.0.0.1:${port}`) });
  const ac = new AbortController();
  const logs: string[] = [];
  const t0 = Date.now();
  const done = runPlan(r.plan, { ...realRunnerTime, query: clientQuery(client, undefined), log: (_l, m) => logs.push(m), retryBaseMs: 100 }, () => "continue", ac.signal);
  await new Promise((res) => setTimeout(res, 1600));
  ac.abort();
  const stats = await done;
  // 100, 400, 900 ms waits: 3-4 attempts in 1.6 s, not hundreds.
  assert.ok(stats.queries >= 2 && stats.queries <= 5, `${stats.queries} queries in ${Date.now() - t0} ms`);
  assert.match(logs[0] ?? "", /Watch \(type: nodes\) errored: .*retry in 100ms/);
});

test.run();
