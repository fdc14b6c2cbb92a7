/**
 * tests/e2e/raft_membership: cluster life with real server processes on loopback —
 * three servers bootstrap (bootstrap_expect 3); the autopilot configuration over HTTP
 * (GET, PUT, ?cas) and the CLI (get-config, set-config); a fourth server started with
 * -retry-join finds the running cluster, does not bootstrap a second one, is added by
 * the leader as a non-voter and promoted once stable (configuration shows four voters,
 * it holds the data); autopilot health and state (HTTP and `operator autopilot state`);
 * the leader leaves gracefully (`cairn leave`) and the configuration shrinks to three
 * while writes continue; a SIGKILLed server is removed by dead-server cleanup once serf
 * marks it failed, and restarted from its data dir it is added back and promoted; a new
 * server with -retry-join and no bootstrap_expect waits to be added and is promoted; a single
 * server answers the autopilot endpoints as its own healthy leader.
 */

import { suite } from "../shared/suite.ts";
import * as assert from "uvu/assert";
import { startAgent } from "./agent_proc.ts";
import { runCli, waitFor } from "./watch_helpers.ts";
import { agreedLeader as agreedLeaderNode, httpGet as get, kvPut, leaderOf, ServerProcs, type ServerNode as Node } from "./raft_helpers.ts";

const CONFIG = `autopilot { max_trailing_logs = 260 }
`;

interface RaftCfg {
  Servers: Array<{ ID: string; Node: string; Address: string; Leader: boolean; Voter: boolean }>;
}

const t = suite("raft membership e2e");
let servers: ServerProcs | undefined;
let nodes: Node[] = [];
let removedNode: Node | undefined;

const live = (): Node[] => (servers as ServerProcs).live();

async function put(n: Node, p: string, body: string): Promise<{ status: number; body: string }> {
  const r = await fetch(n.base + p, { method: "PUT", body, signal: AbortSignal.timeout(8000) });
  return { status: r.status, body: await r.text() };
}

async function agreedLeader(ns: readonly Node[], ms: number): Promise<Node> {
  return agreedLeaderNode(nodes, ns, ms);
}

async function raftConfig(n: Node): Promise<RaftCfg | undefined> {
  try {
    const r = await get(n, "/v1/operator/raft/configuration");
    return r.status === 200 ? (JSON.parse(r.body) as RaftCfg) : undefined;
  } catch {
    return undefined;
  }
}

/** Starts n with -retry-join of `join`; with `expect` false, without bootstrap_expect (it only joins). */
async function start(n: Node, join: readonly Node[], expect = true): Promise<void> {
  await (servers as ServerProcs).start(n, { join, expect: expect ? 3 : null });
}

t.before(async () => {
  servers = await ServerProcs.create({ prefix: "cairn-raft-members-", size: 5, name: "m", expect: 3, config: CONFIG });
  nodes = servers.nodes;
  const first = nodes.slice(0, 3);
  await Promise.all(first.map((n) => start(n, first)));
});

t.after(async () => {
  await servers?.destroy();
});

t("three servers bootstrap; autopilot configuration GET/PUT with ?cas and the CLI", async () => {
  const first = nodes.slice(0, 3);
  const leader = await agreedLeader(first, 15_000);
  // The leader stores the config file's autopilot block (over Consul's defaults) in the replicated state.
  let cfg: Record<string, unknown> = {};
  await waitFor(async () => {
    const r = await get(nodes[1]!, "/v1/operator/autopilot/configuration");
    cfg = JSON.parse(r.body) as Record<string, unknown>;
    return r.status === 200 && typeof cfg.ModifyIndex === "number" && cfg.ModifyIndex > 0;
  }, 10_000, "autopilot configuration stored");
  assert.equal({ ...cfg, CreateIndex: 0, ModifyIndex: 0 }, {
    CleanupDeadServers: true, LastContactThreshold: "200ms", MaxTrailingLogs: 260, MinQuorum: 0, ServerStabilizationTime: "10s",
    RedundancyZoneTag: "", DisableUpgradeMigration: false, UpgradeVersionTag: "", CreateIndex: 0, ModifyIndex: 0,
  });
  const mi = cfg.ModifyIndex as number;
  // Generous thresholds: this machine is shared and slow at times.
  const next = { ...cfg, LastContactThreshold: "3s", ServerStabilizationTime: "1s" };
  assert.equal(await put(leader, `/v1/operator/autopilot/configuration?cas=${mi + 1000}`, JSON.stringify(next)), { status: 200, body: "false" });
  const bad = await put(leader, "/v1/operator/autopilot/configuration?cas=x", JSON.stringify(next));
  assert.is(bad.status, 400);
  assert.match(bad.body, "Error parsing cas value");
  assert.equal(await put(nodes.find((n) => n !== leader)!, `/v1/operator/autopilot/configuration?cas=${mi}`, JSON.stringify(next)), { status: 200, body: "true" });
  const after = JSON.parse((await get(leader, "/v1/operator/autopilot/configuration")).body) as Record<string, unknown>;
  assert.is(after.ServerStabilizationTime, "1s");
  assert.is(after.LastContactThreshold, "3s");
  assert.ok((after.ModifyIndex as number) > mi);
  assert.is(after.CreateIndex, cfg.CreateIndex);

  const set = await runCli(["operator", "autopilot", "set-config", "-max-trailing-logs=300", "-http-addr", `127.0.0.1:${nodes[2]!.httpPort}`]);
  assert.is(set.code, 0, set.err);
  assert.is(set.out.trim(), "Configuration updated!");
  const got = await runCli(["operator", "autopilot", "get-config", "-http-addr", `127.0.0.1:${nodes[0]!.httpPort}`]);
  assert.is(got.code, 0, got.err);
  assert.is(
    got.out.trim(),
    [
      "CleanupDeadServers = true",
      "LastContactThreshold = 3s",
      "MaxTrailingLogs = 300",
      "MinQuorum = 0",
      "ServerStabilizationTime = 1s",
      'RedundancyZoneTag = ""',
      "DisableUpgradeMigration = false",
      'UpgradeVersionTag = ""',
    ].join("\n"),
  );
});

t("a fourth server with -retry-join joins the running cluster and is promoted to voter", async () => {
  const first = nodes.slice(0, 3);
  const leader = await agreedLeader(first, 10_000);
  assert.ok(await kvPut(leader, "before/join", "v1"));
  const fourth = nodes[3]!;
  await start(fourth, [nodes[0]!]);
  const t0 = Date.now();
  let added = 0;
  await waitFor(async () => {
    const c = await raftConfig(leader);
    if (added === 0 && c?.Servers.length === 4) added = Date.now() - t0;
    return c !== undefined && c.Servers.length === 4 && c.Servers.every((s) => s.Voter);
  }, 30_000, "four voters in the configuration");
  console.log(`  join: in the configuration ${added} ms after its HTTP was up, voter after ${Date.now() - t0} ms (ServerStabilizationTime 1s, reconcile every 10 s)`);
  const c = (await raftConfig(leader))!;
  const me = c.Servers.find((s) => s.Node === fourth.name);
  assert.is(me?.Address, fourth.rpcAddr, "the configuration records its RPC address");
  // It joined the existing cluster: same leader, and it has the data.
  assert.is(await leaderOf(fourth), leader.rpcAddr);
  await waitFor(async () => (await get(fourth, "/v1/kv/before/join?raw&stale")).body === "v1", 10_000, "data on the new server");
  const peers = JSON.parse((await get(fourth, "/v1/status/peers")).body) as string[];
  assert.is(peers.length, 4);
});

t("autopilot health and state over HTTP, `operator autopilot state`", async () => {
  let h: { Healthy: boolean; FailureTolerance: number; Servers: Array<Record<string, unknown>> } = { Healthy: false, FailureTolerance: 0, Servers: [] };
  let status = 0;
  await waitFor(async () => {
    const r = await get(nodes[3]!, "/v1/operator/autopilot/health");
    status = r.status;
    h = JSON.parse(r.body) as typeof h;
    return r.status === 200 && h.Healthy && h.Servers.length === 4 && h.Servers.every((s) => s.Voter === true);
  }, 15_000, "a healthy cluster of four voters");
  assert.is(status, 200);
  assert.is(h.FailureTolerance, 1, "4 healthy voters, quorum 3");
  const leaders = h.Servers.filter((s) => s.Leader === true);
  assert.is(leaders.length, 1);
  assert.is(leaders[0]!.LastContact, "0s");
  for (const s of h.Servers) {
    assert.equal(Object.keys(s), ["ID", "Name", "Address", "SerfStatus", "Version", "Leader", "LastContact", "LastTerm", "LastIndex", "Healthy", "Voter", "StableSince"]);
    assert.is(s.SerfStatus, "alive");
    assert.is(s.Voter, true);
    assert.match(String(s.StableSince), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  }
  assert.equal(h.Servers.map((s) => s.Name).sort(), ["m1", "m2", "m3", "m4"]);

  const st = JSON.parse((await get(nodes[0]!, "/v1/operator/autopilot/state")).body) as { Healthy: boolean; Leader: string; Voters: string[]; Servers: Record<string, { Status: string }> };
  assert.is(st.Voters.length, 4);
  assert.is(st.Voters[0], st.Leader);
  assert.is(st.Servers[st.Leader]?.Status, "leader");

  const out = await runCli(["operator", "autopilot", "state", "-http-addr", `127.0.0.1:${nodes[1]!.httpPort}`]);
  assert.is(out.code, 0, out.err);
  assert.match(out.out, /^Healthy: {22}(true|false)\nFailure Tolerance: {12}\d\nOptimistic Failure Tolerance: 0\nLeader: {23}\S+\nVoters:\n/);
  assert.is((out.out.match(/ {6}Node Status: {5}alive/g) ?? []).length, 4, out.out);
  const js = await runCli(["operator", "autopilot", "state", "-format=json", "-http-addr", `127.0.0.1:${nodes[1]!.httpPort}`]);
  assert.is(js.code, 0, js.err);
  assert.is(Object.keys((JSON.parse(js.out) as { Servers: object }).Servers).length, 4);
});

t("the leader leaves gracefully: leadership moves, the configuration shrinks to three, writes continue", async () => {
  const leader = await agreedLeader(live(), 10_000);
  const others = live().filter((n) => n !== leader);
  let stop = false;
  let okWrites = 0;
  const writer = (async () => {
    let i = 0;
    while (!stop) {
      if (await kvPut(others[i % others.length]!, `during/leave/${i}`, String(i))) okWrites++;
      i++;
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  try {
    const out = await runCli(["leave", "-http-addr", `127.0.0.1:${leader.httpPort}`]);
    assert.is(out.code, 0, out.err);
    assert.match(out.out, "Graceful leave complete");
    const t0 = Date.now();
    await Promise.race([leader.proc!.exited, new Promise((r) => setTimeout(r, 15_000))]);
    leader.proc = undefined;
    await waitFor(async () => {
      const c = await raftConfig(others[0]!);
      return c !== undefined && c.Servers.length === 3 && !c.Servers.some((s) => s.Node === leader.name);
    }, 20_000, "configuration without the leaver");
    console.log(`  leave: configuration of three ${Date.now() - t0} ms after \`cairn leave\` returned`);
    const before = okWrites;
    await waitFor(() => okWrites >= before + 5, 10_000, "writes after the leave");
  } finally {
    stop = true;
    await writer;
  }
  const nl = await agreedLeader(others, 10_000);
  assert.ok(nl !== leader);
  const c = (await raftConfig(nl))!;
  assert.ok(c.Servers.every((s) => s.Voter));
});

t("a SIGKILLed server is removed by dead-server cleanup once serf marks it failed", async () => {
  const leader = await agreedLeader(live(), 10_000);
  const victim = live().find((n) => n !== leader)!;
  await victim.proc!.stop("SIGKILL", 5000);
  victim.proc = undefined;
  const rest = live();
  const t0 = Date.now();
  await waitFor(async () => {
    const c = await raftConfig(leader);
    return c !== undefined && c.Servers.length === 2 && !c.Servers.some((s) => s.Node === victim.name);
  }, 25_000, "dead server removed");
  console.log(`  cleanup: SIGKILLed server removed ${Date.now() - t0} ms after the kill`);
  assert.ok(await kvPut(rest[1]!, "after/cleanup", "yes"));
  const r = await get(leader, "/v1/kv/after/cleanup?raw&consistent");
  assert.is(r.body, "yes");
  let hb: { Healthy: boolean; Servers: unknown[]; FailureTolerance: number } = { Healthy: false, Servers: [], FailureTolerance: -1 };
  await waitFor(async () => {
    hb = JSON.parse((await get(leader, "/v1/operator/autopilot/health")).body) as typeof hb;
    return hb.Servers.length === 2;
  }, 10_000, "health of two servers");
  assert.is(hb.FailureTolerance, 0, "2 voters, quorum 2");
  removedNode = victim;
});

t("the removed server restarts from its data dir and is added back and promoted", async () => {
  const back = removedNode;
  assert.ok(back !== undefined);
  const rest = live();
  await start(back, rest);
  const leader = await agreedLeader(rest, 10_000);
  await waitFor(async () => {
    const c = await raftConfig(leader);
    return c !== undefined && c.Servers.length === 3 && c.Servers.every((s) => s.Voter) && c.Servers.some((s) => s.Node === back.name);
  }, 30_000, "three voters again");
  await waitFor(async () => (await get(back, "/v1/kv/after/cleanup?raw&stale")).body === "yes", 10_000, "it caught up");
  assert.is(await leaderOf(back), leader.rpcAddr);
});

t("a new server with -retry-join and no bootstrap_expect waits to be added, then is promoted", async () => {
  const rest = live();
  const fifth = nodes[4]!;
  await start(fifth, [rest[0]!], false);
  const leader = await agreedLeader(rest, 10_000);
  await waitFor(async () => {
    const c = await raftConfig(leader);
    return c !== undefined && c.Servers.length === 4 && c.Servers.every((s) => s.Voter) && c.Servers.some((s) => s.Node === fifth.name);
  }, 30_000, "four voters with the fifth server");
  await waitFor(async () => (await leaderOf(fifth)) === leader.rpcAddr, 10_000, "the same leader on the new server");
  await waitFor(async () => (await get(fifth, "/v1/kv/after/cleanup?raw&stale")).body === "yes", 10_000, "data on the new server");
});

t("a single server answers the autopilot endpoints as its own healthy leader", async () => {
  const dev = await startAgent({ args: ["-dev"] });
  try {
    const h = await fetch(`${dev.base}/v1/operator/autopilot/health`);
    const hb = JSON.parse(await h.text()) as { Healthy: boolean; FailureTolerance: number; Servers: Array<{ Leader: boolean; Voter: boolean }> };
    assert.is(h.status, 200);
    assert.is(hb.Healthy, true);
    assert.is(hb.Servers.length, 1);
    assert.ok(hb.Servers[0]!.Leader && hb.Servers[0]!.Voter);
    const c = JSON.parse(await (await fetch(`${dev.base}/v1/operator/autopilot/configuration`)).text()) as { ModifyIndex: number; MinQuorum: number };
    assert.is(c.MinQuorum, 0);
    // A single server stores no row until the first write: the defaults show ModifyIndex 0, and a CAS of 0 matches.
    assert.is(c.ModifyIndex, 0);
    const cas = await fetch(`${dev.base}/v1/operator/autopilot/configuration?cas=0`, { method: "PUT", body: JSON.stringify({ ...c, MinQuorum: 1 }) });
    assert.is((await cas.text()).trim(), "true");
    const c2 = JSON.parse(await (await fetch(`${dev.base}/v1/operator/autopilot/configuration`)).text()) as { ModifyIndex: number; MinQuorum: number };
    assert.is(c2.MinQuorum, 1);
    assert.ok(c2.ModifyIndex > 0);
    const stale = await fetch(`${dev.base}/v1/operator/autopilot/configuration?cas=0`, { method: "PUT", body: JSON.stringify({ ...c, MinQuorum: 2 }) });
    assert.is((await stale.text()).trim(), "false");
    const set = await runCli(["operator", "autopilot", "set-config", "-min-quorum=3", "-http-addr", dev.base.replace("http://", "")]);
    assert.is(set.out.trim(), "Configuration updated!", set.err);
  } finally {
    await dev.stop("SIGKILL", 2000);
  }
});

t.run();
