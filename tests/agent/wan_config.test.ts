/**
 * agent/wan config: the WAN pool's flags and config keys reach the agent's options
 * (lifecycle agentOptions): -serf-wan-port / ports.serf_wan (default 8302, -1 off),
 * -serf-wan-bind, -advertise-wan, -join-wan and -retry-join-wan (both retry_join_wan),
 * start_join_wan (deprecated alias), -retry-interval-wan, -retry-max-wan, gossip_wan
 * (Consul's WAN preset; -dev's fast values), reconnect_timeout_wan, rejoin_after_leave.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadArgs } from "./config/load_args.ts";
import { agentOptions } from "../../src/agent/lifecycle.ts";

const load = loadArgs;

test("defaults: serf_wan 8302 and Consul's gossip_wan preset", async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "cairn-wancfg-"));
  try {
    const o = agentOptions(await load(["-server", "-data-dir", dir, "-bind", "127.0.0.1"]));
    assert.is(o.serfWanPort, 8302);
    assert.is(o.serfWanBindAddr, "127.0.0.1");
    assert.is(o.advertiseAddrWan, "127.0.0.1");
    assert.equal(o.retryJoinWan, []);
    assert.is(o.retryIntervalWanMs, 30_000);
    assert.is(o.retryMaxWan, 0);
    assert.is(o.reconnectTimeoutWanMs, 72 * 3600_000);
    assert.is(o.rejoinAfterLeave, false);
    assert.equal(o.gossipWan, { gossipNodes: 3, gossipIntervalMs: 500, probeIntervalMs: 5000, probeTimeoutMs: 3000, suspicionMult: 6, retransmitMult: 4 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("-dev: gossip_wan is Consul's dev timing; the WAN pool is on", async () => {
  const o = agentOptions(await load(["-dev"]));
  assert.is(o.serfWanPort, 8302);
  assert.equal(o.gossipWan, { gossipNodes: 3, gossipIntervalMs: 100, probeIntervalMs: 100, probeTimeoutMs: 100, suspicionMult: 3, retransmitMult: 4 });
});

test("flags and config keys of the WAN pool", async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "cairn-wancfg-"));
  try {
    const o = agentOptions(await load([
      "-server", "-data-dir", dir, "-bind", "127.0.0.1", "-serf-wan-port", "18302", "-serf-wan-bind", "127.0.0.2", "-advertise-wan", "192.0.2.7",
      "-join-wan", "10.0.0.1", "-retry-join-wan", "10.0.0.2:8302", "-retry-interval-wan", "5s", "-retry-max-wan", "4", "-rejoin",
    ]));
    assert.is(o.serfWanPort, 18302);
    assert.is(o.serfWanBindAddr, "127.0.0.2");
    assert.is(o.advertiseAddrWan, "192.0.2.7");
    assert.equal(o.retryJoinWan, ["10.0.0.1", "10.0.0.2:8302"]);
    assert.is(o.retryIntervalWanMs, 5000);
    assert.is(o.retryMaxWan, 4);
    assert.is(o.rejoinAfterLeave, true);

    const f = path.join(dir, "wan.json");
    writeFileSync(f, JSON.stringify({ start_join_wan: ["10.9.9.9"], ports: { serf_wan: -1 }, reconnect_timeout_wan: "9h", gossip_wan: { probe_interval: "2s" } }));
    const c = agentOptions(await load(["-server", "-data-dir", dir, "-bind", "127.0.0.1", "-config-file", f]));
    assert.is(c.serfWanPort, -1);
    assert.equal(c.retryJoinWan, ["10.9.9.9"]);
    assert.is(c.reconnectTimeoutWanMs, 9 * 3600_000);
    assert.is(c.gossipWan?.probeIntervalMs, 2000);
    assert.is(c.gossipWan?.probeTimeoutMs, 3000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
