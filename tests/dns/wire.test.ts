/**
 * tests/dns/wire: parseQuery's question and cache key — the key read off the packet is
 * the cache's key for the lower-cased question (so a parsed query and a name lookup hit
 * the same cached answer, also when the key comes from the memo of recent keys),
 * keyQuestion inverts it, and the name text (derived lazily) matches what the packet asked. Property tests hold the single-pass name writer, the wire
 * length and the IPv4 parser to naive reference versions (label arrays, regexes).
 */

import { test } from "uvu";
import * as assert from "uvu/assert";
import * as dnsPacket from "dns-packet";
import fc from "fast-check";
import { DnsCache } from "../../src/dns/index.ts";
import { ByteWriter, cacheKey, keyQuestion, nameWireLength, parseIp, parseQuery, questionSuffixes, type ParsedQuery } from "../../src/dns/wire.ts";
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

// ---- naive references: what the optimised functions must agree with

function refLabels(name: string): string[] {
  if (name === "." || name === "") return [];
  return (name.endsWith(".") ? name.slice(0, -1) : name).split(".");
}

/** Label by label, each suffix joined and lower-cased: the straightforward compressed-name writer. */
function refName(name: string, suffixes: Map<string, number> | null): Buffer | null {
  const out: number[] = [];
  const labels = refLabels(name);
  for (let i = 0; i < labels.length; i++) {
    if (suffixes !== null) {
      const off = suffixes.get(labels.slice(i).join(".").toLowerCase() + ".");
      if (off !== undefined) return Buffer.from([...out, 0xc0 | (off >> 8), off & 0xff]);
    }
    const b = Buffer.from(labels[i]!, "utf8");
    if (b.length === 0 || b.length > 63) return null;
    out.push(b.length, ...b);
  }
  return Buffer.from([...out, 0]);
}

function refWireLength(name: string): number {
  return refLabels(name).reduce((n, l) => n + Buffer.byteLength(l, "utf8") + 1, 1);
}

function refIpv4(s: string): number[] | null {
  const parts = s.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return null;
  return parts.map(Number);
}

const label = fc.oneof(
  fc.stringMatching(/^[a-zA-Z0-9-]{0,8}$/),
  fc.constantFrom("web", "WEB", "Web", "service", "SERVICE", "consul", "Consul", "node", "dc1", "DC1", "x".repeat(63), "y".repeat(64), "é", "ünï"),
  fc.constantFrom("web", "service", "consul"),
);
const nameArb = fc.tuple(fc.array(label, { maxLength: 6 }), fc.boolean()).map(([ls, dot]) => (ls.length === 0 ? "." : ls.join(".") + (dot ? "." : "")));

test("property: keys stay right across the key memo (hot names reused, 1024 slots overrun, mixed case and types)", () => {
  const label = fc.stringMatching(/^[a-zA-Z0-9-]{1,12}$/);
  const name = fc.array(label, { minLength: 1, maxLength: 4 }).map((ls) => ls.join("."));
  const type = fc.constantFrom<"A" | "SRV" | "TXT">("A", "SRV", "TXT");
  fc.assert(fc.property(fc.array(fc.tuple(name, type), { minLength: 1, maxLength: 40 }), fc.array(fc.nat(), { maxLength: 60 }), (pool, picks) => {
    // the pool is re-asked in a shuffled order (memo hits), with 1,100 fresh names between rounds (slot reuse)
    for (let round = 0; round < 2; round++) {
      for (const i of [...picks, ...pool.keys()]) {
        const [n, t] = pool[i % pool.length]!;
        const q = parsed(n, t);
        const want = cacheKey(`${n.toLowerCase()}.`, t === "A" ? T_A : t === "SRV" ? T_SRV : 16, 1);
        if (q.key !== want) return false;
      }
      for (let j = 0; j < 1100; j++) if (parsed(`x${j}.r${round}.example`, "A").key !== cacheKey(`x${j}.r${round}.example.`, T_A, 1)) return false;
    }
    return true;
  }), { numRuns: 25 });
});

test("property: the single-pass name writer matches the label-by-label reference, with and without compression", () => {
  fc.assert(
    fc.property(nameArb, fc.constantFrom("web.service.consul.", "Web.Service.DC1.consul.", "consul."), fc.boolean(), (name, q, compress) => {
      const sfx = compress ? questionSuffixes(q) : null;
      const w = new ByteWriter(8);
      const ok = w.name(name, sfx);
      const ref = refName(name, sfx);
      if (ref === null) {
        assert.is(ok, false, name);
        return;
      }
      assert.ok(ok, name);
      assert.equal([...w.take()], [...ref], name);
    }),
    { numRuns: 2000 },
  );
});

test("property: nameWireLength is the uncompressed length the reference computes", () => {
  fc.assert(fc.property(nameArb, (name) => assert.is(nameWireLength(name), refWireLength(name), name)), { numRuns: 2000 });
});

test("property: parseIp agrees with the split-and-regex IPv4 parser on dotted text", () => {
  const part = fc.oneof(fc.integer({ min: 0, max: 300 }).map(String), fc.constantFrom("", "007", "1a", "-1", "0000", " 1"));
  const text = fc.oneof(fc.array(part, { minLength: 1, maxLength: 6 }).map((ps) => ps.join(".")), fc.string({ maxLength: 12 }).filter((x) => !x.includes(":")));
  fc.assert(
    fc.property(text, (s) => {
      const got = parseIp(s);
      const want = refIpv4(s);
      assert.equal(got === null ? null : [...got], want, JSON.stringify(s));
    }),
    { numRuns: 3000 },
  );
});

test.run();
