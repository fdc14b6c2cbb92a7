/**
 * The pure serf layer the gossip driver runs: message codec against the serf fixture
 * vectors (every serf message in them decodes and re-encodes byte-exact), Lamport clocks,
 * join/leave intents (leaving -> left vs failed), user event de-duplication and the too-old
 * window, coalescing, query de-duplication/filters/acks, reconnect and reaping.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { decodeFrame, frameMessages, openStream } from "../../src/gossip/index.ts";
import type { Member } from "../../src/gossip/index.ts";
import {
  decodePushPull,
  decodeSerfMessage,
  decodeTags,
  encodePushPull,
  encodeSerfMessage,
  encodeTags,
  LamportClock,
  SerfCore,
  defaultSerfConfig,
} from "../../src/gossip/serf/index.ts";
import type { SerfEffect } from "../../src/gossip/serf/index.ts";
import { hex, loadVectors, toHex } from "./fixtures.ts";
import { seededRng } from "./sim_network.ts";

test("every serf message in the fixture vectors decodes and re-encodes byte-exact", () => {
  let n = 0;
  for (const v of loadVectors().filter((x) => x.run === "serf")) {
    const wire = hex(v.wire_hex);
    if (v.proto === "tcp") {
      const { msg } = openStream(wire, { keys: [], verifyIncoming: false, label: "" });
      if (msg.type !== "pushPull" || msg.userState.length === 0) continue;
      const pp = decodePushPull(msg.userState);
      assert.ok(pp);
      assert.is(toHex(encodePushPull(pp!)), toHex(msg.userState), v.kind);
      n++;
      continue;
    }
    let msgs;
    try {
      msgs = frameMessages(decodeFrame(wire));
    } catch {
      continue;
    }
    for (const m of msgs) {
      if (m.type === "alive" && m.meta && m.meta[0] === 0xff) {
        const tags = decodeTags(m.meta);
        assert.ok(Object.keys(tags).length > 0);
      }
      if (m.type !== "user") continue;
      const s = decodeSerfMessage(m.payload);
      if (s === null) continue;
      assert.is(toHex(encodeSerfMessage(s)), toHex(m.payload), `${v.kind} ${s.type}`);
      n++;
    }
  }
  assert.ok(n >= 8, `checked ${n} serf messages`);
});

test("tags round-trip; a bare role string is the old protocol's meta", () => {
  assert.equal(decodeTags(encodeTags({ role: "consul", dc: "dc1" })), { role: "consul", dc: "dc1" });
  assert.equal(decodeTags(new TextEncoder().encode("consul")), { role: "consul" });
  assert.equal(decodeTags(null), {});
});

test("Lamport clock: witness moves past the seen value, never back", () => {
  const c = new LamportClock();
  assert.is(c.increment(), 1);
  c.witness(5);
  assert.is(c.time(), 6);
  c.witness(2);
  assert.is(c.time(), 6);
});

function member(name: string, state: Member["state"] = "alive"): Member {
  return {
    name, addr: Uint8Array.from([127, 0, 0, 1]), port: 7000, meta: encodeTags({ role: "node" }),
    vsn: Uint8Array.from([1, 5, 2, 2, 5, 4]), incarnation: 1, state, stateChangeMs: 0,
  };
}

function kinds(effects: SerfEffect[], kind: SerfEffect["kind"]): SerfEffect[] {
  return effects.filter((e) => e.kind === kind);
}

test("intents: leave intent then memberlist leave = left; plain memberlist dead = failed; force-leave of failed = left", () => {
  const s = new SerfCore(defaultSerfConfig("me"), { rng: seededRng(1) }, 0);
  s.handleMemberlistEvent(0, "join", member("me"));
  s.handleMemberlistEvent(0, "join", member("a"));
  s.handleMemberlistEvent(0, "join", member("b"));
  const leave = encodeSerfMessage({ type: "leave", ltime: 5, node: "a", prune: false });
  const e1 = s.handleUserMessage(1, leave);
  assert.is(kinds(e1, "broadcast").length, 1, "a new intent is rebroadcast");
  assert.is(s.member("a")?.status, "leaving");
  assert.is(kinds(s.handleUserMessage(1, leave), "broadcast").length, 0, "the same intent is not");
  const ev = s.handleMemberlistEvent(2, "leave", member("a", "dead"));
  assert.equal(kinds(ev, "member-event").map((e) => e.kind === "member-event" && [e.event.type, e.event.member.status]), [["member-leave", "left"]]);
  const ev2 = s.handleMemberlistEvent(2, "leave", member("b", "dead"));
  assert.equal(kinds(ev2, "member-event").map((e) => e.kind === "member-event" && e.event.type), ["member-failed"]);
  s.forceLeave(3, "b");
  assert.is(s.member("b")?.status, "left");
  assert.ok(s.clock.time() >= 6);
});

test("a leave intent about ourselves while alive is refuted with a newer join intent", () => {
  const s = new SerfCore(defaultSerfConfig("me"), { rng: seededRng(2) }, 0);
  s.handleMemberlistEvent(0, "join", member("me"));
  const out = s.handleUserMessage(1, encodeSerfMessage({ type: "leave", ltime: 9, node: "me", prune: false }));
  const b = kinds(out, "broadcast")[0];
  assert.ok(b && b.kind === "broadcast");
  const j = decodeSerfMessage(b.payload);
  assert.ok(j !== null && j.type === "join" && j.ltime >= 10);
  assert.is(s.member("me")?.status, "alive");
});

test("user events: delivered once, stale ones dropped, coalescing keeps the newest per name", () => {
  const s = new SerfCore({ ...defaultSerfConfig("me"), userCoalescePeriodMs: 100 }, { rng: seededRng(3) }, 0);
  const ev = (lt: number, name: string, p: string, cc = false): Uint8Array =>
    encodeSerfMessage({ type: "userEvent", ltime: lt, name, payload: new TextEncoder().encode(p), cc });
  assert.is(kinds(s.handleUserMessage(0, ev(3, "x", "1")), "user-event").length, 1);
  assert.is(kinds(s.handleUserMessage(0, ev(3, "x", "1")), "user-event").length, 0, "duplicate");
  assert.is(kinds(s.handleUserMessage(0, ev(3, "x", "2")), "user-event").length, 1, "same ltime, other payload");
  s.handleUserMessage(0, ev(2000, "y", "far"));
  assert.is(kinds(s.handleUserMessage(0, ev(10, "z", "old")), "user-event").length, 0, "older than clock - 512");
  // coalesced: nothing until the period ends, then only the newest
  assert.is(kinds(s.handleUserMessage(0, ev(2001, "c", "a", true)), "user-event").length, 0);
  s.handleUserMessage(10, ev(2003, "c", "c", true));
  s.handleUserMessage(20, ev(2002, "c", "b", true));
  const flushed = kinds(s.tick(150), "user-event");
  assert.is(flushed.length, 1);
  const f0 = flushed[0]!;
  assert.ok(f0.kind === "user-event" && new TextDecoder().decode(f0.event.payload) === "c");
  // local events increment the event clock and are delivered locally too
  const before = s.eventClock.time();
  const local = s.userEvent(200, "deploy", new Uint8Array([1]), false);
  assert.is(kinds(local, "user-event").length, 1);
  assert.is(kinds(local, "broadcast").length, 1);
  assert.is(s.eventClock.time(), before + 1);
  assert.throws(() => s.userEvent(200, "big", new Uint8Array(600), false));
});

test("queries: ack + query event, duplicates dropped, node filter honoured, responses collected then done", () => {
  const s = new SerfCore(defaultSerfConfig("me"), { rng: seededRng(4) }, 0);
  const q = (id: number, filters: Uint8Array[] | null): Uint8Array => encodeSerfMessage({
    type: "query", ltime: 4, id, addr: Uint8Array.from([127, 0, 0, 1]), port: 9000, sourceNode: "o", filters, flags: 1,
    relayFactor: 0, timeoutNs: 1e9, name: "n", payload: null,
  });
  const out = s.handleUserMessage(0, q(7, null));
  assert.is(kinds(out, "send").length, 1, "ack sent straight back");
  assert.is(kinds(out, "query").length, 1);
  assert.is(kinds(s.handleUserMessage(0, q(7, null)), "query").length, 0, "duplicate id");
  const other = encodeSerfMessage({ type: "leave", ltime: 1, node: "x", prune: false });
  void other;
  const filtered = s.handleUserMessage(0, q(8, [Uint8Array.from([0, 0x91, 0xa1, 0x78])])); // node filter ["x"]
  assert.is(kinds(filtered, "query").length, 0);
  assert.is(kinds(filtered, "broadcast").length, 1, "still relayed to others");
  const { id } = s.query(0, { addr: Uint8Array.from([127, 0, 0, 1]), port: 1 }, "ask", new Uint8Array(0), { timeoutMs: 50, requestAck: true });
  const resp = (from: string, flags: number): Uint8Array => encodeSerfMessage({ type: "queryResponse", ltime: 5, id, from, flags, payload: null });
  assert.is(kinds(s.handleUserMessage(1, resp("a", 1)), "query-ack").length, 1);
  assert.is(kinds(s.handleUserMessage(1, resp("a", 0)), "query-response").length, 1);
  assert.is(kinds(s.handleUserMessage(1, resp("a", 0)), "query-response").length, 0, "one response per node");
  assert.is(kinds(s.tick(100), "query-done").length, 1);
});

test("failed members get reconnect attempts and are reaped after the reconnect timeout; left ones after the tombstone timeout", () => {
  const cfg = { ...defaultSerfConfig("me"), reconnectIntervalMs: 10, reapIntervalMs: 10, reconnectTimeoutMs: 100, tombstoneTimeoutMs: 50 };
  const s = new SerfCore(cfg, { rng: () => 0 }, 0);
  s.handleMemberlistEvent(0, "join", member("me"));
  s.handleMemberlistEvent(0, "join", member("f"));
  s.handleMemberlistEvent(0, "join", member("l"));
  s.handleMemberlistEvent(0, "leave", member("f", "dead"));
  s.handleMemberlistEvent(0, "leave", member("l", "left"));
  assert.is(s.member("l")?.status, "left");
  const t1 = s.tick(20);
  assert.ok(kinds(t1, "reconnect").some((e) => e.kind === "reconnect" && e.node === "f"));
  const t2 = s.tick(60);
  assert.equal(kinds(t2, "member-event").map((e) => e.kind === "member-event" && e.event.member.name), ["l"]);
  const t3 = s.tick(120);
  assert.equal(kinds(t3, "member-event").map((e) => e.kind === "member-event" && `${e.event.type}:${e.event.member.name}`), ["member-reap:f"]);
  assert.equal(s.members().map((m) => m.name), ["me"]);
});

test("push/pull user state: left members and status times merge, events replay through the dedupe buffer", () => {
  const a = new SerfCore(defaultSerfConfig("a"), { rng: seededRng(5) }, 0);
  a.handleMemberlistEvent(0, "join", member("a"));
  a.handleMemberlistEvent(0, "join", member("gone"));
  a.handleUserMessage(0, encodeSerfMessage({ type: "leave", ltime: 3, node: "gone", prune: false }));
  a.handleMemberlistEvent(0, "leave", member("gone", "left"));
  a.userEvent(0, "e1", new Uint8Array([1]), false);
  const b = new SerfCore(defaultSerfConfig("b"), { rng: seededRng(6) }, 0);
  b.handleMemberlistEvent(0, "join", member("b"));
  b.handleMemberlistEvent(0, "join", member("gone"));
  const out = b.mergeRemoteState(1, a.localState(), true);
  assert.is(b.member("gone")?.status, "leaving");
  assert.equal(kinds(out, "user-event").map((e) => e.kind === "user-event" && e.event.name), ["e1"]);
  assert.is(kinds(b.mergeRemoteState(2, a.localState(), false), "user-event").length, 0, "replayed once only");
  assert.ok(b.clock.time() >= 3 && b.eventClock.time() >= 1);
});

test.run();
