/**
 * Unit tests of the pure SWIM core and its Lifeguard parts: memberlist's formulas
 * (suspicion timeout, retransmit limit, push/pull scale), the suspicion timer's
 * confirmations, awareness bounds, the broadcast queue's order and limits, and core
 * transitions (probe -> ack, probe -> indirect -> suspect -> dead, refutation,
 * graceful leave, dead-node reclaim, ping+suspect to a suspect node, nacks).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  Awareness,
  BroadcastQueue,
  decodeFrame,
  encodeMessage,
  frameMessages,
  lanConfig,
  localConfig,
  pushPullScaleMs,
  remainingSuspicionMs,
  retransmitLimit,
  Suspicion,
  suspicionTimeoutMs,
  SwimCore,
  wanConfig,
  devConfig,
  decodeMessageBody,
} from "../../src/gossip/index.ts";
import type { Effect, Message, PushNodeState } from "../../src/gossip/index.ts";
import { nodeAddress, nodeName, seededRng } from "./sim_network.ts";

test("presets: LAN is memberlist's default, WAN has Consul's gossip_nodes 3, local and dev", () => {
  const lan = lanConfig();
  assert.equal([lan.probeIntervalMs, lan.probeTimeoutMs, lan.gossipIntervalMs, lan.gossipNodes, lan.suspicionMult], [1000, 500, 200, 3, 4]);
  const wan = wanConfig();
  assert.equal([wan.probeIntervalMs, wan.probeTimeoutMs, wan.gossipIntervalMs, wan.gossipNodes, wan.suspicionMult, wan.pushPullIntervalMs, wan.tcpTimeoutMs, wan.gossipToTheDeadTimeMs], [5000, 3000, 500, 3, 6, 60000, 30000, 60000]);
  const local = localConfig();
  assert.equal([local.indirectChecks, local.retransmitMult, local.suspicionMult, local.probeTimeoutMs], [1, 2, 3, 200]);
  assert.equal([devConfig().probeIntervalMs, devConfig().suspicionMult], [100, 3]);
});

test("memberlist formulas: suspicionTimeout, retransmitLimit, pushPullScale", () => {
  // memberlist util_test.go tables
  assert.is(suspicionTimeoutMs(3, 5, 1000), 3000);
  assert.is(suspicionTimeoutMs(3, 1000, 1000), 9000);
  for (const [n, ms] of [[5, 1000], [10, 1000], [50, 1698], [100, 2000], [500, 2698], [1000, 3000]] as const) {
    assert.is(Math.floor(suspicionTimeoutMs(3, n, 1000) / 3), ms, `util_test.go n=${n}`);
  }
  assert.is(suspicionTimeoutMs(3, 1, 1000), 3000);
  assert.is(suspicionTimeoutMs(3, 10, 1000), 3000);
  assert.is(suspicionTimeoutMs(3, 100, 1000), 6000);
  assert.is(suspicionTimeoutMs(4, 1000, 1000), 12000);
  assert.is(retransmitLimit(3, 0), 0);
  assert.is(retransmitLimit(3, 1), 3);
  assert.is(retransmitLimit(3, 99), 6);
  assert.is(retransmitLimit(4, 1000), 16);
  assert.is(pushPullScaleMs(1000, 32), 1000);
  assert.is(pushPullScaleMs(1000, 33), 2000);
  assert.is(pushPullScaleMs(1000, 65), 3000);
  assert.is(pushPullScaleMs(1000, 1000), 6000);
});

test("remainingSuspicionMs follows memberlist's table", () => {
  // (n, k, elapsed, min, max) -> expected, from suspicion_test.go
  const cases: [number, number, number, number, number, number][] = [
    [0, 3, 0, 2000, 30000, 30000],
    [1, 3, 2000, 2000, 30000, 14000],
    [2, 3, 3000, 2000, 30000, 4810],
    [3, 3, 4000, 2000, 30000, -2000],
    [4, 3, 5000, 2000, 30000, -3000],
    [5, 3, 10000, 2000, 30000, -8000],
  ];
  for (const [n, k, e, min, max, want] of cases) assert.is(remainingSuspicionMs(n, k, e, min, max), want);
});

test("Suspicion: starts at max, shrinks per distinct confirmer, ignores the accuser and repeats", () => {
  const s = new Suspicion("a", 3, 2000, 30000, 0);
  assert.is(s.deadlineMs(), 30000);
  assert.not.ok(s.confirm("a", 1000), "accuser does not confirm");
  assert.ok(s.confirm("b", 2000));
  assert.is(s.deadlineMs(), 2000 + 14000);
  assert.not.ok(s.confirm("b", 2500), "same peer twice");
  assert.ok(s.confirm("c", 3000));
  assert.ok(s.confirm("d", 4000));
  assert.is(s.deadlineMs(), 4000, "k confirmations: min timeout, already elapsed");
  assert.not.ok(s.confirm("e", 4100), "no more than k");
  assert.is(new Suspicion("a", 0, 2000, 30000, 0).deadlineMs(), 2000, "k = 0 starts at min");
});

test("Awareness stays within [0, max-1] and scales timeouts", () => {
  const a = new Awareness(8);
  a.applyDelta(-1);
  assert.is(a.score(), 0);
  a.applyDelta(100);
  assert.is(a.score(), 7);
  assert.is(a.scaleTimeout(1000), 8000);
});

test("BroadcastQueue: fewest transmits first, largest that fits, invalidation by name, retransmit limit", () => {
  const q = new BroadcastQueue(1);
  const m = (n: number, fill: number) => new Uint8Array(n).fill(fill);
  q.queue({ name: "a", msg: m(10, 1) });
  q.queue({ name: "b", msg: m(20, 2) });
  q.queue({ name: "a", msg: m(5, 3) }); // replaces the first "a"
  assert.is(q.length, 2);
  const got = q.getBroadcasts(2, 100, 9); // limit 1 * ceil(log10(10)) = 1 transmit
  assert.equal(got.map((x) => x[0]), [2, 3], "largest first");
  assert.is(q.length, 0, "dropped after the retransmit limit");
  q.queue({ name: null, msg: m(50, 4) });
  q.queue({ name: null, msg: m(30, 5) });
  assert.equal(q.getBroadcasts(2, 40, 9).map((x) => x[0]), [5], "only what fits in the budget");
});

// ---------------------------------------------------------------- core transitions

function mkCore(i: number, cfg = lanConfig()): SwimCore {
  return new SwimCore(cfg, { name: nodeName(i), ...nodeAddress(i) }, { rng: seededRng(i + 1) }, 0);
}

function aliveState(i: number, inc = 1): PushNodeState {
  return { name: nodeName(i), ...nodeAddress(i), meta: null, incarnation: inc, state: "alive", vsn: Uint8Array.from([1, 5, 2, 2, 5, 4]) };
}

function packets(effects: Effect[]): { to: number; msgs: Message[] }[] {
  return effects.flatMap((e) => e.kind === "packet"
    ? [{ to: e.to.addr[3] ?? 0, msgs: e.parts.map((p) => frameMessages(decodeFrame(p))).flat() }]
    : []);
}

test("core: a probe answered by an ack completes with its RTT and no suspicion", () => {
  const a = mkCore(0);
  a.seedState(0, [aliveState(1)]);
  let sent: { to: number; msgs: Message[] }[] = [];
  for (let t = 0; t <= 1000 && sent.length === 0; t += 10) sent = packets(a.tick(t)).filter((p) => p.msgs[0]?.type === "ping");
  const ping = sent[0]?.msgs[0];
  assert.ok(ping && ping.type === "ping");
  assert.is(ping.node, nodeName(1));
  const eff = a.handlePacket(1100, nodeAddress(1), [{ type: "ack", seqNo: ping.seqNo, payload: Uint8Array.of(1) }]);
  const done = eff.find((e) => e.kind === "ping-complete");
  assert.ok(done && done.kind === "ping-complete" && done.rttMs >= 0);
  assert.is(a.member(nodeName(1))?.state, "alive");
});

test("core: an unanswered probe goes indirect (with nack requests and a TCP ping), then suspect, then dead", () => {
  const a = mkCore(0);
  a.seedState(0, [aliveState(1), aliveState(2), aliveState(3), aliveState(4), aliveState(5)]);
  const all: Effect[] = [];
  for (let t = 0; t <= 40_000; t += 10) {
    const eff = a.tick(t);
    all.push(...eff);
    // everyone answers except node 5; indirect requests are answered with nacks
    for (const p of packets(eff)) for (const m of p.msgs) {
      if (m.type === "ping" && m.node !== nodeName(5)) a.handlePacket(t, nodeAddress(p.to), [{ type: "ack", seqNo: m.seqNo, payload: null }]);
      if (m.type === "indirectPing") a.handlePacket(t, nodeAddress(p.to), [{ type: "nack", seqNo: m.seqNo }]);
    }
    if (a.member(nodeName(5))?.state === "dead") break;
  }
  const ind = packets(all).flatMap((p) => p.msgs).filter((m) => m.type === "indirectPing");
  assert.ok(ind.length >= 3 && ind.every((m) => m.type === "indirectPing" && m.nack && m.node === nodeName(5)));
  assert.ok(all.some((e) => e.kind === "tcp-ping"), "TCP fallback ping");
  const states = all.filter((e) => e.kind === "state" && e.node === nodeName(5)).map((e) => (e.kind === "state" ? e.to : ""));
  assert.equal(states, ["suspect", "dead"]);
  assert.is(a.healthScore(), 0, "nacks arrived, so no health penalty");
  // After suspicion, probes of node 5 carry a suspect message (buddy system) — checked below separately.
});

test("core: probing a suspect node sends ping+suspect so it can refute", () => {
  const a = mkCore(0);
  a.seedState(0, [aliveState(1)]);
  a.handlePacket(0, nodeAddress(2), [{ type: "suspect", incarnation: 1, node: nodeName(1), from: nodeName(2) }]);
  assert.is(a.member(nodeName(1))?.state, "suspect");
  let found = false;
  for (let t = 0; t <= 3000 && !found; t += 10) {
    for (const e of a.tick(t)) {
      if (e.kind !== "packet" || e.parts.length !== 2) continue;
      const kinds = e.parts.map((p) => frameMessages(decodeFrame(p))[0]?.type);
      if (kinds[0] === "ping" && kinds[1] === "suspect") found = e.crc;
    }
  }
  assert.ok(found, "compound ping+suspect with CRC (peer PMax 5)");
});

test("core: refutes suspicion about itself with a higher incarnation and raises its health score", () => {
  const a = mkCore(0);
  a.seedState(0, [aliveState(1)]);
  a.handlePacket(0, nodeAddress(1), [{ type: "suspect", incarnation: 7, node: nodeName(0), from: nodeName(1) }]);
  assert.is(a.member(nodeName(0))?.incarnation, 8);
  assert.is(a.healthScore(), 1);
  const eff = a.handlePacket(10, nodeAddress(1), [{ type: "ping", seqNo: 9, node: nodeName(0) }]);
  const msgs = packets(eff).flatMap((p) => p.msgs);
  assert.ok(msgs.some((m) => m.type === "ack" && m.seqNo === 9));
  assert.ok(msgs.some((m) => m.type === "alive" && m.node === nodeName(0) && m.incarnation === 8), "alive piggybacked on the ack");
});

test("core: graceful leave is a dead message with From == Node; peers record 'left'", () => {
  const a = mkCore(0);
  const b = mkCore(1);
  a.seedState(0, [aliveState(1)]);
  b.seedState(0, [aliveState(0)]);
  a.leave(100);
  let dead: Message | undefined;
  for (let t = 100; t < 1000 && !dead; t += 10) {
    for (const p of packets(a.tick(t))) dead ??= p.msgs.find((m) => m.type === "dead");
  }
  assert.ok(dead && dead.type === "dead" && dead.from === dead.node);
  const eff = b.handlePacket(1000, nodeAddress(0), [dead]);
  assert.is(b.member(nodeName(0))?.state, "left");
  assert.ok(eff.some((e) => e.kind === "member" && e.event === "leave"));
});

test("core: a dead name is reclaimed by a new address only after deadNodeReclaimTime", () => {
  const a = mkCore(0);
  a.seedState(0, [aliveState(1)]);
  a.handlePacket(0, nodeAddress(2), [{ type: "dead", incarnation: 1, node: nodeName(1), from: nodeName(2) }]);
  const moved = { type: "alive" as const, incarnation: 2, node: nodeName(1), addr: Uint8Array.of(10, 0, 9, 9), port: 7946, meta: null, vsn: Uint8Array.of(1, 5, 2, 2, 5, 4) };
  const early = a.handlePacket(1000, nodeAddress(2), [moved]);
  assert.ok(early.some((e) => e.kind === "conflict"));
  assert.is(a.member(nodeName(1))?.state, "dead");
  const late = a.handlePacket(40_000, nodeAddress(2), [moved]);
  assert.ok(late.some((e) => e.kind === "member" && e.event === "join"));
  assert.equal([...(a.member(nodeName(1))?.addr ?? [])], [10, 0, 9, 9]);
});

test("core: forwards indirect pings and answers with a nack on timeout", () => {
  const b = mkCore(1);
  const eff = b.handlePacket(0, nodeAddress(0), [{ type: "indirectPing", seqNo: 77, target: nodeAddress(2).addr, port: 7946, node: nodeName(2), nack: true }]);
  const fwd = packets(eff).flatMap((p) => p.msgs).find((m) => m.type === "ping");
  assert.ok(fwd && fwd.type === "ping" && fwd.node === nodeName(2));
  const later = packets(b.tick(600)).flatMap((p) => p.msgs);
  assert.ok(later.some((m) => m.type === "nack" && m.seqNo === 77));
});

test("core: alive broadcasts are encoded exactly as memberlist encodes them", () => {
  const a = mkCore(0);
  a.seedState(0, [aliveState(1)]);
  a.updateMeta(0, Uint8Array.from([0x6d]));
  const eff = a.handlePacket(0, nodeAddress(1), [{ type: "ping", seqNo: 1, node: nodeName(0) }]);
  const alive = packets(eff)[0]?.msgs.find((m) => m.type === "alive");
  assert.ok(alive && alive.type === "alive");
  const bytes = encodeMessage(alive);
  assert.equal(decodeMessageBody(bytes[0]!, bytes.subarray(1)), alive);
  assert.equal([...(alive.vsn ?? [])], [1, 5, 2, 2, 5, 4]);
});

test.run();
