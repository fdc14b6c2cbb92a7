/**
 * tests/dns/server: the DNS server over real UDP and TCP on 127.0.0.1:0 with
 * dns-packet-encoded queries — answers, EDNS echo, truncation, FORMERR / REFUSED /
 * NOTIMP, TCP pipelining, recursors (a fake upstream), cache invalidation on catalog
 * change, and fairness under a one-client storm.
 */

import { suite } from "uvu";
import * as assert from "uvu/assert";
import dgram from "node:dgram";
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as dnsPacket from "dns-packet";
import { isDeno } from "../../src/platform/runtime.ts";
import { startDnsServer, type DnsServer, type DnsServerOptions } from "../../src/dns/index.ts";
import { FakeCatalog, populate } from "./fake_catalog.ts";
import { agentInfo, decode, dnsDefaults, query, tcpAsk, tcpQuery, udpAsk, udpQuery } from "./helpers.ts";

const test = suite("dns server");
const here = path.dirname(fileURLToPath(import.meta.url));

async function start(cat: FakeCatalog, over: Partial<DnsServerOptions> = {}): Promise<{ srv: DnsServer; port: number }> {
  const srv = await startDnsServer({
    catalog: cat, agent: agentInfo(), config: dnsDefaults(), host: "127.0.0.1", port: 0, nowMs: () => 1_700_000_000_000, ...over,
  });
  return { srv, port: srv.address().udp.port };
}

function catalog(): FakeCatalog {
  const c = new FakeCatalog();
  populate(c, "web", 20);
  c.addNode({ node: "foo", address: "10.1.0.1", meta: { rack: "r1" } });
  c.addService({ node: "foo", service: "db", port: 5432 });
  return c;
}

test("UDP and TCP share one port and answer A, SRV, NXDOMAIN", async () => {
  const { srv, port } = await start(catalog());
  try {
    assert.is(srv.address().tcp.port, port);
    const a = await udpQuery(port, "db.service.consul", "A");
    assert.is(a.rcode, "NOERROR");
    assert.ok(a.flag_aa);
    assert.is(a.id, 4242);
    assert.equal(a.answers.map((x) => x.type === "A" ? x.data : ""), ["10.1.0.1"]);
    assert.ok(a.flag_rd, "RD echoed");
    assert.not.ok(a.flag_ra);
    const t = await tcpQuery(port, "web.service.consul", "SRV");
    assert.is(t.answers.length, 20);
    assert.is(t.additionals.length, 20);
    const nx = await udpQuery(port, "Nope.Service.Consul", "A");
    assert.is(nx.rcode, "NXDOMAIN");
    assert.is(nx.authorities[0]?.type, "SOA");
    assert.is(nx.questions[0]?.name, "nope.service.consul", "question is canonicalised (lower case) as Consul does");
    const soa = nx.authorities[0];
    assert.ok(soa !== undefined && soa.type === "SOA" && soa.data.serial === 1_700_000_000);
    assert.is(srv.stats.udpInline, 2, "a UDP query arriving with nothing queued is answered on arrival");
  } finally {
    await srv.close();
  }
});

test("UDP: 3 answers without EDNS, TC only with enable_truncate; EDNS echoes OPT and allows more", async () => {
  const cat = catalog();
  const { srv, port } = await start(cat);
  const t = await start(cat, { config: dnsDefaults({ enableTruncate: true }) });
  try {
    const plain = await udpQuery(port, "web.service.consul", "A");
    assert.is(plain.answers.length, 3);
    assert.not.ok(plain.flag_tc);
    const tc = await udpQuery(t.port, "web.service.consul", "A");
    assert.is(tc.answers.length, 3);
    assert.ok(tc.flag_tc);
    const e = await udpQuery(port, "web.service.consul", "A", { edns: 1400 });
    assert.is(e.answers.length, 20);
    const opt = e.additionals.find((x) => x.type === "OPT");
    assert.ok(opt !== undefined && opt.type === "OPT" && opt.udpPayloadSize === 1400, "OPT echoes the client's size");
    const srvq = await udpQuery(t.port, "web.service.consul", "SRV");
    assert.is(srvq.answers.length, 3);
    assert.ok(srvq.flag_tc);
    assert.is(srvq.additionals.filter((x) => x.type === "A").length, 3);
  } finally {
    await srv.close();
    await t.srv.close();
  }
});

test("FORMERR for a readable header with a broken question; garbage and responses dropped; REFUSED with no question; NOTIMP opcode", async () => {
  const { srv, port } = await start(catalog());
  try {
    const bad = Buffer.from(query("db.service.consul", "A"));
    const broken = bad.subarray(0, 20); // header + a cut name
    const r = await udpAsk(port, broken);
    assert.ok(r !== null);
    assert.is(r.readUInt16BE(0), 4242);
    assert.is(r.readUInt16BE(2) & 0xf, 1, "FORMERR");
    assert.ok((r.readUInt16BE(2) & 0x8000) !== 0, "QR set");
    assert.is(await udpAsk(port, Buffer.from([1, 2, 3]), 300), null, "short garbage dropped");
    const resp = Buffer.from(bad);
    resp.writeUInt16BE(resp.readUInt16BE(2) | 0x8000, 2);
    assert.is(await udpAsk(port, resp, 300), null, "a response packet is never answered");
    const noq = Buffer.alloc(12);
    noq.writeUInt16BE(77, 0);
    const rq = await udpAsk(port, noq);
    assert.ok(rq !== null && (rq.readUInt16BE(2) & 0xf) === 5, "REFUSED");
    const op = Buffer.from(bad);
    op.writeUInt16BE((op.readUInt16BE(2) & ~0x7800) | (2 << 11), 2); // STATUS opcode
    const ro = await udpAsk(port, op);
    assert.ok(ro !== null && (ro.readUInt16BE(2) & 0xf) === 4, "NOTIMP");
    // still answering
    assert.is((await udpQuery(port, "db.service.consul", "A")).answers.length, 1);
  } finally {
    await srv.close();
  }
});

test("only the first question is answered", async () => {
  const { srv, port } = await start(catalog());
  try {
    const pkt = dnsPacket.encode({
      type: "query", id: 9, flags: 0,
      questions: [{ type: "A", name: "db.service.consul", class: "IN" }, { type: "A", name: "web.service.consul", class: "IN" }],
    });
    const r = await udpAsk(port, pkt);
    assert.ok(r !== null);
    const d = decode(r);
    assert.is(d.questions.length, 1);
    assert.equal(d.answers.map((x) => x.type === "A" ? x.data : ""), ["10.1.0.1"]);
  } finally {
    await srv.close();
  }
});

test("TCP: pipelined queries on one connection, all answered; bad frames close only that connection", async () => {
  const { srv, port } = await start(catalog());
  try {
    const qs = Array.from({ length: 300 }, (_, i) => query(i % 2 ? "db.service.consul" : "foo.node.consul", "A", { id: i }));
    const replies = await tcpAsk(port, qs);
    assert.is(replies.length, 300);
    const ids = new Set(replies.map((r) => r.readUInt16BE(0)));
    assert.is(ids.size, 300);
    const tiny = Buffer.from([0, 3, 1, 2, 3]); // a frame too short for a header
    const none = await tcpAsk(port, [tiny.subarray(2)], 1, 500).catch(() => []);
    assert.is(none.length, 0);
    assert.is((await tcpQuery(port, "db.service.consul", "A")).answers.length, 1);
  } finally {
    await srv.close();
  }
});

test("catalog change invalidates the cached answer", async () => {
  const cat = catalog();
  const { srv, port } = await start(cat);
  try {
    assert.is((await udpQuery(port, "db.service.consul", "A")).answers.length, 1);
    assert.is((await udpQuery(port, "db.service.consul", "A")).answers.length, 1);
    assert.ok(srv.cache.stats.hits >= 1);
    cat.addNode({ node: "bar", address: "10.1.0.2" });
    cat.addService({ node: "bar", service: "db", id: "db2", port: 5432 });
    assert.is((await udpQuery(port, "db.service.consul", "A")).answers.length, 2);
    cat.setCheck("bar", "c", "critical", "db2");
    assert.is((await udpQuery(port, "db.service.consul", "A")).answers.length, 1);
    assert.is((await udpQuery(port, "newsvc.service.consul", "A")).rcode, "NXDOMAIN");
    cat.addService({ node: "bar", service: "newsvc", port: 1 });
    assert.is((await udpQuery(port, "newsvc.service.consul", "A")).rcode, "NOERROR");
    cat.addNode({ node: "foo", address: "10.1.0.99", meta: {} });
    assert.equal((await udpQuery(port, "foo.node.consul", "A")).answers.map((x) => x.type === "A" ? x.data : ""), ["10.1.0.99"]);
  } finally {
    await srv.close();
  }
});

/** A fake upstream resolver answering every A query with 192.0.2.1 (or SERVFAIL). */
async function upstream(servfail = false): Promise<{ port: number; close(): Promise<void>; count(): number }> {
  const s = dgram.createSocket("udp4");
  let n = 0;
  s.on("message", (m, r) => {
    n++;
    const q = decode(m);
    const reply = dnsPacket.encode({
      type: "response", id: q.id, flags: dnsPacket.RECURSION_AVAILABLE | (servfail ? 2 : 0), questions: q.questions,
      answers: servfail ? [] : [{ type: "A", name: q.questions[0]!.name, ttl: 60, data: "192.0.2.1" }],
    });
    s.send(reply, r.port, r.address);
  });
  await new Promise<void>((r) => s.bind(0, "127.0.0.1", () => r()));
  return { port: s.address().port, count: () => n, close: () => new Promise((r) => s.close(() => r())) };
}

test("recursors: out-of-domain names forwarded; SERVFAIL (RA) when all fail; sequential tries the next", async () => {
  const good = await upstream();
  const bad = await upstream(true);
  const dead = dgram.createSocket("udp4");
  await new Promise<void>((r) => dead.bind(0, "127.0.0.1", () => r())); // never answers
  const deadPort = dead.address().port;
  const cat = catalog();
  const a = await start(cat, { recursors: [`127.0.0.1:${bad.port}`, `127.0.0.1:${good.port}`] });
  const b = await start(cat, { recursors: [`127.0.0.1:${deadPort}`], config: dnsDefaults({ recursorTimeoutMs: 200 }) });
  const c = await start(cat);
  try {
    const r = await udpQuery(a.port, "example.com", "A");
    assert.equal(r.answers.map((x) => x.type === "A" ? x.data : ""), ["192.0.2.1"]);
    assert.is(bad.count(), 1, "SERVFAIL from the first recursor moves on");
    const t = await tcpQuery(a.port, "example.com", "A");
    assert.equal(t.answers.map((x) => x.type === "A" ? x.data : ""), ["192.0.2.1"]);
    const own = await udpQuery(a.port, "db.service.consul", "A");
    assert.ok(own.flag_ra, "RA set when recursors are configured");
    const sf = await udpQuery(b.port, "example.com", "A");
    assert.is(sf.rcode, "SERVFAIL");
    assert.ok(sf.flag_ra);
    const refused = await udpQuery(c.port, "example.com", "A");
    assert.is(refused.rcode, "REFUSED");
    assert.not.ok(refused.flag_aa);
  } finally {
    await Promise.all([a.srv.close(), b.srv.close(), c.srv.close(), good.close(), bad.close()]);
    dead.close();
  }
});

// On Deno the storm case is skipped: measured here, Deno's node:dgram serves only ~2k qps
// under a 5k+ pps storm and an in-process client then receives no replies at all, so the
// test would measure Deno's socket layer, not the queue (reported as open work).
const stormTest = isDeno ? test.skip : test;
if (isDeno) console.log("dns server: storm fairness test SKIPPED on Deno (see comment in tests/dns/server.test.ts)");

stormTest("a UDP storm from another process does not starve a quiet client (fair queue, oldest dropped)", async () => {
  const cat = catalog();
  // a small on-arrival budget (0.02 ms per ms): the storm goes through the fair queue even when this
  // machine cannot send it faster than the server answers
  const { srv, port } = await start(cat, { udpQueue: { perSource: 64 }, udpInlineBudgetMs: 0.02 });
  const pkt = query("web.service.consul", "SRV", { edns: 4096 });
  const child = spawn("node", [path.join(here, "storm_child.mjs"), String(port), pkt.toString("hex"), "50"], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  let stormReplies = 0;
  child.stdout.on("data", (d: Buffer) => {
    const last = d.toString().trim().split("\n").pop();
    if (last !== undefined && last !== "") stormReplies = Number(last);
  });
  try {
    await new Promise((r) => setTimeout(r, 300)); // let the storm build up
    const lat: number[] = [];
    let answered = 0;
    for (let i = 0; i < 50; i++) {
      const t0 = performance.now();
      const r = await udpAsk(port, query("db.service.consul", "A", { id: i }), 1000);
      if (r !== null) {
        answered++;
        lat.push(performance.now() - t0);
      }
    }
    assert.ok(answered >= 45, `the quiet client got ${answered}/50 answers`);
    // On a busy 2-core machine the storm child may not outrun the server; the property under
    // test (the quiet client is answered promptly) is asserted either way.
    if (srv.queue.stats.droppedSourceFull === 0) console.log("dns storm: the server was not overloaded in this run");
    assert.ok(stormReplies > 0 || srv.stats.udpQueries > 100, "the storm is served too");
    // past the on-arrival budget the storm's queries went through the fair queue
    assert.ok(srv.stats.udpQueries - srv.stats.udpInline > 0, `queued ${srv.stats.udpQueries - srv.stats.udpInline} of ${srv.stats.udpQueries}`);
    lat.sort((x, y) => x - y);
    assert.ok(lat[Math.floor(lat.length / 2)]! < 100, `median latency ${lat[Math.floor(lat.length / 2)]} ms`);
  } finally {
    child.kill("SIGKILL");
    await srv.close();
  }
});

test("close() stops both listeners and is idempotent", async () => {
  const { srv, port } = await start(catalog());
  await srv.close();
  await srv.close();
  assert.is(await udpAsk(port, query("db.service.consul", "A"), 300), null);
});

test.run();
