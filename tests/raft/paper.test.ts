/**
 * tests/raft/paper: sentences of the Raft paper (Ongaro & Ousterhout, §5),
 * each checked in init / step / check form, after etcd's raft_paper_test.go.
 * PreVote and CheckQuorum are off here: these are the paper's rules.
 */

import { test } from "uvu";
import * as assert from "uvu/assert";
import { bootstrapEntries, membership } from "../../src/raft/index.ts";
import type { LogEntry, Message, RaftCore } from "../../src/raft/index.ts";
import { Network, bootCluster, enc, newCore } from "./network.ts";

const PAPER = { preVote: false, checkQuorum: false };
const cfg3 = membership(["1", "2", "3"]);

function core(id: string, entries: LogEntry[] = bootstrapEntries(cfg3), term = 0): RaftCore {
  return newCore(id, { entries, hardState: { term, vote: "" } }, PAPER);
}

/** Take the messages of the next Ready (and advance). */
function out(c: RaftCore): Message[] {
  if (!c.hasReady()) return [];
  const rd = c.ready();
  c.advance(rd);
  return [...rd.messages, ...rd.messagesAfterPersist];
}

function entry(index: number, term: number, type: LogEntry["type"] = "command"): LogEntry {
  return { index, term, type, data: type === "config" ? bootstrapEntries(cfg3)[0]!.data : enc(`${index}/${term}`) };
}

/** A log: config at 1 (term 1) then one entry per given term. */
function logOf(...terms: number[]): LogEntry[] {
  return [entry(1, 1, "config"), ...terms.map((t, i) => entry(i + 2, t))];
}

function makeLeader(c: RaftCore, voters: string[]): void {
  c.campaign();
  const votes = out(c).filter((m) => m.type === "vote");
  for (const v of voters) c.step({ type: "vote-resp", from: v, to: c.id, term: votes[0]!.term, preVote: false, granted: true });
  assert.is(c.status().role, "leader");
}

test("§5.1: a server of any role that sees a higher term updates its term and becomes follower", () => {
  for (const role of ["follower", "candidate", "leader"] as const) {
    const c = core("1");
    if (role === "candidate") c.campaign();
    if (role === "leader") makeLeader(c, ["2"]);
    c.step({ type: "append", from: "2", to: "1", term: 9, prevIndex: 0, prevTerm: 0, entries: [], commit: 0 });
    const st = c.status();
    assert.is(st.term, 9, role);
    assert.is(st.role, "follower", role);
    assert.is(st.leader, "2", role);
  }
});

test("§5.1: a request with a stale term is rejected (ignored)", () => {
  const c = core("1", bootstrapEntries(cfg3), 5);
  c.step({ type: "append", from: "2", to: "1", term: 3, prevIndex: 1, prevTerm: 1, entries: [entry(2, 3)], commit: 0 });
  assert.is(c.status().lastIndex, 1);
  assert.is(c.status().term, 5);
});

test("§5.2: servers start as followers", () => {
  const c = core("1");
  assert.is(c.status().role, "follower");
  assert.is(c.status().term, 0);
});

test("§5.2: the leader sends heartbeats every heartbeat interval", () => {
  const c = core("1");
  makeLeader(c, ["2"]);
  out(c);
  c.tick();
  const hbs = out(c).filter((m) => m.type === "heartbeat");
  assert.equal(hbs.map((m) => m.to).sort(), ["2", "3"]);
});

test("§5.2: a follower or candidate that hears nothing for an election timeout starts an election", () => {
  for (const start of ["follower", "candidate"] as const) {
    const c = core("1");
    if (start === "candidate") c.campaign();
    const term0 = c.status().term;
    out(c);
    for (let i = 0; i < 20; i++) c.tick(); // the randomized timeout is in [10, 20)
    const st = c.status();
    assert.is(st.role, "candidate", start);
    assert.is(st.term, term0 + 1, start);
    assert.is(st.vote, "1", start);
    const votes = out(c).filter((m) => m.type === "vote");
    assert.equal(votes.map((m) => m.to).sort(), ["2", "3"], start);
  }
});

test("§5.2: an election is won with a majority, lost with a majority against, pending otherwise", () => {
  const cases: Array<[number, Record<string, boolean>, string]> = [
    [3, { "2": true }, "leader"],
    [3, { "2": false, "3": false }, "follower"],
    [5, { "2": true }, "candidate"],
    [5, { "2": true, "3": true }, "leader"],
    [5, { "2": false, "3": false, "4": false }, "follower"],
  ];
  for (const [n, votes, want] of cases) {
    const ids = Array.from({ length: n }, (_, i) => `${i + 1}`);
    const c = newCore("1", { entries: bootstrapEntries(membership(ids)) }, PAPER);
    c.campaign();
    for (const [from, granted] of Object.entries(votes)) {
      c.step({ type: "vote-resp", from, to: "1", term: 1, preVote: false, granted });
    }
    assert.is(c.status().role, want, `${n} ${JSON.stringify(votes)}`);
  }
});

test("§5.2: a follower votes for at most one candidate per term, first come first served", () => {
  const c = core("1");
  c.step({ type: "vote", from: "2", to: "1", term: 1, preVote: false, lastIndex: 1, lastTerm: 1, transfer: false });
  c.step({ type: "vote", from: "3", to: "1", term: 1, preVote: false, lastIndex: 1, lastTerm: 1, transfer: false });
  c.step({ type: "vote", from: "2", to: "1", term: 1, preVote: false, lastIndex: 1, lastTerm: 1, transfer: false });
  const resps = out(c).filter((m) => m.type === "vote-resp");
  assert.equal(resps.map((m) => [m.to, m.type === "vote-resp" && m.granted]), [["2", true], ["3", false], ["2", true]]);
});

test("§5.2: a candidate that hears from a leader of its term or newer steps down", () => {
  const c = core("1");
  c.campaign();
  c.step({ type: "append", from: "2", to: "1", term: 1, prevIndex: 1, prevTerm: 1, entries: [], commit: 1 });
  assert.is(c.status().role, "follower");
  assert.is(c.status().leader, "2");
});

test("§5.2: election timeouts are randomized in [electionTicks, 2*electionTicks)", () => {
  const seen = new Set<number>();
  for (let seed = 1; seed < 60; seed++) {
    const c = newCore("1", { entries: bootstrapEntries(cfg3) }, PAPER, seed * 7);
    let ticks = 0;
    while (c.status().role === "follower") {
      c.tick();
      ticks++;
    }
    assert.ok(ticks >= 10 && ticks < 20, `timeout ${ticks}`);
    seen.add(ticks);
  }
  assert.ok(seen.size > 3, "timeouts vary");
});

test("§5.3: the leader appends a proposal and replicates it with the right prevIndex/prevTerm", () => {
  const c = core("1");
  makeLeader(c, ["2"]);
  out(c);
  for (const id of ["2", "3"]) c.step({ type: "append-resp", from: id, to: "1", term: 1, success: true, index: 2, hintIndex: 0, hintTerm: 0 });
  out(c);
  const r = c.propose(enc("x"));
  assert.ok(r.ok);
  const apps = out(c).filter((m): m is Extract<Message, { type: "append" }> => m.type === "append");
  assert.is(apps.length, 2);
  for (const m of apps) {
    assert.is(m.prevIndex, 2);
    assert.is(m.prevTerm, 1);
    assert.equal(m.entries.map((e) => e.index), [3]);
  }
});

test("§5.3: an entry is committed once a majority stores it, and the leader tells followers", () => {
  const net = new Network(bootCluster(["1", "2", "3"], cfg3, PAPER));
  net.elect("1");
  net.cut("1", "3");
  net.get("1").propose(enc("x"));
  net.stabilize();
  assert.is(net.get("1").status().commit, 3, "a majority (1, 2) has it");
  assert.is(net.get("2").status().commit, 3, "the commit index reached 2");
  assert.is(net.get("3").status().commit, 2, "3 is cut off");
});

test("§5.3: a follower rejects an append whose prevIndex/prevTerm it does not have", () => {
  const c = core("1", logOf(1, 2));
  c.step({ type: "append", from: "2", to: "1", term: 3, prevIndex: 3, prevTerm: 3, entries: [], commit: 0 });
  const r = out(c).find((m) => m.type === "append-resp");
  assert.ok(r !== undefined && r.type === "append-resp" && !r.success);
  c.step({ type: "append", from: "2", to: "1", term: 3, prevIndex: 3, prevTerm: 2, entries: [], commit: 0 });
  const ok = out(c).find((m) => m.type === "append-resp");
  assert.ok(ok !== undefined && ok.type === "append-resp" && ok.success);
});

test("§5.3: a follower deletes conflicting entries and appends the leader's", () => {
  const c = core("1", logOf(1, 2, 2));
  c.step({ type: "append", from: "2", to: "1", term: 3, prevIndex: 2, prevTerm: 1, entries: [entry(3, 3), entry(4, 3)], commit: 0 });
  assert.equal([2, 3, 4].map((i) => c.termAt(i)), [1, 3, 3]);
  assert.is(c.lastIndex(), 4);
  const rd = c.ready();
  assert.equal(rd.entries.map((e) => e.index), [3, 4], "only the new tail is persisted again");
  c.advance(rd);
});

test("§5.3 (figure 7): a new leader brings every follower's log in line with its own", () => {
  const leaderLog = logOf(1, 1, 1, 4, 4, 5, 5, 6, 6, 6);
  const followers: LogEntry[][] = [
    logOf(1, 1, 1, 4, 4, 5, 5, 6, 6), // a: missing one
    logOf(1, 1, 1, 4), // b: missing many
    logOf(1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6), // c: one extra
    logOf(1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7), // d: extra of a later term
    logOf(1, 1, 1, 4, 4, 4, 4), // e: conflicting term 4 tail
    logOf(1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3), // f: terms 2 and 3 never committed
  ];
  for (const fl of followers) {
    const ids = ["1", "2", "3"];
    const leader = newCore("1", { entries: leaderLog, hardState: { term: 8, vote: "" } }, PAPER);
    const follower = newCore("2", { entries: fl, hardState: { term: 8, vote: "" } }, PAPER);
    const voter = newCore("3", { entries: leaderLog, hardState: { term: 8, vote: "" } }, PAPER);
    const net = new Network([leader, follower, voter]);
    net.elect("1");
    assert.is(leader.status().role, "leader");
    net.stabilize();
    const want = ids.map(() => leader.lastIndex());
    assert.equal(ids.map((id) => net.get(id).lastIndex()), want);
    for (let i = 1; i <= leader.lastIndex(); i++) assert.is(follower.termAt(i), leader.termAt(i), `index ${i}`);
  }
});

test("§5.4.1: a voter denies its vote to a candidate whose log is less up to date", () => {
  const cases: Array<[number, number, boolean]> = [
    [3, 2, true], // same last term, longer
    [2, 2, false], // shorter... our log is (3, 2)
    [4, 1, false], // longer but older term
    [2, 3, true], // shorter but newer term
  ];
  for (const [lastIndex, lastTerm, granted] of cases) {
    const c = core("1", logOf(1, 2), 2);
    c.step({ type: "vote", from: "2", to: "1", term: 3, preVote: false, lastIndex, lastTerm, transfer: false });
    const r = out(c).find((m) => m.type === "vote-resp");
    assert.ok(r !== undefined && r.type === "vote-resp");
    assert.is(r.granted, granted, `(${lastIndex}, ${lastTerm})`);
  }
});

test("§5.4.2 (figure 8): a leader never commits an entry of an earlier term by counting replicas", () => {
  // Leader 1 at term 4 holds an entry of term 2 at index 2 that a majority (1, 2) stores.
  const leader = newCore("1", { entries: logOf(2), hardState: { term: 3, vote: "" } }, PAPER);
  leader.campaign();
  out(leader);
  leader.step({ type: "vote-resp", from: "3", to: "1", term: 4, preVote: false, granted: true });
  assert.is(leader.status().role, "leader");
  out(leader);
  // Follower 2 acks index 2 (the term-2 entry) but not the term-4 no-op at 3.
  leader.step({ type: "append-resp", from: "2", to: "1", term: 4, success: true, index: 2, hintIndex: 0, hintTerm: 0 });
  assert.is(leader.status().commit, 0, "index 2 (term 2) is not committed by counting");
  leader.step({ type: "append-resp", from: "2", to: "1", term: 4, success: true, index: 3, hintIndex: 0, hintTerm: 0 });
  assert.is(leader.status().commit, 3, "committing the term-4 no-op commits index 2 with it");
});

test.run();
