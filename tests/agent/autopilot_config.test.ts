/**
 * tests/agent/autopilot_config: the replicated autopilot configuration — the
 * autopilot-set command through the codec and a real Store (CAS rules of Consul's
 * AutopilotCASConfig, Create/ModifyIndex), the HTTP body decoder and JSON rendering,
 * and the CLI's get-config lines, set-config flag merge and pretty state.
 */

import { test } from "uvu";
import * as assert from "uvu/assert";
import { Store, decodeCommand, encodeCommand } from "../../src/state/index.ts";
import { DEFAULT_AUTOPILOT_CONFIG } from "../../src/state/autopilot_table.ts";
import { decodeAutopilotConfig, renderAutopilotConfig } from "../../src/http/operator_autopilot.ts";
import { getConfigLines, mergeSetFlags, prettyState } from "../../src/cli/operator_autopilot.ts";
import { FlagSet } from "../../src/cli/flags.ts";
import type { Command } from "../../src/state/types.ts";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { agentFlagSet, hostDeps, loadConfig, loadOptionsFromFlags } from "../../src/agent/config/index.ts";

test("autopilot-set round-trips through the command codec", () => {
  const cmds: Command[] = [
    { type: "autopilot-set", config: DEFAULT_AUTOPILOT_CONFIG, cas: null },
    { type: "autopilot-set", config: { ...DEFAULT_AUTOPILOT_CONFIG, minQuorum: 3, redundancyZoneTag: "zone", lastContactThresholdMs: 1.5 }, cas: 7 },
  ];
  for (const c of cmds) assert.equal(decodeCommand(encodeCommand(c)), c);
});

test("store: set, CAS against the ModifyIndex (0 matches a missing row)", () => {
  const s = new Store();
  assert.is(s.autopilotConfig(), undefined);
  assert.equal(s.apply(1, { type: "autopilot-set", config: DEFAULT_AUTOPILOT_CONFIG, cas: 5 }), { type: "bool", ok: false }, "CAS 5 with no row");
  assert.is(s.autopilotConfig(), undefined);
  // No row reads as the defaults at ModifyIndex 0: a CAS of 0 matches it.
  assert.equal(s.apply(2, { type: "autopilot-set", config: DEFAULT_AUTOPILOT_CONFIG, cas: 0 }), { type: "bool", ok: true });
  assert.equal([s.autopilotConfig()?.createIndex, s.autopilotConfig()?.modifyIndex], [2, 2]);
  assert.equal(s.apply(3, { type: "autopilot-set", config: DEFAULT_AUTOPILOT_CONFIG, cas: 0 }), { type: "bool", ok: false }, "CAS 0 once a row exists");
  assert.equal(s.apply(30, { type: "autopilot-set", config: { ...DEFAULT_AUTOPILOT_CONFIG, maxTrailingLogs: 9 }, cas: 1 }), { type: "bool", ok: false });
  assert.is(s.autopilotConfig()?.maxTrailingLogs, 250);
  assert.equal(s.apply(40, { type: "autopilot-set", config: { ...DEFAULT_AUTOPILOT_CONFIG, maxTrailingLogs: 9 }, cas: 2 }), { type: "bool", ok: true });
  assert.equal([s.autopilotConfig()?.maxTrailingLogs, s.autopilotConfig()?.createIndex, s.autopilotConfig()?.modifyIndex], [9, 2, 40]);
});

test("Raft snapshots carry the row (header field); snapshots without it restore to none", () => {
  const s = new Store();
  s.apply(1, { type: "kv-set", key: "k", value: new Uint8Array([1]), flags: 0n });
  const without = s.snapshot();
  s.apply(2, { type: "autopilot-set", config: { ...DEFAULT_AUTOPILOT_CONFIG, minQuorum: 2 }, cas: null });
  const withRow = s.snapshot();
  const r = Store.restore(withRow);
  assert.equal(r.autopilotConfig(), { ...DEFAULT_AUTOPILOT_CONFIG, minQuorum: 2, createIndex: 2, modifyIndex: 2 });
  s.restore(without);
  assert.is(s.autopilotConfig(), undefined);
  assert.is(s.lastIndex(), 1);
});

test("HTTP: render Consul's shape; decode durations, zero values and errors", () => {
  const json = JSON.parse(renderAutopilotConfig({ ...DEFAULT_AUTOPILOT_CONFIG, createIndex: 4, modifyIndex: 5 })) as Record<string, unknown>;
  assert.equal(json, {
    CleanupDeadServers: true,
    LastContactThreshold: "200ms",
    MaxTrailingLogs: 250,
    MinQuorum: 0,
    ServerStabilizationTime: "10s",
    RedundancyZoneTag: "",
    DisableUpgradeMigration: false,
    UpgradeVersionTag: "",
    CreateIndex: 4,
    ModifyIndex: 5,
  });
  const c = decodeAutopilotConfig('{"cleanupdeadservers":true,"LastContactThreshold":"1s","MaxTrailingLogs":10,"ServerStabilizationTime":"1m30s"}');
  assert.equal(c, { ...DEFAULT_AUTOPILOT_CONFIG, lastContactThresholdMs: 1000, maxTrailingLogs: 10, serverStabilizationTimeMs: 90_000 });
  assert.equal(decodeAutopilotConfig("{}"), {
    cleanupDeadServers: false, lastContactThresholdMs: 0, maxTrailingLogs: 0, minQuorum: 0, serverStabilizationTimeMs: 0,
    redundancyZoneTag: "", disableUpgradeMigration: false, upgradeVersionTag: "",
  });
  for (const bad of ["[", "[]", '{"LastContactThreshold":"soon"}', '{"MaxTrailingLogs":-1}', '{"CleanupDeadServers":"yes"}']) {
    assert.throws(() => decodeAutopilotConfig(bad), /Error parsing autopilot config/, bad);
  }
});

test("CLI: get-config lines, set-config merge of given flags only", () => {
  const conf = JSON.parse(renderAutopilotConfig({ ...DEFAULT_AUTOPILOT_CONFIG, createIndex: 4, modifyIndex: 5 })) as Record<string, unknown>;
  assert.equal(getConfigLines(conf), [
    "CleanupDeadServers = true",
    "LastContactThreshold = 200ms",
    "MaxTrailingLogs = 250",
    "MinQuorum = 0",
    "ServerStabilizationTime = 10s",
    'RedundancyZoneTag = ""',
    "DisableUpgradeMigration = false",
    'UpgradeVersionTag = ""',
  ]);
  const fs = new FlagSet()
    .string("cleanup-dead-servers", "", "")
    .string("max-trailing-logs", "", "")
    .string("min-quorum", "", "")
    .string("last-contact-threshold", "", "")
    .string("server-stabilization-time", "", "")
    .string("redundancy-zone-tag", "", "")
    .string("disable-upgrade-migration", "", "")
    .string("upgrade-version-tag", "", "");
  const p = fs.parse(["-cleanup-dead-servers=false", "-max-trailing-logs", "99", "-server-stabilization-time=3s"]);
  assert.ok(p !== undefined);
  const m = mergeSetFlags(fs, conf);
  assert.ok(typeof m !== "string");
  assert.is(m.CleanupDeadServers, false);
  assert.is(m.MaxTrailingLogs, 99);
  assert.is(m.ServerStabilizationTime, "3s");
  assert.is(m.LastContactThreshold, "200ms", "untouched");
  fs.parse(["-min-quorum=x"]);
  assert.match(String(mergeSetFlags(fs, conf)), /invalid value "x" for flag -min-quorum/);
});

test("CLI: pretty state as Consul's formatter", () => {
  const out = prettyState({
    Healthy: true,
    FailureTolerance: 1,
    OptimisticFailureTolerance: 0,
    Leader: "id1",
    Voters: ["id1", "id2"],
    Servers: {
      id2: { ID: "id2", Name: "n2", Address: "127.0.0.1:2", Version: "1.9.0", Status: "voter", NodeType: "voter", NodeStatus: "alive", Healthy: true, LastContact: "2ms", LastTerm: 3, LastIndex: 41, Meta: {} },
      id1: { ID: "id1", Name: "n1", Address: "127.0.0.1:1", Version: "1.9.0", Status: "leader", NodeType: "voter", NodeStatus: "alive", Healthy: true, LastContact: "0s", LastTerm: 3, LastIndex: 42, Meta: { foo: "bar" } },
    },
  });
  assert.is(
    out,
    [
      "Healthy:                      true",
      "Failure Tolerance:            1",
      "Optimistic Failure Tolerance: 0",
      "Leader:                       id1",
      "Voters:",
      "   id1",
      "   id2",
      "Servers:",
      "   id1",
      "      Name:            n1",
      "      Address:         127.0.0.1:1",
      "      Version:         1.9.0",
      "      Status:          leader",
      "      Node Type:       voter",
      "      Node Status:     alive",
      "      Healthy:         true",
      "      Last Contact:    0s",
      "      Last Term:       3",
      "      Last Index:      42",
      "      Meta",
      '         "foo": "bar"',
      "   id2",
      "      Name:            n2",
      "      Address:         127.0.0.1:2",
      "      Version:         1.9.0",
      "      Status:          voter",
      "      Node Type:       voter",
      "      Node Status:     alive",
      "      Healthy:         true",
      "      Last Contact:    2ms",
      "      Last Term:       3",
      "      Last Index:      41",
      "",
    ].join("\n"),
  );
});

test("config file: the autopilot block over Consul's defaults", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "cairn-autopilot-"));
  try {
    const file = path.join(dir, "a.hcl");
    writeFileSync(file, 'autopilot { server_stabilization_time = "3s" min_quorum = 3 cleanup_dead_servers = false }\n');
    const load = async (args: string[]) => {
      const fs = agentFlagSet();
      const p = fs.parse(args);
      if (p.kind !== "ok") throw new Error("flags");
      const o = loadOptionsFromFlags(fs);
      if (!o.ok) throw new Error(o.errors.join("\n"));
      const r = await loadConfig(o.options, { ...hostDeps(), hostname: () => "h", privateIPv4: () => ["10.1.2.3"], publicIPv6: () => [] });
      if (!r.ok) throw new Error(r.errors.join("\n"));
      return r.config;
    };
    const plain = await load(["-data-dir", dir]);
    assert.equal(plain.autopilot, DEFAULT_AUTOPILOT_CONFIG);
    const c = await load(["-data-dir", dir, "-config-file", file]);
    assert.equal(c.autopilot, { ...DEFAULT_AUTOPILOT_CONFIG, serverStabilizationTimeMs: 3000, minQuorum: 3, cleanupDeadServers: false });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
