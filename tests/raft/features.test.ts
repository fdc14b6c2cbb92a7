/**
 * tests/raft/features: the parts of the core beyond the paper's §5, each in
 * init / step / check form over the in-process network: PreVote, CheckQuorum,
 * leadership transfer, flow control, fast backtracking, chunked snapshots,
 * membership changes with staging servers, ReadIndex and the leader lease.
 */

import { test } from "uvu";
import * as assert from "uvu/assert";
import { bootstrapEntries, consulTiming, membership } from "../../src/raft/index.ts";
import type { Message } from "../../src/raft/index.ts";
import { Network, bootCluster, enc, newCore } from "./network.ts";

const ids3 = ["1", "2", "3"];

test("timing: Consul's defaults scale with raft_multiplier (election 1 s x m, lease 500 ms x m)", () => {
  const t5 = consulTiming();
  assert.is(t5.tickMs * t5.electionTicks, 5000);
  assert.is(t5.tickMs * t5.leaseTicks, 2500);
  const t1 = consulTiming(1);
  assert.is(t1.tickMs * t1.electionTicks, 1000);
  assert.is(t1.tickMs * t1.leaseTicks, 500);
  assert.throws(() => consulTiming(11));
});

test("PreVote: a partitioned server does not inflate its term, and does not disrupt on return", () => {
  const net = new Network(bootCluster(ids3));
  net.elect("1");
  const term = net.get("1").status().term;
  net.isolate("3");
  for (let i = 0; i < 100; i++) {
    net.get("3").tick();
    net.stabilize();
  }
  assert.is(net.get("3").status().term, term, "pre-votes fail without changing the term");
  net.recover();
  net.tickAll(3);
  assert.is(net.get("1").status().role, "leader");
  assert.is(net.get("1").status().term, term);
});

test("without PreVote the same partition makes the server bump its term", () => {
  const net = new Network(bootCluster(ids3, membership(ids3), { preVote: false }));
  net.elect("1");
  net.isolate("3");
  for (let i = 0; i < 100; i++) net.get("3").tick();
  net.stabilize();
  assert.ok(net.get("3").status().term > net.get("1").status().term);
});

test("CheckQuorum: a leader that cannot reach a quorum steps down within an election timeout", () => {
  const net = new Network(bootCluster(ids3));
  net.elect("1");
  net.isolate("1");
  for (let i = 0; i < 21; i++) {
    net.get("1").tick();
    net.stabilize();
  }
  assert.is(net.get("1").status().role, "follower");
});

test("CheckQuorum: followers that hear from a leader ignore vote requests (in-lease rejection)", () => {
  const net = new Network(bootCluster(ids3));
  net.elect("1");
  const term = net.get("1").status().term;
  net.get("3").step({ type: "vote", from: "2", to: "3", term: term + 1, preVote: false, lastIndex: 99, lastTerm: term, transfer: false });
  assert.is(net.get("3").status().term, term, "not even the term moved");
  assert.equal(net.drain().filter((m) => m.type === "vote-resp"), []);
});

test("leadership transfer: the target catches up, gets timeout-now and wins at once", () => {
  const net = new Network(bootCluster(ids3));
  net.elect("1");
  net.cut("1", "3");
  for (let i = 0; i < 5; i++) net.get("1").propose(enc(`x${i}`));
  net.stabilize();
  net.recover();
  assert.ok(net.get("1").transferLeadership("3"));
  assert.is(net.get("1").propose(enc("refused")).ok, false, "no proposals while transferring");
  net.stabilize();
  assert.equal(net.leaders(), ["3"]);
  assert.is(net.get("3").lastIndex(), net.get("1").lastIndex());
});

test("flow control: in replicate state at most maxInflight appends are outstanding", () => {
  const net = new Network(bootCluster(["1", "2"], membership(["1", "2"]), { maxInflight: 3, maxAppendEntries: 1 }));
  net.elect("1");
  const leader = net.get("1");
  for (let i = 0; i < 10; i++) leader.propose(enc(`x${i}`));
  const apps = net.drain().filter((m) => m.type === "append" && m.to === "2");
  assert.is(apps.length, 3, "the window holds three messages of one entry each");
  for (const m of apps) net.deliver(m);
  net.stabilize();
  assert.is(net.get("2").status().commit, leader.status().commit);
  assert.is(leader.status().commit, leader.lastIndex());
});

test("flow control: a lost append does not stall a full window forever", () => {
  const net = new Network(bootCluster(["1", "2"], membership(["1", "2"]), { maxInflight: 1 }));
  net.elect("1");
  net.get("1").propose(enc("lost"));
  net.drain(); // the append is lost
  net.get("1").propose(enc("next"));
  net.stabilize();
  net.tickAll(3);
  assert.is(net.get("2").lastIndex(), net.get("1").lastIndex());
});

test("fast backtracking: a follower with a long divergent tail is repaired in few round trips", () => {
  const cfg = membership(["1", "2", "3"]);
  const boot = bootstrapEntries(cfg);
  const divergent = [...boot];
  for (let i = 2; i <= 200; i++) divergent.push({ index: i, term: 2, type: "command", data: enc("old") });
  const leaderLog = [...boot];
  for (let i = 2; i <= 50; i++) leaderLog.push({ index: i, term: 3, type: "command", data: enc("new") });
  const leader = newCore("1", { entries: leaderLog, hardState: { term: 3, vote: "" } });
  const follower = newCore("2", { entries: divergent, hardState: { term: 3, vote: "" } });
  const other = newCore("3", { entries: leaderLog, hardState: { term: 3, vote: "" } });
  const net = new Network([leader, follower, other]);
  // Restarted servers (term > 0) refuse votes for one election timeout; let it pass.
  for (let i = 0; i < 10; i++) for (const c of [leader, follower, other]) c.tick();
  net.drain();
  net.elect("1");
  assert.equal(net.leaders(), ["1"]);
  net.stabilize();
  const rejects = net.sent.filter((m) => m.type === "append-resp" && m.from === "2" && !m.success);
  assert.ok(rejects.length <= 3, `took ${rejects.length} rejections`);
  assert.is(follower.lastIndex(), leader.lastIndex());
  assert.is(follower.termAt(50), 3);
});

test("snapshots: a follower behind the compacted log gets the snapshot in chunks and catches up", () => {
  const net = new Network(bootCluster(ids3, membership(ids3), { snapshotChunkBytes: 4 }));
  net.elect("1");
  net.isolate("3");
  const leader = net.get("1");
  for (let i = 0; i < 20; i++) leader.propose(enc(`v${i}`));
  net.stabilize();
  const applied = leader.status().applied;
  const snap = leader.compact(applied, enc("state-machine-image-of-30-bytes"), 0);
  assert.is(snap.index, applied);
  assert.ok(leader.firstIndex() > 2, "the log was trimmed");
  net.recover();
  net.tickAll(2);
  const chunks = net.sent.filter((m) => m.type === "snapshot" && m.to === "3");
  assert.ok(chunks.length >= 8, `sent ${chunks.length} chunks`);
  const f = net.get("3");
  assert.is(f.status().snapshotIndex, snap.index);
  assert.is(f.lastIndex(), leader.lastIndex());
  leader.propose(enc("after"));
  net.stabilize();
  assert.is(f.status().commit, leader.status().commit);
});

test("snapshots: the follower's Ready carries the snapshot before any later committed entry", () => {
  const net = new Network(bootCluster(ids3, membership(ids3), { snapshotChunkBytes: 1024 }));
  net.elect("1");
  net.isolate("3");
  const leader = net.get("1");
  for (let i = 0; i < 5; i++) leader.propose(enc(`v${i}`));
  net.stabilize();
  leader.compact(leader.status().applied, enc("image"), 0);
  net.recover();
  const f = net.get("3");
  leader.tick();
  for (let i = 0; i < 10; i++) {
    for (const m of net.drain()) {
      net.deliver(m);
      if (m.to === "3" && m.type === "snapshot" && f.hasReady()) {
        const rd = f.ready();
        assert.ok(rd.snapshot !== undefined);
        assert.equal(new TextDecoder().decode(rd.snapshot.data), "image");
        assert.ok(rd.committed.every((e) => e.index > rd.snapshot!.index));
        f.advance(rd);
        return;
      }
    }
  }
  assert.unreachable("no snapshot reached follower 3");
});

test("membership: a new voter joins as staging, catches up, then is promoted; votes only after", () => {
  const net = new Network(bootCluster(ids3));
  net.elect("1");
  const leader = net.get("1");
  for (let i = 0; i < 10; i++) leader.propose(enc(`v${i}`));
  net.stabilize();
  net.add(newCore("4"));
  const r = leader.proposeConfChange({ type: "add-voter", id: "4" });
  assert.ok(r.ok);
  assert.equal(leader.config().staging, ["4"]);
  assert.is(leader.proposeConfChange({ type: "remove", id: "2" }).ok, false, "one change at a time");
  net.stabilize();
  net.tickAll(2);
  assert.equal(leader.config().voters, ["1", "2", "3", "4"]);
  assert.equal(net.get("4").config().voters, ["1", "2", "3", "4"]);
  assert.is(net.get("4").lastIndex(), leader.lastIndex());
});

test("membership: removing the leader makes it step down once the removal commits; the rest elect", () => {
  const net = new Network(bootCluster(ids3));
  net.elect("1");
  const leader = net.get("1");
  net.stabilize();
  assert.ok(leader.proposeConfChange({ type: "remove", id: "1" }).ok);
  net.stabilize();
  assert.is(leader.status().role, "follower");
  assert.equal(net.get("2").config().voters, ["2", "3"]);
  net.tickAll(25);
  const leaders = net.leaders();
  assert.is(leaders.length, 1);
  assert.ok(leaders[0] !== "1");
});

test("ReadIndex: released only after a quorum acknowledged a heartbeat sent after the request", () => {
  const net = new Network(bootCluster(ids3));
  net.elect("1");
  const leader = net.get("1");
  assert.ok(leader.readIndex("r1"));
  assert.ok(!net.get("2").readIndex("r2"), "followers refuse");
  const msgs = net.drain();
  const hbs = msgs.filter((m) => m.type === "heartbeat");
  assert.is(hbs.length, 2);
  let released: string[] = [];
  const collect = (): void => {
    if (!leader.hasReady()) return;
    const rd = leader.ready();
    released = released.concat(rd.readStates.map((r) => r.ctx));
    leader.advance(rd);
  };
  net.deliver(hbs[0]!);
  const resp = net.drain().filter((m: Message) => m.type === "heartbeat-resp");
  assert.is(resp.length, 1);
  net.deliver(resp[0]!); // leader + one follower = quorum
  collect();
  assert.equal(released, ["r1"]);
});

test("lease: valid after a heartbeat round acked by a quorum, expires without acks, void after a transfer", () => {
  const net = new Network(bootCluster(ids3));
  net.elect("1");
  const leader = net.get("1");
  leader.tick();
  net.stabilize();
  assert.is(leader.leaseRead(), leader.status().commit);
  net.isolate("1");
  for (let i = 0; i < 5; i++) {
    leader.tick();
    net.stabilize();
  }
  assert.is(leader.leaseRead(), undefined, "five ticks without acks: the lease ran out");
  net.recover();
  leader.tick();
  net.stabilize();
  assert.ok(leader.leaseRead() !== undefined);
  leader.transferLeadership("2");
  assert.is(leader.leaseRead(), undefined);
});

test("a restarted server refuses votes for one election timeout (it may have acked a live lease)", () => {
  const c = newCore("3", { entries: bootstrapEntries(membership(ids3)), hardState: { term: 4, vote: "1" } });
  c.step({ type: "vote", from: "2", to: "3", term: 5, preVote: false, lastIndex: 9, lastTerm: 4, transfer: false });
  assert.is(c.status().term, 4);
  for (let i = 0; i < 10; i++) c.tick();
  c.step({ type: "vote", from: "2", to: "3", term: 5, preVote: false, lastIndex: 9, lastTerm: 4, transfer: false });
  assert.is(c.status().vote, "2");
});

test.run();
