/**
 * e2e: network coordinates against a real agent: seed coordinates through
 * PUT /v1/coordinate/update, read them back, `near=_agent` sorting, and
 * `cairn rtt` output (LAN, default second node, -wan, unknown node).
 */
import { spawnSync } from "node:child_process";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ROOT, cairnCommand, freePort, startAgent, type AgentProc } from "./agent_proc.ts";

function cli(args: string[], httpPort: number): { code: number | null; stdout: string; stderr: string } {
  const { cmd, args: pre } = cairnCommand();
  const r = spawnSync(cmd, [...pre, ...args], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 20_000,
    env: { ...process.env, CONSUL_HTTP_ADDR: `127.0.0.1:${httpPort}`, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
  });
  return { code: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

async function call(a: AgentProc, method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  const init: RequestInit = { method };
  if (body !== undefined) init.body = JSON.stringify(body);
  const r = await fetch(a.base + path, init);
  return { status: r.status, text: await r.text() };
}

const coord = (x: number, h = 0.00001) => ({ Vec: [x, 0, 0, 0, 0, 0, 0, 0], Error: 0.2, Adjustment: 0, Height: h });

test("seeded coordinates: read back, near=_agent, cairn rtt", async () => {
  const httpPort = await freePort();
  let a: AgentProc | undefined;
  try {
    a = await startAgent({ args: ["-dev"], httpPort });
    const self = JSON.parse((await call(a, "GET", "/v1/agent/self")).text) as { Config: { NodeName: string } };
    const me = self.Config.NodeName;
    for (const n of ["far", "near1"]) {
      assert.is((await call(a, "PUT", "/v1/catalog/register", { Node: n, Address: "127.0.0.2" })).status, 200);
    }
    // me at the origin; near1 at 1.5 ms; far at 12.345 ms (heights 10 us each).
    for (const [n, x] of [[me, 0], ["near1", 0.0015], ["far", 0.012345]] as const) {
      const r = await call(a, "PUT", "/v1/coordinate/update", { Node: n, Segment: "", Coord: coord(x) });
      assert.is(r.status, 200, r.text);
    }
    const rows = JSON.parse((await call(a, "GET", "/v1/coordinate/nodes")).text) as { Node: string }[];
    assert.equal(rows.map((r) => r.Node).sort(), [me, "far", "near1"].sort());
    const sorted = JSON.parse((await call(a, "GET", "/v1/catalog/nodes?near=_agent")).text) as { Node: string }[];
    assert.equal(sorted.map((r) => r.Node), [me, "near1", "far"]);

    // 12.345 ms + 2 x 0.01 ms heights.
    const r1 = cli(["rtt", "far"], httpPort);
    assert.is(r1.code, 0, r1.stderr);
    assert.is(r1.stdout.trim(), `Estimated far <-> ${me} rtt: 12.365 ms (using LAN coordinates)`);
    const r2 = cli(["rtt", "near1", "far"], httpPort);
    assert.is(r2.stdout.trim(), "Estimated near1 <-> far rtt: 10.865 ms (using LAN coordinates)");
    const r3 = cli(["rtt", "nope", "far"], httpPort);
    assert.is(r3.code, 1);
    assert.match(r3.stderr, /Could not find a coordinate for node "nope"/);
    const r4 = cli(["rtt"], httpPort);
    assert.is(r4.code, 1);
    assert.match(r4.stderr, /One or two node names must be specified/);
    // -wan: this server's coordinate in its datacenter (the same coordinate twice: 2 heights).
    const r5 = cli(["rtt", "-wan", `${me}.dc1`], httpPort);
    assert.is(r5.code, 0, r5.stderr);
    assert.is(r5.stdout.trim(), `Estimated ${me}.dc1 <-> ${me}.dc1 rtt: 0.020 ms (using WAN coordinates)`);
    const r6 = cli(["rtt", "-wan", "x"], httpPort);
    assert.is(r6.code, 1);
    assert.match(r6.stderr, /Node names must be specified as <node name>.<datacenter> with -wan/);
  } finally {
    if (a !== undefined) await a.stop("SIGKILL");
  }
});

test.run();
