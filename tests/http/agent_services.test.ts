import { suite } from "uvu";
import * as assert from "uvu/assert";
import { startLocalHarness, waitFor, type LocalHarness } from "./agent_local_helpers.ts";
import { httpServer, type Srv } from "../checks/servers.ts";

const s = suite<{ h: LocalHarness }>("agent services");
s.before.each(async (ctx) => {
  ctx.h = await startLocalHarness();
});
s.after.each(async (ctx) => {
  await ctx.h.close();
});

type Json = Record<string, unknown>;
const json = (t: string): Json => JSON.parse(t) as Json;

s("register: Consul's JSON, snake_case, defaults (ID, weights, tagged addresses), services map and service/<id>", async ({ h }) => {
  const r = await h.put("/v1/agent/service/register", {
    name: "web",
    port: 8080,
    address: "10.0.0.5",
    tags: ["a", "b"],
    enable_tag_override: true,
    Meta: { env: "prod" },
  });
  assert.is(r.status, 200);
  assert.is(r.text, "");
  const all = json((await h.get("/v1/agent/services")).text);
  assert.equal(Object.keys(all), ["web"]);
  const svc = all["web"] as Json;
  assert.equal(svc, {
    ID: "web",
    Service: "web",
    Tags: ["a", "b"],
    Meta: { env: "prod" },
    Port: 8080,
    Address: "10.0.0.5",
    TaggedAddresses: { lan_ipv4: { Address: "10.0.0.5", Port: 8080 }, wan_ipv4: { Address: "10.0.0.5", Port: 8080 } },
    Weights: { Passing: 1, Warning: 1 },
    EnableTagOverride: true,
    Datacenter: "dc1",
  });
  const one = await h.get("/v1/agent/service/web");
  assert.is(one.status, 200);
  const hash = one.headers["x-consul-contenthash"] as string;
  assert.match(hash, /^[0-9a-f]+$/);
  assert.is(json(one.text)["ContentHash"], hash);
  const missing = await h.get("/v1/agent/service/nope");
  assert.is(missing.status, 404);
  assert.is(missing.text, "unknown service ID: nope");
  // filter
  assert.equal(Object.keys(json((await h.get("/v1/agent/services?filter=" + encodeURIComponent('Meta.env == "dev"'))).text)), []);
  const bad = await h.get("/v1/agent/services?filter=" + encodeURIComponent("Nope == 1"));
  assert.is(bad.status, 400);
});

s("register: validation texts", async ({ h }) => {
  const cases: Array<[unknown, number, string]> = [
    [{ Port: 1 }, 400, "Missing service name"],
    [{ Name: "x", Address: "0.0.0.0" }, 400, "Invalid service address"],
    [{ Name: "x", Weights: { Passing: 0, Warning: 1 } }, 400, "Invalid Weights: Passing must be greater than 0"],
    [{ Name: "x", Meta: { "consul-x": "1" } }, 400, "Invalid Service Meta: Key prefix 'consul-' is reserved for internal use"],
    [{ Name: "x", Check: { HTTP: "http://127.0.0.1:1/" } }, 400, "Invalid check: Interval must be > 0 for Script, HTTP, H2PING, TCP, UDP or OSService checks"],
    [{ Name: "x", Check: { TTL: "10s", Status: "bogus" } }, 400, "Status for checks must 'passing', 'warning', 'critical'"],
    [{ Name: "x", Port: "80" }, 400, "Request decode failed: json: cannot unmarshal string into Go struct field ServiceDefinition.Port of type int"],
    [{ Name: "x", Check: { Args: ["/bin/true"], Interval: "10s" } }, 500, "Scripts are disabled on this agent from remote calls; to enable, configure 'enable_script_checks' to true"],
  ];
  for (const [body, status, text] of cases) {
    const r = await h.put("/v1/agent/service/register", body);
    assert.is(r.status, status, JSON.stringify(body));
    assert.is(r.text, text);
  }
  const syntax = await h.put("/v1/agent/service/register", "{nope");
  assert.is(syntax.status, 400);
  assert.ok(syntax.text.startsWith("Request decode failed: "));
  assert.equal(json((await h.get("/v1/agent/services")).text), {});
  const m = await h.get("/v1/agent/service/register");
  assert.is(m.status, 405);
});

s("checks: service checks get IDs, names, status; replace-existing-checks drops the others", async ({ h }) => {
  await h.put("/v1/agent/service/register", { Name: "web", Checks: [{ TTL: "10s" }, { TTL: "20s", Status: "passing", Name: "second" }] });
  let checks = json((await h.get("/v1/agent/checks")).text);
  assert.equal(Object.keys(checks), ["service:web:1", "service:web:2"]);
  const c1 = checks["service:web:1"] as Json;
  assert.equal([c1["Name"], c1["Status"], c1["ServiceID"], c1["ServiceName"], c1["Type"]], ["Service 'web' check", "critical", "web", "web", "ttl"]);
  assert.is((checks["service:web:2"] as Json)["Status"], "passing");
  // re-register with one check: without the flag both old checks stay (plus the new one)
  await h.put("/v1/agent/service/register", { Name: "web", Check: { CheckID: "only", TTL: "10s" } });
  checks = json((await h.get("/v1/agent/checks")).text);
  assert.equal(Object.keys(checks), ["only", "service:web:1", "service:web:2"]);
  await h.put("/v1/agent/service/register?replace-existing-checks", { Name: "web", Check: { CheckID: "only", TTL: "10s" } });
  checks = json((await h.get("/v1/agent/checks")).text);
  assert.equal(Object.keys(checks), ["only"]);
  // filter on checks
  const f = json((await h.get("/v1/agent/checks?filter=" + encodeURIComponent('Status == "passing"'))).text);
  assert.equal(f, {});
});

s("TTL pass/warn/fail/update, unknown IDs, non-TTL checks, check register/deregister", async ({ h }) => {
  await h.put("/v1/agent/service/register", { Name: "web", Check: { CheckID: "ttl", TTL: "30s" } });
  assert.is((await h.put("/v1/agent/check/pass/ttl?note=fine")).status, 200);
  let c = json((await h.get("/v1/agent/checks")).text)["ttl"] as Json;
  assert.equal([c["Status"], c["Output"]], ["passing", "fine"]);
  await h.put("/v1/agent/check/warn/ttl");
  assert.is((json((await h.get("/v1/agent/checks")).text)["ttl"] as Json)["Status"], "warning");
  await h.put("/v1/agent/check/fail/ttl?note=x");
  assert.is((json((await h.get("/v1/agent/checks")).text)["ttl"] as Json)["Status"], "critical");
  const up = await h.put("/v1/agent/check/update/ttl", { Status: "passing", Output: "y".repeat(5000) });
  assert.is(up.status, 200);
  c = json((await h.get("/v1/agent/checks")).text)["ttl"] as Json;
  assert.is(c["Output"], "y".repeat(4096) + " ... (captured 4096 of 5000 bytes)");
  const badStatus = await h.put("/v1/agent/check/update/ttl", { Status: "maintenance" });
  assert.equal([badStatus.status, badStatus.text], [400, "Invalid check status: 'maintenance'"]);
  const unknown = await h.put("/v1/agent/check/pass/nope");
  assert.equal([unknown.status, unknown.text], [404, 'Unknown check ID "nope". Ensure that the check ID is passed, not the check name.']);
  // check register
  const noName = await h.put("/v1/agent/check/register", { TTL: "10s" });
  assert.equal([noName.status, noName.text], [400, "Missing check name"]);
  const badSt = await h.put("/v1/agent/check/register", { Name: "n", TTL: "10s", Status: "up" });
  assert.equal([badSt.status, badSt.text], [400, "Bad check status"]);
  const noSvc = await h.put("/v1/agent/check/register", { Name: "n", TTL: "10s", ServiceID: "ghost" });
  assert.equal([noSvc.status, noSvc.text], [404, 'ServiceID "ghost" does not exist']);
  const inv = await h.put("/v1/agent/check/register", { Name: "n" });
  assert.equal([inv.status, inv.text], [400, "Invalid check: TTL must be > 0 for TTL checks"]);
  assert.is((await h.put("/v1/agent/check/register", { Name: "mem", TTL: "10s", Notes: "n1", Status: "warning" })).status, 200);
  c = json((await h.get("/v1/agent/checks")).text)["mem"] as Json;
  assert.equal([c["Name"], c["Status"], c["Notes"], c["ServiceID"]], ["mem", "warning", "n1", ""]);
  // a non-TTL check: 500 like Consul
  const srv: Srv = await httpServer((_q, res) => res.end("ok"));
  try {
    await h.put("/v1/agent/check/register", { ID: "h", Name: "h", HTTP: `http://127.0.0.1:${srv.port}/`, Interval: "1s" });
    const notTtl = await h.put("/v1/agent/check/pass/h");
    assert.equal([notTtl.status, notTtl.text], [500, 'CheckID "h" does not have associated TTL']);
    assert.ok(await waitFor(async () => (json((await h.get("/v1/agent/checks")).text)["h"] as Json)["Status"] === "passing", 5000));
  } finally {
    await srv.close();
  }
  assert.is((await h.put("/v1/agent/check/deregister/mem")).status, 200);
  assert.is((await h.put("/v1/agent/check/deregister/mem")).status, 404);
  // deregister service removes its checks
  assert.is((await h.put("/v1/agent/service/deregister/web")).status, 200);
  const again = await h.put("/v1/agent/service/deregister/web");
  assert.equal([again.status, again.text], [404, 'Unknown service ID "web". Ensure that the service ID is passed, not the service name.']);
  assert.equal(Object.keys(json((await h.get("/v1/agent/checks")).text)), ["h"]);
});

s("maintenance: service and node, texts, aggregated health", async ({ h }) => {
  await h.put("/v1/agent/service/register", { Name: "web", ID: "web1", Check: { CheckID: "t", TTL: "30s", Status: "passing" } });
  let r = await h.put("/v1/agent/service/maintenance/web1");
  assert.equal([r.status, r.text], [400, "Missing value for enable"]);
  r = await h.put("/v1/agent/service/maintenance/web1?enable=maybe");
  assert.equal([r.status, r.text], [400, 'Invalid value for enable: "maybe"']);
  r = await h.put("/v1/agent/service/maintenance/nope?enable=true");
  assert.is(r.status, 404);
  r = await h.put("/v1/agent/service/maintenance/?enable=true");
  assert.equal([r.status, r.text], [400, "Missing service ID"]);
  // aggregated: passing
  r = await h.get("/v1/agent/health/service/id/web1");
  assert.is(r.status, 200);
  const body = json(r.text);
  assert.is(body["AggregatedStatus"], "passing");
  assert.is((body["Service"] as Json)["ID"], "web1");
  assert.is((await h.get("/v1/agent/health/service/id/web1?format=text")).text, "passing");
  await h.put("/v1/agent/check/warn/t");
  r = await h.get("/v1/agent/health/service/name/web");
  assert.is(r.status, 429);
  assert.is((JSON.parse(r.text) as Json[])[0]!["AggregatedStatus"], "warning");
  await h.put("/v1/agent/check/fail/t");
  assert.is((await h.get("/v1/agent/health/service/name/web?format=text")).status, 503);
  await h.put("/v1/agent/check/pass/t");
  assert.is((await h.put("/v1/agent/service/maintenance/web1?enable=true&reason=upgrade")).status, 200);
  const m = json((await h.get("/v1/agent/checks")).text)["_service_maintenance:web1"] as Json;
  assert.equal([m["Name"], m["Status"], m["Notes"], m["ServiceID"], m["Type"]], ["Service Maintenance Mode", "critical", "upgrade", "web1", "maintenance"]);
  r = await h.get("/v1/agent/health/service/id/web1");
  assert.equal([r.status, json(r.text)["AggregatedStatus"]], [503, "maintenance"]);
  await h.put("/v1/agent/service/maintenance/web1?enable=false");
  assert.is((await h.get("/v1/agent/health/service/id/web1")).status, 200);
  await h.put("/v1/agent/maintenance?enable=true");
  const nm = json((await h.get("/v1/agent/checks")).text)["_node_maintenance"] as Json;
  assert.equal([nm["Name"], nm["Notes"]], ["Node Maintenance Mode", "Maintenance mode is enabled for this node, but no reason was provided. This is a default message."]);
  assert.is((await h.get("/v1/agent/health/service/id/web1")).status, 503);
  await h.put("/v1/agent/maintenance?enable=false");
  assert.is((await h.get("/v1/agent/health/service/id/web1")).status, 200);
  // unknown
  r = await h.get("/v1/agent/health/service/id/ghost");
  assert.equal([r.status, r.text], [404, '{"AggregatedStatus":"critical","Service":null,"Checks":null}']);
  r = await h.get("/v1/agent/health/service/id/ghost", { Accept: "text/plain" });
  assert.equal([r.status, r.text], [404, "ServiceId ghost not found"]);
  r = await h.get("/v1/agent/health/service/name/ghost?format=text");
  assert.equal([r.status, r.text], [404, "ServiceName ghost Not Found"]);
  assert.equal([(await h.get("/v1/agent/health/service/name/ghost")).text], ["[]"]);
  assert.is((await h.get("/v1/agent/health/service/name/")).text, "Missing service Name");
});

s("hash blocking on /agent/service/<id>: parks until the service changes", async ({ h }) => {
  await h.put("/v1/agent/service/register", { Name: "web", Port: 1 });
  const first = await h.get("/v1/agent/service/web");
  const hash = first.headers["x-consul-contenthash"] as string;
  const t0 = Date.now();
  const waiting = h.get(`/v1/agent/service/web?hash=${hash}&wait=5s`);
  await new Promise((r) => setTimeout(r, 200));
  await h.put("/v1/agent/service/register", { Name: "web", Port: 2 });
  const r = await waiting;
  assert.ok(Date.now() - t0 < 4000);
  assert.is(json(r.text)["Port"], 2);
  assert.is.not(r.headers["x-consul-contenthash"], hash);
  // timeout answers with the same hash
  const t1 = Date.now();
  const same = await h.get(`/v1/agent/service/web?hash=${r.headers["x-consul-contenthash"] as string}&wait=300ms`);
  assert.ok(Date.now() - t1 >= 290);
  assert.is(same.headers["x-consul-contenthash"], r.headers["x-consul-contenthash"]);
  assert.is((await h.get("/v1/agent/service/web?wait=bogus")).status, 400);
});

s("anti-entropy: registered services and checks reach the catalog and health; deregistration removes them; critical hides from ?passing", async ({ h }) => {
  await h.put("/v1/agent/service/register", { Name: "web", Port: 80, Check: { CheckID: "t", TTL: "30s", Status: "passing" } });
  let cat = JSON.parse((await h.get("/v1/catalog/service/web")).text) as Json[];
  assert.is(cat.length, 1);
  assert.equal([cat[0]!["Node"], cat[0]!["ServicePort"]], ["node1", 80]);
  let hs = JSON.parse((await h.get("/v1/health/service/web?passing")).text) as Json[];
  assert.is(hs.length, 1);
  await h.put("/v1/agent/check/fail/t?note=down");
  hs = JSON.parse((await h.get("/v1/health/service/web?passing")).text) as Json[];
  assert.is(hs.length, 0);
  const checks = JSON.parse((await h.get("/v1/health/checks/web")).text) as Json[];
  assert.equal([checks[0]!["Status"], checks[0]!["Output"]], ["critical", "down"]);
  await h.put("/v1/agent/service/deregister/web");
  cat = JSON.parse((await h.get("/v1/catalog/service/web")).text) as Json[];
  assert.is(cat.length, 0);
  assert.equal(JSON.parse((await h.get("/v1/health/checks/web")).text), []);
  // a catalog entry for this node the agent does not know is removed by a full sync
  await h.put("/v1/catalog/register", { Node: "node1", Address: "127.0.0.1", Service: { Service: "stray" } });
  assert.is((JSON.parse((await h.get("/v1/catalog/service/stray")).text) as Json[]).length, 1);
  h.local.ae.start(); // restart: a full sync runs at once
  assert.ok(await waitFor(async () => (JSON.parse((await h.get("/v1/catalog/service/stray")).text) as Json[]).length === 0));
});

s.run();
