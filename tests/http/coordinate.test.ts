/**
 * HTTP coordinate endpoints over a real Store: update (validation, unknown nodes
 * dropped), nodes (blocking, segment filter), node/<n> (404), datacenters, and
 * `near` sorting on catalog nodes/service and health service/checks.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { startCatalog, type CatHarness } from "./catalog_helpers.ts";

const vec = (x: number): number[] => [x, 0, 0, 0, 0, 0, 0, 0];
const coord = (x: number) => ({ Vec: vec(x), Error: 0.5, Adjustment: 0, Height: 0.00001 });

async function world(h: CatHarness): Promise<void> {
  // node1 is the agent; a at 1 ms, b at 5 ms, c at 2 ms (one way on axis 0), d has no coordinate.
  for (const [n, addr] of [["node1", "10.0.0.1"], ["a", "10.0.0.2"], ["b", "10.0.0.3"], ["c", "10.0.0.4"], ["d", "10.0.0.5"]] as const) {
    const r = await h.put("/v1/catalog/register", {
      Node: n, Address: addr,
      Service: { Service: "web", Port: 80 },
      Check: { CheckID: "web-check", Name: "web", ServiceID: "web", Status: "passing" },
    });
    assert.is(r.status, 200, r.text);
  }
  for (const [n, x] of [["node1", 0], ["a", 0.001], ["b", 0.005], ["c", -0.002]] as const) {
    const r = await h.put("/v1/coordinate/update", { Node: n, Segment: "", Coord: coord(x) });
    assert.is(r.status, 200, r.text);
  }
}

test("update, nodes, node/<n>, datacenters", async () => {
  const h = await startCatalog();
  try {
    await world(h);
    const all = await h.get("/v1/coordinate/nodes");
    assert.is(all.status, 200);
    const rows = JSON.parse(all.text) as { Node: string; Segment: string; Coord: { Vec: number[]; Error: number; Height: number } }[];
    assert.equal(rows.map((r) => r.Node), ["a", "b", "c", "node1"]);
    assert.equal(rows[0]!.Coord, { Vec: vec(0.001), Error: 0.5, Adjustment: 0, Height: 0.00001 });
    assert.is(rows[0]!.Segment, "");
    assert.ok(Number(all.headers["x-consul-index"]) > 0);
    assert.is((await h.get("/v1/coordinate/nodes?segment=alpha")).text, "[]");

    const one = await h.get("/v1/coordinate/node/b");
    assert.is(one.status, 200);
    assert.equal((JSON.parse(one.text) as { Node: string }[]).map((r) => r.Node), ["b"]);
    const none = await h.get("/v1/coordinate/node/d");
    assert.is(none.status, 404);
    assert.is(none.text, "");

    // Unknown nodes are dropped silently (Consul's batch update); invalid coordinates fail.
    assert.is((await h.put("/v1/coordinate/update", { Node: "ghost", Coord: coord(1) })).status, 200);
    assert.is((await h.get("/v1/coordinate/node/ghost")).status, 404);
    const bad = await h.put("/v1/coordinate/update", { Node: "a", Coord: { Vec: [1, 2], Error: 1, Adjustment: 0, Height: 0 } });
    assert.is(bad.status, 500);
    assert.match(bad.text, /rejected bad coordinate/);
    const nocoord = await h.put("/v1/coordinate/update", { Node: "a" });
    assert.is(nocoord.status, 500);
    assert.match(nocoord.text, /invalid coordinate/);
    const garbage = await h.put("/v1/coordinate/update", "{nope");
    assert.is(garbage.status, 400);
    assert.match(garbage.text, /^Request decode failed/);

    const dcs = JSON.parse((await h.get("/v1/coordinate/datacenters")).text) as { Datacenter: string; AreaID: string; Coordinates: { Node: string; Coord: { Vec: number[] } }[] }[];
    assert.is(dcs.length, 1);
    assert.is(dcs[0]!.Datacenter, "dc1");
    assert.is(dcs[0]!.AreaID, "WAN");
    assert.is(dcs[0]!.Coordinates[0]!.Node, "node1"); // Consul cuts the ".<dc>" suffix
    assert.equal(dcs[0]!.Coordinates[0]!.Coord.Vec, vec(0));
  } finally {
    await h.close();
  }
});

test("coordinate/nodes blocks until a coordinate changes", async () => {
  const h = await startCatalog();
  try {
    await world(h);
    const first = await h.get("/v1/coordinate/nodes");
    const idx = Number(first.headers["x-consul-index"]);
    const started = Date.now();
    const pending = h.get(`/v1/coordinate/nodes?index=${idx}&wait=5s`);
    await new Promise((r) => setTimeout(r, 100));
    await h.put("/v1/coordinate/update", { Node: "d", Coord: coord(0.009) });
    const woke = await pending;
    assert.ok(Date.now() - started < 4000, "woke before the wait ran out");
    assert.ok(Number(woke.headers["x-consul-index"]) > idx);
    assert.ok(woke.text.includes('"Node":"d"'));
  } finally {
    await h.close();
  }
});

test("near sorts catalog and health lists by estimated RTT, nodes without coordinates last", async () => {
  const h = await startCatalog();
  try {
    await world(h);
    const names = (text: string, pick: (x: Record<string, unknown>) => string): string[] => (JSON.parse(text) as Record<string, unknown>[]).map(pick);
    const node = (x: Record<string, unknown>): string => String(x["Node"]);
    const nested = (x: Record<string, unknown>): string => String((x["Node"] as Record<string, unknown>)["Node"]);
    // From node1 (origin): a 1 ms, c 2 ms, b 5 ms, d unknown.
    assert.equal(names((await h.get("/v1/catalog/nodes?near=_agent")).text, node), ["node1", "a", "c", "b", "d"]);
    assert.equal(names((await h.get("/v1/catalog/nodes?near=node1")).text, node), ["node1", "a", "c", "b", "d"]);
    // From b (5 ms): b, a (4), node1 (5), c (7), d.
    assert.equal(names((await h.get("/v1/catalog/service/web?near=b")).text, node), ["b", "a", "node1", "c", "d"]);
    assert.equal(names((await h.get("/v1/health/service/web?near=c")).text, nested), ["c", "node1", "a", "b", "d"]);
    assert.equal(names((await h.get("/v1/health/checks/web?near=a")).text, node), ["a", "node1", "c", "b", "d"]);
    // Unknown source or one without a coordinate: the usual order.
    assert.equal(names((await h.get("/v1/catalog/nodes?near=d")).text, node), ["a", "b", "c", "d", "node1"]);
    assert.equal(names((await h.get("/v1/catalog/nodes?near=nope")).text, node), ["a", "b", "c", "d", "node1"]);
    assert.equal(names((await h.get("/v1/catalog/nodes")).text, node), ["a", "b", "c", "d", "node1"]);
  } finally {
    await h.close();
  }
});

test.run();
