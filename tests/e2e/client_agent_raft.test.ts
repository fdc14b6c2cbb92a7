/**
 * tests/e2e/client_agent_raft: a client agent in front of a three-server Raft cluster
 * (bootstrap-expect 3, raft_multiplier 1) on loopback: its writes and agent registrations
 * reach the cluster through whichever server it uses (a follower forwards to the leader),
 * and when that server is SIGKILLed the client fails over to another one — reads and writes
 * through the client keep working, no acknowledged write is lost.
 */

import { suite } from "../shared/suite.ts";
import * as assert from "uvu/assert";
import path from "node:path";
import { startAgent, type AgentProc } from "./agent_proc.ts";
import { waitFor } from "./watch_helpers.ts";
import { ServerProcs, type ServerNode as Srv } from "./raft_helpers.ts";

const t = suite("client agent over a raft cluster e2e");
let cluster: ServerProcs | undefined;
let servers: Srv[] = [];
let client: AgentProc | undefined;
const acked: string[] = [];

async function req(base: string, p: string, init: RequestInit = {}): Promise<{ status: number; body: string }> {
  const r = await fetch(base + p, { ...init, signal: AbortSignal.timeout(8000) });
  return { status: r.status, body: await r.text() };
}

async function put(base: string, key: string, value: string): Promise<boolean> {
  try {
    const r = await req(base, `/v1/kv/${key}`, { method: "PUT", body: value });
    return r.status === 200 && r.body.trim() === "true";
  } catch {
    return false;
  }
}

/** The server the client last named as its active one (its log line). */
function activeServer(c: AgentProc): Srv | undefined {
  const all = [...c.output().matchAll(/next active server is (\S+) \(Addr: ([^)]+)\)/g)];
  const last = all[all.length - 1];
  return last === undefined ? undefined : servers.find((s) => s.name === last[1]);
}

t.before(async () => {
  cluster = await ServerProcs.create({ prefix: "cairn-client-raft-", size: 3 });
  servers = cluster.nodes;
  const c = cluster;
  await Promise.all(servers.map((s) => c.start(s)));
  // The client is ready once a server answers /v1/status/leader with a leader through it.
  client = await startAgent({
    args: ["-data-dir", path.join(c.dir, "c1"), "-node", "c1", "-config-file", c.cfgFile, "-retry-interval", "1s", ...c.joinArgs()],
    serfLanPort: 0,
    readyTimeoutMs: 30_000,
  });
});

t.after(async () => {
  await client?.stop("SIGKILL", 2000);
  await cluster?.destroy();
});

t("writes and registrations through the client reach the whole cluster", async () => {
  const c = client as AgentProc;
  for (let i = 0; i < 5; i++) {
    assert.ok(await put(c.base, `pre/${i}`, `v${i}`), `PUT pre/${i}`);
    acked.push(`pre/${i}`);
  }
  for (const s of servers) {
    const r = await req((s.proc as AgentProc).base, "/v1/kv/pre/4?raw&consistent");
    assert.is(r.body, "v4", `pre/4 on ${s.name}`);
  }
  const reg = await req(c.base, "/v1/agent/service/register", { method: "PUT", body: JSON.stringify({ Name: "api", Port: 9000 }) });
  assert.is(reg.status, 200, reg.body);
  await waitFor(async () => {
    const r = await req((servers[0]?.proc as AgentProc).base, "/v1/catalog/service/api?stale");
    return r.status === 200 && (JSON.parse(r.body) as { Node: string }[]).some((x) => x.Node === "c1");
  }, 10_000, "api of c1 in the catalog");
  assert.ok(activeServer(c) !== undefined, "the client named its active server");
});

t("the client fails over when the server it uses is SIGKILLed; no acknowledged write is lost", async () => {
  const c = client as AgentProc;
  const victim = activeServer(c);
  assert.ok(victim !== undefined);
  const t0 = Date.now();
  await victim.proc?.stop("SIGKILL", 2000);
  victim.proc = undefined;
  // Writes through the client succeed again once it moved on (and the cluster has a leader).
  let firstOk = -1;
  for (let i = 0; Date.now() - t0 < 15_000 && acked.length < 25; i++) {
    if (await put(c.base, `post/${i}`, `w${i}`)) {
      acked.push(`post/${i}`);
      if (firstOk < 0) firstOk = Date.now() - t0;
    } else {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  assert.ok(firstOk >= 0, `no write through the client succeeded after the kill; output:\n${c.output().slice(-3000)}`);
  console.log(`  client fail-over: first acknowledged write ${firstOk} ms after SIGKILL of ${victim.name}`);
  const now = activeServer(c);
  assert.ok(now !== undefined && now.name !== victim.name, `active server moved off ${victim.name}`);
  for (const k of acked) {
    const r = await req(c.base, `/v1/kv/${k}?raw&consistent`);
    assert.is(r.status, 200, `${k} through the client: ${r.status} ${r.body}`);
  }
  const alive = servers.filter((s) => s.proc !== undefined);
  for (const s of alive) {
    const r = await req((s.proc as AgentProc).base, `/v1/kv/?keys&consistent`);
    const keys = JSON.parse(r.body) as string[];
    for (const k of acked) assert.ok(keys.includes(k), `${k} on ${s.name}`);
  }
});

t.run();
