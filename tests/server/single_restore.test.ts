/**
 * tests/server/single_restore: the single server and a chunked snapshot restore — no
 * snapshot (threshold or shutdown) while a restore is pending, the chunks replay from the
 * log after a restart, and a restore left unfinished is dropped (restore-abort) after
 * recovery, after which snapshots are taken again.
 */

import { test } from "uvu";
import * as assert from "uvu/assert";
import { SingleServer } from "../../src/server/single.ts";
import { MemoryLog } from "../../src/wal/memory_log.ts";
import { Store, decodeCommand, encodeCommand } from "../../src/state/index.ts";
import { createHash } from "node:crypto";

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

function server(log: MemoryLog, store: Store, notes: string[]): SingleServer {
  return new SingleServer({
    log,
    store,
    encode: encodeCommand,
    decode: decodeCommand,
    advertiseAddr: "127.0.0.1:8300",
    snapshotThreshold: 4,
    trailingLogs: 2,
    logger: (_l, m) => void notes.push(m),
    now: () => performance.now(),
  });
}

test("pending restore: no snapshot; after a restart it is replayed and dropped; snapshots resume", async () => {
  const log = new MemoryLog();
  const notes: string[] = [];
  const s1 = new Store();
  const a = server(log, s1, notes);
  await a.start();
  await a.apply({ type: "kv-set", key: "k", value: enc("v"), flags: 0n });
  assert.equal(await a.apply({ type: "restore-chunk", id: "r1", seq: 0, data: enc("piece") }), { type: "none" });
  for (let i = 0; i < 10; i++) await a.apply({ type: "kv-set", key: `n${i}`, value: enc("x"), flags: 0n });
  assert.is(s1.restorePending(), true);
  await a.close(); // would snapshot on shutdown, but not with a restore pending
  assert.not.ok(notes.some((m) => m.startsWith("snapshot:")), notes.join("\n"));

  const s2 = new Store();
  const notes2: string[] = [];
  const b = server(log, s2, notes2);
  const rec = await b.start();
  assert.is(rec.snapshotIndex, 0, "no snapshot was taken");
  assert.ok(rec.replayed >= 12);
  assert.is(s2.restorePending(), false, "dropped after recovery");
  assert.ok(notes2.some((m) => m.includes("left unfinished")), notes2.join("\n"));
  assert.is(new TextDecoder().decode(s2.kvGet("n9").value?.value), "x");
  // snapshots resume
  for (let i = 0; i < 5; i++) await b.apply({ type: "kv-set", key: `m${i}`, value: enc("y"), flags: 0n });
  await b.close();
  assert.ok(notes2.some((m) => m.startsWith("snapshot:")), notes2.join("\n"));

  const c = server(log, new Store(), []);
  const rec3 = await c.start();
  assert.ok(rec3.snapshotIndex > 0);
  await c.close();
});

test("a finished chunked restore lets the threshold snapshot run", async () => {
  const log = new MemoryLog();
  const notes: string[] = [];
  const st = new Store();
  const a = server(log, st, notes);
  await a.start();
  await a.apply({ type: "kv-set", key: "k", value: enc("v"), flags: 0n });
  const saved = st.snapshot();
  await a.apply({ type: "kv-set", key: "k", value: enc("changed"), flags: 0n });
  const half = saved.length >> 1;
  await a.apply({ type: "restore-chunk", id: "r", seq: 0, data: saved.subarray(0, half) });
  await a.apply({ type: "restore-chunk", id: "r", seq: 1, data: saved.subarray(half) });
  await a.apply({ type: "kv-set", key: "other", value: enc("o"), flags: 0n });
  await a.apply({ type: "kv-set", key: "other2", value: enc("o"), flags: 0n });
  assert.not.ok(notes.some((m) => m.startsWith("snapshot:")), "none while pending");
  const sha256 = createHash("sha256").update(saved).digest("hex");
  assert.equal(await a.apply({ type: "restore", data: new Uint8Array(0), pending: { id: "r", total: saved.length, sha256 } }), { type: "none" });
  assert.is(new TextDecoder().decode(st.kvGet("k").value?.value), "v");
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(notes.some((m) => m.startsWith("snapshot:")), notes.join("\n"));
  await a.close({ snapshot: false });
});

test.run();
