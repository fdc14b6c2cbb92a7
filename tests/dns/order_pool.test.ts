/**
 * tests/dns/order_pool: large answers (TCP, big EDNS payloads) served from pre-assembled random
 * orders — every instance exactly once per reply, per-query ids and flags, orders that differ
 * between queries and keep changing as slots are rebuilt, Consul's 64 KiB TCP bound, EDNS echo,
 * a fresh pool after a catalog change, a random first record on every query (the rotation of
 * slots that carry every instance), and TCP replies that back up behind a reader that stops
 * reading (the server stops taking frames, then answers them all). Over real UDP and TCP
 * sockets on 127.0.0.1.
 */

import net from "node:net";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { startDnsServer, type DnsServer } from "../../src/dns/index.ts";
import { DNS_ORDER_POOL_SIZE } from "../../src/shared/limits.ts";
import { FakeCatalog, populate } from "./fake_catalog.ts";
import { agentInfo, decode, dnsDefaults, query, seeded, tcpAsk, udpAsk, type Decoded } from "./helpers.ts";

const test = suite("dns order pool");

async function start(cat: FakeCatalog): Promise<{ srv: DnsServer; port: number }> {
  const srv = await startDnsServer({
    catalog: cat, agent: agentInfo(), config: dnsDefaults(), host: "127.0.0.1", port: 0, rng: seeded(7), nowMs: () => 1_700_000_000_000,
  });
  return { srv, port: srv.address().udp.port };
}

/** Runs `fn` against a DNS server over a catalog with `n` instances of `service`; closes the server after. */
async function withServer(service: string, n: number, fn: (port: number, cat: FakeCatalog) => Promise<void>): Promise<void> {
  const cat = new FakeCatalog();
  populate(cat, service, n);
  const { srv, port } = await start(cat);
  try {
    await fn(port, cat);
  } finally {
    await srv.close();
  }
}

const ips = (d: Decoded): string[] => d.answers.map((a) => (a.type === "A" ? a.data : ""));

async function tcpMany(port: number, name: string, type: "A" | "SRV", n: number): Promise<Decoded[]> {
  const packets = Array.from({ length: n }, (_, i) => query(name, type, { id: 1000 + i }));
  const replies = await tcpAsk(port, packets, n, 10_000);
  assert.is(replies.length, n, "every pipelined TCP query answered");
  return replies.map(decode);
}

test("TCP A with 100 instances: each reply has every instance once, its own id, and orders differ", async () => {
  await withServer("web", 100, async (port) => {
    const all = (await tcpMany(port, "web.service.consul", "A", 64));
    const expected = [...ips(all[0]!)].sort();
    assert.is(expected.length, 100);
    assert.is(new Set(expected).size, 100);
    const orders = new Set<string>();
    all.forEach((d, i) => {
      assert.is(d.id, 1000 + i);
      assert.is(d.rcode, "NOERROR");
      assert.ok(d.flag_aa);
      assert.ok(d.flag_rd, "RD echoed");
      assert.not.ok(d.flag_tc);
      assert.equal([...ips(d)].sort(), expected);
      assert.is(d.questions[0]?.name, "web.service.consul");
      orders.add(ips(d).join(","));
    });
    assert.ok(orders.size >= 3, `only ${orders.size} distinct orders over 64 replies`);
  });
});

test("orders keep changing: slots are re-shuffled after their reuse count", async () => {
  await withServer("web", 40, async (port) => {
    const orders = new Set<string>();
    for (let round = 0; round < 4; round++) {
      for (const d of await tcpMany(port, "web.service.consul", "A", 64)) orders.add(ips(d).join(","));
    }
    assert.ok(orders.size > DNS_ORDER_POOL_SIZE, `${orders.size} distinct orders over 256 replies (pool of ${DNS_ORDER_POOL_SIZE})`);
  });
});

test("TCP SRV with 1000 instances stays within Consul's 64 KiB bound, each answer with its node's A record", async () => {
  await withServer("big", 1000, async (port) => {
    const packets = [query("big.service.consul", "SRV", { id: 1 }), query("big.service.consul", "SRV", { id: 2 })];
    const raw = await tcpAsk(port, packets, 2, 10_000);
    assert.is(raw.length, 2);
    for (const [i, r] of raw.entries()) {
      assert.ok(r.length <= 65535, `reply of ${r.length} bytes`);
      const d = decode(r);
      assert.is(d.id, i + 1);
      assert.ok(d.answers.length > 100 && d.answers.length < 1000, `${d.answers.length} answers`);
      const targets = new Set(d.answers.map((a) => (a.type === "SRV" ? a.data.target : "")));
      assert.is(targets.size, d.answers.length, "no instance twice");
      const extra = new Set(d.additionals.filter((a) => a.type === "A").map((a) => a.name));
      for (const t of targets) assert.ok(extra.has(t), `A record for ${t}`);
    }
  });
});

test("EDNS UDP with a 4096-byte payload: as many instances as fit, OPT echoed; plain UDP keeps its three", async () => {
  await withServer("web", 1000, async (port) => {
    const r = await udpAsk(port, query("web.service.consul", "A", { id: 77, edns: 4096 }));
    assert.ok(r !== null);
    assert.ok(r.length <= 4096, `reply of ${r.length} bytes`);
    const d = decode(r);
    assert.is(d.id, 77);
    assert.ok(d.answers.length > 100, `${d.answers.length} answers`);
    assert.is(new Set(ips(d)).size, d.answers.length);
    const opt = d.additionals.find((a) => a.type === "OPT");
    assert.ok(opt !== undefined, "OPT echoed");
    const plain = await udpAsk(port, query("web.service.consul", "A", { id: 78 }));
    assert.ok(plain !== null);
    assert.is(decode(plain).answers.length, 3);
  });
});

test("a catalog change is seen at once: the pool belongs to the answer it was built from", async () => {
  await withServer("web", 30, async (port, cat) => {
    const before = await tcpMany(port, "web.service.consul", "A", 20);
    assert.ok(before.every((d) => d.answers.length === 30));
    cat.addNode({ node: "late", address: "10.9.9.9" });
    cat.addService({ node: "late", service: "web", port: 8080, id: "web-late" });
    cat.setCheck("late", "serfHealth", "passing");
    const after = await tcpMany(port, "web.service.consul", "A", 20);
    for (const d of after) {
      assert.is(d.answers.length, 31);
      assert.ok(ips(d).includes("10.9.9.9"));
    }
  });
});

test("every instance leads some reply: each query starts the answer section at a random record", async () => {
  await withServer("web", 20, async (port) => {
    const replies = await tcpMany(port, "web.service.consul", "A", 300);
    const first = new Map<string, number>();
    for (const d of replies) {
      assert.is(d.answers.length, 20);
      const lead = ips(d)[0] ?? "";
      first.set(lead, (first.get(lead) ?? 0) + 1);
    }
    assert.is(first.size, 20, `instances that led a reply: ${first.size} of 20`);
    // 300 draws over 20 instances: 15 each on average; none near half of all replies.
    for (const [ip, n] of first) assert.ok(n < 60, `${ip} led ${n} of 300 replies`);
  });
});

test("a reader that stops reading: 16 KB replies back up, and all 300 arrive in order once it reads again", async () => {
  const n = 300; // ~4.8 MB of replies: well past the server's 1 MiB write bound
  await withServer("big", 1000, async (port) => {
    const ids = await new Promise<number[]>((resolve, reject) => {
      const sock = net.connect(port, "127.0.0.1");
      const got: number[] = [];
      let buf: Buffer = Buffer.alloc(0);
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new Error(`only ${got.length} of ${n} replies`));
      }, 15_000);
      sock.on("connect", () => {
        sock.pause(); // read nothing for a while
        const frames = Array.from({ length: n }, (_, i) => {
          const q = query("big.service.consul", "A", { id: i + 1 });
          const len = Buffer.alloc(2);
          len.writeUInt16BE(q.length);
          return Buffer.concat([len, q]);
        });
        sock.write(Buffer.concat(frames));
        setTimeout(() => sock.resume(), 500);
      });
      sock.on("data", (d: Buffer) => {
        buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          const len = buf.readUInt16BE(0);
          const r = decode(buf.subarray(2, 2 + len));
          assert.is(r.answers.length, 1000);
          got.push(r.id);
          buf = buf.subarray(2 + len);
        }
        if (got.length === n) {
          clearTimeout(timer);
          sock.destroy();
          resolve(got);
        }
      });
      sock.on("error", reject);
      sock.on("close", () => {
        if (got.length < n) reject(new Error(`closed after ${got.length} of ${n} replies`));
      });
    });
    assert.equal(ids, Array.from({ length: n }, (_, i) => i + 1));
  });
});

test.run();
