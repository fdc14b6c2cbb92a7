/**
 * End to end: service discovery against a real dev agent process (HTTP and DNS on loopback)
 * with the tools users run — the npm `consul` client registers a service with a TTL check,
 * reads it back through the catalog and health endpoints (passing, filter), and `dig` (BIND 9)
 * resolves it (A and SRV) until it is deregistered, then gets NXDOMAIN. dig is installed by
 * tests/setup/ensure_packages.sh when missing; the dig tests skip with a message when that is
 * impossible.
 */

import { suite } from "../shared/suite.ts";
import * as assert from "uvu/assert";
import Consul from "consul";
import { execFile, execFileSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startAgent, type AgentProc } from "./agent_proc.ts";

const test = suite("discovery");
const here = path.dirname(fileURLToPath(import.meta.url));
const NODE = "disc-node";
const WAIT_MS = 10_000;

let haveDig = false;
try {
  execFileSync("sh", [path.join(here, "../setup/ensure_packages.sh"), "dig"], { stdio: "ignore", timeout: 120_000 });
  haveDig = true;
} catch {
  console.log("discovery dig tests SKIPPED: dig is not installed and tests/setup/ensure_packages.sh could not install dnsutils");
}

let agent: AgentProc;
let consul: Consul;

test.before(async () => {
  agent = await startAgent({ args: ["-dev", "-node", NODE], dnsPort: 0 });
  consul = new Consul({ host: "127.0.0.1", port: agent.httpPort });
});

test.after(async () => {
  await agent.stop();
});

function dig(...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("dig", ["@127.0.0.1", "-p", String(agent.dnsPort), "+time=2", "+tries=1", ...args], { timeout: 10_000 }, (err, out) => {
      if (err) reject(err);
      else resolve(out);
    });
  });
}

/** Poll `probe` until it returns a value (not undefined) or WAIT_MS passes. */
async function eventually<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  let last: unknown = undefined;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what}: not reached within ${WAIT_MS} ms${last === undefined ? "" : ` (last error: ${String(last)})`}`);
}

interface ServiceEntry {
  Node: { Node: string; Address: string };
  Service: { ID: string; Service: string; Port: number; Address: string; Tags: string[] | null };
  Checks: Array<{ CheckID: string; Status: string; ServiceID: string }>;
}
interface CatalogNode {
  Node: string;
  ServiceID: string;
  ServiceName: string;
  ServiceAddress: string;
  ServicePort: number;
  ServiceTags: string[];
}

const healthService = (opts: { passing?: boolean; filter?: string }): Promise<ServiceEntry[]> =>
  consul.health.service({ service: "web", ...opts }) as Promise<ServiceEntry[]>;

test("npm client: register with a TTL check, read via catalog and health, pass, deregister", async () => {
  await consul.agent.service.register({
    name: "web",
    id: "web-1",
    address: "127.0.0.1",
    port: 8080,
    tags: ["v1", "primary"],
    check: { name: "web ttl", checkid: "web-1-ttl", ttl: "30s", timeout: "1s" },
  });
  await consul.agent.service.register({ name: "web", id: "web-2", address: "127.0.0.2", port: 8081, tags: ["v2"] });

  const nodes = await eventually("catalog.service.nodes lists both instances", async () => {
    const r = (await consul.catalog.service.nodes("web")) as CatalogNode[];
    return r.length === 2 ? r : undefined;
  });
  const byId = new Map(nodes.map((n) => [n.ServiceID, n]));
  assert.is(byId.get("web-1")?.ServicePort, 8080);
  assert.is(byId.get("web-1")?.ServiceAddress, "127.0.0.1");
  assert.equal(byId.get("web-1")?.ServiceTags, ["v1", "primary"]);
  assert.is(byId.get("web-2")?.Node, NODE);
  const tagged = (await consul.catalog.service.nodes({ service: "web", tag: "v2" })) as CatalogNode[];
  assert.equal(tagged.map((n) => n.ServiceID), ["web-2"]);

  // web-1's TTL check starts critical: only web-2 (no checks beyond serfHealth) is passing.
  const all = await healthService({});
  assert.is(all.length, 2);
  const w1 = all.find((e) => e.Service.ID === "web-1");
  assert.ok(w1, "web-1 in health.service");
  assert.is(w1.Checks.find((c) => c.CheckID === "web-1-ttl")?.Status, "critical");
  assert.ok(w1.Checks.some((c) => c.CheckID === "serfHealth"), "node check included");
  assert.equal((await healthService({ passing: true })).map((e) => e.Service.ID), ["web-2"]);
  assert.equal((await healthService({ filter: `Service.Port == 8080` })).map((e) => e.Service.ID), ["web-1"]);
  assert.equal((await healthService({ filter: `"v2" in Service.Tags` })).map((e) => e.Service.ID), ["web-2"]);

  await consul.agent.check.pass("web-1-ttl");
  const passing = await eventually("both instances passing", async () => {
    const r = await healthService({ passing: true });
    return r.length === 2 ? r : undefined;
  });
  assert.equal(passing.map((e) => e.Service.ID).sort(), ["web-1", "web-2"]);
  assert.equal((await healthService({ passing: true, filter: `Service.ID == "web-1"` })).map((e) => e.Service.ID), ["web-1"]);

  await consul.agent.service.deregister("web-2");
  await eventually("web-2 gone from the catalog", async () => {
    const r = (await consul.catalog.service.nodes("web")) as CatalogNode[];
    return r.length === 1 && r[0]?.ServiceID === "web-1" ? true : undefined;
  });
  const services = (await consul.catalog.service.list()) as Record<string, string[]>;
  assert.ok("web" in services && "consul" in services, `catalog services: ${JSON.stringify(services)}`);
});

test("dig: A and SRV for the registered service, NXDOMAIN after deregistration", async () => {
  if (!haveDig) return;
  await consul.agent.service.register({
    name: "api",
    id: "api-1",
    address: "127.0.0.9",
    port: 9090,
    check: { name: "api ttl", checkid: "api-1-ttl", ttl: "30s", timeout: "1s" },
  });
  // As in Consul, a service whose only instance is critical is not found.
  await eventually("api registered", async () => (((await consul.catalog.service.nodes("api")) as unknown[]).length === 1 ? true : undefined));
  const before = await dig("api.service.consul", "A");
  assert.match(before, /status: NXDOMAIN/);

  await consul.agent.check.pass("api-1-ttl");
  const a = await eventually("A answer", async () => {
    const out = await dig("api.service.consul", "A");
    return /IN\s+A\s+127\.0\.0\.9/.test(out) ? out : undefined;
  });
  assert.match(a, /status: NOERROR/);
  assert.match(a, /flags: qr aa rd/);

  const srv = await dig("api.service.consul", "SRV");
  assert.match(srv, new RegExp(`IN\\s+SRV\\s+1\\s+1\\s+9090\\s+7f000009\\.addr\\.dc1\\.consul\\.`), srv);
  assert.match(srv, /7f000009\.addr\.dc1\.consul\.\s+\d+\s+IN\s+A\s+127\.0\.0\.9/, "glue A in the additional section");
  const rfc = await dig("_api._tcp.service.consul", "SRV");
  assert.match(rfc, /IN\s+SRV\s+1\s+1\s+9090\s/);
  const tcp = await dig("+tcp", "api.service.consul", "A");
  assert.match(tcp, /IN\s+A\s+127\.0\.0\.9/);
  const node = await dig(`${NODE}.node.consul`, "A");
  assert.match(node, /IN\s+A\s+127\.0\.0\.1/);

  await consul.agent.service.deregister("api-1");
  const gone = await eventually("NXDOMAIN after deregistration", async () => {
    const out = await dig("api.service.consul", "A");
    return /status: NXDOMAIN/.test(out) ? out : undefined;
  });
  assert.match(gone, /SOA/, "negative answer carries the SOA");
  assert.match(await dig("api.service.consul", "SRV"), /status: NXDOMAIN/);
});

test.run();
