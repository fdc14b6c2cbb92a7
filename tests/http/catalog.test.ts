import { suite } from "uvu";
import * as assert from "uvu/assert";
import { startCatalog, type CatHarness } from "./catalog_helpers.ts";

const cat = suite<{ h: CatHarness }>("catalog");
cat.before.each(async (ctx) => {
  ctx.h = await startCatalog();
});
cat.after.each(async (ctx) => {
  await ctx.h.close();
});

const ID = "40e4a748-2192-161a-0510-9bf59fe950b5";

cat("register then every read: Consul's field order, nil maps null, tags [], X-Consul-Index", async ({ h }) => {
  const r = await h.put("/v1/catalog/register", {
    id: ID, // keys match case-insensitively
    Node: "foobar",
    Address: "192.168.10.10",
    TaggedAddresses: { lan: "192.168.10.10", wan: "10.0.10.10" },
    NodeMeta: { somekey: "somevalue" },
    Service: { Service: "redis", Tags: ["primary", "v1"], Address: "127.0.0.1", Meta: { redis_version: "4.0" }, Port: 8000 },
    Check: { Node: "foobar", CheckID: "service:redis1", Name: "Redis health check", Status: "passing", ServiceID: "redis", Definition: { TCP: "localhost:8888", Interval: "5s", Timeout: "1s", DeregisterCriticalServiceAfter: "30m" } },
  });
  assert.is(r.status, 200, r.text);
  assert.is(r.text, "true");
  const node =
    '{"ID":"' + ID + '","Node":"foobar","Address":"192.168.10.10","Datacenter":"dc1",' +
    '"TaggedAddresses":{"lan":"192.168.10.10","wan":"10.0.10.10"},"Meta":{"somekey":"somevalue"},"CreateIndex":1,"ModifyIndex":1}';
  const nodes = await h.get("/v1/catalog/nodes");
  assert.is(nodes.text, "[" + node + "]");
  assert.is(nodes.headers["x-consul-index"], "1");
  const svcs = await h.get("/v1/catalog/services");
  assert.is(svcs.text, '{"redis":["primary","v1"]}');
  const sn = await h.get("/v1/catalog/service/redis");
  assert.is(
    sn.text,
    '[{"ID":"' + ID + '","Node":"foobar","Address":"192.168.10.10","Datacenter":"dc1",' +
      '"TaggedAddresses":{"lan":"192.168.10.10","wan":"10.0.10.10"},"NodeMeta":{"somekey":"somevalue"},' +
      '"ServiceKind":"","ServiceID":"redis","ServiceName":"redis","ServiceTags":["primary","v1"],"ServiceAddress":"127.0.0.1",' +
      '"ServiceWeights":{"Passing":1,"Warning":1},"ServiceMeta":{"redis_version":"4.0"},"ServicePort":8000,' +
      '"ServiceEnableTagOverride":false,"ServiceProxy":{"Mode":"","MeshGateway":{},"Expose":{}},"ServiceConnect":{},' +
      '"CreateIndex":1,"ModifyIndex":1}]',
  );
  const nodeSvc =
    '{"ID":"redis","Service":"redis","Tags":["primary","v1"],"Address":"127.0.0.1","Meta":{"redis_version":"4.0"},"Port":8000,' +
    '"Weights":{"Passing":1,"Warning":1},"EnableTagOverride":false,"Proxy":{"Mode":"","MeshGateway":{},"Expose":{}},"Connect":{},' +
    '"CreateIndex":1,"ModifyIndex":1}';
  const n = await h.get("/v1/catalog/node/foobar");
  assert.is(n.text, '{"Node":' + node + ',"Services":{"redis":' + nodeSvc + "}}");
  const ns = await h.get("/v1/catalog/node-services/foobar");
  assert.is(ns.text, '{"Node":' + node + ',"Services":[' + nodeSvc + "]}");
  const hc = await h.get("/v1/health/checks/redis");
  assert.is(
    hc.text,
    '[{"Node":"foobar","CheckID":"service:redis1","Name":"Redis health check","Status":"passing","Notes":"","Output":"",' +
      '"ServiceID":"redis","ServiceName":"redis","ServiceTags":["primary","v1"],"Type":"","Interval":"","Timeout":"","ExposedPort":0,' +
      '"Definition":{"TCP":"localhost:8888","Interval":"5s","Timeout":"1s","DeregisterCriticalServiceAfter":"30m0s"},' +
      '"CreateIndex":1,"ModifyIndex":1}]',
  );
  const dcs = await h.get("/v1/catalog/datacenters");
  assert.is(dcs.text, '["dc1"]');
});

cat("empty catalog: lists are [] / {} with index 1; unknown node is 200 null; node-services 404", async ({ h }) => {
  for (const p of ["/v1/catalog/nodes", "/v1/catalog/service/x", "/v1/health/service/x", "/v1/health/checks/x", "/v1/health/node/x", "/v1/health/state/any"]) {
    const r = await h.get(p);
    assert.is(r.status, 200, p);
    assert.is(r.text, "[]", p);
    assert.is(r.headers["x-consul-index"], "1", p);
  }
  assert.is((await h.get("/v1/catalog/services")).text, "{}");
  const n = await h.get("/v1/catalog/node/nope");
  assert.is(n.status, 200);
  assert.is(n.text, "null");
  const ns = await h.get("/v1/catalog/node-services/nope");
  assert.is(ns.status, 404);
});

cat("validation: Consul's texts with 400; FSM errors 500", async ({ h }) => {
  const cases: Array<[unknown, string]> = [
    [{ Address: "1.2.3.4" }, "Must provide node"],
    [{ Node: "n" }, "Must provide address if SkipNodeUpdate is not set"],
    [{ Node: "n", Address: "a", ID: "xyz" }, "Bad node ID: uuid string is wrong length"],
    [{ Node: "n", Address: "a", Service: { ID: "s1" } }, "Must provide service name with ID"],
    [{ Node: "n", Address: "a", Service: { Service: "s", Address: "0.0.0.0" } }, "Invalid service address"],
    [{ Node: 5 }, "Request decode failed: json: cannot unmarshal number 5 into Go struct field RegisterRequest.Node of type string"],
    ["{", "Request decode failed: unexpected EOF"],
  ];
  for (const [body, want] of cases) {
    const r = await h.put("/v1/catalog/register", body);
    assert.is(r.status, 400, JSON.stringify(body));
    assert.is(r.text, want);
  }
  const d = await h.put("/v1/catalog/deregister", {});
  assert.is(d.status, 400);
  assert.is(d.text, "Must provide node");
  const e = await h.put("/v1/catalog/register", { Node: "n", Address: "a", Check: { CheckID: "c", ServiceID: "missing" } });
  assert.is(e.status, 500);
  assert.is(e.text, 'failed inserting check on node "n": Missing service registration');
  const f = await h.get("/v1/catalog/services?filter=" + encodeURIComponent("ServiceName == x"));
  assert.is(f.status, 400);
  assert.is(f.text, "filter not supported yet");
  const bf = await h.get("/v1/catalog/nodes?filter=" + encodeURIComponent("Node =="));
  assert.is(bf.status, 400);
  assert.match(bf.text, /^Failed to create boolean expression evaluator: /);
  assert.is((await h.get("/v1/catalog/service/")).text, "Missing service name");
});

cat("tag (repeatable, AND, case-insensitive) and node-meta filters; deregister", async ({ h }) => {
  await h.put("/v1/catalog/register", { Node: "a", Address: "1", NodeMeta: { rack: "r1" }, Service: { Service: "web", Tags: ["Blue", "v1"] } });
  await h.put("/v1/catalog/register", { Node: "b", Address: "2", NodeMeta: { rack: "r2" }, Service: { Service: "web", Tags: ["blue"] } });
  const ids = async (p: string): Promise<string[]> => (JSON.parse((await h.get(p)).text) as Array<{ Node: string }>).map((x) => x.Node);
  assert.equal(await ids("/v1/catalog/service/web?tag=blue"), ["a", "b"]);
  assert.equal(await ids("/v1/catalog/service/web?tag=blue&tag=v1"), ["a"]);
  assert.equal(await ids("/v1/catalog/service/web?node-meta=rack:r2"), ["b"]);
  assert.equal(await ids("/v1/catalog/nodes?node-meta=rack:r1"), ["a"]);
  const q = (e: string): string => "?filter=" + encodeURIComponent(e);
  assert.equal(await ids("/v1/catalog/nodes" + q('Meta.rack == "r2"')), ["b"]);
  assert.equal(await ids("/v1/catalog/service/web" + q('"v1" in ServiceTags')), ["a"]);
  const hsv = JSON.parse((await h.get("/v1/health/service/web" + q('Node.Node == "b"'))).text) as Array<{ Node: { Node: string } }>;
  assert.equal(hsv.map((e) => e.Node.Node), ["b"]);
  assert.is((await h.get("/v1/catalog/services?node-meta=rack:r2")).text, '{"web":["blue"]}');
  assert.is((await h.put("/v1/catalog/deregister", { Node: "a" })).text, "true");
  assert.equal(await ids("/v1/catalog/service/web"), ["b"]);
  const r = await h.get("/v1/catalog/service/web");
  assert.is(r.headers["x-consul-index"], "3");
});

cat.run();
