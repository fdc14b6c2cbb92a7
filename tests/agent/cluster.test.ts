/**
 * tests/agent/cluster: the pure parts of cluster formation — which LAN members count
 * towards bootstrap_expect, when a data dir means "never bootstrap again", and what a
 * server without Raft state decides from its peers' answers (join, bootstrap, wait).
 */

import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { BOOTSTRAP_MARKER, bootstrapServers, decideStart, hasRaftState, knownServers, type RaftStatsReply } from "../../src/agent/cluster.ts";
import type { MemberView } from "../../src/server/types.ts";

function member(name: string, tags: Record<string, string>, status = 1): MemberView {
  return { name, addr: "127.0.0.1", port: 8301, tags: { role: "consul", dc: "dc1", expect: "3", port: "8300", id: `id-${name}`, ...tags }, status };
}

test("bootstrapServers counts alive servers of this dc with the same expect tag, keyed by id", () => {
  const ms = [
    member("a", { port: "9001" }),
    member("b", { port: "9002" }),
    member("c", {}, 4), // failed
    member("d", { dc: "dc2" }),
    member("e", { expect: "5" }),
    member("f", { role: "node" }),
    member("g", { id: "" }),
    member("h", { port: "x" }),
  ];
  const s = bootstrapServers(ms, "dc1", 3);
  assert.equal([...s.entries()], [["id-a", "127.0.0.1:9001"], ["id-b", "127.0.0.1:9002"]]);
  assert.is(bootstrapServers([...ms, member("i", {})], "dc1", 3).size, 3);
});

test("hasRaftState: empty or missing dir no; marker or WAL files yes", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "cairn-cluster-"));
  try {
    assert.is(hasRaftState(dir), false);
    mkdirSync(path.join(dir, "raft"));
    assert.is(hasRaftState(dir), false);
    writeFileSync(path.join(dir, "raft", "00000001.seg"), "x");
    assert.is(hasRaftState(dir), true);
    const other = path.join(dir, "other");
    mkdirSync(other);
    writeFileSync(path.join(other, BOOTSTRAP_MARKER), "now\n");
    assert.is(hasRaftState(other), true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("decideStart: join a running cluster, bootstrap only with every expected server answering, else wait", () => {
  const self = { nodeId: "id-a", datacenter: "dc1", bootstrapExpect: 3 };
  const ms = [member("a", {}), member("b", {}), member("c", {})];
  const others = [...knownServers(ms, "dc1").values()].filter((k) => k.id !== "id-a");
  const noPeers = (id: string): RaftStatsReply => ({ id, hasPeers: false });
  // one of them already has peers: join, even without bootstrap_expect
  assert.equal(decideStart([noPeers("id-b"), { id: "id-c", hasPeers: true }], others, ms, self), { kind: "join", from: "id-c" });
  assert.equal(decideStart([undefined, { id: "id-c", hasPeers: true }], others, ms, { ...self, bootstrapExpect: 0 }), { kind: "join", from: "id-c" });
  // every expected server answered "no peers": bootstrap with the sorted ids
  assert.equal(decideStart([noPeers("id-c"), noPeers("id-b")], others.slice().reverse(), ms, self), { kind: "bootstrap", ids: ["id-a", "id-b", "id-c"] });
  // one did not answer: wait and ask again, naming it
  assert.equal(decideStart([noPeers("id-b"), undefined], others, ms, self), { kind: "wait", retry: true, unconfirmed: ["c"] });
  // no bootstrap_expect: never bootstrap, keep asking
  assert.equal(decideStart([noPeers("id-b"), noPeers("id-c")], others, ms, { ...self, bootstrapExpect: 0 }), { kind: "wait", retry: true });
  // too few servers yet: wait; ask again only when someone did not answer
  assert.equal(decideStart([noPeers("id-b")], others.slice(0, 1), ms.slice(0, 2), self), { kind: "wait", retry: false });
  assert.equal(decideStart([undefined], others.slice(0, 1), ms.slice(0, 2), self), { kind: "wait", retry: true });
  // this server is not among the expected ones (another expect tag): wait
  assert.equal(decideStart([noPeers("id-b"), noPeers("id-c")], others, [member("a", { expect: "5" }), ...ms.slice(1)], self), { kind: "wait", retry: false });
});

test.run();
