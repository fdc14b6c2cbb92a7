/**
 * Config load checks `connect.ca_config` the way Consul's builder does: with an explicit
 * `ca_provider = "consul"` bad values fail validation with ParseConsulCAConfig's texts; without
 * a provider (the harness's form) the config loads and the CA reports them when it starts.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { agentFlagSet, hostDeps, loadConfig, loadOptionsFromFlags, type LoadDeps, type LoadResult } from "../../../src/agent/config/index.ts";

const deps: LoadDeps = { ...hostDeps(), hostname: () => "testhost", privateIPv4: () => ["10.1.2.3"], publicIPv6: () => [] };

async function loadConnect(connect: Record<string, unknown>): Promise<LoadResult> {
  const dir = mkdtempSync(path.join(tmpdir(), "cairn-config-ca-"));
  try {
    const file = path.join(dir, "connect.json");
    writeFileSync(file, JSON.stringify({ server: true, data_dir: path.join(dir, "data"), connect }));
    const fs = agentFlagSet();
    const p = fs.parse(["-config-file", file]);
    if (p.kind !== "ok") throw new Error(`flags: ${JSON.stringify(p)}`);
    const o = loadOptionsFromFlags(fs);
    if (!o.ok) return { ok: false, errors: o.errors, warnings: [] };
    return await loadConfig(o.options, deps);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function errorsOf(r: LoadResult): string[] {
  return r.ok ? [] : r.errors;
}

test("ca_provider consul: bad ca_config values fail config validation with Consul's texts", async () => {
  const bad = await loadConnect({ enabled: true, ca_provider: "consul", ca_config: { private_key_type: "dsa" } });
  assert.equal(errorsOf(bad), ["private key type must be either 'ec' or 'rsa'"]);
  const ttl = await loadConnect({ enabled: true, ca_provider: "consul", ca_config: { leaf_cert_ttl: "10m" } });
  assert.equal(errorsOf(ttl), ["leaf cert TTL must be greater or equal than 1h0m0s"]);
  const bits = await loadConnect({ enabled: true, ca_provider: "consul", ca_config: { private_key_type: "rsa", private_key_bits: 1024 } });
  assert.equal(errorsOf(bits), ["RSA key length must be 2048 or 4096 bits"]);
});

test("good values, and the harness's provider-less ca_config, load", async () => {
  const good = await loadConnect({
    enabled: true,
    ca_provider: "consul",
    ca_config: { cluster_id: "11111111-2222-3333-4444-555555555555", leaf_cert_ttl: "24h", private_key_type: "ec", private_key_bits: 384 },
  });
  assert.ok(good.ok, errorsOf(good).join("\n"));
  const harness = await loadConnect({ enabled: true, ca_config: { cluster_id: "11111111-2222-3333-4444-555555555555" } });
  assert.ok(harness.ok, errorsOf(harness).join("\n"));
  // Consul's builder only parses an explicit provider's config.
  const implicit = await loadConnect({ enabled: true, ca_config: { leaf_cert_ttl: "10m" } });
  assert.ok(implicit.ok, errorsOf(implicit).join("\n"));
});

test.run();
