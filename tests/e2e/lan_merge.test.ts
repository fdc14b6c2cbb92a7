/**
 * End to end: Consul's lanMergeDelegate on the LAN pool — an agent of another datacenter cannot
 * join (the join fails naming the wrong datacenter, and neither side lists the other), while
 * an agent of the same datacenter joins.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { startAgent, type AgentProc } from "./agent_proc.ts";

const started: AgentProc[] = [];
test.after(async () => {
  await Promise.all(started.map((a) => a.stop()));
});

async function agent(node: string, dc: string): Promise<AgentProc> {
  const a = await startAgent({ args: ["-dev", "-node", node, "-datacenter", dc], serfLanPort: 0 });
  started.push(a);
  return a;
}

async function memberNames(a: AgentProc): Promise<string[]> {
  const r = await fetch(`${a.base}/v1/agent/members`);
  return ((await r.json()) as { Name: string }[]).map((m) => m.Name).sort();
}

test("an agent of another datacenter cannot join the LAN pool; one of the same datacenter can", async () => {
  const a = await agent("a1", "dc1");
  const b = await agent("b1", "dc2");
  const r = await fetch(`${b.base}/v1/agent/join/127.0.0.1:${a.serfLanPort}`, { method: "PUT" });
  const text = await r.text();
  assert.is(r.status, 500, text);
  assert.match(text, /part of wrong datacenter/);
  await new Promise((res) => setTimeout(res, 1500));
  assert.equal(await memberNames(a), ["a1"]);
  assert.equal(await memberNames(b), ["b1"]);
  const c = await agent("c1", "dc1");
  const ok = await fetch(`${c.base}/v1/agent/join/127.0.0.1:${a.serfLanPort}`, { method: "PUT" });
  assert.is(ok.status, 200, await ok.text());
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && (await memberNames(a)).length < 2) await new Promise((res) => setTimeout(res, 100));
  assert.equal(await memberNames(a), ["a1", "c1"]);
});

test.run();
