/**
 * Cluster-wide gossip key management (serf keymanager + internal key queries): the
 * keyRequest/keyResponse codec, answering on a keyring (install, use, remove with the
 * primary refused, list, encryption off, list truncation), aggregation with serf's error
 * texts, and a key rotation across three pools on real sockets without a partition
 * (install everywhere, use, remove the old key; members alive after every step; a pool
 * holding only the old key can no longer join); relayed responses (relay factor) sent
 * through other members and forwarded by them.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { GossipDriver, Keyring, keyOperation, decodeStdBase64 } from "../../src/gossip/index.ts";
import type { GossipOptions, Member } from "../../src/gossip/index.ts";
import {
  defaultSerfConfig,
  decodeSerfMessage,
  encodeSerfMessage,
  encodeTags,
  QUERY_FLAG_ACK,
  SerfCore,
  aggregateKeyResponses,
  answerKeyQuery,
  decodeKeyRequest,
  decodeKeyResponse,
  encodeKeyRequest,
  encodeKeyResponse,
  keyOpOf,
  keyQueryName,
  decodeRelayMessage,
  encodeRelayMessage,
} from "../../src/gossip/serf/index.ts";

const FAST = { probeIntervalMs: 200, probeTimeoutMs: 100, gossipIntervalMs: 50, suspicionMult: 3, pushPullIntervalMs: 5000 };
const OLD = "MTIzNDU2Nzg5MDEyMzQ1Ng==";
const NEW = "T1RIRVJLRVlPVEhFUktFWQ==";
const b = (s: string): Uint8Array => decodeStdBase64(s);

async function waitFor(what: string, fn: () => boolean | Promise<boolean>, timeoutMs = 8000): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    if (await fn()) return;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function pool(name: string, extra: Partial<GossipOptions> = {}): Promise<GossipDriver> {
  return GossipDriver.start({ name, bindPort: 0, config: FAST, leavePropagateDelayMs: 100, tags: { role: "node" }, ...extra });
}

async function aliveCount(p: GossipDriver): Promise<number> {
  return (await p.members()).filter((m) => m.status === "alive").length;
}

test("query names and the key messages as serf writes them", () => {
  assert.is(keyQueryName("install"), "_serf_install-key");
  assert.is(keyQueryName("use"), "_serf_use-key");
  assert.is(keyQueryName("remove"), "_serf_remove-key");
  assert.is(keyQueryName("list"), "_serf_list-keys");
  assert.is(keyOpOf("_serf_list-keys"), "list");
  assert.is(keyOpOf("_serf_ping"), null);
  const req = encodeKeyRequest(Uint8Array.from([1, 2, 3]));
  // [7] fixmap(1) "Key" raw(3)
  assert.equal(Array.from(req), [7, 0x81, 0xa3, 75, 101, 121, 0xa3, 1, 2, 3]);
  assert.equal(Array.from(decodeKeyRequest(req)), [1, 2, 3]);
  const resp = { result: true, message: "m", keys: [OLD, NEW], primaryKey: OLD };
  const raw = encodeKeyResponse(resp);
  assert.is(raw[0], 8);
  assert.equal(decodeKeyResponse(raw), resp);
  assert.equal(decodeKeyResponse(encodeKeyResponse({ result: false, message: "", keys: [], primaryKey: "" })).keys, []);
});

test("answering on a keyring: install, use, remove (primary refused), list, encryption off", () => {
  const kr = Keyring.fromBase64([OLD]);
  assert.equal(answerKeyQuery("install", encodeKeyRequest(b(NEW)), kr, 1000), { result: true, message: "", keys: [], primaryKey: "" });
  assert.is(kr.keys().length, 2);
  const listed = answerKeyQuery("list", encodeKeyRequest(new Uint8Array(0)), kr, 1000);
  assert.equal(listed, { result: true, message: "", keys: [OLD, NEW], primaryKey: OLD });
  const rm = answerKeyQuery("remove", encodeKeyRequest(b(OLD)), kr, 1000);
  assert.equal(rm, { result: false, message: "Removing the primary key is not allowed", keys: [], primaryKey: "" });
  assert.ok(answerKeyQuery("use", encodeKeyRequest(b(NEW)), kr, 1000).result);
  assert.ok(answerKeyQuery("remove", encodeKeyRequest(b(OLD)), kr, 1000).result);
  assert.equal(answerKeyQuery("list", new Uint8Array(0), kr, 1000).keys, [NEW]);
  assert.is(answerKeyQuery("use", encodeKeyRequest(b(OLD)), kr, 1000).message, "Requested key is not in the keyring");
  assert.is(answerKeyQuery("install", encodeKeyRequest(b(NEW)), null, 1000).message, "No keyring to modify (encryption not enabled)");
  assert.is(answerKeyQuery("list", new Uint8Array(0), null, 1000).message, "Keyring is empty (encryption not enabled)");
  assert.not.ok(answerKeyQuery("install", Uint8Array.from([9, 9]), kr, 1000).result, "a malformed request fails");
  // a list that does not fit is cut, with serf's message
  const many = new Keyring(Array.from({ length: 30 }, (_, i) => new Uint8Array(16).fill(i + 1)));
  const cut = answerKeyQuery("list", new Uint8Array(0), many, 400);
  assert.ok(cut.result);
  assert.ok(cut.keys.length < 30 && cut.keys.length > 0);
  assert.is(cut.message, `truncated key list response, showing first ${cut.keys.length} of 30 keys`);
  assert.ok(encodeKeyResponse(cut).length <= 400);
});

test("aggregation: counts, primary keys, failure messages and serf's errors", () => {
  const ok = (keys: string[], p: string): Uint8Array => encodeKeyResponse({ result: true, message: "", keys, primaryKey: p });
  const a = aggregateKeyResponses([{ from: "a", payload: ok([OLD, NEW], OLD) }, { from: "b", payload: ok([OLD], OLD) }], 2);
  assert.is(a.error, null);
  assert.equal(a.response, { messages: {}, numNodes: 2, numResp: 2, numErr: 0, keys: { [OLD]: 2, [NEW]: 1 }, primaryKeys: { [OLD]: 2 } });
  const f = aggregateKeyResponses([
    { from: "a", payload: encodeKeyResponse({ result: false, message: "Removing the primary key is not allowed", keys: [], primaryKey: "" }) },
    { from: "b", payload: Uint8Array.from([5]) },
  ], 3);
  assert.is(f.error, "2/3 nodes reported failure");
  assert.is(f.response.messages.a, "Removing the primary key is not allowed");
  assert.is(f.response.messages.b, "Invalid key query response type: [5]");
  assert.is(aggregateKeyResponses([{ from: "a", payload: ok([], "") }], 2).error, "1/2 nodes reported success");
});

test("Go's strict base64", () => {
  assert.equal(Array.from(decodeStdBase64("AQID")), [1, 2, 3]);
  assert.throws(() => decodeStdBase64("AQI*"), /illegal base64 data at input byte 3/);
  assert.throws(() => decodeStdBase64("AQI"), /illegal base64 data at input byte 0/);
});

function member(name: string, port: number): Member {
  return {
    name, addr: Uint8Array.from([127, 0, 0, 1]), port, meta: encodeTags({ role: "node" }),
    vsn: Uint8Array.from([1, 5, 2, 2, 5, 4]), incarnation: 1, state: "alive", stateChangeMs: 0,
  };
}

test("relay factor: ack and response also go through k other alive members; a relay message is forwarded", () => {
  const relay = encodeRelayMessage({ addr: Uint8Array.from([127, 0, 0, 9]), port: 9000, name: "asker" }, Uint8Array.from([5, 0x80]));
  assert.is(relay[0], 9);
  const d = decodeRelayMessage(relay);
  assert.equal([Array.from(d.dest.addr), d.dest.port, d.dest.name, Array.from(d.inner)], [[127, 0, 0, 9], 9000, "asker", [5, 0x80]]);

  let seed = 1;
  const s = new SerfCore(defaultSerfConfig("me"), { rng: () => ((seed = (seed * 16807) % 2147483647) / 2147483647) }, 0);
  ["me", "a", "b", "c"].forEach((n, i) => s.handleMemberlistEvent(0, "join", member(n, 7000 + i)));
  const q = encodeSerfMessage({
    type: "query", ltime: 1, id: 7, addr: Uint8Array.from([127, 0, 0, 9]), port: 9000, sourceNode: "asker", filters: null,
    flags: QUERY_FLAG_ACK, relayFactor: 2, timeoutNs: 5e9, name: "_serf_list-keys", payload: encodeKeyRequest(new Uint8Array(0)),
  });
  const eff = s.handleUserMessage(0, q);
  const sends = (list: typeof eff) => list.flatMap((e) => (e.kind === "send" ? [e] : []));
  const inc = eff.find((e) => e.kind === "query");
  assert.ok(inc && inc.kind === "query" && inc.query.relayFactor === 2);
  const ackSends = sends(eff);
  assert.is(ackSends.length, 3, "ack direct + 2 relays");
  const respSends = sends(s.respond(0, inc.query, Uint8Array.from([8, 0x80])));
  assert.is(respSends.length, 3, "response direct + 2 relays");
  assert.is(respSends[0]!.to.port, 9000);
  const relays = respSends.slice(1);
  const ports = relays.map((r) => r.to.port);
  assert.is(new Set(ports).size, 2);
  assert.ok(ports.every((p) => p >= 7001 && p <= 7003), "never itself");
  for (const r of relays) {
    const { dest, inner } = decodeRelayMessage(r.payload);
    assert.is(dest.port, 9000);
    assert.is(dest.name, "asker");
    const m = decodeSerfMessage(inner);
    assert.ok(m && m.type === "queryResponse" && m.from === "me" && m.id === 7);
  }
  // a member receiving the relay forwards the inner message to the asker
  const fwd = sends(s.handleUserMessage(0, relays[0]!.payload));
  assert.is(fwd.length, 1);
  assert.equal([Array.from(fwd[0]!.to.addr), fwd[0]!.to.port], [[127, 0, 0, 9], 9000]);
  assert.is(fwd[0]!.payload[0], 5);
});

test("key rotation across three pools without a partition; the old key no longer joins", async () => {
  const ps = [await pool("k0", { encryptKeys: [OLD] }), await pool("k1", { encryptKeys: [OLD] }), await pool("k2", { encryptKeys: [OLD] })];
  const late = await pool("k-old", { encryptKeys: [OLD] });
  const seed = `127.0.0.1:${ps[0]!.port}`;
  try {
    for (const p of ps.slice(1)) await p.join([seed]);
    for (const p of ps) await waitFor("converged", async () => (await aliveCount(p)) === 3);
    const everyoneAlive = async (): Promise<void> => {
      for (const p of ps) assert.is(await aliveCount(p), 3, `${p.core.name} sees all alive`);
    };

    let r = await keyOperation(ps[1]!, "list", "");
    assert.is(r.error, null);
    assert.equal(r.response.keys, { [OLD]: 3 });
    assert.equal(r.response.primaryKeys, { [OLD]: 3 });
    assert.is(r.response.numNodes, 3);

    r = await keyOperation(ps[0]!, "install", NEW);
    assert.is(r.error, null);
    assert.is(r.response.numResp, 3);
    for (const p of ps) assert.equal(await p.listKeys(), [OLD, NEW]);
    await everyoneAlive();

    r = await keyOperation(ps[0]!, "remove", OLD);
    assert.is(r.error, "3/3 nodes reported failure");
    assert.is(r.response.messages.k2, "Removing the primary key is not allowed");

    r = await keyOperation(ps[2]!, "use", NEW);
    assert.is(r.error, null);
    for (const p of ps) assert.equal((await p.listKeys())[0], NEW);
    await everyoneAlive();

    r = await keyOperation(ps[1]!, "remove", OLD);
    assert.is(r.error, null);
    r = await keyOperation(ps[0]!, "list", "", 2);
    assert.equal(r.response.keys, { [NEW]: 3 });
    assert.equal(r.response.primaryKeys, { [NEW]: 3 });
    // the cluster keeps gossiping on the new key only
    await new Promise((res) => setTimeout(res, 1000));
    await everyoneAlive();
    const got: string[] = [];
    ps[2]!.onUserEvent((e) => got.push(e.name));
    await ps[0]!.fireEvent("after-rotation", "x");
    await waitFor("event on the new key", () => got.includes("after-rotation"));

    let err = "";
    await late.join([seed]).catch((e: unknown) => (err = String(e)));
    assert.match(err, /failed to join/);
    assert.is(await aliveCount(ps[0]!), 3);
  } finally {
    await Promise.all([...ps, late].map((p) => p.close()));
  }
});

test("a pool without encryption answers every key query with serf's failure", async () => {
  const ps = [await pool("p0"), await pool("p1")];
  try {
    await ps[1]!.join([`127.0.0.1:${ps[0]!.port}`]);
    for (const p of ps) await waitFor("converged", async () => (await aliveCount(p)) === 2);
    const r = await keyOperation(ps[0]!, "list", "");
    assert.is(r.error, "2/2 nodes reported failure");
    assert.equal(r.response.messages, { p0: "Keyring is empty (encryption not enabled)", p1: "Keyring is empty (encryption not enabled)" });
    const i = await keyOperation(ps[0]!, "install", NEW);
    assert.is(i.response.messages.p1, "No keyring to modify (encryption not enabled)");
  } finally {
    await Promise.all(ps.map((p) => p.close()));
  }
});

test.run();
