/**
 * tests/dns/resolve: the pure resolver against a fake catalog — every name form, rcodes
 * (NXDOMAIN / NODATA with SOA, REFUSED, NOTIMP, recurse), TTLs, health filtering,
 * truncation (udp_answer_limit, enable_truncate, EDNS size, TCP), SRV targets and
 * additional records, case-insensitivity, alt_domain, PTR.
 */

import { test } from "uvu";
import * as assert from "uvu/assert";
import { resolve, type Answer, type Rr } from "../../src/dns/index.ts";
import { T_A, T_AAAA, T_ANY, T_AXFR, T_MX, T_NS, T_PTR, T_SOA, T_SRV, T_TXT } from "./consts.ts";
import { FakeCatalog, populate } from "./fake_catalog.ts";
import { ctxFor } from "./helpers.ts";

type Resp = Extract<Answer, { kind: "response" }>;

function cat(): FakeCatalog {
  const c = new FakeCatalog();
  c.addNode({ node: "foo", address: "10.1.0.1", meta: { rack: "r1", "rfc1035-x": "bare" } });
  c.addNode({ node: "bar", address: "10.1.0.2" });
  c.addNode({ node: "v6", address: "2001:db8::1" });
  c.addNode({ node: "ext", address: "example.org" });
  c.addService({ node: "foo", service: "db", id: "db1", port: 5432, tags: ["primary", "v1"] });
  c.addService({ node: "bar", service: "db", id: "db2", port: 5433, tags: ["replica"] });
  c.addService({ node: "bar", service: "api", id: "api1", port: 80, address: "10.9.9.9" });
  c.addService({ node: "v6", service: "six", port: 80 });
  c.addService({ node: "ext", service: "cn", port: 80 });
  c.addService({ node: "foo", service: "alias", port: 80, address: "db.service.consul" });
  return c;
}

function ask(c: FakeCatalog, name: string, type: number, o: Parameters<typeof ctxFor>[1] & { tcp?: boolean; edns?: number } = {}): Resp {
  const a = resolve({ name, type, transport: o.tcp ? "tcp" : "udp", udpSize: o.edns ?? null }, ctxFor(c, o));
  if (a.kind !== "response") throw new Error("expected a response");
  return a;
}

const addrs = (rrs: readonly Rr[]): string[] =>
  rrs.flatMap((r) => (r.type === "A" || r.type === "AAAA" ? [r.address] : [])).sort();

test("service A: healthy instances, AA, NOERROR, qname as owner", () => {
  const r = ask(cat(), "db.service.consul", T_A);
  assert.is(r.rcode, 0);
  assert.ok(r.aa);
  assert.not.ok(r.ra);
  assert.equal(addrs(r.answer), ["10.1.0.1", "10.1.0.2"]);
  assert.ok(r.answer.every((x) => x.name === "db.service.consul." && x.ttl === 0));
});

test("service A with tag, dc forms and case-insensitivity", () => {
  const c = cat();
  for (const n of ["primary.db.service.consul", "PRIMARY.DB.Service.Consul.", "primary.db.service.dc1.consul", "primary.db.service.dc1.dc.consul"]) {
    assert.equal(addrs(ask(c, n, T_A).answer), ["10.1.0.1"], n);
  }
  assert.is(ask(c, "nosuchtag.db.service.consul", T_A).rcode, 3);
});

test("unknown datacenter and unknown service: NXDOMAIN with SOA in authority", () => {
  const c = cat();
  for (const n of ["db.service.dc9.consul", "db.service.dc9.dc.consul", "nope.service.consul", "nope.node.consul", "x.y.consul", "consul"]) {
    const r = ask(c, n, T_A);
    assert.is(r.rcode, 3, n);
    assert.is(r.answer.length, 0);
    assert.is(r.authority.length, 1);
    const soa = r.authority[0]!;
    assert.is(soa.type, "SOA");
    if (soa.type === "SOA") {
      assert.is(soa.name, "consul.");
      assert.is(soa.mname, "ns.consul.");
      assert.is(soa.rname, "hostmaster.consul.");
      assert.is(soa.serial, 1_700_000_000);
      assert.equal([soa.refresh, soa.retry, soa.expire, soa.minimum, soa.ttl], [3600, 600, 86400, 0, 0]);
    }
  }
});

test("SOA config is honoured", () => {
  const r = ask(cat(), "nope.service.consul", T_A, { config: { soa: { refresh: 1, retry: 2, expire: 3, minTtl: 4 } } });
  const soa = r.authority[0]!;
  assert.ok(soa.type === "SOA" && soa.refresh === 1 && soa.retry === 2 && soa.expire === 3 && soa.minimum === 4 && soa.ttl === 4);
});

test("NODATA: existing service, no record of the asked type -> NOERROR, empty answer, SOA", () => {
  const c = cat();
  for (const [n, t] of [["db.service.consul", T_AAAA], ["six.service.consul", T_A], ["db.service.consul", T_MX]] as const) {
    const r = ask(c, n, t);
    assert.is(r.rcode, 0, n);
    assert.is(r.answer.length, 0);
    assert.is(r.authority[0]?.type, "SOA");
  }
  const six = ask(c, "six.service.consul", T_AAAA);
  assert.equal(addrs(six.answer), ["2001:db8::1"]);
  assert.is(six.answer[0]!.type, "AAAA");
});

test("critical instances excluded, warning kept unless only_passing; maintenance excluded", () => {
  const c = cat();
  c.setCheck("bar", "svc", "critical", "db2");
  assert.equal(addrs(ask(c, "db.service.consul", T_A).answer), ["10.1.0.1"]);
  c.setCheck("bar", "svc", "warning", "db2");
  assert.equal(addrs(ask(c, "db.service.consul", T_A).answer), ["10.1.0.1", "10.1.0.2"]);
  assert.equal(addrs(ask(c, "db.service.consul", T_A, { config: { onlyPassing: true } }).answer), ["10.1.0.1"]);
  c.setCheck("foo", "node-maint", "maintenance"); // node-level check hits every service on foo
  c.setCheck("bar", "svc", "critical", "db2");
  assert.is(ask(c, "db.service.consul", T_A).rcode, 3);
});

test("SRV: priority 1, weight from Weights (warning weight when warning), node target + A in additional", () => {
  const c = cat();
  c.setCheck("bar", "svc", "warning", "db2");
  c.removeService("bar", "db2");
  c.addService({ node: "bar", service: "db", id: "db2", port: 5433, weights: { passing: 10, warning: 3 } });
  c.setCheck("bar", "svc", "warning", "db2");
  const r = ask(c, "db.service.consul", T_SRV);
  const srv = r.answer.filter((x) => x.type === "SRV").sort((a, b) => (a.name < b.name ? -1 : 1));
  assert.is(srv.length, 2);
  const byPort = new Map(srv.map((s) => [s.type === "SRV" ? s.port : 0, s]));
  const s1 = byPort.get(5432)!;
  const s2 = byPort.get(5433)!;
  assert.ok(s1.type === "SRV" && s1.priority === 1 && s1.weight === 1 && s1.target === "foo.node.dc1.consul.");
  assert.ok(s2.type === "SRV" && s2.weight === 3 && s2.target === "bar.node.dc1.consul.");
  const a = r.additional.filter((x) => x.type === "A");
  assert.equal(a.map((x) => x.name).sort(), ["bar.node.dc1.consul.", "foo.node.dc1.consul."]);
  // node meta TXT rides along for SRV (enable_additional_node_meta_txt default true)
  assert.ok(r.additional.some((x) => x.type === "TXT" && x.name === "foo.node.dc1.consul." && x.text === "rack=r1"));
  const off = ask(c, "db.service.consul", T_SRV, { config: { enableAdditionalNodeMetaTxt: false } });
  assert.not.ok(off.additional.some((x) => x.type === "TXT"));
});

test("SRV with a service address different from the node's: <hex>.addr.<dc>.<domain> target", () => {
  const r = ask(cat(), "api.service.consul", T_SRV);
  const s = r.answer[0]!;
  assert.ok(s.type === "SRV" && s.target === "0a090909.addr.dc1.consul." && s.port === 80);
  assert.ok(r.additional.some((x) => x.type === "A" && x.name === "0a090909.addr.dc1.consul." && x.address === "10.9.9.9"));
  // A query answers the service address
  assert.equal(addrs(ask(cat(), "api.service.consul", T_A).answer), ["10.9.9.9"]);
});

test("RFC 2782 forms: _svc._tcp, _svc._tag, with and without .service and dc", () => {
  const c = cat();
  const ports = (r: Resp): number[] => r.answer.flatMap((x) => (x.type === "SRV" ? [x.port] : [])).sort();
  assert.equal(ports(ask(c, "_db._tcp.service.consul", T_SRV)), [5432, 5433]);
  assert.equal(ports(ask(c, "_db._tcp.consul", T_SRV)), [5432, 5433]);
  assert.equal(ports(ask(c, "_db._replica.service.dc1.consul", T_SRV)), [5433]);
  assert.equal(ports(ask(c, "_db._primary.dc1.consul", T_SRV)), [5432]);
  const owner = ask(c, "_db._tcp.consul", T_SRV).answer[0]!;
  assert.is(owner.name, "_db._tcp.consul.");
});

test("node lookup: A + TXT meta (RFC 1464, rfc1035- bare), ANY, TXT, CNAME for hostnames, AAAA", () => {
  const c = cat();
  const a = ask(c, "foo.node.consul", T_A);
  assert.equal(addrs(a.answer), ["10.1.0.1"]);
  assert.is(a.answer[0]!.name, "foo.node.consul.");
  assert.equal(a.additional.map((x) => (x.type === "TXT" ? x.text : "")).sort(), ["bare", "rack=r1"]);
  const any = ask(c, "foo.node.dc1.consul", T_ANY);
  assert.equal(any.answer.map((x) => x.type), ["A", "TXT", "TXT"]);
  const txt = ask(c, "FOO.node.consul", T_TXT);
  assert.equal(txt.answer.map((x) => x.type), ["TXT", "TXT"]);
  assert.ok(txt.additional.some((x) => x.type === "A"));
  const cn = ask(c, "ext.node.consul", T_A);
  assert.ok(cn.answer[0]!.type === "CNAME" && cn.answer[0]!.target === "example.org.");
  assert.equal(addrs(ask(c, "v6.node.consul", T_AAAA).answer), ["2001:db8::1"]);
  const nodata = ask(c, "bar.node.consul", T_AAAA);
  assert.is(nodata.rcode, 0);
  assert.is(nodata.answer.length, 0);
  assert.is(nodata.authority[0]?.type, "SOA");
});

test("service with a hostname address: CNAME (internal names resolved inside the domain)", () => {
  const c = cat();
  const ext = ask(c, "cn.service.consul", T_A);
  assert.ok(ext.answer[0]!.type === "CNAME" && ext.answer[0]!.target === "example.org.");
  const alias = ask(c, "alias.service.consul", T_A);
  assert.ok(alias.answer[0]!.type === "CNAME" && alias.answer[0]!.target === "db.service.consul.");
  assert.equal(addrs(alias.answer), ["10.1.0.1", "10.1.0.2"]);
});

test("TTLs: node_ttl for nodes, service_ttl exact > longest prefix > '*'", () => {
  const c = cat();
  const config = { nodeTtlMs: 7000, serviceTtlMs: { "*": 1000, "d*": 2000, "db*": 3000, db: 4000, "ap*": 5000 } };
  assert.is(ask(c, "foo.node.consul", T_A, { config }).answer[0]!.ttl, 7);
  assert.is(ask(c, "db.service.consul", T_A, { config }).answer[0]!.ttl, 4);
  assert.is(ask(c, "api.service.consul", T_A, { config }).answer[0]!.ttl, 5);
  assert.is(ask(c, "six.service.consul", T_AAAA, { config }).answer[0]!.ttl, 1);
  assert.is(ask(c, "six.service.consul", T_AAAA, { config: { nodeTtlMs: 9000 } }).answer[0]!.ttl, 9);
});

test("UDP without EDNS: at most udp_answer_limit (3) answers, no TC by default; TC with enable_truncate", () => {
  const c = new FakeCatalog();
  populate(c, "web", 20);
  const r = ask(c, "web.service.consul", T_A);
  assert.is(r.answer.length, 3);
  assert.not.ok(r.tc);
  const t = ask(c, "web.service.consul", T_A, { config: { enableTruncate: true } });
  assert.is(t.answer.length, 3);
  assert.ok(t.tc);
  assert.is(ask(c, "web.service.consul", T_A, { config: { udpAnswerLimit: 5 } }).answer.length, 5);
  assert.is(ask(c, "web.service.consul", T_A, { config: { udpAnswerLimit: 50 } }).answer.length, 8); // Consul's cap of 8
  const srv = ask(c, "web.service.consul", T_SRV, { config: { enableTruncate: true } });
  assert.is(srv.answer.length, 3);
  assert.is(srv.additional.filter((x) => x.type === "A").length, 3, "additional follows the kept SRV targets");
  assert.ok(srv.tc);
});

test("EDNS size lifts the 3-answer cap and bounds the bytes; TCP returns everything", () => {
  const c = new FakeCatalog();
  populate(c, "web", 300);
  const e = ask(c, "web.service.consul", T_A, { edns: 4096 });
  // 300 A records at 16 bytes each do not fit in 4096 - 8: trimmed by size
  assert.ok(e.answer.length > 100 && e.answer.length < 300, String(e.answer.length));
  const small = ask(c, "web.service.consul", T_A, { edns: 1232 });
  assert.ok(small.answer.length > 8 && small.answer.length < 80, String(small.answer.length));
  assert.is(ask(c, "web.service.consul", T_A, { tcp: true }).answer.length, 300);
  const srv = ask(c, "web.service.consul", T_SRV, { tcp: true });
  assert.is(srv.answer.length, 300);
  assert.is(srv.additional.length, 300);
});

test("a_record_limit caps A answers on TCP and UDP", () => {
  const c = new FakeCatalog();
  populate(c, "web", 20);
  assert.is(ask(c, "web.service.consul", T_A, { tcp: true, config: { aRecordLimit: 4 } }).answer.length, 4);
  assert.is(ask(c, "web.service.consul", T_A, { config: { aRecordLimit: 2 } }).answer.length, 2);
  assert.is(ask(c, "web.service.consul", T_SRV, { tcp: true, config: { aRecordLimit: 2 } }).answer.length, 20);
});

test("answers are shuffled per query", () => {
  const c = new FakeCatalog();
  populate(c, "web", 10);
  const ctx = ctxFor(c, { seed: 7 });
  const seen = new Set<string>();
  for (let i = 0; i < 20; i++) {
    const a = resolve({ name: "web.service.consul", type: T_A, transport: "tcp" }, ctx);
    if (a.kind === "response") seen.add(a.answer.map((x) => (x.type === "A" ? x.address : "")).join(","));
  }
  assert.ok(seen.size > 10, `only ${seen.size} orders`);
});

test("alt_domain answers in the domain asked; canonical names use it", () => {
  const c = cat();
  const agent = { altDomain: "cairn.test." };
  const r = ask(c, "db.service.cairn.test", T_SRV, { agent });
  assert.ok(r.answer.every((x) => x.type === "SRV" && x.target.endsWith(".node.dc1.cairn.test.")));
  const nx = ask(c, "nope.service.cairn.test", T_A, { agent });
  assert.is(nx.authority[0]!.name, "cairn.test.");
  assert.equal(addrs(ask(c, "db.service.consul", T_A, { agent }).answer), ["10.1.0.1", "10.1.0.2"]);
});

test("SOA and NS for the domain: servers named <node>.node.<dc>.<domain> with A in additional", () => {
  const c = cat();
  const agent = { servers: [{ node: "s1", address: "127.0.0.1" }, { node: "s2", address: "127.0.0.2" }] };
  const soa = ask(c, "consul", T_SOA, { agent });
  assert.is(soa.answer[0]!.type, "SOA");
  assert.equal(soa.authority.map((x) => (x.type === "NS" ? x.target : "")), ["s1.node.dc1.consul.", "s2.node.dc1.consul."]);
  assert.is(soa.additional.length, 2);
  const ns = ask(c, "anything.service.consul", T_NS, { agent });
  assert.equal(ns.answer.map((x) => x.type), ["NS", "NS"]);
  assert.ok(ns.answer.every((x) => x.name === "consul."));
  assert.equal(addrs(ns.additional), ["127.0.0.1", "127.0.0.2"]);
});

test("<hex>.addr.<dc>.<domain>: A for 8 hex digits, AAAA for 32; bad hex NXDOMAIN", () => {
  const c = cat();
  assert.equal(addrs(ask(c, "7f000001.addr.dc1.consul", T_A).answer), ["127.0.0.1"]);
  assert.equal(addrs(ask(c, "7f000001.addr.consul", T_A).answer), ["127.0.0.1"]);
  assert.equal(addrs(ask(c, "20010db8000000000000000000000001.addr.consul", T_AAAA).answer), ["2001:db8::1"]);
  assert.is(ask(c, "7f0000.addr.consul", T_A).rcode, 3);
  assert.is(ask(c, "zz000001.addr.consul", T_A).rcode, 3);
});

test("PTR: in-addr.arpa and ip6.arpa to <node>.node.<dc>.<domain>; service address -> service name; unknown NXDOMAIN", () => {
  const c = cat();
  const r = ask(c, "1.0.1.10.in-addr.arpa", T_PTR);
  assert.ok(r.answer[0]!.type === "PTR" && r.answer[0]!.target === "foo.node.dc1.consul.");
  const nibbles = "20010db8000000000000000000000001".split("").reverse().join(".");
  const v6 = ask(c, `${nibbles}.ip6.arpa`, T_PTR);
  assert.ok(v6.answer[0]!.type === "PTR" && v6.answer[0]!.target === "v6.node.dc1.consul.", JSON.stringify(v6));
  const svc = ask(c, "9.9.9.10.in-addr.arpa", T_PTR);
  assert.ok(svc.answer[0]!.type === "PTR" && svc.answer[0]!.target === "api.service.dc1.consul.");
  assert.is(ask(c, "9.9.9.9.in-addr.arpa", T_PTR).rcode, 3);
  assert.is(ask(c, "bad.in-addr.arpa", T_PTR).rcode, 3);
});

test("out of domain: REFUSED without recursors (no AA), recurse verdict with them", () => {
  const c = cat();
  const r = ask(c, "example.com", T_A);
  assert.is(r.rcode, 5);
  assert.not.ok(r.aa);
  const v = resolve({ name: "example.com", type: T_A, transport: "udp" }, ctxFor(c, { recursors: ["127.0.0.1"] }));
  assert.is(v.kind, "recurse");
  // with recursors, our own answers carry RA
  assert.ok(ask(c, "db.service.consul", T_A, { recursors: ["127.0.0.1"] }).ra);
});

test("NOTIMP for forms cairn does not serve and zone transfers", () => {
  const c = cat();
  for (const [n, t] of [["db.connect.consul", T_A], ["q.query.consul", T_A], ["x.virtual.consul", T_A], ["db.service.consul", T_AXFR]] as const) {
    const r = ask(c, n, t);
    assert.is(r.rcode, 4, n);
    assert.is(r.authority[0]?.type, "SOA");
  }
});

test("ANY for a service returns A/AAAA records", () => {
  const r = ask(cat(), "db.service.consul", T_ANY);
  assert.equal(addrs(r.answer), ["10.1.0.1", "10.1.0.2"]);
});

test.run();
