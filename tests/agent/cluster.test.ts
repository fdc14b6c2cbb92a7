/**
 * tests/agent/cluster: the pure parts of cluster formation — which LAN members count
 * towards bootstrap_expect, and when a data dir means "never bootstrap again".
 */

import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { BOOTSTRAP_MARKER, bootstrapServers, hasRaftState } from "../../src/agent/cluster.ts";
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

test.run();
