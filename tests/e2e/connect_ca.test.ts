// End to end: a durable server agent with connect enabled (cluster_id from a -config-file)
// keeps its CA roots across a restart (same ActiveRootID), and `connect ca get-config` /
// `set-config` talk to it. Three Raft servers serve the same roots (the leader's root goes
// through the log), and a rotation asked of a follower reaches all of them.
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ROOT, cairnCommand, freePort, removeDir, startAgent, tempDir, type AgentProc } from "./agent_proc.ts";
import { agreedLeader, ServerProcs } from "./raft_helpers.ts";

const CLUSTER_ID = "11111111-2222-3333-4444-555555555555";

interface Roots {
  ActiveRootID: string;
  TrustDomain: string;
  Roots: Array<{ ID: string; Active: boolean }>;
}

async function roots(a: AgentProc): Promise<Roots> {
  const deadline = Date.now() + 7000;
  for (;;) {
    const r = await fetch(`${a.base}/v1/agent/connect/ca/roots`);
    const body = (await r.json()) as Roots;
    if ((r.status === 200 && body.ActiveRootID !== "" && body.Roots.length > 0) || Date.now() > deadline) return body;
    await new Promise((res) => setTimeout(res, 50));
  }
}

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

test("roots survive a restart; connect ca get-config/set-config", async () => {
  const dir = tempDir("cairn-e2e-connect-");
  const cfgFile = path.join(dir, "connect.json");
  writeFileSync(cfgFile, JSON.stringify({ connect: { enabled: true, ca_config: { cluster_id: CLUSTER_ID, leaf_cert_ttl: "24h" } } }));
  const args = ["-server", "-bootstrap-expect", "1", "-data-dir", path.join(dir, "data"), "-config-file", cfgFile];
  const httpPort = await freePort();
  let a: AgentProc | undefined;
  try {
    a = await startAgent({ args, httpPort });
    const r1 = await roots(a);
    assert.ok(r1.ActiveRootID !== "", a.output());
    assert.is(r1.TrustDomain, `${CLUSTER_ID}.consul`);

    const get = cli(["connect", "ca", "get-config"], httpPort);
    assert.is(get.code, 0, get.stderr);
    const idx = (JSON.parse(get.stdout) as { CreateIndex: number }).CreateIndex;
    assert.is(
      get.stdout,
      `{\n\t"Provider": "consul",\n\t"Config": {\n\t\t"IntermediateCertTTL": "8760h",\n\t\t"LeafCertTTL": "24h",\n\t\t"RootCertTTL": "87600h"\n\t},\n` +
        `\t"State": null,\n\t"ForceWithoutCrossSigning": false,\n\t"CreateIndex": ${idx},\n\t"ModifyIndex": ${idx}\n}\n`,
    );

    const newCfg = path.join(dir, "ca.json");
    writeFileSync(newCfg, JSON.stringify({ Provider: "consul", Config: { LeafCertTTL: "1m" } }));
    const bad = cli(["connect", "ca", "set-config", "-config-file", newCfg], httpPort);
    assert.is(bad.code, 1);
    assert.is(
      bad.stderr,
      "Error setting CA configuration: Unexpected response code: 400 (error configuring provider: leaf cert TTL must be greater or equal than 1h0m0s)\n",
    );
    const missing = cli(["connect", "ca", "set-config"], httpPort);
    assert.is(missing.code, 1);
    assert.is(missing.stderr, "The -config-file flag is required\n");

    assert.is(await a.stop("SIGINT"), 0);
    a = await startAgent({ args, httpPort });
    const r2 = await roots(a);
    assert.is(r2.ActiveRootID, r1.ActiveRootID, "same root after restart");
    assert.equal(r2.Roots.map((r) => r.ID), r1.Roots.map((r) => r.ID));

    // A rotation through the CLI is durable too.
    writeFileSync(newCfg, JSON.stringify({ Provider: "consul", Config: { LeafCertTTL: "24h", PrivateKeyBits: 384 } }));
    const set = cli(["connect", "ca", "set-config", "-config-file", newCfg], httpPort);
    assert.is(set.code, 0, set.stderr);
    assert.is(set.stdout, "Configuration updated!\n");
    const r3 = await roots(a);
    assert.is.not(r3.ActiveRootID, r1.ActiveRootID);
    assert.is(r3.Roots.length, 2);
    assert.is(await a.stop("SIGINT"), 0);
    a = await startAgent({ args, httpPort });
    const r4 = await roots(a);
    assert.is(r4.ActiveRootID, r3.ActiveRootID);
    assert.is(r4.Roots.length, 2);
  } finally {
    if (a !== undefined) await a.stop("SIGKILL");
    removeDir(dir);
  }
});

test("three servers serve the same roots; a rotation through a follower reaches every server", async () => {
  const set = await ServerProcs.create({
    prefix: "cairn-e2e-connect-raft-",
    size: 3,
    config: `connect {\n  enabled = true\n  ca_config { cluster_id = "${CLUSTER_ID}" }\n}\n`,
  });
  const sameRoots = async (want: (r: Roots) => boolean): Promise<Roots[]> => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const all = await Promise.all(
        set.nodes.map(async (n) => {
          try {
            const r = await fetch(`${n.base}/v1/connect/ca/roots?stale`);
            return r.status === 200 ? ((await r.json()) as Roots) : undefined;
          } catch {
            return undefined;
          }
        }),
      );
      const ok = all.every((r) => r !== undefined && want(r) && r.ActiveRootID === all[0]?.ActiveRootID);
      if (ok) return all as Roots[];
      if (Date.now() > deadline) {
        assert.unreachable(`servers did not agree on the roots: ${JSON.stringify(all.map((r) => r?.ActiveRootID))}`);
      }
      await new Promise((res) => setTimeout(res, 100));
    }
  };
  try {
    await Promise.all(set.nodes.map((n) => set.start(n)));
    const leader = await agreedLeader(set.nodes, set.nodes, 15_000);
    const first = await sameRoots((r) => r.ActiveRootID !== "" && r.Roots.length === 1);
    assert.is(first[0]?.TrustDomain, `${CLUSTER_ID}.consul`);
    const follower = set.nodes.find((n) => n.name !== leader.name);
    assert.ok(follower !== undefined);
    const put = await fetch(`${follower.base}/v1/connect/ca/configuration`, {
      method: "PUT",
      body: JSON.stringify({ Provider: "consul", Config: { PrivateKeyType: "ec", PrivateKeyBits: 384 } }),
    });
    assert.is(put.status, 200, await put.text());
    const rotated = await sameRoots((r) => r.Roots.length === 2 && r.ActiveRootID !== first[0]?.ActiveRootID);
    const active = rotated[0]?.Roots.find((r) => r.Active);
    assert.is(active?.ID, rotated[0]?.ActiveRootID);
  } finally {
    await set.destroy();
  }
});

test.run();
