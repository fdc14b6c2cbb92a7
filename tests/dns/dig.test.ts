/**
 * tests/dns/dig: the server as `dig` (BIND 9) sees it over UDP and TCP. dig is installed
 * by tests/setup/ensure_packages.sh when missing; the tests skip with a message when
 * that is impossible.
 */

import { suite } from "../shared/suite.ts";
import * as assert from "uvu/assert";
import { execFile, execFileSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startDnsServer, type DnsServer } from "../../src/dns/index.ts";
import { FakeCatalog, populate } from "./fake_catalog.ts";
import { agentInfo, dnsDefaults } from "./helpers.ts";

const test = suite("dig");
const here = path.dirname(fileURLToPath(import.meta.url));

let haveDig = false;
try {
  execFileSync("sh", [path.join(here, "../setup/ensure_packages.sh")], { stdio: "ignore", timeout: 15_000 });
  haveDig = true;
} catch {
  console.log("dig tests SKIPPED: dig is not installed and tests/setup/ensure_packages.sh could not install dnsutils");
}

function dig(port: number, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("dig", ["@127.0.0.1", "-p", String(port), "+time=2", "+tries=1", ...args], { timeout: 10_000 }, (err, out) => {
      if (err) reject(err);
      else resolve(out);
    });
  });
}

let srv: DnsServer | null = null;
let port = 0;

test.before(async () => {
  if (!haveDig) return;
  const cat = new FakeCatalog();
  populate(cat, "web", 10);
  populate(cat, "big", 1000);
  cat.addNode({ node: "foo", address: "10.1.0.1", meta: { rack: "r1" } });
  cat.addService({ node: "foo", service: "db", port: 5432 });
  srv = await startDnsServer({ catalog: cat, agent: agentInfo(), config: dnsDefaults({ enableTruncate: true }), host: "127.0.0.1", port: 0 });
  port = srv.address().udp.port;
});

test.after(async () => {
  await srv?.close();
});

const run = haveDig ? test : test.skip;

run("dig A over UDP: flags qr aa, NOERROR", async () => {
  const out = await dig(port, "db.service.consul", "A");
  assert.match(out, /status: NOERROR/);
  assert.match(out, /flags: qr aa rd;/);
  assert.match(out, /db\.service\.consul\.\s+0\s+IN\s+A\s+10\.1\.0\.1/);
});

run("dig SRV +tcp: every instance with targets and glue", async () => {
  const out = await dig(port, "+tcp", "web.service.consul", "SRV");
  assert.is((out.match(/IN\s+SRV\s+1 1 8080 web-n\d+\.node\.dc1\.consul\./g) ?? []).length, 10);
  assert.is((out.match(/web-n\d+\.node\.dc1\.consul\.\s+0\s+IN\s+A/g) ?? []).length, 10);
});

run("dig +noedns over UDP sets TC with enable_truncate and +short still parses", async () => {
  const out = await dig(port, "+noedns", "+ignore", "web.service.consul", "A");
  assert.match(out, /flags: qr aa tc rd;/);
  assert.match(out, /ANSWER: 3,/);
});

run("dig NXDOMAIN with SOA, SOA and PTR", async () => {
  const nx = await dig(port, "nope.service.consul");
  assert.match(nx, /status: NXDOMAIN/);
  assert.match(nx, /consul\.\s+0\s+IN\s+SOA\s+ns\.consul\. hostmaster\.consul\. \d+ 3600 600 86400 0/);
  const ptr = await dig(port, "-x", "10.1.0.1");
  assert.match(ptr, /PTR\s+foo\.node\.dc1\.consul\./);
  const txt = await dig(port, "foo.node.consul", "TXT", "+short");
  assert.match(txt, /"rack=r1"/);
});

run("dig +tcp reads a ~64 KB answer: 1000 SRV trimmed to Consul's 65523-byte TCP limit", async () => {
  const out = await dig(port, "+tcp", "big.service.consul", "SRV");
  assert.match(out, /status: NOERROR/);
  const n = Number(/ANSWER: (\d+),/.exec(out)?.[1]);
  assert.ok(n > 700 && n < 1000, String(n));
  const size = Number(/MSG SIZE\s+rcvd: (\d+)/.exec(out)?.[1]);
  assert.ok(size <= 65535 && size > 60000, String(size));
});

test.run();
