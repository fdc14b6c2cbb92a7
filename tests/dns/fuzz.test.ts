/**
 * tests/dns/fuzz: 5,000 seeded random, truncated and bit-flipped packets at the UDP
 * and TCP server; it must keep running and still answer a valid query afterwards.
 */

import { test } from "uvu";
import * as assert from "uvu/assert";
import dgram from "node:dgram";
import net from "node:net";
import { parseQuery } from "../../src/dns/wire.ts";
import { startDnsServer } from "../../src/dns/index.ts";
import { FakeCatalog, populate, seeded } from "./fake_catalog.ts";
import { agentInfo, dnsDefaults, query, tcpQuery, udpQuery } from "./helpers.ts";

const N = 5000;

function packets(seed: number): Buffer[] {
  const rng = seeded(seed);
  const valid = [
    query("web.service.consul", "A"), query("web.service.consul", "SRV", { edns: 4096 }), query("foo.node.consul", "ANY"),
    query("1.0.0.10.in-addr.arpa", "PTR"), query("example.com", "A"), query("consul", "SOA"),
  ];
  const out: Buffer[] = [];
  for (let i = 0; i < N; i++) {
    const kind = i % 4;
    const base = valid[Math.floor(rng() * valid.length)]!;
    let p: Buffer;
    if (kind === 0) {
      p = Buffer.alloc(Math.floor(rng() * 80));
      for (let j = 0; j < p.length; j++) p[j] = Math.floor(rng() * 256);
    } else if (kind === 1) {
      p = Buffer.from(base.subarray(0, Math.floor(rng() * base.length)));
    } else if (kind === 2) {
      p = Buffer.from(base);
      for (let f = 0; f < 1 + Math.floor(rng() * 6); f++) p[Math.floor(rng() * p.length)]! ^= 1 << Math.floor(rng() * 8);
      p[2]! &= 0x7f; // keep it a query so it reaches the parser's deeper paths
    } else {
      p = Buffer.from(base);
      // compression loops and huge counts
      p.writeUInt16BE(Math.floor(rng() * 65536), 4 + 2 * Math.floor(rng() * 4));
      if (rng() < 0.5 && p.length > 14) {
        p[12] = 0xc0;
        p[13] = 12;
      }
    }
    out.push(p);
  }
  return out;
}

test("parseQuery never throws on random input", () => {
  let n = 0;
  for (const p of packets(1)) {
    parseQuery(p);
    n++;
  }
  assert.is(n, N);
});

test("UDP and TCP servers survive 5,000 bad packets and still answer", async () => {
  const cat = new FakeCatalog();
  populate(cat, "web", 30);
  cat.addNode({ node: "foo", address: "10.0.0.1", meta: { a: "b" } });
  const srv = await startDnsServer({ catalog: cat, agent: agentInfo(), config: dnsDefaults(), host: "127.0.0.1", port: 0 });
  const port = srv.address().udp.port;
  try {
    const u = dgram.createSocket("udp4");
    await new Promise<void>((r) => u.bind(0, "127.0.0.1", () => r()));
    const ps = packets(2);
    for (let i = 0; i < ps.length; i++) {
      if (ps[i]!.length > 0) u.send(ps[i]!, port, "127.0.0.1");
      if (i % 100 === 0) await new Promise((r) => setTimeout(r, 1));
    }
    u.close();
    // TCP: the same packets, framed, over a handful of connections (bad frames may close a connection)
    const tps = packets(3);
    for (let c = 0; c < 10; c++) {
      await new Promise<void>((resolve) => {
        const s = net.connect(port, "127.0.0.1", () => {
          for (let i = c * 500; i < (c + 1) * 500; i++) {
            const p = tps[i]!;
            const len = Buffer.alloc(2);
            len.writeUInt16BE(c === 9 && i % 50 === 0 ? 65535 : p.length); // some lying lengths
            s.write(Buffer.concat([len, p]));
          }
          s.end();
        });
        s.on("data", () => undefined);
        s.on("error", () => resolve());
        s.on("close", () => resolve());
        setTimeout(() => {
          s.destroy();
          resolve();
        }, 2000);
      });
    }
    const a = await udpQuery(port, "web.service.consul", "A");
    assert.is(a.rcode, "NOERROR");
    assert.is(a.answers.length, 3);
    const t = await tcpQuery(port, "web.service.consul", "SRV");
    assert.is(t.answers.length, 30);
    assert.ok(srv.stats.formerr > 0 && srv.stats.dropped > 0);
  } finally {
    await srv.close();
  }
});

test.run();
