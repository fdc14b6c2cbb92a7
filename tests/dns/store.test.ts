/**
 * tests/dns/store: the resolver, cache and server over the real state Store (catalog
 * commands applied in index order) — answers, health filtering, case-insensitive
 * names, and cache invalidation through the Store's catalog watches.
 */

import { test } from "uvu";
import * as assert from "uvu/assert";
import { DnsCache, RECURSE, resolve, startDnsServer } from "../../src/dns/index.ts";
import { T_A, T_SRV } from "./consts.ts";
import { StoreCatalog, agentInfo, ctxFor, dnsDefaults, udpQuery } from "./helpers.ts";

function seeded(): StoreCatalog {
  const s = new StoreCatalog();
  s.register({ node: "foo", address: "10.1.0.1", meta: { rack: "r1" }, service: "db", id: "db1", port: 5432, status: "passing" });
  s.register({ node: "Bar", address: "10.1.0.2", service: "db", id: "db2", port: 5433, status: "passing" });
  s.register({ node: "baz", address: "10.1.0.3", service: "db", id: "db3", port: 5434, status: "critical" });
  return s;
}

test("resolve over the Store: healthy instances, SRV targets, node with meta, case-insensitive", () => {
  const s = seeded();
  const a = resolve({ name: "DB.service.consul", type: T_A, transport: "tcp" }, ctxFor(s.store));
  assert.ok(a.kind === "response");
  assert.equal(a.answer.map((x) => (x.type === "A" ? x.address : "")).sort(), ["10.1.0.1", "10.1.0.2"]);
  const srv = resolve({ name: "db.service.consul", type: T_SRV, transport: "tcp" }, ctxFor(s.store));
  assert.ok(srv.kind === "response");
  assert.equal(srv.answer.map((x) => (x.type === "SRV" ? x.target : "")).sort(), ["Bar.node.dc1.consul.", "foo.node.dc1.consul."]);
  const node = resolve({ name: "bar.node.consul", type: T_A, transport: "udp" }, ctxFor(s.store));
  assert.ok(node.kind === "response" && node.answer[0]?.type === "A" && node.answer[0].address === "10.1.0.2");
});

test("cache over the Store: hits until a catalog write touches the service", () => {
  const s = seeded();
  const c = new DnsCache({ catalog: s.store, agent: agentInfo(), config: dnsDefaults(), recursors: [] });
  const p1 = c.get("db.service.consul.", T_A, 1);
  assert.ok(p1 !== RECURSE && p1.n === 2);
  assert.is(c.get("db.service.consul.", T_A, 1), p1, "served from cache");
  s.register({ node: "baz", address: "10.1.0.3", service: "db", id: "db3", port: 5434, status: "passing" });
  const p2 = c.get("db.service.consul.", T_A, 1);
  assert.ok(p2 !== RECURSE && p2 !== p1 && p2.n === 3, "check turned passing: rebuilt");
  const other = c.get("foo.node.consul.", T_A, 1);
  s.deregister("Bar", "db2");
  const p3 = c.get("db.service.consul.", T_A, 1);
  assert.ok(p3 !== RECURSE && p3.n === 2);
  assert.is(c.get("foo.node.consul.", T_A, 1), other, "unrelated node answer kept");
  c.clear();
});

test("server over the Store answers and follows writes", async () => {
  const s = seeded();
  const srv = await startDnsServer({ catalog: s.store, agent: agentInfo(), config: dnsDefaults(), host: "127.0.0.1", port: 0 });
  try {
    const port = srv.address().udp.port;
    assert.is((await udpQuery(port, "db.service.consul", "A")).answers.length, 2);
    s.register({ node: "qux", address: "10.1.0.4", service: "db", id: "db4", port: 1, status: "passing" });
    assert.is((await udpQuery(port, "db.service.consul", "A")).answers.length, 3);
    assert.is((await udpQuery(port, "qux.node.consul", "A")).rcode, "NOERROR");
  } finally {
    await srv.close();
  }
});

test.run();
