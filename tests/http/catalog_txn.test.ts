import { suite } from "uvu";
import * as assert from "uvu/assert";
import { startCatalog, type CatHarness } from "./catalog_helpers.ts";

const tx = suite<{ h: CatHarness }>("txn catalog ops");
tx.before.each(async (ctx) => {
  ctx.h = await startCatalog();
});
tx.after.each(async (ctx) => {
  await ctx.h.close();
});

tx("Node/Service/Check set then get (read-only txn), Consul's result shapes", async ({ h }) => {
  const w = await h.put("/v1/txn", [
    { Node: { Verb: "set", Node: { Node: "n1", Address: "10.0.0.1" } } },
    { Service: { Verb: "set", Node: "n1", Service: { Service: "web", Port: 80 } } },
    { Check: { Verb: "set", Check: { Node: "n1", Name: "c1", Status: "passing", ServiceID: "web" } } },
  ]);
  assert.is(w.status, 200, w.text);
  assert.is(
    w.text,
    '{"Results":[{"Node":{"ID":"","Node":"n1","Address":"10.0.0.1","Datacenter":"dc1","TaggedAddresses":null,"Meta":null,"CreateIndex":1,"ModifyIndex":1}},' +
      '{"Service":{"ID":"web","Service":"web","Tags":[],"Address":"","Meta":null,"Port":80,"Weights":{"Passing":1,"Warning":1},"EnableTagOverride":false,' +
      '"Proxy":{"Mode":"","MeshGateway":{},"Expose":{}},"Connect":{},"CreateIndex":1,"ModifyIndex":1}},' +
      '{"Check":{"Node":"n1","CheckID":"c1","Name":"c1","Status":"passing","Notes":"","Output":"","ServiceID":"web","ServiceName":"web","ServiceTags":[],' +
      '"Type":"","Interval":"","Timeout":"","ExposedPort":0,"Definition":{},"CreateIndex":1,"ModifyIndex":1}}],"Errors":null}',
  );
  const r = await h.put("/v1/txn", [{ Node: { Verb: "get", Node: { Node: "n1" } } }, { Check: { Verb: "get", Check: { Node: "n1", CheckID: "c1" } } }]);
  assert.is(r.status, 200);
  const body = JSON.parse(r.text) as { Results: Array<Record<string, unknown>>; Index: number };
  assert.equal(body.Results.map((x) => Object.keys(x)[0]), ["Node", "Check"]);
  assert.is(h.backend.index, 1); // reads did not go through apply
});

tx("errors: stale CAS, missing entities, unknown verbs, pre-checks; 409 and nothing applied", async ({ h }) => {
  await h.put("/v1/catalog/register", { Node: "n1", Address: "a", Service: { Service: "web" } });
  const r = await h.put("/v1/txn", [
    { Node: { Verb: "cas", Node: { Node: "n1", Address: "b", ModifyIndex: 42 } } },
    { Service: { Verb: "delete-cas", Node: "n1", Service: { ID: "web", Service: "web", ModifyIndex: 42 } } },
    { Check: { Verb: "set", Check: { Node: "nope", CheckID: "c" } } },
  ]);
  assert.is(r.status, 409);
  assert.is(
    r.text,
    '{"Results":null,"Errors":[{"OpIndex":0,"What":"failed to set node \\"n1\\", index is stale"},' +
      '{"OpIndex":1,"What":"failed to delete service \\"web\\" on node \\"n1\\", index is stale"},' +
      '{"OpIndex":2,"What":"Missing node registration"}]}',
  );
  const u = await h.put("/v1/txn", [{ Node: { Verb: "frob", Node: { Node: "n1" } } }]);
  assert.is(u.status, 409);
  assert.is(u.text, '{"Results":null,"Errors":[{"OpIndex":0,"What":"unknown Node verb \\"frob\\""}]}');
  const p = await h.put("/v1/txn", [{ Service: { Verb: "set", Node: "n1", Service: { ID: "x" } } }]);
  assert.is(p.status, 409);
  assert.match(p.text, /Must provide service name with ID/);
  const ok = await h.put("/v1/txn", [{ Node: { Verb: "delete", Node: { Node: "n1" } } }]);
  assert.is(ok.text, '{"Results":null,"Errors":null}');
  assert.is((await h.get("/v1/catalog/nodes")).text, "[]");
});

tx.run();
