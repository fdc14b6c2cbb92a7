import { test } from "uvu";
import * as assert from "uvu/assert";
import { startLocalHarness, waitFor } from "./agent_local_helpers.ts";
import { tcpServer } from "../checks/servers.ts";
import { request } from "./helpers.ts";

/** p99 of `n` sequential GETs (ms). */
async function p99(port: number, path: string, n: number): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const r = await request(port, path);
    xs.push(performance.now() - t0);
    assert.is(r.status, 200);
  }
  xs.sort((a, b) => a - b);
  return xs[Math.floor(n * 0.99)]!;
}

test("a thousand interval checks on one agent leave HTTP latency alone (checks run in the worker pool)", async () => {
  const h = await startLocalHarness();
  const srv = await tcpServer();
  try {
    const base = await p99(h.port, "/v1/agent/self", 200);
    for (let i = 0; i < 1000; i++) {
      const r = await h.put("/v1/agent/check/register", { ID: `c${i}`, Name: `c${i}`, TCP: `127.0.0.1:${srv.port}`, Interval: "1s" });
      assert.is(r.status, 200);
    }
    assert.ok(await waitFor(() => h.local.checks().every((c) => c.status === "passing"), 10_000), "all checks ran");
    const loaded = await p99(h.port, "/v1/agent/self", 200);
    // Generous bound for a shared 2-core VM: the check load must not add more than 50 ms at p99.
    assert.ok(loaded < base + 50, `p99 ${loaded.toFixed(1)} ms with 1000 checks vs ${base.toFixed(1)} ms without`);
  } finally {
    await h.close();
    await srv.close();
  }
});

test.run();
