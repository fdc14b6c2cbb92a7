/**
 * tests/agent/autopilot: the pure autopilot decisions — health, failure tolerance,
 * stabilization, which servers to add, promote and remove (raft-autopilot's rules).
 */

import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  computeState,
  isHealthy,
  nextChanges,
  requiredQuorum,
  serfStatusName,
  serversToAdd,
  serversToPromote,
  serversToRemove,
  type KnownServer,
  type RaftView,
  type SerfStatus,
  type ServerStats,
} from "../../src/agent/autopilot.ts";
import { DEFAULT_AUTOPILOT_CONFIG, type AutopilotConfig } from "../../src/state/autopilot_table.ts";
import { knownServers } from "../../src/agent/cluster.ts";
import type { MemberView } from "../../src/server/types.ts";

const CFG: AutopilotConfig = DEFAULT_AUTOPILOT_CONFIG;

function known(list: Array<[string, SerfStatus]>): Map<string, KnownServer> {
  return new Map(list.map(([id, status]) => [id, { id, name: `n-${id}`, address: `127.0.0.1:${id.charCodeAt(0)}`, status, version: "1.2.3" }]));
}

function raft(voters: string[], nonVoters: string[] = [], leader = voters[0] ?? ""): RaftView {
  return { voters, nonVoters, staging: [], leader, addresses: {} };
}

const ok = (over: Partial<ServerStats> = {}): ServerStats => ({ lastContactMs: 10, lastTerm: 3, lastIndex: 100, ...over });

test("serf status codes and quorum sizes", () => {
  assert.equal([0, 1, 2, 3, 4, 9].map(serfStatusName), ["none", "alive", "leaving", "left", "failed", "none"]);
  assert.equal([1, 2, 3, 4, 5].map(requiredQuorum), [1, 2, 2, 3, 3]);
});

test("isHealthy: alive, recent contact, same term, not too far behind", () => {
  const h = (status: SerfStatus, s: ServerStats | undefined, idx = 100): boolean => isHealthy({ nodeStatus: status, stats: s }, 3, idx, CFG);
  assert.ok(h("alive", ok()));
  assert.not.ok(h("failed", ok()), "not alive");
  assert.not.ok(h("alive", undefined), "no stats");
  assert.not.ok(h("alive", ok({ lastContactMs: 201 })), "contact too old");
  assert.ok(h("alive", ok({ lastContactMs: 200 })), "threshold itself is fine");
  assert.not.ok(h("alive", ok({ lastTerm: 2 })), "other term");
  assert.not.ok(h("alive", ok({ lastIndex: 100 }), 351), "more than 250 behind");
  assert.ok(h("alive", ok({ lastIndex: 101 }), 351), "250 behind");
  assert.ok(h("alive", ok({ lastIndex: 0 }), 250), "leader index below MaxTrailingLogs");
});

test("computeState: health, failure tolerance, leader first, StableSince moves on flips only", () => {
  const k = known([["a", "alive"], ["b", "alive"], ["c", "alive"]]);
  const stats = new Map([["a", ok({ lastContactMs: 0 })], ["b", ok()], ["c", ok()]]);
  const base = { config: CFG, raft: raft(["a", "b", "c"], [], "b"), known: k, stats, leaderLastIndex: 100, leaderLastTerm: 3 };
  const s1 = computeState({ ...base, now: 1000, previous: undefined });
  assert.ok(s1.healthy);
  assert.is(s1.failureTolerance, 1);
  assert.is(s1.leader, "b");
  assert.is(s1.voters[0], "b");
  assert.is(s1.servers.get("b")?.status, "leader");
  assert.is(s1.servers.get("a")?.status, "voter");
  assert.is(s1.servers.get("a")?.name, "n-a");
  assert.is(s1.servers.get("a")?.stableSince, 1000);
  const s2 = computeState({ ...base, now: 2000, previous: s1 });
  assert.is(s2.servers.get("a")?.stableSince, 1000, "still healthy: StableSince kept");
  assert.is(s2.firstStateTime, 1000);
  const s3 = computeState({ ...base, stats: new Map([["a", ok()], ["b", ok()]]), now: 3000, previous: s2 });
  assert.not.ok(s3.healthy);
  assert.is(s3.failureTolerance, 0, "2 healthy of 3 voters: quorum 2, tolerance 0");
  assert.is(s3.servers.get("c")?.stableSince, 3000);
  assert.is(s3.servers.get("c")?.lastIndex, 100, "last known stats are shown");
  // 5 voters all healthy: tolerance 2; a non-voter does not count.
  const k5 = known([["a", "alive"], ["b", "alive"], ["c", "alive"], ["d", "alive"], ["e", "alive"], ["f", "alive"]]);
  const st5 = new Map(["a", "b", "c", "d", "e", "f"].map((id) => [id, ok()]));
  const s5 = computeState({ ...base, raft: raft(["a", "b", "c", "d", "e"], ["f"]), known: k5, stats: st5, now: 1, previous: undefined });
  assert.is(s5.failureTolerance, 2);
  assert.is(s5.servers.get("f")?.status, "non-voter");
  assert.not.ok(s5.voters.includes("f"));
});

test("a server unknown to the pool shows as left and unhealthy", () => {
  const s = computeState({
    now: 1, config: CFG, raft: raft(["a", "b"]), known: known([["a", "alive"]]),
    stats: new Map([["a", ok()], ["b", ok()]]), leaderLastIndex: 100, leaderLastTerm: 3, previous: undefined,
  });
  assert.is(s.servers.get("b")?.nodeStatus, "left");
  assert.not.ok(s.servers.get("b")?.healthy);
});

test("serversToAdd: alive servers missing from the configuration, never itself", () => {
  const k = known([["a", "alive"], ["b", "alive"], ["d", "alive"], ["e", "failed"], ["f", "left"]]);
  const adds = serversToAdd(raft(["a", "b"]), k, "a");
  assert.equal(adds, [{ type: "add", id: "d", address: "127.0.0.1:100", name: "n-d" }]);
  assert.equal(serversToAdd(raft(["b"]), k, "a").map((c) => c.id), ["d"], "self is never added by itself");
});

test("serversToPromote: healthy non-voters once stable for ServerStabilizationTime", () => {
  const cfg = { ...CFG, serverStabilizationTimeMs: 10_000 };
  const k = known([["a", "alive"], ["b", "alive"], ["c", "alive"], ["d", "alive"]]);
  const stats = new Map([["a", ok()], ["b", ok()], ["c", ok()], ["d", ok()]]);
  const base = { config: cfg, raft: raft(["a", "b", "c"], ["d"]), known: k, stats, leaderLastIndex: 100, leaderLastTerm: 3 };
  const s0 = computeState({ ...base, now: 0, previous: undefined });
  // While autopilot has run for less than the stabilization time, healthy servers count as stable.
  assert.equal(serversToPromote(s0, cfg, 5_000).map((c) => c.id), ["d"]);
  const s1 = computeState({ ...base, stats: new Map([...stats, ["d", ok({ lastTerm: 1 })]]), now: 20_000, previous: s0 });
  assert.equal(serversToPromote(s1, cfg, 20_000), [], "unhealthy: not promoted");
  const s2 = computeState({ ...base, now: 21_000, previous: s1 });
  assert.equal(serversToPromote(s2, cfg, 25_000), [], "healthy for 4 s only");
  assert.equal(serversToPromote(s2, cfg, 31_000).map((c) => c.id), ["d"], "healthy for 10 s");
  assert.equal(serversToPromote(s2, { ...cfg, serverStabilizationTimeMs: 0 }, 21_000).map((c) => c.id), ["d"]);
});

test("serversToRemove: left always, failed only with CleanupDeadServers", () => {
  const k = known([["a", "alive"], ["b", "left"], ["c", "alive"], ["d", "failed"], ["e", "alive"]]);
  const r = raft(["a", "b", "c", "d", "e"]);
  assert.equal(serversToRemove(r, k, CFG, "a"), [
    { type: "remove", id: "b", reason: "left" },
    { type: "remove", id: "d", reason: "failed" },
  ]);
  assert.equal(serversToRemove(r, k, { ...CFG, cleanupDeadServers: false }, "a"), [{ type: "remove", id: "b", reason: "left" }]);
});

test("serversToRemove: never a majority of voters, never below MinQuorum, never the leader", () => {
  // 3 voters, 1 failed: (3-1)/2 = 1 may go.
  assert.equal(serversToRemove(raft(["a", "b", "c"]), known([["a", "alive"], ["b", "alive"], ["c", "failed"]]), CFG, "a").map((c) => c.id), ["c"]);
  // 3 voters, 2 failed: only one per pass.
  assert.equal(serversToRemove(raft(["a", "b", "c"]), known([["a", "alive"], ["b", "failed"], ["c", "failed"]]), CFG, "a").length, 1);
  // 2 voters, 1 failed: (2-1)/2 = 0: unsafe.
  assert.equal(serversToRemove(raft(["a", "b"]), known([["a", "alive"], ["b", "failed"]]), CFG, "a"), []);
  // 5 voters, 3 failed: 2 removed at most.
  const k5 = known([["a", "alive"], ["b", "alive"], ["c", "failed"], ["d", "failed"], ["e", "failed"]]);
  assert.equal(serversToRemove(raft(["a", "b", "c", "d", "e"]), k5, CFG, "a").map((c) => c.id), ["c", "d"]);
  // MinQuorum 3 with 4 voters: one failed may not go below 3... 4-1 = 3 is fine; a second would not be.
  const k4 = known([["a", "alive"], ["b", "alive"], ["c", "failed"], ["d", "alive"]]);
  assert.equal(serversToRemove(raft(["a", "b", "c", "d"]), k4, { ...CFG, minQuorum: 3 }, "a").map((c) => c.id), ["c"]);
  assert.equal(serversToRemove(raft(["a", "b", "c", "d"]), k4, { ...CFG, minQuorum: 4 }, "a"), []);
  // Failed non-voters go first and freely.
  const kn = known([["a", "alive"], ["b", "alive"], ["x", "failed"]]);
  assert.equal(serversToRemove(raft(["a", "b"], ["x"]), kn, CFG, "a").map((c) => c.id), ["x"]);
  // The leader itself is never removed, whatever the pool says.
  assert.equal(serversToRemove(raft(["a", "b", "c"]), known([["a", "failed"], ["b", "alive"], ["c", "alive"]]), CFG, "a"), []);
  // Servers the pool does not know are left alone.
  assert.equal(serversToRemove(raft(["a", "b", "c"]), known([["a", "alive"], ["b", "alive"]]), CFG, "a"), []);
});

test("nextChanges: left removals and additions always; promotions and cleanup on reconcile", () => {
  const k = known([["a", "alive"], ["b", "left"], ["c", "failed"], ["d", "alive"], ["e", "alive"], ["f", "alive"]]);
  const r = raft(["a", "b", "c", "d", "e"], ["f"]);
  const quick = nextChanges(r, new Map([...k, ["g", { id: "g", name: "n-g", address: "127.0.0.1:7", status: "alive" as const, version: "" }]]), undefined, CFG, "a", 0, { reconcile: false });
  assert.equal(quick.map((c) => `${c.type}:${c.id}`), ["remove:b", "add:g"]);
  const state = computeState({
    now: 0, config: CFG, raft: r, known: k, stats: new Map([["a", ok()], ["d", ok()], ["e", ok()], ["f", ok()]]),
    leaderLastIndex: 100, leaderLastTerm: 3, previous: undefined,
  });
  const full = nextChanges(r, k, state, CFG, "a", 0, { reconcile: true });
  assert.equal(full.map((c) => `${c.type}:${c.id}`), ["remove:b", "promote:f", "remove:c"]);
});

test("knownServers: servers of this dc by id tag, with RPC address, serf status and version", () => {
  const m = (name: string, tags: Record<string, string>, status: number): MemberView => ({
    name, addr: "127.0.0.9", port: 8301, status,
    tags: { role: "consul", dc: "dc1", id: `id-${name}`, port: "8300", build: "1.17.0:abc", ...tags },
  });
  const k = knownServers([
    m("a", {}, 1),
    m("b", { port: "9000" }, 4),
    m("c", { dc: "dc2" }, 1),
    m("d", { role: "node" }, 1),
    m("e", { id: "" }, 1),
    m("f", { port: "zero" }, 1),
    m("g", {}, 3),
  ], "dc1");
  assert.equal([...k.keys()].sort(), ["id-a", "id-b", "id-g"]);
  assert.equal(k.get("id-a"), { id: "id-a", name: "a", address: "127.0.0.9:8300", status: "alive", version: "1.17.0" });
  assert.is(k.get("id-b")?.address, "127.0.0.9:9000");
  assert.is(k.get("id-b")?.status, "failed");
  assert.is(k.get("id-g")?.status, "left");
  // Two members with one id (a node renamed and restarted): the alive one wins.
  const twice = knownServers([m("old", { id: "x" }, 4), m("new", { id: "x" }, 1), m("older", { id: "x" }, 3)], "dc1");
  assert.is(twice.get("x")?.name, "new");
});

test.run();
