// RaftServer: 3 and 5 servers in one process over real loopback TCP, MemoryLog and WalLog:
// election, writes through the leader and forwarded from followers, consistency modes,
// leader failover, restart and catch-up, snapshot install, partitions and "No cluster leader".
import { test } from "uvu";
import * as assert from "uvu/assert";
import { isCairnError } from "../../src/shared/errors.ts";
import { Cluster, setCmd, sleep, valueOf, type TestNode } from "./driver_harness.ts";
import { decodeCommand, encodeCommand } from "../../src/state/index.ts";
import type { Command } from "../../src/state/types.ts";

const TRUE = { type: "bool", ok: true };

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected a rejection");
}

/** A test that reports its duration (each must stay well under 20 s). */
function timed(name: string, fn: () => Promise<void>): void {
  test(name, async () => {
    const t0 = performance.now();
    await fn();
    console.log(`    ${name.slice(0, 40)}...: ${(performance.now() - t0).toFixed(0)} ms`);
  });
}

function followers(c: Cluster, leader: TestNode): TestNode[] {
  return c.nodes.filter((n) => n.up && n !== leader);
}

timed("3 servers (MemoryLog): one leader; writes via leader and followers; consistent, default and stale reads", async () => {
  const c = new Cluster({ size: 3, wal: false });
  try {
    await c.start();
    const l = await c.waitLeader(8000);
    assert.is(c.leaders().length, 1);
    assert.equal(l.leadership, [true]);
    const [f1, f2] = followers(c, l);
    assert.equal(f1!.leadership, []);
    // the leader applies the command decoded from its log entry (as followers do), not the caller's object
    const seen: Command[] = [];
    const apply = l.store.apply.bind(l.store);
    l.store.apply = (i, cmd) => (seen.push(cmd), apply(i, cmd));
    const a1 = setCmd("a", "1");
    assert.equal(await l.raft.apply(a1), TRUE);
    l.store.apply = apply;
    assert.ok(seen.length === 1 && seen[0] !== a1, "the leader's store got a decoded copy");
    assert.equal(seen[0], decodeCommand(encodeCommand(a1)));
    assert.equal(await f1!.raft.apply(setCmd("b", "2")), TRUE, "a follower forwards to the leader");
    // consistent and default reads at a follower see the latest acknowledged write
    await f2!.raft.readBarrier("consistent");
    assert.is(valueOf(f2!, "b"), "2");
    assert.equal(await f2!.raft.apply(setCmd("c", "3")), TRUE);
    await f1!.raft.readBarrier("default");
    assert.is(valueOf(f1!, "c"), "3");
    await l.raft.readBarrier("default");
    assert.is(valueOf(l, "c"), "3");
    await l.raft.readBarrier("consistent");
    // leadership views
    const lv = l.raft.leader();
    assert.equal(lv, { knownLeader: true, lastContactMs: 0, leaderAddr: l.addr });
    const fv = await f1!.raft.readBarrier("stale");
    assert.ok(fv.knownLeader && fv.leaderAddr === l.addr);
    assert.ok(fv.lastContactMs >= 1 && fv.lastContactMs < c.electionMs, `follower last contact ${fv.lastContactMs} ms`);
    assert.equal(l.raft.peers().sort(), c.nodes.map((n) => n.addr).sort());
    // many concurrent writes through every server
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 300; i++) writes.push(c.nodes[i % 3]!.raft.apply(setCmd(`k/${i}`, `v${i}`)));
    for (const r of await Promise.all(writes)) assert.equal(r, TRUE);
    for (const n of c.nodes) {
      await n.raft.readBarrier("consistent");
      for (let i = 0; i < 300; i++) assert.is(valueOf(n, `k/${i}`), `v${i}`, `${n.id} k/${i}`);
    }
    // a malformed forwarded command is refused by the leader (bad-request), nothing is proposed
    const before = l.raft.status().lastIndex;
    const bad = await rejection(f1!.rpcClient.call(l.addr, "Raft.Apply", { data: new Uint8Array([0x93, 1, 2, 3]) }));
    assert.ok(isCairnError(bad) && bad.kind === "bad-request" && /invalid command/.test(bad.message), String(bad));
    const bad2 = await rejection(f1!.rpcClient.call(l.addr, "Raft.Apply", { nope: 1 }));
    assert.ok(isCairnError(bad2) && bad2.kind === "bad-request", String(bad2));
    assert.is(l.raft.status().lastIndex, before);
  } finally {
    await c.close();
  }
});

timed("5 servers (WAL): leader stops -> new leader, writes continue; old leader restarts from its WAL and catches up; no acknowledged write lost", async () => {
  const c = new Cluster({ size: 5, wal: true });
  const acked = new Map<string, string>();
  let seq = 0;
  const write = async (via: TestNode): Promise<void> => {
    const k = `w/${seq}`;
    const v = `v${seq++}`;
    const r = await via.raft.apply(setCmd(k, v));
    assert.equal(r, TRUE);
    acked.set(k, v);
  };
  try {
    await c.start();
    const l1 = await c.waitLeader(8000);
    for (let i = 0; i < 40; i++) await write(c.nodes[i % 5]!);
    const stoppedAt = performance.now();
    await c.stop(l1.id);
    // a write issued at once through a follower waits for the new leader and succeeds
    // A write issued at once through a follower waits for the new leader and succeeds, unless the
    // follower had already sent it to the old leader: then its fate is unknown and it fails (as in
    // Consul, a forwarded write is not retried after the connection broke).
    const f = followers(c, l1)[0]!;
    const earlyKey = `w/${seq}`;
    const early = write(f).then(
      () => "ok",
      (e: unknown) => e,
    );
    const l2 = await c.waitLeader(10_000, [l1.id]);
    const failoverMs = performance.now() - stoppedAt;
    const earlyOutcome = await early;
    if (earlyOutcome !== "ok") {
      assert.ok(isCairnError(earlyOutcome) && /closed during Raft.Apply|leadership lost/.test(earlyOutcome.message), String(earlyOutcome));
      console.log(`    (the write at the moment of failover failed as indeterminate: ${String(earlyOutcome)}; ${earlyKey} not counted)`);
    }
    console.log(`    failover (5 servers, raft_multiplier 1): new leader ${l2.id} after ${failoverMs.toFixed(0)} ms`);
    assert.ok(l2.id !== l1.id);
    assert.ok(failoverMs < 6 * c.electionMs, `failover took ${failoverMs} ms`);
    for (let i = 0; i < 40; i++) await write(c.nodes.filter((n) => n.up)[i % 4]!);
    await c.restart(l1.id);
    const back = c.node(l1.id);
    await c.waitApplied(l2.raft.appliedIndex(), 8000);
    assert.not.ok(back.raft.isLeader());
    await back.raft.readBarrier("consistent");
    for (const n of c.nodes) {
      for (const [k, v] of acked) assert.is(valueOf(n, k), v, `${n.id} lost ${k}`);
    }
    // and it takes writes again
    await write(back);
    await back.raft.readBarrier("consistent");
    assert.is(valueOf(back, `w/${seq - 1}`), `v${seq - 1}`);
  } finally {
    await c.close();
  }
});

timed("3 servers (WAL): a minority-partitioned leader stops serving reads and writes; the majority goes on; it rejoins and catches up", async () => {
  const c = new Cluster({ size: 3, wal: true });
  try {
    await c.start();
    const l = await c.waitLeader(8000);
    assert.equal(await l.raft.apply(setCmd("before", "x")), TRUE);
    const leaseMs = c.timing.leaseTicks * c.timing.tickMs;
    const t0 = performance.now();
    c.isolate(l.id);
    // writes on the isolated leader do not succeed
    const w = rejection(l.raft.apply(setCmd("lost?", "y")));
    await sleep(leaseMs + 2 * c.timing.tickMs);
    // past its lease, default and consistent reads are no longer served
    const tRead = performance.now();
    const rd = rejection(l.raft.readBarrier("default"));
    const rc = rejection(l.raft.readBarrier("consistent"));
    const [ew, ed, ec] = await Promise.all([w, rd, rc]);
    const readFailMs = performance.now() - tRead;
    for (const e of [ed, ec]) assert.ok(isCairnError(e) && e.kind === "no-leader" && e.message === "No cluster leader", String(e));
    assert.ok(isCairnError(ew) && /No cluster leader|leadership lost|timed out/.test(ew.message), String(ew));
    assert.ok(readFailMs < c.electionMs * 5, `reads failed after ${readFailMs} ms`);
    assert.not.ok(l.raft.isLeader(), "stepped down (CheckQuorum)");
    assert.equal(l.leadership, [true, false], "leader-only work is started, then stopped");
    const sv = await l.raft.readBarrier("stale");
    assert.is(sv.knownLeader, false);
    assert.ok(sv.lastContactMs >= performance.now() - t0 - 50, `honest last contact ${sv.lastContactMs}`);
    // the majority elected a new leader and takes writes, also forwarded
    const l2 = await c.waitLeader(8000, [l.id]);
    const other = c.nodes.find((n) => n !== l && n !== l2)!;
    assert.equal(await other.raft.apply(setCmd("after", "z")), TRUE);
    // a write at the isolated node: "No cluster leader" after the bounded wait
    const t1 = performance.now();
    const e2 = await rejection(l.raft.apply(setCmd("lost2", "q")));
    const waited = performance.now() - t1;
    assert.ok(isCairnError(e2) && e2.kind === "no-leader" && e2.message === "No cluster leader", String(e2));
    assert.ok(waited < 3 * c.electionMs + 2000, `gave up after ${waited} ms`);
    // heal: it follows the new leader and catches up
    c.heal(l.id);
    await c.waitApplied(l2.raft.appliedIndex(), 8000);
    await l.raft.readBarrier("consistent");
    assert.is(valueOf(l, "after"), "z");
    assert.is(valueOf(l, "before"), "x");
    assert.is(valueOf(l, "lost2"), undefined);
    const leaders = c.leaders();
    assert.is(leaders.length, 1);
  } finally {
    await c.close();
  }
});

timed("3 servers (WAL): snapshots compact the log; a follower that fell behind installs a snapshot; a full-cluster restart recovers", async () => {
  const c = new Cluster({ size: 3, wal: true, snapshotThreshold: 25, trailingLogs: 5 });
  try {
    await c.start();
    const l = await c.waitLeader(8000);
    const lag = followers(c, l)[0]!;
    await c.stop(lag.id);
    for (let i = 0; i < 120; i++) assert.equal(await l.raft.apply(setCmd(`s/${i}`, `${i}`)), TRUE);
    assert.ok(l.raft.status().snapshotIndex >= 100, `leader snapshot at ${l.raft.status().snapshotIndex}`);
    assert.ok(l.raft.status().firstIndex > 50, "log compacted");
    await c.restart(lag.id);
    const back = c.node(lag.id);
    await c.waitApplied(l.raft.appliedIndex(), 8000);
    assert.ok(back.raft.status().snapshotIndex > 50, "caught up through a snapshot");
    for (let i = 0; i < 120; i++) assert.is(valueOf(back, `s/${i}`), `${i}`);
    // every server down, every server up: state comes back from snapshots + logs
    for (const n of c.nodes) await c.stop(n.id);
    for (const n of c.nodes) await c.restart(n.id);
    const l3 = await c.waitLeader(8000);
    await l3.raft.readBarrier("consistent");
    for (const n of c.nodes) {
      await n.raft.readBarrier("consistent");
      for (let i = 0; i < 120; i++) assert.is(valueOf(n, `s/${i}`), `${i}`, `${n.id} s/${i}`);
    }
  } finally {
    await c.close();
  }
});

timed("3 servers: with a quorum gone, writes fail with 'No cluster leader' after a bounded wait", async () => {
  const c = new Cluster({ size: 3, wal: false, leaderWaitMs: 2000 });
  try {
    await c.start();
    const l = await c.waitLeader(8000);
    const [f1, f2] = followers(c, l);
    await c.stop(f1!.id);
    await c.stop(f2!.id);
    const t0 = performance.now();
    const e = await rejection(l.raft.apply(setCmd("x", "1")));
    const waited = performance.now() - t0;
    assert.ok(isCairnError(e) && (e.kind === "no-leader" || /leadership lost/.test(e.message)), String(e));
    const e2 = await rejection(l.raft.apply(setCmd("y", "1")));
    const waited2 = performance.now() - t0;
    assert.ok(isCairnError(e2) && e2.kind === "no-leader" && e2.message === "No cluster leader", String(e2));
    assert.ok(waited < 2 * c.electionMs + 2000 + 500 && waited2 - waited >= 1900 && waited2 - waited < 2500, `${waited} / ${waited2} ms`);
    const e3 = await rejection(l.raft.readBarrier("consistent"));
    assert.ok(isCairnError(e3) && e3.kind === "no-leader");
    assert.is((await l.raft.readBarrier("stale")).knownLeader, false);
  } finally {
    await c.close();
  }
});

timed("membership: a new empty server is added as a voter (staging, then promoted) and catches up; a server is removed; leadership transfer", async () => {
  const c = new Cluster({ size: 3, wal: false });
  try {
    await c.start();
    const l = await c.waitLeader(8000);
    for (let i = 0; i < 30; i++) assert.equal(await l.raft.apply(setCmd(`m/${i}`, `${i}`)), TRUE);
    const s4 = await c.join("s4");
    assert.is(s4.raft.role(), "follower");
    l.raft.setAddress("s4", s4.addr);
    await l.raft.changeMembership({ type: "add-voter", id: "s4" });
    const deadline = performance.now() + 8000;
    while (!l.raft.status().config.voters.includes("s4") && performance.now() < deadline) await sleep(10);
    assert.equal([...l.raft.status().config.voters], ["s1", "s2", "s3", "s4"]);
    await c.waitApplied(l.raft.appliedIndex(), 8000, ["s4"]);
    await s4.raft.readBarrier("consistent");
    for (let i = 0; i < 30; i++) assert.is(valueOf(s4, `m/${i}`), `${i}`);
    assert.equal(await s4.raft.apply(setCmd("from-s4", "yes")), TRUE, "the new server forwards writes");
    assert.equal(s4.raft.peers().sort(), c.nodes.map((n) => n.addr).sort());
    // a follower is removed
    const gone = followers(c, l).find((n) => n.id !== "s4")!;
    await l.raft.changeMembership({ type: "remove", id: gone.id });
    assert.not.ok(l.raft.status().config.voters.includes(gone.id));
    assert.is(l.raft.peers().length, 3);
    const e = await rejection(followers(c, l)[0]!.raft.changeMembership({ type: "remove", id: l.id }));
    assert.ok(isCairnError(e) && /not the leader/.test(e.message), String(e));
    // leadership moves to s4 on request
    await c.stop(gone.id);
    const tDeadline = performance.now() + 8000;
    while (!l.raft.transferLeadership("s4") && performance.now() < tDeadline) await sleep(20);
    const l2 = await c.waitLeader(8000, [l.id]);
    assert.is(l2.id, "s4");
    assert.equal(await l.raft.apply(setCmd("after-transfer", "1")), TRUE);
  } finally {
    await c.close();
  }
});

test.run();
