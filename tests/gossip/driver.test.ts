/**
 * Gossip driver on real sockets: 3-5 pools on 127.0.0.1 (UDP + TCP on one port each) in
 * this process: join with tags, failure detection when a pool is closed abruptly, a
 * graceful leave seen as `left`, user events delivered once everywhere, queries with acks
 * and responses, a shared encryption key (and a wrong key refused), labels (and a label
 * mismatch refused), and the supervised worker path (startGossip) including a restart
 * after the worker stops answering heartbeats.
 * Timings use a fast profile (probe 200 ms, suspicion mult 3) so every test stays short.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { GossipDriver, startGossip } from "../../src/gossip/index.ts";
import type { GossipHandle, GossipOptions, MemberEvent, UserEvent } from "../../src/gossip/index.ts";

const FAST = { probeIntervalMs: 200, probeTimeoutMs: 100, gossipIntervalMs: 50, suspicionMult: 3, pushPullIntervalMs: 5000 };
const KEY = "MTIzNDU2Nzg5MDEyMzQ1Ng==";
const OTHER_KEY = "T1RIRVJLRVlPVEhFUktFWQ==";

async function waitFor(what: string, fn: () => boolean | Promise<boolean>, timeoutMs = 8000): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    if (await fn()) return Date.now() - t0;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function pool(name: string, extra: Partial<GossipOptions> = {}): Promise<GossipDriver> {
  return GossipDriver.start({
    name, bindPort: 0, config: FAST, leavePropagateDelayMs: 100, tags: { role: "node", dc: "dc1", id: name }, ...extra,
  });
}

function addr(d: { port: number }): string {
  return `127.0.0.1:${d.port}`;
}

async function statusOf(h: GossipHandle, name: string): Promise<string | undefined> {
  return (await h.members()).find((m) => m.name === name)?.status;
}

async function closeAll(ps: GossipHandle[]): Promise<void> {
  await Promise.all(ps.map((p) => p.close()));
}

test("four pools join through one seed and all see each other alive with tags", async () => {
  const ps = [await pool("n0", { tags: { role: "consul", dc: "dc1", port: "8300", vsn: "2" } }), await pool("n1"), await pool("n2"), await pool("n3")];
  try {
    for (const p of ps.slice(1)) assert.is(await p.join([addr(ps[0]!)]), 1);
    for (const p of ps) {
      await waitFor(`${p.core.name} sees 4 alive`, async () => (await p.members()).filter((m) => m.status === "alive").length === 4);
    }
    const seen = (await ps[3]!.members()).find((m) => m.name === "n0");
    assert.equal(seen?.tags, { role: "consul", dc: "dc1", port: "8300", vsn: "2" });
    assert.is(seen?.port, ps[0]!.port);
    assert.equal(seen?.vsn, [1, 5, 2, 2, 5, 4]);
  } finally {
    await closeAll(ps);
  }
});

test("a pool closed abruptly is detected as failed by every other pool", async () => {
  const ps = [await pool("f0"), await pool("f1"), await pool("f2"), await pool("f3")];
  const failed: Map<string, number> = new Map();
  try {
    for (const p of ps.slice(1)) await p.join([addr(ps[0]!)]);
    for (const p of ps) await waitFor("converged", async () => (await p.members()).filter((m) => m.status === "alive").length === 4);
    const t0 = Date.now();
    for (const p of ps.slice(0, 3)) {
      p.onMemberEvent((e) => {
        if (e.type === "member-failed" && e.member.name === "f3") failed.set(p.core.name, Date.now() - t0);
      });
    }
    await ps[3]!.close(); // no leave: looks like a crash to the others
    await waitFor("all three see f3 failed", () => failed.size === 3, 12_000);
    for (const p of ps.slice(0, 3)) assert.is(await statusOf(p, "f3"), "failed");
    // suspicion min = 3 x 200 ms; max = 6 x min; detection must be within probe + max.
    for (const ms of failed.values()) assert.ok(ms < 5000, `detected in ${ms} ms`);
  } finally {
    await closeAll(ps);
  }
});

test("a graceful leave is seen as left (not failed), and force-leave turns a failed member into left", async () => {
  const ps = [await pool("l0"), await pool("l1"), await pool("l2")];
  const events: MemberEvent[] = [];
  try {
    for (const p of ps.slice(1)) await p.join([addr(ps[0]!)]);
    for (const p of ps) await waitFor("converged", async () => (await p.members()).filter((m) => m.status === "alive").length === 3);
    ps[0]!.onMemberEvent((e) => events.push(e));
    await ps[2]!.leave();
    await waitFor("l0 and l1 see l2 left", async () => (await statusOf(ps[0]!, "l2")) === "left" && (await statusOf(ps[1]!, "l2")) === "left");
    assert.ok(events.some((e) => e.type === "member-leave" && e.member.name === "l2" && e.member.status === "left"));
    assert.not.ok(events.some((e) => e.type === "member-failed"));
    await ps[2]!.close();
    await ps[1]!.close();
    await waitFor("l1 failed", async () => (await statusOf(ps[0]!, "l1")) === "failed", 8000);
    await ps[0]!.forceLeave("l1");
    assert.is(await statusOf(ps[0]!, "l1"), "left");
  } finally {
    await closeAll(ps);
  }
});

test("user events reach every pool exactly once, the sender included; queries get acks and responses", async () => {
  const ps = [await pool("u0"), await pool("u1"), await pool("u2"), await pool("u3"), await pool("u4")];
  const got = new Map<string, UserEvent[]>();
  try {
    for (const p of ps) {
      got.set(p.core.name, []);
      p.onUserEvent((e) => got.get(p.core.name)!.push(e));
      p.onQuery((q, respond) => respond(`pong-${p.core.name}-${new TextDecoder().decode(q.payload)}`));
    }
    for (const p of ps.slice(1)) await p.join([addr(ps[0]!)]);
    for (const p of ps) await waitFor("converged", async () => (await p.members()).filter((m) => m.status === "alive").length === 5);
    await ps[2]!.fireEvent("deploy", "v1");
    await ps[4]!.fireEvent("deploy", "v2");
    await waitFor("every pool has both events", () => [...got.values()].every((l) => l.length >= 2));
    await new Promise((r) => setTimeout(r, 500)); // rebroadcasts must not deliver twice
    for (const [name, l] of got) {
      assert.equal(l.map((e) => new TextDecoder().decode(e.payload)).sort(), ["v1", "v2"], name);
      assert.ok(l.every((e) => e.name === "deploy"));
    }
    // A long deadline, answered as soon as all five respond: a CI stall longer than a short deadline
    // ends the query before acks already sitting in the socket are read (timers run before I/O).
    const r = await ps[1]!.query("ping", "x", { requestAck: true, timeoutMs: 6000, expectResponses: 5 });
    assert.equal(r.acks.sort(), ["u0", "u1", "u2", "u3", "u4"]);
    assert.equal(r.responses.map((x) => new TextDecoder().decode(x.payload)).sort(), ps.map((p) => `pong-${p.core.name}-x`).sort());
    const filtered = await ps[1]!.query("ping", "y", { filters: [{ kind: "node", nodes: ["u3"] }], timeoutMs: 2000 });
    assert.equal(filtered.responses.map((x) => x.from), ["u3"]);
    let tooBig = false;
    await ps[0]!.fireEvent("big", new Uint8Array(600)).catch(() => (tooBig = true));
    assert.ok(tooBig, "an event over 512 bytes is refused");
  } finally {
    await closeAll(ps);
  }
});

test("a shared key encrypts everything; a node with another key or none cannot join", async () => {
  const ps = [await pool("e0", { encryptKeys: [KEY] }), await pool("e1", { encryptKeys: [KEY] }), await pool("e2", { encryptKeys: [KEY] })];
  const wrong = await pool("ex", { encryptKeys: [OTHER_KEY] });
  const plain = await pool("ep");
  try {
    for (const p of ps.slice(1)) await p.join([addr(ps[0]!)]);
    for (const p of ps) await waitFor("converged", async () => (await p.members()).filter((m) => m.status === "alive").length === 3);
    const got: string[] = [];
    ps[2]!.onUserEvent((e) => got.push(e.name));
    await ps[0]!.fireEvent("secret", "s");
    await waitFor("encrypted event", () => got.includes("secret"));
    let err = "";
    await wrong.join([addr(ps[0]!)]).catch((e: unknown) => (err = String(e)));
    assert.match(err, /failed to join/);
    err = "";
    await plain.join([addr(ps[0]!)]).catch((e: unknown) => (err = String(e)));
    assert.match(err, /encrypt/i);
    await new Promise((r) => setTimeout(r, 300));
    assert.is((await ps[0]!.members()).length, 3);
    // keyring: install a second key, make it primary, the cluster keeps working for those who have both
    await ps[0]!.installKey(OTHER_KEY);
    assert.equal(await ps[0]!.listKeys(), [KEY, OTHER_KEY]);
  } finally {
    await closeAll([...ps, wrong, plain]);
  }
});

test("labels: same label joins (with and without a key), a different or missing label is refused", async () => {
  const a = await pool("la", { label: "dc1" });
  const a2 = await pool("la2", { label: "dc1" });
  const b = await pool("lb", { label: "dc1", encryptKeys: [KEY] });
  const c = await pool("lc", { label: "dc1", encryptKeys: [KEY] });
  const other = await pool("lo", { label: "dc2" });
  const none = await pool("ln");
  try {
    await a2.join([addr(a)]);
    await c.join([addr(b)]);
    await waitFor("label pair converged", async () => (await a.members()).filter((m) => m.status === "alive").length === 2);
    await waitFor("label+key pair converged", async () => (await b.members()).filter((m) => m.status === "alive").length === 2);
    let err = "";
    await other.join([addr(a)]).catch((e: unknown) => (err = String(e)));
    assert.match(err, /failed to join/);
    err = "";
    await none.join([addr(a)]).catch((e: unknown) => (err = String(e)));
    assert.match(err, /failed to join/);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await a.members()).map((m) => m.name).sort(), ["la", "la2"]);
  } finally {
    await closeAll([a, a2, b, c, other, none]);
  }
});

test("startGossip runs the pool in a supervised worker; events stream to this thread; a wedged worker is restarted", async () => {
  const seed = await pool("w0");
  const restarts: string[] = [];
  const h = await startGossip({
    name: "w1", bindPort: 0, config: FAST, tags: { role: "node" }, heartbeatMs: 100, heartbeatTimeoutMs: 600,
    onRestart: (r) => restarts.push(r),
  });
  const events: MemberEvent[] = [];
  const users: UserEvent[] = [];
  h.onMemberEvent((e) => events.push(e));
  h.onUserEvent((e) => users.push(e));
  try {
    assert.ok(h.port > 0);
    assert.is(await h.join([addr(seed)]), 1);
    await waitFor("worker sees seed", () => events.some((e) => e.type === "member-join" && e.member.name === "w0"));
    await waitFor("seed sees worker", async () => (await statusOf(seed, "w1")) === "alive");
    await seed.fireEvent("hello", "from-seed");
    await waitFor("user event crosses into the main thread", () => users.some((u) => u.name === "hello"));
    const stall = h as GossipHandle & { stallWorkerForTest?: (ms: number) => Promise<void> };
    assert.ok(stall.stallWorkerForTest);
    await stall.stallWorkerForTest!(2500);
    await waitFor("restart", () => restarts.length === 1, 12_000);
    assert.match(restarts[0]!, /heartbeat/);
    await waitFor("rejoined after restart", async () => (await h.members()).some((m) => m.name === "w0" && m.status === "alive"));
    await waitFor("seed still sees the worker alive", async () => (await statusOf(seed, "w1")) === "alive");
  } finally {
    await h.close();
    await seed.close();
  }
});

test.run();
