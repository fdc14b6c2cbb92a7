/**
 * tests/dns/wire: parseQuery's question and cache key — the key read off the packet is
 * the cache's key for the lower-cased question (so a parsed query and a name lookup hit
 * the same cached answer), keyQuestion inverts it, and the name text (derived lazily)
 * matches what the packet asked.
 */

import { test } from "uvu";
import * as assert from "uvu/assert";
import * as dnsPacket from "dns-packet";
import { DnsCache } from "../../src/dns/index.ts";
import { cacheKey, keyQuestion, parseQuery, type ParsedQuery } from "../../src/dns/wire.ts";
import { T_A, T_SRV } from "./consts.ts";
import { FakeCatalog, populate } from "./fake_catalog.ts";
import { agentInfo, dnsDefaults } from "./helpers.ts";

function parsed(name: string, type: "A" | "SRV" | "TXT", klass: "IN" | "CH" = "IN"): ParsedQuery {
  const r = parseQuery(Buffer.from(dnsPacket.encode({ type: "query", id: 1, questions: [{ type, name, class: klass }] })));
  if (!r.ok) throw new Error(`${name}: not parsed`);
  return r;
}

test("the parsed key is cacheKey of the lower-cased name, type and class; keyQuestion inverts it", () => {
  const q = parsed("Web.Service.CONSUL", "SRV");
  assert.is(q.qname, "web.service.consul.");
  assert.is(q.qtype, T_SRV);
  assert.is(q.qclass, 1);
  assert.is(q.key, cacheKey("web.service.consul.", T_SRV, 1));
  assert.equal(keyQuestion(q.key), { qname: "web.service.consul.", qtype: T_SRV, qclass: 1 });
  const ch = parsed("version.bind", "TXT", "CH");
  assert.is(ch.qclass, 3);
  assert.equal(keyQuestion(ch.key), { qname: "version.bind.", qtype: 16, qclass: 3 });
  assert.is.not(ch.key, cacheKey("version.bind.", 16, 1), "the class is part of the key");
});

test("the root name parses as '.', and large type numbers survive the key", () => {
  const root = parsed(".", "A");
  assert.is(root.qname, ".");
  assert.equal(keyQuestion(root.key), { qname: ".", qtype: T_A, qclass: 1 });
  assert.equal(keyQuestion(cacheKey("x.consul.", 65280, 65535)), { qname: "x.consul.", qtype: 65280, qclass: 65535 });
});

test("a query without a question has no name; bad questions are FORMERR", () => {
  const none = parseQuery(Buffer.from(dnsPacket.encode({ type: "query", id: 2, questions: [] })));
  assert.ok(none.ok);
  if (none.ok) {
    assert.is(none.qdcount, 0);
    assert.is(none.qname, "");
  }
  const packet = Buffer.from(dnsPacket.encode({ type: "query", id: 3, questions: [{ type: "A", name: "web.service.consul" }] }));
  const cut = parseQuery(packet.subarray(0, packet.length - 3));
  assert.equal(cut, { ok: false, formerr: true, id: 3, flags: 0 });
});

test("a parsed query's key and the name lookup hit the same cached answer", () => {
  const cat = new FakeCatalog();
  populate(cat, "web", 3);
  const c = new DnsCache({ catalog: cat, agent: agentInfo(), config: dnsDefaults(), recursors: [] });
  const byName = c.get("web.service.consul.", T_A, 1);
  const byKey = c.getKey(parsed("WEB.service.consul", "A").key);
  assert.is(byKey, byName);
  assert.is(c.stats.misses, 1);
  assert.is(c.stats.hits, 1);
});

test.run();
