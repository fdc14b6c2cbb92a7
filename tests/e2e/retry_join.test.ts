/**
 * End to end: -retry-join / -retry-join-wan with -retry-max / -retry-max-wan against an address
 * where nobody listens. As Consul does, once the attempts are exhausted the agent logs
 * "max join retry exhausted, exiting", shuts down and exits with code 1; with no retry_max
 * (0) it keeps retrying and keeps running.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { freePort, startAgent, type AgentProc } from "./agent_proc.ts";

async function exitWithin(a: AgentProc, ms: number): Promise<number | string | "running"> {
  return await Promise.race([a.exited, new Promise<"running">((r) => setTimeout(() => r("running"), ms))]);
}

test("LAN: -retry-max 2 against a dead address: the agent exits 1 after the second attempt", async () => {
  const dead = await freePort();
  const a = await startAgent({
    args: ["-dev", "-retry-join", `127.0.0.1:${dead}`, "-retry-max", "2", "-retry-interval", "500ms"],
    serfLanPort: 0,
  });
  try {
    const code = await exitWithin(a, 15_000);
    assert.is(code, 1, a.output());
    assert.match(a.output(), /Joining cluster\.\.\. \(attempt 2\)/);
    assert.match(a.output(), /max join retry exhausted, exiting/);
  } finally {
    await a.stop("SIGKILL", 2000);
  }
});

test("WAN: -retry-max-wan 2 against a dead address: the server exits 1", async () => {
  const dead = await freePort();
  const a = await startAgent({
    args: ["-dev", "-retry-join-wan", `127.0.0.1:${dead}`, "-retry-max-wan", "2", "-retry-interval-wan", "500ms"],
    serfLanPort: 0,
    serfWanPort: 0,
  });
  try {
    const code = await exitWithin(a, 15_000);
    assert.is(code, 1, a.output());
    assert.match(a.output(), /max join -wan retry exhausted, exiting/);
  } finally {
    await a.stop("SIGKILL", 2000);
  }
});

test("no -retry-max: the agent keeps retrying and keeps serving", async () => {
  const dead = await freePort();
  const a = await startAgent({
    args: ["-dev", "-retry-join", `127.0.0.1:${dead}`, "-retry-interval", "300ms"],
    serfLanPort: 0,
  });
  try {
    assert.is(await exitWithin(a, 2500), "running", a.output());
    assert.match(a.output(), /Joining cluster\.\.\. \(attempt [3-9]\)/);
    const r = await fetch(`${a.base}/v1/status/leader`);
    assert.is(r.status, 200);
    await r.text();
  } finally {
    assert.is(await a.stop("SIGTERM"), 0);
  }
});

test.run();
