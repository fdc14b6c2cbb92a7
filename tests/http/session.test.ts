// HTTP tests for /v1/session/* over a real Store: defaults and fix-ups of create, Consul's
// validation texts, JSON shape, blocking reads, renew/destroy, KV acquire/release with
// LockIndex and lock-delay, txn lock verbs, and invalidation by a critical check.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { request, sleep, until } from "./helpers.ts";
import { registerBody, startSessions, type SessHarness } from "./session_helpers.ts";

interface SessionJson {
  ID: string;
  Name: string;
  Node: string;
  LockDelay: number;
  Behavior: string;
  TTL: string;
  NodeChecks: string[] | null;
  ServiceChecks: Array<{ ID: string; Namespace: string }> | null;
  Checks?: string[];
  CreateIndex: number;
  ModifyIndex: number;
}

const s = suite<{ h: SessHarness }>("session", { h: undefined as unknown as SessHarness });
s.before.each(async (ctx) => {
  ctx.h = await startSessions();
});
s.after.each(async (ctx) => {
  await ctx.h.close();
});

s("create with no body: this node, serfHealth, 15 s lock-delay in ns, release; exact JSON field order", async ({ h }) => {
  const id = await h.create();
  assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  const res = await request(h.port, "/v1/session/info/" + id);
  assert.is(res.status, 200);
  assert.ok(Number(res.headers["x-consul-index"]) > 0);
  const idx = h.backend.store.sessionGet(id).value?.createIndex;
  assert.is(
    res.text,
    `[{"ID":"${id}","Name":"","Node":"node1","LockDelay":15000000000,"Behavior":"release","TTL":"","NodeChecks":["serfHealth"],"ServiceChecks":null,"CreateIndex":${idx},"ModifyIndex":${idx}}]`,
  );
});

s("LockDelay as a duration text, seconds under 1000, nanoseconds above; decode errors are 400", async ({ h }) => {
  const cases: Array<[unknown, number]> = [["15s", 15e9], [20, 20e9], [2_000_000_000, 2e9], ["5ms", 5e6], ["0", 0], [0, 0]];
  for (const [ld, want] of cases) {
    const id = await h.create({ LockDelay: ld });
    const [sess] = await h.json<SessionJson[]>("/v1/session/info/" + id);
    assert.is(sess?.LockDelay, want, `LockDelay ${JSON.stringify(ld)}`);
  }
  const bad = await h.put("/v1/session/create", { LockDelay: "abc" });
  assert.is(bad.status, 400);
  assert.is(bad.text, 'Request decode failed: time: invalid duration "abc"');
  const bad2 = await h.put("/v1/session/create", { Name: 5 });
  assert.is(bad2.status, 400);
  assert.match(bad2.text, /^Request decode failed: json: cannot unmarshal number 5 into Go struct field Session.Name of type string/);
  const bad3 = await h.put("/v1/session/create", "{");
  assert.is(bad3.status, 400);
});

s("Checks / NodeChecks fix-ups (fixupEmptySessionChecks) and case-insensitive keys", async ({ h }) => {
  await h.put("/v1/catalog/register", registerBody("node1", [{ id: "c1", status: "passing" }, { id: "sc1", status: "passing", serviceId: "web" }], "web"));
  const get = async (body: unknown): Promise<SessionJson> => (await h.json<SessionJson[]>("/v1/session/info/" + (await h.create(body))))[0]!;
  let x = await get({ Checks: [] });
  assert.equal([x.NodeChecks, x.Checks], [[], undefined]);
  x = await get({ checks: null });
  assert.equal(x.NodeChecks, []);
  x = await get({ Checks: ["serfHealth", "c1"] });
  assert.equal([x.NodeChecks, x.Checks], [["serfHealth"], ["serfHealth", "c1"]]);
  x = await get({ NodeChecks: ["c1"] });
  assert.equal([x.NodeChecks, x.Checks], [["c1"], undefined]);
  x = await get({ nodechecks: [], ServiceChecks: [{ ID: "sc1" }], name: "n", behavior: "delete", ttl: "10s" });
  assert.equal(
    [x.NodeChecks, x.ServiceChecks, x.Name, x.Behavior, x.TTL],
    [[], [{ ID: "sc1", Namespace: "" }], "n", "delete", "10s"],
  );
});

s("validation: Consul's texts as 500s (RPC errors)", async ({ h }) => {
  const cases: Array<[unknown, string]> = [
    [{ Node: "" }, "Must provide Node"],
    [{ Behavior: "foo" }, "Invalid Behavior setting 'foo'"],
    [{ TTL: "5s" }, "Invalid Session TTL '5000000000', must be between [10s=24h0m0s]"],
    [{ TTL: "25h" }, "Invalid Session TTL '90000000000000', must be between [10s=24h0m0s]"],
    [{ TTL: "abc" }, `Session TTL 'abc' invalid: time: invalid duration "abc"`],
    [{ Node: "nope" }, "Missing node registration"],
    [{ NodeChecks: ["nope"] }, "Missing check 'nope' registration"],
  ];
  for (const [body, text] of cases) {
    const r = await h.put("/v1/session/create", body);
    assert.is(r.status, 500, JSON.stringify(body));
    assert.is(r.text, text);
  }
  await h.put("/v1/catalog/register", registerBody("node1", [{ id: "bad", status: "critical" }]));
  const r = await h.put("/v1/session/create", { NodeChecks: ["bad"] });
  assert.is(r.text, "Check 'bad' is in critical state");
  assert.ok((await h.put("/v1/session/create", { TTL: "0s" })).status === 200);
  assert.ok((await h.put("/v1/session/create", { TTL: "" })).status === 200);
});

s("list, node and info: [] when empty, blocking on the sessions index", async ({ h }) => {
  assert.equal(await h.json("/v1/session/list"), []);
  assert.equal(await h.json("/v1/session/info/nope"), []);
  assert.equal(await h.json("/v1/session/node/node1"), []);
  assert.is((await request(h.port, "/v1/session/node/")).status, 400);
  assert.is((await request(h.port, "/v1/session/node/")).text, "Missing node name");
  assert.is((await request(h.port, "/v1/session/info/")).text, "Missing session");
  const first = await request(h.port, "/v1/session/list");
  const idx = Number(first.headers["x-consul-index"]);
  const t0 = Date.now();
  const parked = request(h.port, `/v1/session/list?index=${idx}&wait=5s`);
  const parkedNode = request(h.port, `/v1/session/node/node1?index=${idx}&wait=5s`);
  await sleep(50);
  const id = await h.create({ Name: "x" });
  const [a, b] = await Promise.all([parked, parkedNode]);
  assert.ok(Date.now() - t0 < 4000);
  const list = JSON.parse(a.text) as SessionJson[];
  assert.equal(list.map((x) => x.ID), [id]);
  assert.ok(Number(a.headers["x-consul-index"]) > idx);
  assert.is((JSON.parse(b.text) as SessionJson[]).length, 1);
  // info blocks until the session goes away.
  const i2 = Number((await request(h.port, "/v1/session/info/" + id)).headers["x-consul-index"]);
  const parkedInfo = request(h.port, `/v1/session/info/${id}?index=${i2}&wait=5s`);
  await sleep(50);
  assert.is((await h.put("/v1/session/destroy/" + id, "")).text, "true");
  assert.is((await parkedInfo).text, "[]");
});

s("renew: 404 text for unknown IDs, the session otherwise; destroy is idempotent", async ({ h }) => {
  const r = await h.put("/v1/session/renew/abc", "");
  assert.is(r.status, 404);
  assert.is(r.text, "Session id 'abc' not found");
  const id = await h.create({ TTL: "10s" });
  const ok = await h.put("/v1/session/renew/" + id, "");
  assert.is(ok.status, 200);
  assert.is((JSON.parse(ok.text) as SessionJson[])[0]?.TTL, "10s");
  assert.is((await h.put("/v1/session/destroy/" + id, "")).text, "true");
  assert.is((await h.put("/v1/session/destroy/" + id, "")).text, "true");
  assert.is((await h.put("/v1/session/destroy/", "")).text, "Missing session");
  assert.is((await h.put("/v1/session/renew/" + id, "")).status, 404);
  assert.is((await request(h.port, "/v1/session/list", { method: "POST" })).status, 405);
});

s("KV acquire/release: LockIndex, Session, lock-delay after invalidation, none after release", async ({ h }) => {
  const a = await h.create({ LockDelay: "300ms" });
  const b = await h.create({ LockDelay: "300ms" });
  assert.is((await h.put(`/v1/kv/l?acquire=${a}`, "x")).text, "true");
  assert.is((await h.put(`/v1/kv/l?acquire=${b}`, "x")).text, "false");
  let [e] = await h.json<Array<{ LockIndex: number; Session?: string }>>("/v1/kv/l");
  assert.equal([e?.LockIndex, e?.Session], [1, a]);
  assert.is((await h.put(`/v1/kv/l?release=${b}`, "x")).text, "false");
  assert.is((await h.put(`/v1/kv/l?release=${a}`, "x")).text, "true");
  [e] = await h.json("/v1/kv/l");
  assert.equal([e?.LockIndex, e?.Session], [1, undefined]);
  assert.is((await h.put(`/v1/kv/l?acquire=${b}`, "x")).text, "true"); // no delay after a release
  assert.is((await h.put(`/v1/kv/l?acquire=${a}`, "x")).text, "false");
  const t0 = Date.now();
  await h.put("/v1/session/destroy/" + b, "");
  [e] = await h.json("/v1/kv/l");
  assert.equal([e?.LockIndex, e?.Session], [2, undefined]);
  assert.is((await h.put(`/v1/kv/l?acquire=${a}`, "x")).text, "false"); // lock-delay
  await until(() => Date.now() - t0 > 320, 2000);
  assert.is((await h.put(`/v1/kv/l?acquire=${a}`, "x")).text, "true");
  [e] = await h.json("/v1/kv/l");
  assert.equal([e?.LockIndex, e?.Session], [3, a]);
  const bad = await h.put(`/v1/kv/l?acquire=nope`, "x");
  assert.is(bad.status, 500);
  assert.is(bad.text, 'invalid session "nope"');
});

s("a linked check going critical invalidates the session; its lock-delay is stamped by the leader", async ({ h }) => {
  await h.put("/v1/catalog/register", registerBody("node1", [{ id: "c1", status: "passing" }]));
  const holder = await h.create({ NodeChecks: ["c1"], LockDelay: "300ms", Behavior: "delete" });
  const waiter = await h.create({ NodeChecks: [] });
  assert.is((await h.put(`/v1/kv/svc/leader?acquire=${holder}`, "me")).text, "true");
  const t0 = Date.now();
  await h.put("/v1/catalog/register", registerBody("node1", [{ id: "c1", status: "critical" }]));
  assert.equal(await h.json("/v1/session/info/" + holder), []);
  assert.is((await request(h.port, "/v1/kv/svc/leader")).status, 404); // delete behavior
  assert.ok(await until(() => !h.backend.store.lockDelaysPending(), 1000));
  assert.is((await h.put(`/v1/kv/svc/leader?acquire=${waiter}`, "you")).text, "false");
  await until(() => Date.now() - t0 > 330, 2000);
  assert.is((await h.put(`/v1/kv/svc/leader?acquire=${waiter}`, "you")).text, "true");
  // Deregistering the node invalidates the rest.
  await h.put("/v1/catalog/deregister", { Node: "node1" });
  assert.equal(await h.json("/v1/session/list"), []);
});

s("txn: lock, unlock and check-session verbs", async ({ h }) => {
  const a = await h.create();
  const ops = (verb: string, session: string): string => JSON.stringify([{ KV: { Verb: verb, Key: "t", Value: "eA==", Session: session } }]);
  let r = await h.put("/v1/txn", ops("lock", a));
  assert.is(r.status, 200);
  assert.is((JSON.parse(r.text) as { Results: Array<{ KV: { LockIndex: number; Session: string } }> }).Results[0]?.KV.LockIndex, 1);
  r = await h.put("/v1/txn", ops("check-session", a));
  assert.is(r.status, 200);
  r = await h.put("/v1/txn", ops("check-session", "zzz"));
  assert.is(r.status, 409);
  assert.match(r.text, /failed session check for key \\"t\\", current session/);
  r = await h.put("/v1/txn", ops("unlock", a));
  assert.is(r.status, 200);
  r = await h.put("/v1/txn", ops("unlock", a));
  assert.is(r.status, 409);
  assert.match(r.text, /lock isn't held, or is held by another session/);
});

s.run();
