/**
 * Interop with the real thing: a cairn gossip pool and mlpeer (HashiCorp memberlist 0.2.2 +
 * serf 0.9.4, built offline from Debian packages by tests/setup/ensure_mlpeer.sh) in serf
 * mode on 127.0.0.1, LAN timing (memberlist DefaultLANConfig on both sides):
 *  - join in both directions, plaintext, with a key, with a label, with label + key; each
 *    side sees the other alive with the right tags;
 *  - serf user events both ways; a serf query both ways (acks and responses);
 *  - a SIGKILLed mlpeer is marked failed by cairn, and an abruptly closed cairn is marked
 *    failed by mlpeer, within memberlist's bounds (suspect after <= 3 s, dead 4 s later);
 *  - a graceful leave (cairn leave(), mlpeer SIGTERM) is seen as `left`, not `failed`.
 * Skips with a clear message only when mlpeer cannot be built.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { GossipDriver } from "../../src/gossip/index.ts";
import type { GossipOptions, MemberEvent, UserEvent } from "../../src/gossip/index.ts";
import { ensureMlpeer, MlPeer, serfMembers, str } from "./interop_mlpeer.ts";
import type { MlEvent } from "./interop_mlpeer.ts";

const KEY = "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI="; // 32 bytes: AES-256
const CAIRN_TAGS = { role: "node", dc: "dc1", id: "0b8e4f5a-cairn", vsn: "2", vsn_min: "2", vsn_max: "3", build: "1.17.0:cairn" };
const ML_TAGS = "role=consul,dc=dc1,port=8300,vsn=2,expect=1";

const built = ensureMlpeer();
const bin = "bin" in built ? built.bin : "";
if ("skip" in built) console.log(`SKIP interop tests: ${built.skip}`);
const run = "bin" in built ? test : test.skip;

const live: { close(): Promise<void> }[] = [];
const peers: MlPeer[] = [];

async function cairn(name: string, extra: Partial<GossipOptions> = {}): Promise<GossipDriver> {
  const d = await GossipDriver.start({ name, bindPort: 0, tags: CAIRN_TAGS, leavePropagateDelayMs: 200, ...extra });
  live.push(d);
  return d;
}

async function mlpeer(name: string, args: string[]): Promise<MlPeer> {
  const p = await MlPeer.start(bin, name, ["-serf", "-tags", ML_TAGS, ...args]);
  peers.push(p);
  return p;
}

function waitMember(d: GossipDriver, pred: (e: MemberEvent) => boolean, timeoutMs: number, what: string): Promise<{ at: number; e: MemberEvent }> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => (off(), reject(new Error(`timed out after ${timeoutMs} ms waiting for cairn ${what}`))), timeoutMs);
    const off = d.onMemberEvent((e) => {
      if (!pred(e)) return;
      clearTimeout(t);
      off();
      resolve({ at: Date.now(), e });
    });
  });
}

function waitUser(d: GossipDriver, name: string, timeoutMs: number): Promise<UserEvent> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => (off(), reject(new Error(`timed out waiting for user event ${name}`))), timeoutMs);
    const off = d.onUserEvent((e) => {
      if (e.name !== name) return;
      clearTimeout(t);
      off();
      resolve(e);
    });
  });
}

const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

/** Both sides see each other alive with the right tags, and user events pass both ways. */
async function checkPair(c: GossipDriver, ml: MlPeer, mlName: string, cairnJoins: boolean): Promise<void> {
  const fromGo = waitUser(c, "hello", 10_000);
  const seen = waitMember(c, (e) => e.type === "member-join" && e.member.name === mlName, 10_000, `join of ${mlName}`);
  if (cairnJoins) assert.is(await c.join([`127.0.0.1:${ml.port}`]), 1);
  const { e } = await seen;
  assert.is(e.member.status, "alive");
  assert.equal(e.member.tags, { role: "consul", dc: "dc1", port: "8300", vsn: "2", expect: "1" });
  assert.equal(e.member.vsn, [1, 5, 2, 2, 5, 4]);
  const j = await ml.waitFor(ml.serfEvent("member-join", c.core.name), 10_000, "serf member-join of cairn");
  const me = serfMembers(j.e).find((m) => m.name === c.core.name);
  assert.is(me?.status, "alive");
  assert.equal(me?.tags, CAIRN_TAGS);
  // mlpeer fires `hello=fromgo` once another member joined.
  assert.is(dec((await fromGo).payload), "fromgo");
  await c.fireEvent("fromts", "payload-ts");
  const u = await ml.waitFor((x) => str(x, "event") === "serf_user" && str(x, "name") === "fromts", 10_000, "serf_user fromts");
  assert.is(str(u.e, "payload"), "payload-ts");
}

async function cleanup(): Promise<void> {
  await Promise.all(peers.splice(0).map((p) => p.stop("SIGKILL")));
  await Promise.all(live.splice(0).map((d) => d.close()));
}

run("mlpeer joins cairn (plaintext): alive with tags both ways, user events both ways", async () => {
  try {
    const c = await cairn("cairn-a");
    const ml = await mlpeer("ml-a", ["-join", `127.0.0.1:${c.port}`, "-event", "hello=fromgo"]);
    await checkPair(c, ml, "ml-a", false);
  } finally {
    await cleanup();
  }
});

run("cairn joins mlpeer with a 32-byte key (AES-256-GCM)", async () => {
  try {
    const ml = await mlpeer("ml-b", ["-key", KEY, "-event", "hello=fromgo"]);
    const c = await cairn("cairn-b", { encryptKeys: [KEY] });
    await checkPair(c, ml, "ml-b", true);
  } finally {
    await cleanup();
  }
});

run("labels: mlpeer joins cairn with label dc1; cairn joins mlpeer with label + key", async () => {
  try {
    const c1 = await cairn("cairn-c1", { label: "dc1" });
    const ml1 = await mlpeer("ml-c1", ["-label", "dc1", "-join", `127.0.0.1:${c1.port}`, "-event", "hello=fromgo"]);
    await checkPair(c1, ml1, "ml-c1", false);
    const ml2 = await mlpeer("ml-c2", ["-label", "dc1", "-key", KEY, "-event", "hello=fromgo"]);
    const c2 = await cairn("cairn-c2", { label: "dc1", encryptKeys: [KEY] });
    await checkPair(c2, ml2, "ml-c2", true);
    // and a label mismatch is refused by both
    const c3 = await cairn("cairn-c3", { label: "dc2" });
    let err = "";
    await c3.join([`127.0.0.1:${ml1.port}`]).catch((e: unknown) => (err = String(e)));
    assert.match(err, /failed to join/);
  } finally {
    await cleanup();
  }
});

run("queries both ways: acks and responses", async () => {
  try {
    const c = await cairn("cairn-q");
    c.onQuery((q, respond) => respond(`cairn-answers-${dec(q.payload)}`));
    const ml = await mlpeer("ml-q", ["-join", `127.0.0.1:${c.port}`, "-query", "who=are-you"]);
    await waitMember(c, (e) => e.type === "member-join" && e.member.name === "ml-q", 10_000, "join");
    const resp = await ml.waitFor((e) => str(e, "event") === "serf_query_resp" && str(e, "from") === "cairn-q", 10_000, "query response from cairn");
    assert.is(str(resp.e, "payload"), "cairn-answers-are-you");
    await ml.waitFor((e) => str(e, "event") === "serf_query_ack" && str(e, "from") === "cairn-q", 5000, "query ack from cairn");
    const r = await c.query("status", "q1", { requestAck: true, timeoutMs: 2000 });
    assert.ok(r.acks.includes("ml-q"), `acks: ${r.acks.join(",")}`);
    const fromMl = r.responses.find((x) => x.from === "ml-q");
    assert.is(fromMl && dec(fromMl.payload), "resp-from-ml-q");
  } finally {
    await cleanup();
  }
});

run("a SIGKILLed mlpeer is marked failed by cairn within memberlist's bounds", async () => {
  try {
    const c = await cairn("cairn-k");
    const states: { to: string; at: number }[] = [];
    c.onStateChange((s) => s.node === "ml-k" && states.push({ to: s.to, at: Date.now() }));
    const ml = await mlpeer("ml-k", ["-join", `127.0.0.1:${c.port}`]);
    await waitMember(c, (e) => e.type === "member-join" && e.member.name === "ml-k", 10_000, "join");
    await new Promise((r) => setTimeout(r, 500));
    const failed = waitMember(c, (e) => e.type === "member-failed" && e.member.name === "ml-k", 15_000, "member-failed");
    const t0 = Date.now();
    await ml.stop("SIGKILL");
    const { at, e } = await failed;
    const suspectAt = states.find((s) => s.to === "suspect")?.at ?? NaN;
    console.log(`  cairn: mlpeer SIGKILL -> suspect ${suspectAt - t0} ms, failed ${at - t0} ms (memberlist: suspect 1.4-3.0 s, dead 5.4-7.0 s)`);
    assert.is(e.member.status, "failed");
    assert.ok(suspectAt - t0 <= 3500, "suspect within ~3 s");
    assert.ok(at - t0 >= 4000 && at - t0 <= 8000, `failed after ${at - t0} ms`);
  } finally {
    await cleanup();
  }
});

run("an abruptly closed cairn is marked failed by mlpeer within memberlist's bounds", async () => {
  try {
    const c = await cairn("cairn-x");
    const ml = await mlpeer("ml-x", []);
    await c.join([`127.0.0.1:${ml.port}`]);
    await ml.waitFor(ml.serfEvent("member-join", "cairn-x"), 10_000, "join");
    await new Promise((r) => setTimeout(r, 500));
    const t0 = Date.now();
    await c.close();
    const suspect = await ml.waitFor((e: MlEvent) => str(e, "event") === "state" && str(e, "name") === "cairn-x" && str(e, "state") === "suspect", 8000, "suspect state")
      .catch(() => undefined);
    const f = await ml.waitFor(ml.serfEvent("member-failed", "cairn-x"), 15_000, "serf member-failed");
    console.log(`  mlpeer: cairn closed -> suspect ${suspect ? suspect.at - t0 : "?"} ms, member-failed ${f.at - t0} ms`);
    assert.ok(f.at - t0 >= 4000 && f.at - t0 <= 8500, `failed after ${f.at - t0} ms`);
    assert.is(serfMembers(f.e).find((m) => m.name === "cairn-x")?.status, "failed");
  } finally {
    await cleanup();
  }
});

run("graceful leaves are seen as left, not failed, in both directions", async () => {
  try {
    const c = await cairn("cairn-l");
    const ml = await mlpeer("ml-l", ["-join", `127.0.0.1:${c.port}`]);
    const ml2 = await mlpeer("ml-l2", ["-join", `127.0.0.1:${c.port}`]);
    await waitMember(c, (e) => e.type === "member-join" && e.member.name === "ml-l2", 10_000, "join");
    await ml.waitFor(ml.serfEvent("member-join", "ml-l2"), 10_000, "ml sees ml2");
    // mlpeer leaves gracefully (serf Leave: intent, memberlist leave) on SIGTERM
    const left = waitMember(c, (e) => e.member.name === "ml-l2" && (e.type === "member-leave" || e.type === "member-failed"), 15_000, "leave of ml-l2");
    await ml2.stop("SIGTERM");
    const { e } = await left;
    assert.is(e.type, "member-leave");
    assert.is(e.member.status, "left");
    // cairn leaves gracefully
    const t0 = Date.now();
    await c.leave();
    const l = await ml.waitFor((x) => str(x, "event") === "serf_member" && ["member-leave", "member-failed"].includes(str(x, "type")) &&
      serfMembers(x).some((m) => m.name === "cairn-l"), 10_000, "serf leave of cairn");
    console.log(`  cairn leave() took ${Date.now() - t0} ms; mlpeer saw ${str(l.e, "type")} after ${l.at - t0} ms`);
    assert.is(str(l.e, "type"), "member-leave");
    assert.is(serfMembers(l.e).find((m) => m.name === "cairn-l")?.status, "left");
    // memberlist's own table says left (dead message with From == Node), not dead
    const st = await ml.waitFor((x) => str(x, "event") === "state" && str(x, "name") === "cairn-l" && ["left", "dead"].includes(str(x, "state")), 5000, "memberlist state");
    assert.is(str(st.e, "state"), "left");
  } finally {
    await cleanup();
  }
});

test.after(cleanup);

test.run();
