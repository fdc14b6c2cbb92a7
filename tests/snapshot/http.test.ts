/**
 * tests/snapshot/http: GET/PUT /v1/snapshot over a real Store backend — the archive
 * verifies and carries the store's index in X-Consul-Index, a restore brings data
 * back and wakes a blocking query with a higher index, bad archives are refused with
 * Consul's texts (500) or as too large (413) and change nothing; a state larger than
 * one log entry goes as restore-chunk commands and a final restore, and a restore that
 * fails midway sends a restore-abort (nothing pending, data unchanged).
 */

import { test } from "uvu";
import * as assert from "uvu/assert";
import { gunzipSync, gzipSync } from "node:zlib";
import { startCatalog, type CatHarness } from "../http/catalog_helpers.ts";
import { request } from "../http/helpers.ts";
import { readArchive, writeArchive } from "../../src/snapshot/index.ts";
import { readTar, writeTar } from "../../src/snapshot/tar.ts";
import { SNAPSHOT_MAX_ARCHIVE_BYTES, SNAPSHOT_RESTORE_CHUNK_BYTES } from "../../src/shared/limits.ts";
import type { ApplyResult, Command } from "../../src/state/index.ts";

async function world(): Promise<CatHarness> {
  const h = await startCatalog();
  for (const [k, v] of [["a", "1"], ["dir/x", "x1"], ["dir/y", "y1"]] as const) {
    const r = await request(h.port, `/v1/kv/${k}`, { method: "PUT", body: v });
    assert.is(r.status, 200);
  }
  const r = await h.put("/v1/catalog/register", { Node: "n1", Address: "10.0.0.1", Service: { Service: "web", Port: 80 } });
  assert.is(r.status, 200, r.text);
  return h;
}

const kvValue = async (port: number, key: string): Promise<string | undefined> => {
  const r = await request(port, `/v1/kv/${key}?raw`);
  return r.status === 200 ? r.text : undefined;
};

test("GET /v1/snapshot: a verified archive at the store's index", async () => {
  const h = await world();
  try {
    const r = await request(h.port, "/v1/snapshot");
    assert.is(r.status, 200, r.text);
    assert.is(r.headers["x-consul-index"], String(h.backend.store.lastIndex()));
    assert.is(r.headers["x-consul-knownleader"], "true");
    assert.is(r.headers["content-type"], "application/x-gzip");
    const a = await readArchive(new Uint8Array(r.body), { maxStateBytes: 1 << 22 });
    assert.is(a.meta.index, h.backend.store.lastIndex());
    assert.is(a.meta.size, a.state.length);
    assert.match(a.meta.id, new RegExp(`^1-${a.meta.index}-\\d+$`));
    assert.is(a.meta.servers.length, 1);
    const stale = await request(h.port, "/v1/snapshot?stale");
    assert.is(stale.status, 200);
    const wrongDc = await request(h.port, "/v1/snapshot?dc=other");
    assert.is(wrongDc.status, 500);
    assert.is(wrongDc.text, "No path to datacenter");
    const post = await request(h.port, "/v1/snapshot", { method: "POST" });
    assert.is(post.status, 405);
  } finally {
    await h.close();
  }
});

test("PUT /v1/snapshot restores; a blocking query on a changed key wakes; indexes move forward", async () => {
  const h = await world();
  try {
    const snap = (await request(h.port, "/v1/snapshot")).body;
    await request(h.port, "/v1/kv/a", { method: "PUT", body: "2" });
    await request(h.port, "/v1/kv/dir/x", { method: "DELETE" });
    await request(h.port, "/v1/kv/new", { method: "PUT", body: "n" });
    const cur = await request(h.port, "/v1/kv/a");
    const seenIndex = Number(cur.headers["x-consul-index"]);
    const blocking = request(h.port, `/v1/kv/a?index=${seenIndex}&wait=20s`, { timeoutMs: 25_000 });
    await new Promise((r) => setTimeout(r, 100));
    const put = await request(h.port, "/v1/snapshot", { method: "PUT", body: snap });
    assert.is(put.status, 200, put.text);
    assert.is(put.text, "");
    const woke = await blocking;
    assert.is(woke.status, 200);
    assert.ok(Number(woke.headers["x-consul-index"]) > seenIndex, `index ${woke.headers["x-consul-index"]} > ${seenIndex}`);
    const [entry] = JSON.parse(woke.text) as Array<{ Value: string; ModifyIndex: number }>;
    assert.is(Buffer.from(entry!.Value, "base64").toString(), "1");
    assert.is(await kvValue(h.port, "a"), "1");
    assert.is(await kvValue(h.port, "dir/x"), "x1");
    assert.is(await kvValue(h.port, "new"), undefined);
    const svc = await request(h.port, "/v1/catalog/service/web");
    assert.is((JSON.parse(svc.text) as unknown[]).length, 1);
    assert.ok(Number(svc.headers["x-consul-index"]) >= seenIndex);
  } finally {
    await h.close();
  }
});

test("bad archives are refused with Consul's texts; the data stays", async () => {
  const h = await world();
  try {
    const snap = new Uint8Array((await request(h.port, "/v1/snapshot")).body);
    await request(h.port, "/v1/kv/a", { method: "PUT", body: "kept" });
    const before = h.backend.store.lastIndex();
    const garbage = await request(h.port, "/v1/snapshot", { method: "PUT", body: "definitely not gzip" });
    assert.is(garbage.status, 500);
    assert.is(garbage.text, "failed to decompress snapshot: gzip: invalid header");
    const cut = await request(h.port, "/v1/snapshot", { method: "PUT", body: Buffer.from(snap.subarray(0, snap.length - 40)) });
    assert.is(cut.status, 500);
    assert.match(cut.text, /^failed to read snapshot file: failed reading snapshot: (unexpected EOF|gzip: invalid checksum)$/);
    // a flipped byte in state.bin, re-compressed: the sha256 check catches it
    const ms = readTar(new Uint8Array(gunzipSync(snap)), { maxMemberBytes: 1 << 24, maxMembers: 8 }).members.map((m) => ({ name: m.name, data: m.data.slice() }));
    ms[1]!.data[20] = ms[1]!.data[20]! ^ 0x40;
    const tampered = await request(h.port, "/v1/snapshot", { method: "PUT", body: gzipSync(writeTar(ms, 1)) });
    assert.is(tampered.status, 500);
    assert.is(tampered.text, 'failed to read snapshot file: failed checking integrity of snapshot: hash check failed for "state.bin"');
    // a valid archive whose state.bin is not cairn's (e.g. Consul's FSM stream)
    const meta = (await readArchive(snap, { maxStateBytes: 1 << 22 })).meta;
    const consulish = await writeArchive(meta, new Uint8Array([0x00, 0x81, 0xa1, 0x4b]), Date.now());
    const f = await request(h.port, "/v1/snapshot", { method: "PUT", body: Buffer.from(consulish) });
    assert.is(f.status, 500);
    assert.match(f.text, /state\.bin is not a cairn state snapshot/);
    const big = await request(h.port, "/v1/snapshot", {
      method: "PUT",
      headers: { "Content-Length": String(SNAPSHOT_MAX_ARCHIVE_BYTES + 1) },
      body: Buffer.alloc(16),
      timeoutMs: 5000,
    }).catch((e: unknown) => ({ status: -1, text: String(e) }));
    assert.is(big.status, 413, big.text);
    assert.match(big.text, /too large/);
    assert.is(h.backend.store.lastIndex(), before, "nothing reached the log");
    assert.is(await kvValue(h.port, "a"), "kept");
  } finally {
    await h.close();
  }
});

test("PUT /v1/snapshot: a state over one entry goes in chunks; a failure midway aborts them", async () => {
  const h = await world();
  try {
    const v = "q".repeat(500_000);
    for (let i = 0; i < 9; i++) assert.is((await request(h.port, `/v1/kv/big/${i}`, { method: "PUT", body: v })).status, 200);
    const snap = (await request(h.port, "/v1/snapshot")).body;
    const size = (await readArchive(new Uint8Array(snap), { maxStateBytes: 1 << 26 })).state.length;
    assert.ok(size > SNAPSHOT_RESTORE_CHUNK_BYTES, `state.bin of ${size} bytes`);
    await request(h.port, "/v1/kv/big?recurse", { method: "DELETE" });
    await request(h.port, "/v1/kv/a", { method: "PUT", body: "changed" });
    const seen: Command[] = [];
    const real = h.backend.apply.bind(h.backend);
    let failAt = -1;
    h.backend.apply = async (cmd: Command): Promise<ApplyResult> => {
      seen.push(cmd);
      if (seen.length === failAt) throw new Error("leader lost");
      return real(cmd);
    };
    // a failure after the first chunk: 500, a restore-abort follows, nothing pending, data unchanged
    failAt = 2;
    const bad = await request(h.port, "/v1/snapshot", { method: "PUT", body: snap });
    assert.is(bad.status, 500, bad.text);
    assert.equal(seen.map((c) => c.type), ["restore-chunk", "restore-chunk", "restore-abort"]);
    assert.is(h.backend.store.restorePending(), false);
    assert.is(await kvValue(h.port, "a"), "changed");
    assert.is(await kvValue(h.port, "big/0"), undefined);
    // the whole restore: chunks of at most the limit, in order, then the final restore
    failAt = -1;
    seen.length = 0;
    const put = await request(h.port, "/v1/snapshot", { method: "PUT", body: snap });
    assert.is(put.status, 200, put.text);
    const chunks = Math.ceil(size / SNAPSHOT_RESTORE_CHUNK_BYTES);
    assert.equal(seen.map((c) => c.type), [...Array.from({ length: chunks }, () => "restore-chunk"), "restore"]);
    seen.forEach((c, i) => {
      if (c.type === "restore-chunk") {
        assert.is(c.seq, i);
        assert.ok(c.data.length <= SNAPSHOT_RESTORE_CHUNK_BYTES);
      }
    });
    const last = seen[seen.length - 1]!;
    assert.ok(last.type === "restore" && last.pending?.total === size && last.data.length === 0);
    assert.is(h.backend.store.restorePending(), false);
    assert.is(await kvValue(h.port, "a"), "1");
    assert.is((await kvValue(h.port, "big/8"))?.length, 500_000);
    // GET is refused while a restore is pending (snapshots never hold one)
    await h.backend.apply({ type: "restore-chunk", id: "x", seq: 0, data: new Uint8Array(4) });
    const during = await request(h.port, "/v1/snapshot");
    assert.is(during.status, 500);
    assert.match(during.text, /restore is in progress/);
    await h.backend.apply({ type: "restore-abort", id: "x" });
    assert.is((await request(h.port, "/v1/snapshot")).status, 200);
  } finally {
    await h.close();
  }
});

test.run();
