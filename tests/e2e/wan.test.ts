/**
 * tests/e2e/wan: Consul's WAN pool between two datacenters on loopback. dc1 is a -dev
 * server (Consul's dev gossip_wan timing), dc2 a server with -bootstrap-expect 1, a data
 * dir and the default WAN preset, joining dc1 with -retry-join-wan. Each lists the other
 * in /v1/agent/members?wan=1 and `cairn members -wan` (names <node>.<dc>, Consul's server
 * tags), /v1/catalog/datacenters shows both (the local one first), /v1/coordinate/datacenters
 * carries WAN coordinates that `cairn rtt -wan` reads, `cairn join -wan` works on a server
 * and is refused on a client of dc1 (whose WAN member list is Consul's null; its catalog
 * reads go to dc1's server and list both datacenters), keyring operations cover the WAN pool
 * and persist its keyring, a server that leaves is shown `left` by the other datacenter, and a
 * second dc1 server that only joins dc1's LAN pool is flood-joined into the WAN pool.
 */

import { suite } from "../shared/suite.ts";
import * as assert from "uvu/assert";
import path from "node:path";
import { readFileSync } from "node:fs";
import dgram from "node:dgram";
import * as dnsPacket from "dns-packet";
import { removeDir, startAgent, tempDir, type AgentProc } from "./agent_proc.ts";
import { runCli, waitFor } from "./watch_helpers.ts";

interface Member { Name: string; Addr: string; Port: number; Tags: Record<string, string>; Status: number }

const t = suite("wan e2e");
let dir = "";
let dc1: AgentProc;
let dc2: AgentProc;
let client: AgentProc;
let dc1b: AgentProc | undefined;

async function getJson(a: AgentProc, p: string): Promise<unknown> {
  const r = await fetch(a.base + p);
  const body = await r.text();
  if (r.status !== 200) throw new Error(`${p}: ${r.status} ${body}`);
  return JSON.parse(body) as unknown;
}

async function wanMembers(a: AgentProc): Promise<Member[]> {
  return ((await getJson(a, "/v1/agent/members?wan=1")) as Member[] | null) ?? [];
}

const addr = (a: AgentProc): string => `127.0.0.1:${a.httpPort}`;

/** A records (and the rcode) for `name` from the agent's DNS port over UDP. */
function dnsA(port: number, name: string): Promise<{ rcode: string; ips: string[] }> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket("udp4");
    const timer = setTimeout(() => {
      s.close();
      reject(new Error("dns timeout"));
    }, 5000);
    s.on("message", (m) => {
      clearTimeout(timer);
      s.close();
      const d = dnsPacket.decode(m);
      const rcode = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN"][(d.flags ?? 0) & 0xf] ?? String((d.flags ?? 0) & 0xf);
      resolve({ rcode, ips: (d.answers ?? []).flatMap((x) => (x.type === "A" ? [String(x.data)] : [])) });
    });
    s.send(dnsPacket.encode({ type: "query", id: 9, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: "A", name }] }), port, "127.0.0.1");
  });
}
const KEY1 = "pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=";
const KEY2 = "HvY8ubRZMgafUOWvrOadwOckVa1wN3QWAo46FVKbVN8=";

t.before(async () => {
  dir = tempDir("cairn-wan-");
  dc1 = await startAgent({ args: ["-dev", "-node", "s1", "-datacenter", "dc1", "-encrypt", KEY1], serfWanPort: 0, serfLanPort: 0, serverPort: 0, dnsPort: 0, readyTimeoutMs: 45_000 });
  [dc2, client] = await Promise.all([
    startAgent({
      args: [
        "-server", "-bootstrap-expect", "1", "-data-dir", path.join(dir, "s2"), "-node", "s2", "-datacenter", "dc2",
        "-retry-join-wan", `127.0.0.1:${dc1.serfWanPort}`, "-retry-interval-wan", "1s", "-encrypt", KEY1,
      ],
      serfWanPort: 0,
      serfLanPort: 0,
      serverPort: 0,
      readyTimeoutMs: 45_000,
    }),
    // A client of dc1 (in dc1's LAN pool): -serf-wan-port is set, but clients never run a WAN pool.
    startAgent({
      args: ["-data-dir", path.join(dir, "c1"), "-node", "c1", "-datacenter", "dc1", "-encrypt", KEY1, "-retry-join", `127.0.0.1:${dc1.serfLanPort}`, "-retry-interval", "1s"],
      serfWanPort: 0,
      serfLanPort: 0,
      dnsPort: 0,
      readyTimeoutMs: 45_000,
    }),
  ]);
});

t.after(async () => {
  await Promise.all([dc1, dc2, client, dc1b].filter((a) => a !== undefined).map((a) => a.stop("SIGKILL", 2000)));
  removeDir(dir);
});

t("each datacenter lists the other's server in members -wan as <node>.<dc> with Consul's tags", async () => {
  for (const a of [dc1, dc2]) {
    await waitFor(async () => (await wanMembers(a)).filter((m) => m.Status === 1).length === 2, 15_000, `2 alive WAN members on ${a.base}`);
  }
  const ms = await wanMembers(dc1);
  assert.equal(ms.map((m) => m.Name), ["s1.dc1", "s2.dc2"]);
  const s2 = ms.find((m) => m.Name === "s2.dc2");
  assert.is(s2?.Port, dc2.serfWanPort);
  assert.is(s2?.Addr, "127.0.0.1");
  assert.is(s2?.Tags.role, "consul");
  assert.is(s2?.Tags.dc, "dc2");
  assert.is(s2?.Tags.bootstrap, "1"); // Consul: bootstrap_expect = 1 is bootstrap mode
  assert.is(s2?.Tags.vsn, "2");
  assert.is(s2?.Tags.raft_vsn, "3");
  assert.ok((s2?.Tags.port ?? "") !== "", "server port tag");
  assert.is(s2?.Tags.wan_join_port, undefined); // LAN-only tag
  // The LAN view is still the LAN pool (no WAN names there).
  const lan = (await getJson(dc1, "/v1/agent/members")) as Member[];
  assert.ok(lan.every((m) => !m.Name.includes(".")), JSON.stringify(lan));

  const out = await runCli(["members", "-wan", "-http-addr", addr(dc2)]);
  assert.is(out.code, 0, out.err);
  const lines = out.out.trim().split("\n");
  assert.is(lines.length, 3, out.out);
  assert.match(lines[0] ?? "", /^Node\s+Address\s+Status\s+Type\s+Build\s+Protocol\s+DC\s+Partition\s+Segment$/);
  assert.match(lines[1] ?? "", new RegExp(`^s1\\.dc1\\s+127\\.0\\.0\\.1:${dc1.serfWanPort}\\s+alive\\s+server\\s+\\S+\\s+2\\s+dc1\\s+default\\s+<all>$`));
  assert.match(lines[2] ?? "", new RegExp(`^s2\\.dc2\\s+127\\.0\\.0\\.1:${dc2.serfWanPort}\\s+alive\\s+server\\s+\\S+\\s+2\\s+dc2\\s+default\\s+<all>$`));
});

t("/v1/catalog/datacenters lists both datacenters on both, the local one first", async () => {
  await waitFor(async () => JSON.stringify(await getJson(dc1, "/v1/catalog/datacenters")) === '["dc1","dc2"]', 10_000, "dc1 sees dc2");
  await waitFor(async () => JSON.stringify(await getJson(dc2, "/v1/catalog/datacenters")) === '["dc2","dc1"]', 10_000, "dc2 sees dc1");
  const self = (await getJson(dc1, "/v1/agent/self")) as { Stats: { consul: { known_datacenters: string } } };
  assert.is(self.Stats.consul.known_datacenters, "2");
  // A client has no WAN pool; as Consul's client it asks a server of its dc.
  assert.equal(await getJson(client, "/v1/catalog/datacenters"), ["dc1", "dc2"]);
});

t("?dc=<other datacenter> is forwarded to a server of it over the WAN pool (from a server and through a client)", async () => {
  const put = await fetch(`${dc1.base}/v1/kv/wan/key?dc=dc2`, { method: "PUT", body: "from-dc1" });
  assert.is(put.status, 200, await put.clone().text());
  assert.is(await put.text(), "true");
  // It landed in dc2's store, not dc1's.
  assert.is(await (await fetch(`${dc2.base}/v1/kv/wan/key?raw`)).text(), "from-dc1");
  assert.is((await fetch(`${dc1.base}/v1/kv/wan/key`)).status, 404);
  const got = await fetch(`${dc1.base}/v1/kv/wan/key?dc=dc2&raw`);
  assert.is(got.status, 200);
  assert.is(await got.text(), "from-dc1");
  assert.ok((got.headers.get("x-consul-index") ?? "") !== "");
  // A client of dc1 asks its server, which forwards to dc2.
  const viaClient = await fetch(`${client.base}/v1/kv/wan/key?dc=dc2&raw`);
  assert.is(await viaClient.text(), "from-dc1");
  const nodes = (await getJson(dc1, "/v1/catalog/nodes?dc=dc2")) as { Node: string; Datacenter: string }[];
  assert.ok(nodes.some((n) => n.Node === "s2" && n.Datacenter === "dc2"), JSON.stringify(nodes));
  // DNS on dc1 for dc2 names is answered by dc2's server.
  const reg = await fetch(`${dc1.base}/v1/catalog/register?dc=dc2`, {
    method: "PUT",
    body: JSON.stringify({ Node: "web-node", Address: "10.2.0.9", Service: { Service: "web", Port: 80 } }),
  });
  assert.is(reg.status, 200, await reg.clone().text());
  assert.equal(await dnsA(dc1.dnsPort, "web.service.dc2.consul"), { rcode: "NOERROR", ips: ["10.2.0.9"] });
  assert.equal(await dnsA(dc1.dnsPort, "web-node.node.dc2.consul"), { rcode: "NOERROR", ips: ["10.2.0.9"] });
  assert.is((await dnsA(dc1.dnsPort, "web.service.consul")).rcode, "NXDOMAIN"); // not in dc1
  assert.is((await dnsA(dc1.dnsPort, "web.service.dc9.consul")).rcode, "NXDOMAIN");
  // The client's DNS asks its server, which asks dc2.
  assert.equal(await dnsA(client.dnsPort, "web.service.dc2.consul"), { rcode: "NOERROR", ips: ["10.2.0.9"] });
  // A datacenter nobody knows: Consul's text.
  const none = await fetch(`${dc1.base}/v1/kv/wan/key?dc=dc9`);
  assert.is(none.status, 500);
  assert.match(await none.text(), /No path to datacenter/);
});

t("/v1/coordinate/datacenters carries WAN coordinates (names without .<dc>) and cairn rtt -wan reads them", async () => {
  type Dc = { Datacenter: string; AreaID: string; Coordinates: { Node: string; Segment: string; Coord: { Vec: number[]; Error: number } }[] };
  let dcs: Dc[] = [];
  await waitFor(async () => {
    dcs = (await getJson(dc1, "/v1/coordinate/datacenters")) as Dc[];
    return dcs.length === 2 && dcs.every((d) => d.Coordinates.length === 1);
  }, 15_000, "dc1 has a WAN coordinate of s2");
  assert.equal(dcs.map((d) => [d.Datacenter, d.AreaID, d.Coordinates[0]?.Node]), [["dc1", "WAN", "s1"], ["dc2", "WAN", "s2"]]);
  assert.is(dcs[1]?.Coordinates[0]?.Coord.Vec.length, 8);
  const r = await runCli(["rtt", "-wan", "-http-addr", addr(dc1), "s1.dc1", "s2.dc2"]);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /^Estimated s1\.dc1 <-> s2\.dc2 rtt: \d+\.\d{3} ms \(using WAN coordinates\)/);
  // The second node defaults to this agent's <node>.<dc>.
  const r2 = await runCli(["rtt", "-wan", "-http-addr", addr(dc1), "s2.dc2"]);
  assert.is(r2.code, 0, r2.err);
  assert.match(r2.out, /^Estimated s2\.dc2 <-> s1\.dc1 rtt: /);
});

t("cairn join -wan works on a server; a client refuses WAN joins and has no WAN members, as Consul", async () => {
  const ok = await runCli(["join", "-wan", "-http-addr", addr(dc1), `127.0.0.1:${dc2.serfWanPort}`]);
  assert.is(ok.code, 0, ok.err);
  assert.match(ok.out, /Successfully joined cluster by contacting 1 nodes\./);

  const raw = await fetch(`${client.base}/v1/agent/members?wan=1`);
  assert.is(raw.status, 200);
  assert.is((await raw.text()).trim(), "null");
  const none = await runCli(["members", "-wan", "-http-addr", addr(client)]);
  assert.is(none.code, 2); // Consul: no matching members
  assert.is(none.out.trim(), "");
  const r = await fetch(`${client.base}/v1/agent/join/127.0.0.1:${dc1.serfWanPort}?wan=1`, { method: "PUT" });
  assert.is(r.status, 500);
  assert.match(await r.text(), /Must be a server to join WAN cluster/);
  const cj = await runCli(["join", "-wan", "-http-addr", addr(client), `127.0.0.1:${dc1.serfWanPort}`]);
  assert.is(cj.code, 1);
  assert.match(cj.err, /Must be a server to join WAN cluster/);
  // A segment does not apply to the WAN.
  const seg = await fetch(`${dc1.base}/v1/agent/members?wan=1&segment=alpha`);
  assert.is(seg.status, 400);
  assert.match(await seg.text(), /Cannot provide a segment with wan=true/);
});

t("keyring operations span the WAN pool (listed first), this LAN pool and the other datacenter's; the WAN keyring is persisted", async () => {
  const list = await runCli(["keyring", "-list", "-http-addr", addr(dc1)]);
  assert.is(list.code, 0, list.err);
  assert.ok(list.out.includes(`WAN:\n  ${KEY1} [2/2]\n\ndc1 (LAN):\n  ${KEY1} [2/2]`), list.out);
  const inst = await runCli(["keyring", "-install", KEY2, "-http-addr", addr(dc1)]);
  assert.is(inst.code, 0, inst.err);
  const file = readFileSync(path.join(dir, "s2", "serf", "remote.keyring"), "utf8");
  assert.ok(file.includes(KEY1) && file.includes(KEY2), file);
  const after = await runCli(["keyring", "-list", "-http-addr", addr(dc2)]);
  assert.is(after.code, 0, after.err);
  assert.match(after.out, /WAN:[^]*\[2\/2\][^]*\[2\/2\][^]*dc2 \(LAN\)/);
  // As Consul's globalRPC: the install reached the other datacenter's LAN pool through its server
  // (dc2's own LAN keyring file has the key), and a list from either side shows every pool.
  const lan2 = readFileSync(path.join(dir, "s2", "serf", "local.keyring"), "utf8");
  assert.ok(lan2.includes(KEY2), lan2);
  for (const a of [dc1, dc2]) {
    const l = await runCli(["keyring", "-list", "-http-addr", addr(a)]);
    assert.is(l.code, 0, l.err);
    assert.match(l.out, new RegExp(`dc1 \\(LAN\\):\\n(  .*\\n)*  ${KEY2.replace(/[+/]/g, "\\$&")} \\[2/2\\]`), l.out);
    assert.match(l.out, new RegExp(`dc2 \\(LAN\\):\\n(  .*\\n)*  ${KEY2.replace(/[+/]/g, "\\$&")} \\[1/1\\]`), l.out);
  }
  // The pools stay up on the installed key.
  assert.ok((await wanMembers(dc1)).every((m) => m.Status === 1));
});

t("a server that leaves is shown left in the other datacenter's WAN pool", async () => {
  const out = await runCli(["leave", "-http-addr", addr(dc2)]);
  assert.is(out.code, 0, out.err);
  await waitFor(async () => (await wanMembers(dc1)).find((m) => m.Name === "s2.dc2")?.Status === 3, 15_000, "s2.dc2 left on dc1");
  const code = await Promise.race([dc2.exited, new Promise<string>((r) => setTimeout(() => r("still running"), 15_000))]);
  assert.is(code, 0);
  const cli = await runCli(["members", "-wan", "-status", "left", "-http-addr", addr(dc1)]);
  assert.is(cli.code, 0, cli.err);
  assert.match(cli.out, /s2\.dc2\s+\S+\s+left\s+server/);
  // force-leave -prune -wan drops it from the WAN member list at once.
  const fl = await runCli(["force-leave", "-prune", "-wan", "-http-addr", addr(dc1), "s2.dc2"]);
  assert.is(fl.code, 0, fl.err);
  await waitFor(async () => !(await wanMembers(dc1)).some((m) => m.Name === "s2.dc2"), 10_000, "s2.dc2 pruned");
  const unknown = await runCli(["force-leave", "-wan", "-http-addr", addr(dc1), "nope.dc9"]);
  assert.is(unknown.code, 1);
  assert.match(unknown.err, /No node found with name 'nope\.dc9'/);
});

t("a second server of dc1 that only joins the LAN pool is flood-joined into the WAN pool", async () => {
  const b = await startAgent({
    args: ["-dev", "-node", "s1b", "-datacenter", "dc1", "-encrypt", KEY1, "-join", `127.0.0.1:${dc1.serfLanPort}`],
    serfWanPort: 0,
    serfLanPort: 0,
    readyTimeoutMs: 45_000,
  });
  dc1b = b;
  const lan = (await getJson(dc1, "/v1/agent/members")) as Member[];
  await waitFor(async () => ((await getJson(dc1, "/v1/agent/members")) as Member[]).some((m) => m.Name === "s1b" && m.Tags.wan_join_port === String(b.serfWanPort)), 10_000, `s1b in dc1's LAN pool with wan_join_port (had ${lan.length})`);
  for (const a of [dc1, b]) {
    await waitFor(async () => {
      const ms = await wanMembers(a);
      return ms.some((m) => m.Name === "s1.dc1" && m.Status === 1) && ms.some((m) => m.Name === "s1b.dc1" && m.Status === 1);
    }, 15_000, `s1.dc1 and s1b.dc1 alive in the WAN pool of ${a.base}`);
  }
  // (s2.dc2 left before s1b came: memberlist does not hand left members to a new joiner.)
  assert.equal((await wanMembers(b)).filter((m) => m.Status === 1).map((m) => m.Name), ["s1.dc1", "s1b.dc1"]);
});

t.run();
