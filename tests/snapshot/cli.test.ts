/**
 * tests/snapshot/cli: `snapshot save|restore|inspect` in-process against the HTTP server
 * over a real Store: Consul's outputs and error texts, -format json, a raw state.bin
 * with meta.json beside it (Consul's internal snapshot dir), argument errors.
 */

import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { runInProcess } from "../cli/helpers.ts";
import { startCatalog } from "../http/catalog_helpers.ts";
import { request } from "../http/helpers.ts";
import { readTar } from "../../src/snapshot/tar.ts";

test("save, inspect (pretty, json, raw state.bin), restore, and the error texts", async () => {
  const h = await startCatalog();
  const dir = mkdtempSync(path.join(os.tmpdir(), "cairn-snap-cli-"));
  const addr = ["-http-addr", `127.0.0.1:${h.port}`];
  try {
    await request(h.port, "/v1/kv/x/a", { method: "PUT", body: "1" });
    await request(h.port, "/v1/kv/x/b", { method: "PUT", body: "2" });
    const file = path.join(dir, "b.snap");
    const s = await runInProcess(["snapshot", "save", ...addr, file]);
    assert.is(s.stderr, "");
    assert.is(s.stdout, `Saved and verified snapshot to index ${h.backend.store.lastIndex()}\n`);
    assert.is(s.code, 0);

    const i = await runInProcess(["snapshot", "inspect", file]);
    assert.is(i.code, 0, i.stderr);
    assert.match(i.stdout, / Index\s+2\n/);
    assert.match(i.stdout, /\n KVS\s+2\s+\d+B\n/);
    const j = await runInProcess(["snapshot", "inspect", "-format", "json", "-kvdetails", file]);
    const parsed = JSON.parse(j.stdout) as { Meta: { Index: number }; StatsKV: Array<{ Name: string; Count: number }> };
    assert.is(parsed.Meta.Index, 2);
    assert.equal(parsed.StatsKV.map((x) => [x.Name, x.Count]), [["x/a", 1], ["x/b", 1]]);
    const badFmt = await runInProcess(["snapshot", "inspect", "-format", "yaml", file]);
    assert.is(badFmt.code, 1);
    assert.is(badFmt.stderr, "Error outputting enhanced snapshot data: Unknown format: yaml\n");

    // Consul's raw form: state.bin with meta.json in the same directory
    const raw = path.join(dir, "raw");
    const members = readTar(new Uint8Array(gunzipSync(readFileSync(file))), { maxMemberBytes: 1 << 22, maxMembers: 8 }).members;
    rmSync(raw, { recursive: true, force: true });
    mkdirSync(raw);
    for (const m of members) writeFileSync(path.join(raw, m.name), m.data);
    const r = await runInProcess(["snapshot", "inspect", path.join(raw, "state.bin")]);
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout, i.stdout);
    rmSync(path.join(raw, "meta.json"));
    const noMeta = await runInProcess(["snapshot", "inspect", path.join(raw, "state.bin")]);
    assert.match(noMeta.stderr, /^Error reading meta\.json from internal snapshot dir: open .*meta\.json: no such file or directory\n$/);

    await request(h.port, "/v1/kv/x/a", { method: "PUT", body: "changed" });
    const rs = await runInProcess(["snapshot", "restore", ...addr, file]);
    assert.is(rs.code, 0, rs.stderr);
    assert.is(rs.stdout, "Restored snapshot\n");
    assert.is((await request(h.port, "/v1/kv/x/a?raw")).text, "1");

    const missing = await runInProcess(["snapshot", "restore", ...addr, path.join(dir, "none.snap")]);
    assert.is(missing.code, 1);
    assert.is(missing.stderr, `Error opening snapshot file: open ${path.join(dir, "none.snap")}: no such file or directory\n`);
    const two = await runInProcess(["snapshot", "save", ...addr, "a", "b"]);
    assert.is(two.code, 1);
    assert.is(two.stderr, "Too many arguments (expected 1, got 2)\n");
    const none = await runInProcess(["snapshot", "inspect"]);
    assert.is(none.stderr, "Missing FILE argument\n");
    const parent = await runInProcess(["snapshot"]);
    assert.match(parent.stdout + parent.stderr, /Usage: consul snapshot <subcommand> \[options\] \[args\]/);
    const down = await runInProcess(["snapshot", "save", "-http-addr", "127.0.0.1:1", path.join(dir, "down.snap")]);
    assert.is(down.code, 1);
    assert.match(down.stderr, /^Error saving snapshot: Get "http:\/\/127\.0\.0\.1:1\/v1\/snapshot": dial tcp 127\.0\.0\.1:1: connect: connection refused\n$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await h.close();
  }
});

test.run();
