/**
 * agent/wan interop: cairn's WAN pool (startWan, in its gossip worker) with mlpeer (HashiCorp
 * memberlist 0.2.2 + serf 0.9.4 built offline by tests/setup/ensure_mlpeer.sh) in serf mode
 * on memberlist's DefaultWANConfig (-profile wan), standing in for a Consul server of dc9
 * (name s9.dc9, Consul's server tags), with and without a gossip key: both see each other
 * alive with the right tags, cairn lists dc9 among its datacenters and gets its WAN
 * coordinate, and mlpeer's graceful leave is seen as `left`. Probe intervals are shortened
 * on both sides (the WAN preset's 5 s probes would make the test slow); everything else is
 * the WAN preset. Skips with a clear message only when mlpeer cannot be built.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { startWan, type WanOptions, type WanPool } from "../../src/agent/wan.ts";
import { wanConfig } from "../../src/gossip/index.ts";
import { ensureMlpeer, MlPeer, serfMembers } from "../gossip/interop_mlpeer.ts";

const KEY = "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI=";
const ML_TAGS = "role=consul,dc=dc9,port=8300,vsn=2,vsn_min=2,vsn_max=3,raft_vsn=3,bootstrap=1,segment=,id=9f9f9f9f-0000-4000-8000-000000000009,build=1.17.0";

const built = ensureMlpeer();
const bin = "bin" in built ? built.bin : "";
if ("skip" in built) console.log(`SKIP WAN interop tests: ${built.skip}`);
const run = "bin" in built ? test : test.skip;

function opts(encrypt: string): WanOptions {
  const w = wanConfig();
  return {
    nodeName: "s1", nodeId: "0b8e4f5a-0000-4000-8000-000000000001", datacenter: "dc1", bootstrap: true, bootstrapExpect: 0,
    serverPort: 8300, build: "1.21.5:cairn", bindAddr: "127.0.0.1", advertiseAddr: "127.0.0.1", port: 0, dev: false, encrypt,
    retryJoin: [], retryIntervalMs: 1000, retryMax: 0,
    tuning: { gossipNodes: w.gossipNodes, gossipIntervalMs: w.gossipIntervalMs, probeIntervalMs: 300, probeTimeoutMs: 200, suspicionMult: w.suspicionMult, retransmitMult: w.retransmitMult },
  };
}

async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function pair(encrypt: string, cairnJoins: boolean): Promise<void> {
  let pool: WanPool | undefined;
  let ml: MlPeer | undefined;
  try {
    pool = await startWan(opts(encrypt), { log: () => {} });
    const p = pool;
    const args = ["-serf", "-profile", "wan", "-tags", ML_TAGS, "-probe-interval", "300ms", "-probe-timeout", "200ms"];
    if (encrypt !== "") args.push("-key", encrypt);
    if (!cairnJoins) args.push("-join", `127.0.0.1:${p.port}`);
    ml = await MlPeer.start(bin, "s9.dc9", args);
    if (cairnJoins) assert.is(await p.join([`127.0.0.1:${ml.port}`]), 1);
    await until(() => p.members().some((m) => m.name === "s9.dc9" && m.status === 1), 10_000, "s9.dc9 alive in cairn's WAN pool");
    const seen = p.members().find((m) => m.name === "s9.dc9");
    assert.is(seen?.tags.role, "consul");
    assert.is(seen?.tags.dc, "dc9");
    assert.is(seen?.port, ml.port);
    const j = await ml.waitFor(ml.serfEvent("member-join", "s1.dc1"), 10_000, "serf member-join of s1.dc1");
    const me = serfMembers(j.e).find((m) => m.name === "s1.dc1");
    assert.is(me?.tags.role, "consul");
    assert.is(me?.tags.dc, "dc1");
    assert.is(me?.tags.port, "8300");
    assert.is(me?.tags.wan_join_port, undefined);

    // dc9 is a datacenter now; its coordinate arrives in mlpeer's acks (serf's ping delegate).
    assert.equal((await p.datacenters()).slice().sort(), ["dc1", "dc9"]);
    await until(async () => (await p.coordinates()).some((d) => d.datacenter === "dc9" && d.coordinates[0]?.node === "s9"), 10_000, "dc9 WAN coordinate");
    assert.equal(await p.datacenters(), ["dc1", "dc9"]);

    // mlpeer's graceful leave (SIGTERM: serf Leave) is `left`, not `failed`.
    await ml.stop("SIGTERM");
    await until(() => p.members().find((m) => m.name === "s9.dc9")?.status === 3, 10_000, "s9.dc9 left");
  } finally {
    await ml?.stop("SIGKILL");
    await pool?.close();
  }
}

run("WAN pool and mlpeer (-profile wan): mlpeer joins cairn, plaintext", () => pair("", false));
run("WAN pool and mlpeer (-profile wan): cairn joins mlpeer, with a gossip key", () => pair(KEY, true));

test.run();
