/**
 * tests/snapshot/inspect: `snapshot inspect` output — Go's text/tabwriter layout
 * reproduced against Consul's golden output, ByteSize, the per-type breakdown of a
 * real cairn state.bin and the KV prefix breakdown, JSON format.
 */

import { test } from "uvu";
import * as assert from "uvu/assert";
import { byteSize, formatJson, formatPretty, inspectState, tabwrite, type InspectInfo, type SnapshotMeta } from "../../src/snapshot/index.ts";
import { H, enc, sess } from "../state/session_helpers.ts";

const META: SnapshotMeta = {
  version: 1,
  id: "2-12426-1604593650375",
  index: 12426,
  term: 2,
  peers: new Uint8Array(0),
  servers: [],
  configurationIndex: 0,
  size: 17228,
};

// Consul's command/snapshot/inspect/testdata/TestSnapshotInspectKVDetailsCommand.golden (without UI.Output's newline).
const GOLDEN = ` ID           2-12426-1604593650375
 Size         17228
 Index        12426
 Term         2
 Version      1

 Type                       Count      Size
 ----                       ----       ----
 KVS                        27         12.3KB
 Register                   5          3.4KB
 Index                      11         285B
 Autopilot                  1          199B
 Session                    1          199B
 CoordinateBatchUpdate      1          166B
 Tombstone                  2          146B
 FederationState            1          139B
 ChunkingState              1          12B
 ----                       ----       ----
 Total                                 16.8KB

 Key Name           Count      Size
 ----               ----       ----
 vault/core         16         5.9KB
 vault/sys          7          4.4KB
 vault/logical      4          2KB
 ----               ----       ----
 Total                         12.3KB`;

test("pretty format reproduces Consul's golden output (tabwriter minwidth 8, padding 6)", () => {
  const info: InspectInfo = {
    meta: META,
    stats: [
      { name: "KVS", count: 27, sum: 12595 },
      { name: "Register", count: 5, sum: 3482 },
      { name: "Index", count: 11, sum: 285 },
      { name: "Autopilot", count: 1, sum: 199 },
      { name: "Session", count: 1, sum: 199 },
      { name: "CoordinateBatchUpdate", count: 1, sum: 166 },
      { name: "Tombstone", count: 2, sum: 146 },
      { name: "FederationState", count: 1, sum: 139 },
      { name: "ChunkingState", count: 1, sum: 12 },
    ],
    statsKV: [
      { name: "vault/core", count: 16, sum: 6042 },
      { name: "vault/sys", count: 7, sum: 4506 },
      { name: "vault/logical", count: 4, sum: 2048 },
    ],
    totalSize: 17203,
    totalSizeKV: 12595,
  };
  assert.fixture(formatPretty(info, true), GOLDEN);
  const basic = formatPretty(info, false);
  assert.ok(basic.endsWith(" Total                                 16.8KB"));
  assert.not.match(basic, /Key Name/);
});

test("ByteSize and tabwriter edge cases", () => {
  assert.is(byteSize(0), "0");
  assert.is(byteSize(12), "12B");
  assert.is(byteSize(1024), "1KB");
  assert.is(byteSize(1536), "1.5KB");
  assert.is(byteSize(5 * 1024 * 1024), "5MB");
  assert.is(tabwrite("a\tb\nlonger\tc", 8, 6), "a           b\nlonger      c");
  assert.is(tabwrite("x\n\ny\tz", 8, 6), "x\n\ny       z");
});

test("inspectState: counts and sizes of a real cairn state.bin; -kvdetails by prefix; JSON", () => {
  const h = new H();
  h.world("n1");
  for (let i = 0; i < 5; i++) h.apply({ type: "kv-set", key: `vault/core/k${i}`, value: enc("v".repeat(100)), flags: 0n });
  for (let i = 0; i < 3; i++) h.apply({ type: "kv-set", key: `vault/sys/k${i}`, value: enc("w"), flags: 0n });
  h.apply({ type: "kv-set", key: "top", value: enc("t"), flags: 0n });
  h.apply({ type: "kv-delete", key: "top" });
  h.apply({ type: "session-create", session: sess("s1", "n1") });
  const state = h.s.snapshot();
  const meta = { ...META, size: state.length, index: h.i };
  const info = inspectState(meta, state, { kvDetails: true, kvDepth: 2, kvFilter: "" });
  const by = new Map(info.stats.map((s) => [s.name, s]));
  assert.is(by.get("KVS")?.count, 8);
  assert.is(by.get("Tombstone")?.count, 1);
  assert.is(by.get("Register")?.count, 1);
  assert.is(by.get("Session")?.count, 1);
  assert.ok((by.get("KVS")?.sum ?? 0) > 500);
  assert.is(info.totalSize, state.length);
  // sorted by size, largest first
  for (let i = 1; i < info.stats.length; i++) assert.ok(info.stats[i - 1]!.sum >= info.stats[i]!.sum);
  assert.equal(info.statsKV.map((s) => [s.name, s.count]), [["vault/core", 5], ["vault/sys", 3]]);
  const filtered = inspectState(meta, state, { kvDetails: true, kvDepth: 1, kvFilter: "vault/s" });
  assert.equal(filtered.statsKV.map((s) => [s.name, s.count]), [["vault", 3]]);
  const text = formatPretty(info, true);
  assert.match(text, new RegExp(` Index\\s+${h.i}\\n`));
  assert.match(text, / KVS\s+8\s+\d/);
  assert.match(text, / vault\/core\s+5\s+/);
  const j = JSON.parse(formatJson(info, true)) as { Meta: { Index: number }; Stats: Array<{ Name: string; Count: number }>; StatsKV: unknown[] };
  assert.is(j.Meta.Index, h.i);
  assert.ok(j.Stats.some((s) => s.Name === "KVS" && s.Count === 8));
  assert.is(j.StatsKV.length, 2);
  assert.throws(() => inspectState(meta, enc("not a cairn snapshot at all"), { kvDetails: false, kvDepth: 2, kvFilter: "" }), /invalid snapshot/);
});

test.run();
