/**
 * tests/e2e/gossip: three real agents (a server and two clients) on loopback in one LAN
 * gossip pool: members and roles on every agent and through `cairn members`, user events
 * crossing agents, a SIGKILLed client turning `failed` (serfHealth critical on the server,
 * its service out of ?passing and DNS), and `cairn leave` (member `left`, node deregistered).
 */

import { suite } from "../shared/suite.ts";
import * as assert from "uvu/assert";
import dgram from "node:dgram";
import path from "node:path";
import * as dnsPacket from "dns-packet";
import { removeDir, startAgent, tempDir, type AgentProc } from "./agent_proc.ts";
import { runCli, waitFor } from "./watch_helpers.ts";

const FAST_GOSSIP = 'gossip_lan { probe_interval = "200ms" probe_timeout = "100ms" gossip_interval = "100ms" suspicion_mult = 3 }';

interface Member { Name: string; Addr: string; Port: number; Tags: Record<string, string>; Status: number }

const t = suite("gossip e2e");
let dir = "";
let srv: AgentProc;
let c1: AgentProc;
let c2: AgentProc;

async function getJson(a: AgentProc, p: string): Promise<unknown> {
  const r = await fetch(a.base + p);
  const body = await r.text();
  if (r.status !== 200) throw new Error(`${p}: ${r.status} ${body}`);
  return JSON.parse(body) as unknown;
}

async function members(a: AgentProc): Promise<Member[]> {
  return (await getJson(a, "/v1/agent/members")) as Member[];
}

async function statusOf(a: AgentProc, node: string): Promise<number> {
  return (await members(a)).find((m) => m.Name === node)?.Status ?? 0;
}

function dnsA(port: number, name: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket("udp4");
    const timer = setTimeout(() => {
      s.close();
      reject(new Error("dns timeout"));
    }, 2000);
    s.on("message", (m) => {
      clearTimeout(timer);
      s.close();
      const d = dnsPacket.decode(m);
      resolve((d.answers ?? []).flatMap((x) => (x.type === "A" ? [String(x.data)] : [])));
    });
    s.send(dnsPacket.encode({ type: "query", id: 7, questions: [{ type: "A", name }] }), port, "127.0.0.1");
  });
}

t.before(async () => {
  dir = tempDir("cairn-gossip-");
  srv = await startAgent({
    args: ["-server", "-bootstrap-expect", "1", "-data-dir", path.join(dir, "srv"), "-node", "srv", "-hcl", FAST_GOSSIP],
    serfLanPort: 0,
    dnsPort: 0,
    serverPort: 0, // the clients forward to it (client agents)
  });
  const join = `127.0.0.1:${srv.serfLanPort}`;
  [c1, c2] = await Promise.all([
    startAgent({ args: ["-data-dir", path.join(dir, "c1"), "-node", "c1", "-join", join, "-hcl", FAST_GOSSIP], serfLanPort: 0 }),
    startAgent({
      args: ["-data-dir", path.join(dir, "c2"), "-node", "c2", "-retry-join", join, "-retry-interval", "1s", "-hcl", FAST_GOSSIP],
      serfLanPort: 0,
    }),
  ]);
});

t.after(async () => {
  await Promise.all([srv, c1, c2].filter((a) => a !== undefined).map((a) => a.stop("SIGKILL", 2000)));
  removeDir(dir);
});

t("every agent sees all three members alive with Consul's roles and tags; cairn members prints them", async () => {
  for (const a of [srv, c1, c2]) {
    await waitFor(async () => (await members(a)).filter((m) => m.Status === 1).length === 3, 10_000, `3 alive members on ${a.base}`);
  }
  const ms = await members(c1);
  const byName = new Map(ms.map((m) => [m.Name, m]));
  assert.is(byName.get("srv")?.Tags.role, "consul");
  assert.is(byName.get("srv")?.Tags.bootstrap, "1");
  assert.is(byName.get("srv")?.Tags.vsn, "2");
  assert.is(byName.get("c1")?.Tags.role, "node");
  assert.is(byName.get("c2")?.Tags.dc, "dc1");
  assert.is(byName.get("c2")?.Port, c2.serfLanPort);
  assert.is(byName.get("c2")?.Addr, "127.0.0.1");
  const raw = await (await fetch(`${c1.base}/v1/agent/members`)).text();
  assert.match(raw, /"ProtocolMin":1,"ProtocolMax":5,"ProtocolCur":2,"DelegateMin":2,"DelegateMax":5,"DelegateCur":4/);

  const out = await runCli(["members", "-http-addr", `127.0.0.1:${c2.httpPort}`]);
  assert.is(out.code, 0, out.err);
  const lines = out.out.trim().split("\n");
  assert.is(lines.length, 4, out.out);
  assert.match(lines[0] ?? "", /^Node\s+Address\s+Status\s+Type\s+Build\s+Protocol\s+DC\s+Partition\s+Segment$/);
  assert.match(lines[1] ?? "", new RegExp(`^srv\\s+127\\.0\\.0\\.1:${srv.serfLanPort}\\s+alive\\s+server\\s+\\S+\\s+2\\s+dc1\\s+default\\s+<all>$`));
  assert.match(lines[2] ?? "", /^c1\s+\S+\s+alive\s+client\s+\S+\s+2\s+dc1\s+default\s+<default>$/);
  const none = await runCli(["members", "-status", "failed", "-http-addr", `127.0.0.1:${c2.httpPort}`]);
  assert.is(none.code, 2);
  const detailed = await runCli(["members", "-detailed", "-http-addr", `127.0.0.1:${c2.httpPort}`]);
  assert.match(detailed.out, /^Node\s+Address\s+Status\s+Tags/);
  assert.match(detailed.out, /role=consul/);
  // The server reconciled the clients into its catalog with serfHealth passing.
  await waitFor(async () => {
    const checks = (await getJson(srv, "/v1/health/node/c1")) as { CheckID: string; Status: string; Output: string }[];
    return checks.some((c) => c.CheckID === "serfHealth" && c.Status === "passing" && c.Output === "Agent alive and reachable");
  }, 5000, "c1 serfHealth passing on the server");
});

t("join to an unknown WAN pool fails with Consul's text; an event fired on one client is listed on the other", async () => {
  const r = await fetch(`${c1.base}/v1/agent/join/127.0.0.1:1?wan=1`, { method: "PUT" });
  assert.is(r.status, 500);
  assert.match(await r.text(), /Must be a server to join WAN cluster/);
  const fired = await fetch(`${c1.base}/v1/event/fire/deploy?node=c`, { method: "PUT", body: "v42" });
  assert.is(fired.status, 200);
  const ev = (await fired.json()) as { ID: string };
  let got: { ID: string; Name: string; Payload: string; NodeFilter: string; LTime: number } | undefined;
  await waitFor(async () => {
    const list = (await getJson(c2, "/v1/event/list?name=deploy")) as (typeof got)[];
    got = list.find((e) => e?.ID === ev.ID);
    return got !== undefined;
  }, 5000, "event on c2");
  assert.is(got?.Name, "deploy");
  assert.is(Buffer.from(got?.Payload ?? "", "base64").toString(), "v42");
  assert.is(got?.NodeFilter, "c");
  assert.ok((got?.LTime ?? 0) > 0);
  // The server's node name "srv" does not match the node filter "c".
  const onSrv = (await getJson(srv, "/v1/event/list?name=deploy")) as unknown[];
  assert.is(onSrv.length, 0);
});

t("a SIGKILLed client turns failed: serfHealth critical, its service leaves ?passing and DNS", async () => {
  const reg = await fetch(`${srv.base}/v1/catalog/register`, {
    method: "PUT",
    body: JSON.stringify({ Node: "c1", Address: "127.0.0.1", Service: { Service: "web", Port: 8080 } }),
  });
  assert.is(reg.status, 200);
  assert.is(((await getJson(srv, "/v1/health/service/web?passing")) as unknown[]).length, 1);
  assert.equal(await dnsA(srv.dnsPort, "web.service.consul"), ["127.0.0.1"]);
  const t0 = Date.now();
  await c1.stop("SIGKILL", 2000);
  await waitFor(async () => (await statusOf(srv, "c1")) === 4 && (await statusOf(c2, "c1")) === 4, 10_000, "c1 failed");
  await waitFor(async () => {
    const checks = (await getJson(srv, "/v1/health/node/c1")) as { CheckID: string; Status: string; Output: string }[];
    return checks.some((c) => c.CheckID === "serfHealth" && c.Status === "critical" && c.Output === "Agent not live or unreachable");
  }, 3000, "serfHealth critical");
  assert.ok(Date.now() - t0 < 10_000);
  assert.is(((await getJson(srv, "/v1/health/service/web?passing")) as unknown[]).length, 0);
  assert.is(((await getJson(srv, "/v1/health/service/web")) as unknown[]).length, 1);
  assert.equal(await dnsA(srv.dnsPort, "web.service.consul"), []);
  const out = await runCli(["members", "-status", "failed", "-http-addr", `127.0.0.1:${srv.httpPort}`]);
  assert.is(out.code, 0, out.err);
  assert.match(out.out, /c1\s+\S+\s+failed\s+client/);
});

t("cairn leave: the client leaves gracefully and exits, shows as left, its node is deregistered", async () => {
  const out = await runCli(["leave", "-http-addr", `127.0.0.1:${c2.httpPort}`]);
  assert.is(out.code, 0, out.err);
  assert.is(out.out.trim(), "Graceful leave complete");
  const code = await Promise.race([c2.exited, new Promise((r) => setTimeout(() => r("still running"), 10_000))]);
  assert.is(code, 0);
  await waitFor(async () => (await statusOf(srv, "c2")) === 3, 5000, "c2 left");
  await waitFor(async () => (await getJson(srv, "/v1/catalog/node/c2")) === null, 5000, "c2 deregistered");
  const nodes = (await getJson(srv, "/v1/catalog/nodes")) as { Node: string }[];
  assert.not.ok(nodes.some((n) => n.Node === "c2"));
  // force-leave moves the failed c1 to left, and the server deregisters it too.
  const fl = await runCli(["force-leave", "-http-addr", `127.0.0.1:${srv.httpPort}`, "c1"]);
  assert.is(fl.code, 0, fl.err);
  await waitFor(async () => (await statusOf(srv, "c1")) === 3, 5000, "c1 left after force-leave");
  await waitFor(async () => (await getJson(srv, "/v1/catalog/node/c1")) === null, 5000, "c1 deregistered");
  const unknown = await fetch(`${srv.base}/v1/agent/force-leave/nope`, { method: "PUT" });
  assert.is(unknown.status, 500);
  assert.match(await unknown.text(), /No node found with name 'nope'/);
});

t.run();
