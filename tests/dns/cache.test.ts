/**
 * tests/dns/cache: the prepared-answer cache — hits avoid catalog reads, watches drop
 * exactly the affected answers, bounds evict (and drop their watches), and cached
 * answers still shuffle per query.
 */

import { test } from "uvu";
import * as assert from "uvu/assert";
import { DnsCache, RECURSE } from "../../src/dns/index.ts";
import { materialize, select } from "../../src/dns/prepared.ts";
import { T_A, T_SRV } from "./consts.ts";
import { FakeCatalog, populate } from "./fake_catalog.ts";
import { agentInfo, dnsDefaults, seeded } from "./helpers.ts";

function mk(cat: FakeCatalog, over: { maxEntries?: number; maxBytes?: number; recursors?: string[] } = {}): DnsCache {
  return new DnsCache({ catalog: cat, agent: agentInfo(), config: dnsDefaults(), recursors: over.recursors ?? [], ...over });
}

test("a hit does not read the catalog; a change to the service drops only its answers", () => {
  const cat = new FakeCatalog();
  populate(cat, "web", 5);
  populate(cat, "api", 5);
  const c = mk(cat);
  c.get("web.service.consul.", T_A, 1);
  c.get("api.service.consul.", T_A, 1);
  c.get("web.service.consul.", T_SRV, 1);
  const reads = cat.reads;
  for (let i = 0; i < 100; i++) c.get("web.service.consul.", T_A, 1);
  assert.is(cat.reads, reads, "no catalog reads on hits");
  assert.is(c.stats.hits, 100);
  cat.setCheck("web-n0", "x", "critical", "web-0");
  assert.is(c.size, 1, "both web answers dropped, api kept");
  const p = c.get("web.service.consul.", T_A, 1);
  assert.ok(p !== RECURSE && p.n === 4);
  c.clear();
  assert.is(cat.watchCount(), 0, "clear drops every watch");
});

test("misses depend on the table: registering the service makes it resolvable", () => {
  const cat = new FakeCatalog();
  cat.addNode({ node: "n", address: "10.0.0.1" });
  const c = mk(cat);
  const miss = c.get("late.service.consul.", T_A, 1);
  assert.ok(miss !== RECURSE && miss.rcode === 3);
  cat.addService({ node: "n", service: "Late", port: 1 });
  const hit = c.get("late.service.consul.", T_A, 1);
  assert.ok(hit !== RECURSE && hit.rcode === 0 && hit.n === 1, "case-insensitive service name");
  c.clear();
});

test("bounded by entries and bytes; evicted entries unsubscribe", () => {
  const cat = new FakeCatalog();
  populate(cat, "web", 3);
  const c = mk(cat, { maxEntries: 10 });
  for (let i = 0; i < 100; i++) c.get(`s${i}.service.consul.`, T_A, 1);
  assert.ok(c.size <= 10);
  assert.ok(c.stats.evictions >= 90);
  c.clear();
  const b = mk(cat, { maxBytes: 4096 });
  for (let i = 0; i < 100; i++) b.get(`n${i}.node.consul.`, T_A, 1);
  assert.ok(b.byteSize <= 4096, String(b.byteSize));
  b.clear();
  assert.is(cat.watchCount(), 0);
});

test("recurse verdict is cached for out-of-domain names when recursors exist", () => {
  const cat = new FakeCatalog();
  const c = mk(cat, { recursors: ["127.0.0.1"] });
  assert.is(c.get("example.com.", T_A, 1), RECURSE);
  c.clear();
});

test("a cached answer is reshuffled on every query", () => {
  const cat = new FakeCatalog();
  populate(cat, "web", 50);
  const c = mk(cat);
  const p = c.get("web.service.consul.", T_A, 1);
  assert.ok(p !== RECURSE);
  const rng = seeded(3);
  const firsts = new Set<number>();
  for (let i = 0; i < 200; i++) {
    const sel = select(p, { transport: "udp", udpSize: null, ecsLen: 0, config: dnsDefaults(), rng });
    assert.is(sel.count, 3);
    firsts.add(p.perm[0]!);
  }
  assert.ok(firsts.size > 30, `first answer varied over ${firsts.size} instances`);
  c.clear();
});

test("cached answers keep their bytes, not the structured records (materialize refuses them)", () => {
  const cat = new FakeCatalog();
  populate(cat, "web", 20);
  const c = mk(cat);
  const p = c.get("web.service.consul.", T_SRV, 1);
  if (p === RECURSE) throw new Error("a service answer, not recursion");
  assert.is(p.records, null);
  assert.is(p.n, 20);
  assert.is(p.ansOff.length, 20);
  assert.ok(p.ansSlab.length >= p.ansLen.reduce((a, b) => a + b, 0));
  const sel = select(p, { transport: "tcp", udpSize: null, ecsLen: 0, config: dnsDefaults(), rng: seeded(1) });
  assert.throws(() => materialize(p, sel, false), /keepRecords/);
});

test.run();
