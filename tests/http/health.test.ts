import { suite } from "uvu";
import * as assert from "uvu/assert";
import { request, sleep } from "./helpers.ts";
import { startCatalog, type CatHarness } from "./catalog_helpers.ts";

const hs = suite<{ h: CatHarness }>("health");
hs.before.each(async (ctx) => {
  ctx.h = await startCatalog();
  const h = ctx.h;
  // web on a (passing) and b (warning), db on c; a has a node-level check.
  await h.put("/v1/catalog/register", {
    Node: "a", Address: "10.0.0.1", Service: { Service: "web", Port: 80 },
    Checks: [{ CheckID: "serfHealth", Name: "Serf Health Status", Status: "passing" }, { CheckID: "w", Name: "w", Status: "passing", ServiceID: "web" }],
  });
  await h.put("/v1/catalog/register", { Node: "b", Address: "10.0.0.2", Service: { Service: "web", Port: 80 }, Check: { Name: "w", Status: "warning", ServiceID: "web" } });
  await h.put("/v1/catalog/register", { Node: "c", Address: "10.0.0.3", Service: { Service: "db", Port: 5432 }, Check: { Name: "d", Status: "passing", ServiceID: "db" } });
});
hs.after.each(async (ctx) => {
  await ctx.h.close();
});

interface Entry {
  Node: { Node: string };
  Service: { ID: string; Tags: string[] };
  Checks: Array<{ CheckID: string; Status: string }>;
}

hs("health/service: node checks first, then service checks; passing drops any non-passing", async ({ h }) => {
  const r = await h.get("/v1/health/service/web");
  assert.is(r.status, 200);
  assert.is(r.headers["x-consul-index"], "2");
  const all = JSON.parse(r.text) as Entry[];
  assert.equal(all.map((e) => e.Node.Node), ["a", "b"]);
  assert.equal(all[0]!.Checks.map((c) => c.CheckID), ["serfHealth", "w"]);
  assert.equal(all[0]!.Service.Tags, []);
  const p = JSON.parse((await h.get("/v1/health/service/web?passing")).text) as Entry[];
  assert.equal(p.map((e) => e.Node.Node), ["a"]);
  const p2 = JSON.parse((await h.get("/v1/health/service/web?passing=false")).text) as Entry[];
  assert.is(p2.length, 2);
  const bad = await h.get("/v1/health/service/web?passing=maybe");
  assert.is(bad.status, 400);
  assert.is(bad.text, "Invalid value for ?passing");
  // A critical node-level check drops the instance too.
  await h.put("/v1/catalog/register", { Node: "a", Address: "10.0.0.1", Check: { CheckID: "serfHealth", Name: "Serf Health Status", Status: "critical" } });
  assert.is((await h.get("/v1/health/service/web?passing")).text, "[]");
});

hs("health/state and health/node: states, unknown state is [], Missing check state", async ({ h }) => {
  const ids = async (p: string): Promise<string[]> => (JSON.parse((await h.get(p)).text) as Array<{ CheckID: string }>).map((c) => c.CheckID);
  assert.equal(await ids("/v1/health/state/passing"), ["serfHealth", "w", "d"]);
  assert.equal(await ids("/v1/health/state/warning"), ["w"]);
  assert.equal(await ids("/v1/health/state/critical"), []);
  assert.equal(await ids("/v1/health/state/any"), ["serfHealth", "w", "w", "d"]);
  assert.equal(await ids("/v1/health/state/bogus"), []);
  const miss = await h.get("/v1/health/state/");
  assert.is(miss.status, 400);
  assert.is(miss.text, "Missing check state");
  assert.equal(await ids("/v1/health/node/A"), ["serfHealth", "w"]);
  const r = await h.get("/v1/health/state/any");
  assert.is(r.headers["x-consul-index"], "3");
});

hs("blocking /health/service/web: woken by a check change on one instance, not by db", async ({ h }) => {
  const first = await h.get("/v1/health/service/web");
  const idx = first.headers["x-consul-index"];
  let done = false;
  const started = Date.now();
  const pending = request(h.port, `/v1/health/service/web?index=${idx}&wait=5s`).then((r) => {
    done = true;
    return r;
  });
  await sleep(100);
  // Changes to db and to an unrelated node must not answer the query.
  await h.put("/v1/catalog/register", { Node: "c", Address: "10.0.0.3", Check: { Name: "d", Status: "critical", ServiceID: "db" } });
  await h.put("/v1/catalog/register", { Node: "z", Address: "10.0.0.9" });
  await sleep(150);
  assert.is(done, false);
  assert.is(h.server.stats().parked, 1);
  // A check status change on web's instance b wakes it.
  await h.put("/v1/catalog/register", { Node: "b", Address: "10.0.0.2", Check: { Name: "w", Status: "critical", ServiceID: "web" } });
  const r = await pending;
  assert.ok(Date.now() - started < 4000);
  assert.is(r.status, 200);
  assert.is(r.headers["x-consul-index"], "6");
  const b = (JSON.parse(r.text) as Entry[]).find((e) => e.Node.Node === "b");
  assert.is(b?.Checks[0]?.Status, "critical");
});

hs("blocking /catalog/service/db wakes on deregistration of its last instance", async ({ h }) => {
  const idx = (await h.get("/v1/catalog/service/db")).headers["x-consul-index"];
  const pending = request(h.port, `/v1/catalog/service/db?index=${idx}&wait=5s`);
  await sleep(50);
  await h.put("/v1/catalog/deregister", { Node: "c", ServiceID: "db" });
  const r = await pending;
  assert.is(r.text, "[]");
  assert.is(r.headers["x-consul-index"], "4");
});

hs.run();
