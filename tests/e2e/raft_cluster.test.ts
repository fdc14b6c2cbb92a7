/**
 * tests/e2e/raft_cluster: three real server processes on loopback (-server
 * -bootstrap-expect 3, raft_multiplier 1) form a Raft cluster through the LAN pool:
 * one leader, three peers; writes through any server (forwarded) readable with
 * ?consistent everywhere; the leader SIGKILLed under a bounded write load → a new
 * leader, every acknowledged write on every survivor, writes continue; the killed
 * server restarted from its data dir rejoins and catches up; operator raft
 * configuration and `cairn operator raft list-peers`; a session renewed only through a
 * follower outlives 2 x TTL (renewals are forwarded to the leader's timers).
 */

import { suite } from "../shared/suite.ts";
import * as assert from "uvu/assert";
import { runCli, waitFor } from "./watch_helpers.ts";
import { agreedLeader as agreedLeaderNode, httpGet as get, kvPut as put, ServerProcs, type ServerNode as Node } from "./raft_helpers.ts";

// The killed leader must come back as a voter: no dead-server cleanup while it is down.
const CONFIG = `autopilot { cleanup_dead_servers = false }
`;

const t = suite("raft cluster e2e");
let servers: ServerProcs | undefined;
let nodes: Node[] = [];
let killed: Node | undefined;
const acked: string[] = [];

/** Waits until every given node reports the same non-empty leader; returns its RPC address. */
async function agreedLeader(ns: readonly Node[], ms: number, not = ""): Promise<string> {
  return (await agreedLeaderNode(nodes, ns, ms, not)).rpcAddr;
}

function byServerAddr(addr: string): Node {
  return (servers as ServerProcs).byRpcAddr(addr);
}

async function start(n: Node): Promise<void> {
  await (servers as ServerProcs).start(n);
}

async function kvValue(n: Node, key: string, mode: "consistent" | "stale"): Promise<string | undefined> {
  const r = await get(n, `/v1/kv/${key}?raw&${mode}`);
  if (r.status === 404) return undefined;
  if (r.status !== 200) throw new Error(`GET ${key} on ${n.name}: ${r.status} ${r.body}`);
  return r.body;
}

t.before(async () => {
  servers = await ServerProcs.create({ prefix: "cairn-raft-", size: 3, config: CONFIG });
  nodes = servers.nodes;
});

t.after(async () => {
  await servers?.destroy();
});

t("three servers with bootstrap_expect 3 elect one leader; /v1/status/peers lists all three", async () => {
  await Promise.all(nodes.map((n) => start(n)));
  const leader = await agreedLeader(nodes, 15_000);
  assert.ok(nodes.some((n) => n.rpcAddr === leader), `leader ${leader} is one of the servers`);
  for (const n of nodes) {
    const r = await get(n, "/v1/status/peers");
    const peers = (JSON.parse(r.body) as string[]).slice().sort();
    assert.equal(peers, nodes.map((x) => x.rpcAddr).sort(), `peers on ${n.name}`);
  }
});

t("writes through every server (forwarded to the leader) are readable with ?consistent on every server", async () => {
  for (const n of nodes) assert.ok(await put(n, `via/${n.name}`, `from-${n.name}`), `PUT through ${n.name}`);
  for (const reader of nodes) {
    for (const w of nodes) assert.is(await kvValue(reader, `via/${w.name}`, "consistent"), `from-${w.name}`, `${reader.name} reads via/${w.name}`);
  }
  const r = await get(nodes[0]!, "/v1/kv/via/s1?consistent");
  assert.is(r.headers.get("x-consul-knownleader"), "true");
});

t("SIGKILL of the leader under writes: a new leader, no acknowledged write lost, writes continue", async () => {
  const leaderAddr = await agreedLeader(nodes, 5000);
  const leader = byServerAddr(leaderAddr);
  const survivors = nodes.filter((n) => n !== leader);
  const writer = survivors[0]!;
  let stop = false;
  let i = 0;
  const load = (async () => {
    // Bounded: at most 400 writes, sequential, through a surviving follower.
    while (!stop && i < 400) {
      const key = `load/${String(i).padStart(4, "0")}`;
      if (await put(writer, key, `v${i}`)) acked.push(key);
      i++;
    }
  })();
  await waitFor(() => acked.length >= 20, 10_000, "20 writes before the kill");
  const t0 = Date.now();
  leader.proc?.child.kill("SIGKILL");
  await leader.proc?.exited;
  killed = leader;
  const newLeader = await agreedLeader(survivors, 15_000, leaderAddr);
  const failoverMs = Date.now() - t0;
  console.log(`  failover: new leader ${newLeader} agreed on by both survivors ${failoverMs} ms after SIGKILL of ${leaderAddr}`);
  const before = acked.length;
  await waitFor(() => acked.length >= before + 20 || i >= 400, 15_000, "writes after failover");
  stop = true;
  await load;
  assert.ok(acked.length >= before + 20, `writes continue after failover (${before} -> ${acked.length})`);
  for (const s of survivors) {
    for (const key of acked) assert.ok((await kvValue(s, key, "consistent")) !== undefined, `${key} on ${s.name}`);
  }
});

t("the killed server restarts from its data dir, rejoins and catches up", async () => {
  assert.ok(killed !== undefined);
  const k = killed;
  await start(k);
  const survivor = nodes.find((n) => n !== k)!;
  assert.ok(await put(survivor, "after/restart", "yes"));
  await waitFor(async () => (await kvValue(k, "after/restart", "stale")) === "yes", 15_000, "restarted server catches up");
  for (const key of acked) assert.ok((await kvValue(k, key, "stale")) !== undefined, `${key} on restarted ${k.name}`);
  await agreedLeader(nodes, 10_000);
  // Peers' addresses are part of the Raft configuration in the log, so the restarted
  // server lists all three without waiting for the LAN pool.
  const peers = JSON.parse((await get(k, "/v1/status/peers")).body) as string[];
  assert.equal(peers.sort(), nodes.map((n) => n.rpcAddr).sort());
});

t("operator raft configuration and `cairn operator raft list-peers`", async () => {
  const leaderAddr = await agreedLeader(nodes, 5000);
  const r = await get(nodes[0]!, "/v1/operator/raft/configuration");
  assert.is(r.status, 200, r.body);
  const cfg = JSON.parse(r.body) as { Servers: Array<{ ID: string; Node: string; Address: string; Leader: boolean; Voter: boolean; ProtocolVersion: string; LastIndex: number }>; Index: number };
  assert.is(cfg.Servers.length, 3);
  assert.equal(cfg.Servers.map((s) => s.Node).sort(), ["s1", "s2", "s3"]);
  assert.is(cfg.Servers.filter((s) => s.Leader).length, 1);
  assert.is(cfg.Servers.find((s) => s.Leader)?.Address, leaderAddr);
  assert.ok(cfg.Servers.every((s) => s.Voter && s.ProtocolVersion === "3" && s.LastIndex > 0));
  assert.ok(cfg.Index > 0);
  const bad = await fetch(`${nodes[0]!.base}/v1/operator/raft/peer`, { method: "DELETE" });
  assert.is(bad.status, 400);
  assert.match(await bad.text(), "Must specify either ?id");

  const out = await runCli(["operator", "raft", "list-peers", "-http-addr", `127.0.0.1:${nodes[1]!.httpPort}`]);
  assert.is(out.code, 0, out.err);
  const lines = out.out.trim().split("\n");
  assert.match(lines[0]!, /^Node\s+ID\s+Address\s+State\s+Voter\s+RaftProtocol\s+Commit Index\s+Trails Leader By$/);
  assert.is(lines.length, 4);
  const leaderLine = lines.find((l) => l.includes(" leader "));
  assert.ok(leaderLine?.includes(leaderAddr), out.out);
  assert.match(leaderLine ?? "", /\s-$/);
  assert.is(lines.filter((l) => / follower .* commits?$/.test(l)).length, 2, out.out);
});

t("a session renewed only through a follower outlives 2 x TTL (renewals reach the leader's timers)", async () => {
  const leaderAddr = await agreedLeader(nodes, 5000);
  const f = nodes.find((n) => n.rpcAddr !== leaderAddr)!;
  const r = await fetch(`${f.base}/v1/session/create`, { method: "PUT", body: JSON.stringify({ TTL: "10s", Behavior: "delete" }) });
  assert.is(r.status, 200);
  const id = (JSON.parse(await r.text()) as { ID: string }).ID;
  // The leader destroys it 2 x TTL = 20 s after the last renewal it knows of.
  const t0 = Date.now();
  while (Date.now() - t0 < 20_000) {
    await new Promise((res) => setTimeout(res, 4000));
    const rr = await fetch(`${f.base}/v1/session/renew/${id}`, { method: "PUT" });
    assert.is(rr.status, 200, `renew at ${Date.now() - t0} ms`);
  }
  await new Promise((res) => setTimeout(res, 1500));
  const info = JSON.parse((await get(f, `/v1/session/info/${id}?consistent`)).body) as unknown[];
  assert.is(info.length, 1, "session alive after 21.5 s of follower-only renewals");
});

t.run();
