/**
 * agent/wan: the pure WAN views (Consul router GetDatacentersByDistance and
 * GetDatacenterMaps + Coordinate.ListDatacenters) and two real WAN pools on loopback
 * (each in its gossip worker): names <node>.<dc>, server tags, the WAN preset's timing,
 * datacenters, coordinates, force-leave and leave.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { datacenterMaps, datacentersByDistance, floodTargets, formatSnapshot, parseSnapshot, startWan, wanName, type WanOptions, type WanPool } from "../../src/agent/wan.ts";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { MemberView } from "../../src/server/types.ts";
import { dcParam, remoteServers } from "../../src/agent/wan_forward.ts";
import { newCoordinate, type Coordinate } from "../../src/coordinate/index.ts";
import { startGossip, wanConfig } from "../../src/gossip/index.ts";

const srv = (name: string, dc: string): { name: string; tags: Record<string, string> } => ({ name, tags: { role: "consul", dc } });
const at = (x: number): Coordinate => ({ ...newCoordinate(), Vec: [x, 0, 0, 0, 0, 0, 0, 0], Height: 0, Error: 0.1 });

test("wanName is <node>.<dc>", () => {
  assert.is(wanName("s1", "dc1"), "s1.dc1");
});

test("datacentersByDistance: local first, then by median RTT, name order on ties and without coordinates", () => {
  const members = [srv("a.dc1", "dc1"), srv("b.east", "east"), srv("c.east", "east"), srv("d.east", "east"), srv("e.west", "west"), srv("f.alpha", "alpha"), { name: "x", tags: { role: "node", dc: "zzz" } }];
  const coords: Record<string, Coordinate> = {
    "a.dc1": at(0),
    "b.east": at(0.5), // median of east: 0.05
    "c.east": at(0.05),
    "d.east": at(0.01),
    "e.west": at(0.02),
    // alpha: no coordinate -> +Inf
  };
  assert.equal(datacentersByDistance(members, "dc1", coords["a.dc1"], coords), ["dc1", "west", "east", "alpha"]);
  // Without our own coordinate every remote dc is at +Inf: name order after the local one.
  assert.equal(datacentersByDistance(members, "dc1", undefined, {}), ["dc1", "alpha", "east", "west"]);
  // Members of any status count (serf Members() keeps left and failed ones until reaped).
  assert.equal(datacentersByDistance([srv("a.dc1", "dc1")], "dc1", undefined, {}), ["dc1"]);
  assert.equal(datacentersByDistance([], "dc1", undefined, {}), []);
});

test("datacenterMaps: servers with a cached coordinate by dc, names without .<dc>, sorted", () => {
  const members = [srv("s2.dc2", "dc2"), srv("s1.dc1", "dc1"), srv("s3.dc2", "dc2"), srv("nocoord.dc1", "dc1"), { name: "n.dc1", tags: { role: "node", dc: "dc1" } }];
  const coords: Record<string, Coordinate> = { "s1.dc1": at(0), "s2.dc2": at(0.1), "s3.dc2": at(0.2), "n.dc1": at(0) };
  const maps = datacenterMaps(members, coords);
  assert.equal(maps.map((m) => [m.datacenter, m.areaId, m.coordinates.map((c) => c.node)]), [["dc1", "WAN", ["s1"]], ["dc2", "WAN", ["s2", "s3"]]]);
  assert.equal(maps[1]?.coordinates[1]?.coord, at(0.2));
});

test("floodTargets: alive servers of this dc with wan_join_port that the WAN pool lacks", () => {
  const lan = (name: string, tags: Record<string, string>, status = 1, addr = "10.0.0.1"): MemberView => ({ name, addr, port: 8301, tags, status });
  const members = [
    lan("me", { role: "consul", dc: "dc1", wan_join_port: "8302" }),
    lan("s2", { role: "consul", dc: "dc1", wan_join_port: "9302" }, 1, "10.0.0.2"),
    lan("s3", { role: "consul", dc: "dc1", wan_join_port: "8302" }, 1, "10.0.0.3"), // already in the WAN pool
    lan("s4", { role: "consul", dc: "dc1" }), // no wan_join_port
    lan("s5", { role: "consul", dc: "dc2", wan_join_port: "8302" }), // other dc
    lan("s6", { role: "consul", dc: "dc1", wan_join_port: "8302" }, 4), // failed
    lan("c1", { role: "node", dc: "dc1", wan_join_port: "8302" }),
    lan("s7", { role: "consul", dc: "dc1", wan_join_port: "8302" }, 1, "fd00::7"),
  ];
  assert.equal(floodTargets(members, [{ name: "me.dc1" }, { name: "s3.dc1" }], "me", "dc1"), [
    { name: "s2", addr: "10.0.0.2:9302" },
    { name: "s7", addr: "[fd00::7]:8302" },
  ]);
});

test("serf snapshot: alive/not-alive/leave replay and the text written", () => {
  const text = "# comment\nclock: 4\nalive: s1.dc1 10.0.0.1:8302\nalive: s2.dc2 10.0.0.2:8302\nnot-alive: s1.dc1\ncoordinate: {}\nalive: s3.dc3 [fd00::3]:8302\n";
  assert.equal([...parseSnapshot(text, false).alive], [["s2.dc2", "10.0.0.2:8302"], ["s3.dc3", "[fd00::3]:8302"]]);
  assert.is(parseSnapshot(text, false).left, false);
  assert.equal([...parseSnapshot(text + "leave\n", false).alive], []);
  assert.is(parseSnapshot(text + "leave\n", false).left, true);
  // rejoin_after_leave ignores the leave.
  assert.is(parseSnapshot(text + "leave\n", true).alive.size, 2);
  // Members alive again after a leave count again.
  assert.equal([...parseSnapshot("leave\nalive: s4.dc4 10.0.0.4:8302\n", false).alive], [["s4.dc4", "10.0.0.4:8302"]]);
  const out = formatSnapshot(new Map([["b.dc2", "10.0.0.2:8302"], ["a.dc1", "10.0.0.1:8302"]]), false);
  assert.is(out, "alive: a.dc1 10.0.0.1:8302\nalive: b.dc2 10.0.0.2:8302\n");
  assert.is(formatSnapshot(new Map([["a.dc1", "x:1"]]), true), "leave\n");
});

test("forwarding: the dc parameter and the alive servers of a datacenter with their RPC address", () => {
  assert.is(dcParam(""), "");
  assert.is(dcParam("raw&dc=dc2"), "dc2");
  assert.is(dcParam("dc=&x=1"), "");
  assert.is(dcParam("index=5&wait=1s"), "");
  const m = (name: string, tags: Record<string, string>, status = 1, addr = "10.0.0.1"): MemberView => ({ name, addr, port: 8302, tags, status });
  const members = [
    m("s1.dc1", { role: "consul", dc: "dc1", port: "8300" }),
    m("s2.dc2", { role: "consul", dc: "dc2", port: "8300" }, 1, "10.0.0.2"),
    m("s3.dc2", { role: "consul", dc: "dc2", port: "9300" }, 4), // failed
    m("s4.dc2", { role: "consul", dc: "dc2" }), // no port tag
    m("s5.dc2", { role: "consul", dc: "dc2", port: "8300" }, 1, "fd00::5"),
  ];
  assert.equal(remoteServers(members, "dc2"), [{ name: "s2.dc2", addr: "10.0.0.2:8300" }, { name: "s5.dc2", addr: "[fd00::5]:8300" }]);
  assert.equal(remoteServers(members, "dc9"), []);
});

function opts(node: string, dc: string, over: Partial<WanOptions> = {}): WanOptions {
  return {
    nodeName: node, nodeId: `00000000-0000-4000-8000-00000000000${dc.length}`, datacenter: dc, bootstrap: true, bootstrapExpect: 0,
    serverPort: 8300, build: "1.21.5:abc", bindAddr: "127.0.0.1", advertiseAddr: "127.0.0.1", port: 0, dev: true, encrypt: "",
    retryJoin: [], retryIntervalMs: 200, retryMax: 0,
    // Consul's -dev gossip_wan over the WAN preset, so the test is quick.
    tuning: { gossipNodes: 3, gossipIntervalMs: 100, probeIntervalMs: 100, probeTimeoutMs: 100, suspicionMult: 3, retransmitMult: 4 },
    ...over,
  };
}

async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

test("the WAN preset is Consul's gossip_wan", () => {
  const c = wanConfig();
  assert.equal([c.probeIntervalMs, c.probeTimeoutMs, c.suspicionMult, c.gossipNodes, c.gossipIntervalMs, c.pushPullIntervalMs, c.tcpTimeoutMs, c.gossipToTheDeadTimeMs], [5000, 3000, 6, 3, 500, 60_000, 30_000, 60_000]);
});

test("two WAN pools: retry-join, members, datacenters, coordinates, force-leave and leave", async () => {
  const pools: WanPool[] = [];
  try {
    const a = await startWan(opts("s1", "dc1"), { log: () => {} });
    pools.push(a);
    assert.is(a.name, "s1.dc1");
    const b = await startWan(opts("s2", "dc2", { retryJoin: [`127.0.0.1:${a.port}`] }), { log: () => {} });
    pools.push(b);
    for (const p of [a, b]) await until(() => p.members().filter((m) => m.status === 1).length === 2, 10_000, "two alive members");
    const m = a.members();
    assert.equal(m.map((x) => x.name), ["s1.dc1", "s2.dc2"]);
    assert.equal(m[1]?.tags, { role: "consul", dc: "dc2", segment: "", id: "00000000-0000-4000-8000-000000000003", vsn: "2", vsn_min: "2", vsn_max: "3", raft_vsn: "3", build: "1.21.5:abc", port: "8300", bootstrap: "1" });
    assert.is(m[1]?.port, b.port);
    assert.equal(await a.datacenters(), ["dc1", "dc2"]);
    assert.equal(await b.datacenters(), ["dc2", "dc1"]);
    await until(async () => (await a.coordinates()).length === 2, 10_000, "a's cached coordinate of s2");
    const maps = await a.coordinates();
    assert.equal(maps.map((x) => [x.datacenter, x.coordinates.map((c) => c.node)]), [["dc1", ["s1"]], ["dc2", ["s2"]]]);

    // force-leave of an alive member: serf only acts on failed ones; an unknown one is refused.
    const refused = await a.forceLeave("nope.dc9", false).then(() => "", (e: unknown) => String(e));
    assert.match(refused, /No node found with name 'nope.dc9'/);

    await b.leave();
    await until(() => a.members().find((x) => x.name === "s2.dc2")?.status === 3, 10_000, "s2.dc2 left");
    // A left dc stays known until reaped, as with Consul's router.
    assert.equal(await a.datacenters(), ["dc1", "dc2"]);
  } finally {
    for (const p of pools) await p.close();
  }
});

test("the WAN pool takes Consul servers only (wanMergeDelegate): a client pool can neither join it nor be joined", async () => {
  const pools: { close(): Promise<void> }[] = [];
  try {
    const a = await startWan(opts("s1", "dc1"), { log: () => {} });
    pools.push(a);
    const client = await startGossip({
      name: "c1", bindAddr: "127.0.0.1", bindPort: 0, profile: "dev", tags: { role: "node", dc: "dc1" }, inProcess: true, logLevel: "none",
    });
    pools.push(client);
    const failed = await a.join([`127.0.0.1:${client.port}`]).then(() => "", (e: unknown) => String(e));
    assert.match(failed, /Member 'c1' is not a server/);
    // The client's join reaches the WAN pool, which merges nothing of it and ignores its alive messages.
    await client.join([`127.0.0.1:${a.port}`]);
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(a.members().map((m) => m.name), ["s1.dc1"]);
  } finally {
    for (const p of pools) await p.close();
  }
});

test("a restarted server re-joins the members of its WAN snapshot, unless it had left", async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "cairn-wan-snap-"));
  const snapshotPath = path.join(dir, "serf", "remote.snapshot");
  const pools: WanPool[] = [];
  try {
    const a = await startWan(opts("s1", "dc1"), { log: () => {} });
    pools.push(a);
    const b1 = await startWan(opts("s2", "dc2", { snapshotPath, retryJoin: [`127.0.0.1:${a.port}`] }), { log: () => {} });
    await until(() => b1.members().filter((m) => m.status === 1).length === 2, 10_000, "b1 joined");
    await until(() => { try { return readFileSync(snapshotPath, "utf8").includes(`alive: s1.dc1 127.0.0.1:${a.port}`); } catch { return false; } }, 5000, "snapshot written");
    await b1.close(); // a crash, as far as the pool goes: no leave
    // Restarted without -retry-join-wan: the snapshot brings it back.
    // (on the same port, as a restarted server: memberlist keeps a name's address until it may be reclaimed)
    const b2 = await startWan(opts("s2", "dc2", { snapshotPath, port: b1.port }), { log: () => {} });
    pools.push(b2);
    await until(() => b2.members().some((m) => m.name === "s1.dc1" && m.status === 1), 10_000, "b2 re-joined s1.dc1");
    await until(() => a.members().find((m) => m.name === "s2.dc2")?.status === 1 && a.members().find((m) => m.name === "s2.dc2")?.port === b2.port, 10_000, "a sees the new s2.dc2");
    await b2.leave();
    assert.is(readFileSync(snapshotPath, "utf8"), "leave\n");
    await b2.close();
    pools.pop();
    const b3 = await startWan(opts("s2", "dc2", { snapshotPath, port: b1.port }), { log: () => {} });
    pools.push(b3);
    await new Promise((r) => setTimeout(r, 800));
    assert.equal(b3.members().map((m) => m.name), ["s2.dc2"], "no re-join after a leave");
  } finally {
    for (const p of pools) await p.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a join address without a port takes the pool's own port (memberlist resolveAddr)", async () => {
  const pools: WanPool[] = [];
  try {
    const a = await startWan(opts("s1", "dc1"), { log: () => {} });
    pools.push(a);
    const b = await startWan(opts("s2", "dc2", { bindAddr: "127.0.0.2", advertiseAddr: "127.0.0.2", port: a.port }), { log: () => {} });
    pools.push(b);
    assert.is(await b.join(["127.0.0.1"]), 1);
    await until(() => a.members().some((m) => m.name === "s2.dc2" && m.addr === "127.0.0.2" && m.status === 1), 10_000, "s2.dc2 in a's pool");
  } finally {
    for (const p of pools) await p.close();
  }
});

test("a WAN member that stops without leaving turns failed; force-leave makes it left", async () => {
  const pools: WanPool[] = [];
  try {
    const a = await startWan(opts("s1", "dc1"), { log: () => {} });
    pools.push(a);
    const c = await startWan(opts("s3", "dc3", { retryJoin: [`127.0.0.1:${a.port}`] }), { log: () => {} });
    await until(() => a.members().filter((m) => m.status === 1).length === 2, 10_000, "two alive members");
    await c.close();
    await until(() => a.members().find((x) => x.name === "s3.dc3")?.status === 4, 10_000, "s3.dc3 failed");
    await a.forceLeave("s3.dc3", false);
    await until(() => a.members().find((x) => x.name === "s3.dc3")?.status === 3, 5_000, "s3.dc3 left after force-leave");
  } finally {
    for (const p of pools) await p.close();
  }
});

test("flood join: a server joins the WAN pool of a LAN server of its dc; keyring operations span the WAN pool", async () => {
  const pools: WanPool[] = [];
  const key = "pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=";
  try {
    const a = await startWan(opts("s1", "dc1", { encrypt: key }), { log: () => {} });
    pools.push(a);
    const b = await startWan(opts("s2", "dc1", { encrypt: key }), { log: () => {} });
    pools.push(b);
    const lanOfB: MemberView[] = [
      { name: "s2", addr: "127.0.0.1", port: 1, tags: { role: "consul", dc: "dc1" }, status: 1 },
      { name: "s1", addr: "127.0.0.1", port: 2, tags: { role: "consul", dc: "dc1", wan_join_port: String(a.port) }, status: 1 },
    ];
    b.startFlood(() => lanOfB);
    for (const p of [a, b]) await until(() => p.members().filter((m) => m.status === 1).length === 2, 10_000, "flood-joined");
    assert.equal(a.members().map((m) => m.name), ["s1.dc1", "s2.dc1"]);

    const listed = await a.keyring("list", "", 0);
    assert.is(listed.wan, true);
    assert.is(listed.datacenter, "dc1");
    assert.is(listed.numNodes, 2);
    assert.equal(listed.keys, { [key]: 2 });
    assert.is(listed.error, "");
  } finally {
    for (const p of pools) await p.close();
  }
});

test.run();
