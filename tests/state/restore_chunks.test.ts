/**
 * tests/state/restore_chunks: a snapshot restore sent through several log entries —
 * restore-chunk (seq order, id, size bounds), the final restore naming the pending
 * chunks (length and sha256 checked, buffer cleared), restore-abort, restorePending()
 * blocking store snapshots, the codec forms, and determinism across two stores.
 */

import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHash } from "node:crypto";
import { Store, decodeCommand, encodeCommand, type ApplyResult, type Command } from "../../src/state/index.ts";
import { SNAPSHOT_MAX_STATE_BYTES, SNAPSHOT_RESTORE_CHUNK_BYTES } from "../../src/shared/limits.ts";

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array | undefined): string => (b === undefined ? "<none>" : new TextDecoder().decode(b));
const sha = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

/** A store with its own index counter. */
class S {
  readonly s = new Store();
  i = 0;
  apply(cmd: Command): ApplyResult {
    return this.s.apply(++this.i, cmd);
  }
}

/** A store with keys a=1, b=2 and its snapshot; then a and b changed, c added. */
function changed(): { h: S; saved: Uint8Array } {
  const h = new S();
  h.apply({ type: "kv-set", key: "a", value: enc("1"), flags: 0n });
  h.apply({ type: "kv-set", key: "b", value: enc("2"), flags: 3n });
  const saved = h.s.snapshot();
  h.apply({ type: "kv-set", key: "a", value: enc("changed"), flags: 0n });
  h.apply({ type: "kv-delete", key: "b" });
  h.apply({ type: "kv-set", key: "c", value: enc("new"), flags: 0n });
  return { h, saved };
}

/** The snapshot in three pieces (the FSM accepts any chunk size up to the limit). */
function pieces(b: Uint8Array): Uint8Array[] {
  const n = Math.ceil(b.length / 3);
  return [b.subarray(0, n), b.subarray(n, 2 * n), b.subarray(2 * n)];
}

const NONE: ApplyResult = { type: "none" };
const isError = (r: ApplyResult): boolean => r.type === "error";

function assertChanged(h: S): void {
  assert.is(text(h.s.kvGet("a").value?.value), "changed");
  assert.is(h.s.kvGet("b").value, undefined);
  assert.is(text(h.s.kvGet("c").value?.value), "new");
}

function assertRestored(h: S): void {
  assert.is(text(h.s.kvGet("a").value?.value), "1");
  assert.is(h.s.kvGet("b").value?.flags, 3n);
  assert.is(h.s.kvGet("c").value, undefined);
}

test("chunks and a final restore bring the saved state back; pending only in between", () => {
  const { h, saved } = changed();
  const [p0, p1, p2] = pieces(saved);
  assert.is(h.s.restorePending(), false);
  assert.equal(h.apply({ type: "restore-chunk", id: "r1", seq: 0, data: p0! }), NONE);
  assert.is(h.s.restorePending(), true);
  assert.is(h.s.pendingRestoreId(), "r1");
  assertChanged(h); // chunks change no data
  assert.equal(h.apply({ type: "restore-chunk", id: "r1", seq: 1, data: p1! }), NONE);
  assert.equal(h.apply({ type: "restore-chunk", id: "r1", seq: 2, data: p2! }), NONE);
  assert.is(h.s.pendingRestoreChunks(), 3);
  assert.is(h.s.lastIndex(), h.i);
  const r = h.apply({ type: "restore", data: new Uint8Array(0), pending: { id: "r1", total: saved.length, sha256: sha(saved) } });
  assert.equal(r, NONE);
  assert.is(h.s.restorePending(), false);
  assert.is(h.s.pendingRestoreChunks(), 0);
  assertRestored(h);
  assert.is(h.s.kvGet("a").value?.modifyIndex, h.i); // stamped at the final entry's index
});

test("a chunk with the wrong seq or id is refused and changes nothing", () => {
  const { h, saved } = changed();
  const [p0, p1, p2] = pieces(saved);
  assert.ok(isError(h.apply({ type: "restore-chunk", id: "r1", seq: 1, data: p1! }))); // nothing pending
  assert.is(h.s.restorePending(), false);
  h.apply({ type: "restore-chunk", id: "r1", seq: 0, data: p0! });
  assert.ok(isError(h.apply({ type: "restore-chunk", id: "r1", seq: 2, data: p2! }))); // skips 1
  assert.ok(isError(h.apply({ type: "restore-chunk", id: "r1", seq: 0 + 3, data: p1! })));
  assert.ok(isError(h.apply({ type: "restore-chunk", id: "other", seq: 1, data: p1! }))); // another id
  assert.is(h.s.pendingRestoreId(), "r1");
  // the pending restore carries on unharmed
  h.apply({ type: "restore-chunk", id: "r1", seq: 1, data: p1! });
  h.apply({ type: "restore-chunk", id: "r1", seq: 2, data: p2! });
  assert.equal(h.apply({ type: "restore", data: new Uint8Array(0), pending: { id: "r1", total: saved.length, sha256: sha(saved) } }), NONE);
  assertRestored(h);
});

test("seq 0 starts a new pending restore, discarding the other", () => {
  const { h, saved } = changed();
  const [p0, p1, p2] = pieces(saved);
  h.apply({ type: "restore-chunk", id: "old", seq: 0, data: enc("garbage") });
  h.apply({ type: "restore-chunk", id: "old", seq: 1, data: enc("more garbage") });
  h.apply({ type: "restore-chunk", id: "new", seq: 0, data: p0! });
  assert.is(h.s.pendingRestoreId(), "new");
  assert.ok(isError(h.apply({ type: "restore-chunk", id: "old", seq: 2, data: p1! })));
  h.apply({ type: "restore-chunk", id: "new", seq: 1, data: p1! });
  h.apply({ type: "restore-chunk", id: "new", seq: 2, data: p2! });
  // the old id's final is refused and changes nothing
  assert.ok(isError(h.apply({ type: "restore", data: new Uint8Array(0), pending: { id: "old", total: saved.length, sha256: sha(saved) } })));
  assert.is(h.s.pendingRestoreId(), "new");
  assertChanged(h);
  assert.equal(h.apply({ type: "restore", data: new Uint8Array(0), pending: { id: "new", total: saved.length, sha256: sha(saved) } }), NONE);
  assertRestored(h);
});

test("restore-abort drops the pending restore (only the named one)", () => {
  const { h, saved } = changed();
  const [p0] = pieces(saved);
  assert.equal(h.apply({ type: "restore-abort" }), NONE); // nothing pending: no change
  h.apply({ type: "restore-chunk", id: "r1", seq: 0, data: p0! });
  h.apply({ type: "restore-abort", id: "someone-else" });
  assert.is(h.s.restorePending(), true);
  assert.equal(h.apply({ type: "restore-abort", id: "r1" }), NONE);
  assert.is(h.s.restorePending(), false);
  assert.ok(isError(h.apply({ type: "restore", data: new Uint8Array(0), pending: { id: "r1", total: p0!.length, sha256: sha(p0!) } })));
  h.apply({ type: "restore-chunk", id: "r2", seq: 0, data: p0! });
  h.apply({ type: "restore-abort" }); // no id: whatever is pending
  assert.is(h.s.restorePending(), false);
  assertChanged(h);
});

test("a final with the wrong total or sha256 is refused, clears the buffer, changes no data", () => {
  const { h, saved } = changed();
  const [p0, p1, p2] = pieces(saved);
  const send = (id: string): void => {
    h.apply({ type: "restore-chunk", id, seq: 0, data: p0! });
    h.apply({ type: "restore-chunk", id, seq: 1, data: p1! });
    h.apply({ type: "restore-chunk", id, seq: 2, data: p2! });
  };
  send("r1");
  const r = h.apply({ type: "restore", data: new Uint8Array(0), pending: { id: "r1", total: saved.length + 1, sha256: sha(saved) } });
  assert.ok(isError(r));
  assert.is(h.s.restorePending(), false);
  assertChanged(h);
  send("r2");
  const r2 = h.apply({ type: "restore", data: new Uint8Array(0), pending: { id: "r2", total: saved.length, sha256: sha(enc("x")) } });
  assert.ok(isError(r2));
  assert.is(h.s.restorePending(), false);
  assertChanged(h);
  // chunks that are not a snapshot: the decode error of the one-entry form
  h.apply({ type: "restore-chunk", id: "r3", seq: 0, data: enc("not a snapshot") });
  const r3 = h.apply({ type: "restore", data: new Uint8Array(0), pending: { id: "r3", total: 14, sha256: sha(enc("not a snapshot")) } });
  assert.ok(isError(r3));
  assert.is(h.s.restorePending(), false);
  assertChanged(h);
});

test("chunk size and total are bounded", () => {
  const h = new S();
  assert.ok(isError(h.apply({ type: "restore-chunk", id: "r", seq: 0, data: new Uint8Array(SNAPSHOT_RESTORE_CHUNK_BYTES + 1) })));
  assert.is(h.s.restorePending(), false);
  // one buffer referenced many times: the bound counts bytes without allocating them
  const big = new Uint8Array(SNAPSHOT_RESTORE_CHUNK_BYTES);
  const fit = Math.floor(SNAPSHOT_MAX_STATE_BYTES / SNAPSHOT_RESTORE_CHUNK_BYTES);
  for (let seq = 0; seq < fit; seq++) assert.equal(h.apply({ type: "restore-chunk", id: "r", seq, data: big }), NONE);
  assert.ok(isError(h.apply({ type: "restore-chunk", id: "r", seq: fit, data: big })));
  assert.is(h.s.pendingRestoreId(), "r");
  h.apply({ type: "restore-abort", id: "r" });
  assert.is(h.s.restorePending(), false);
});

test("no store snapshot while a restore is pending; installing a snapshot clears it", () => {
  const { h, saved } = changed();
  h.apply({ type: "restore-chunk", id: "r1", seq: 0, data: pieces(saved)[0]! });
  assert.throws(() => h.s.snapshot());
  h.s.restore(saved); // a snapshot received from a leader never holds a pending restore
  assert.is(h.s.restorePending(), false);
  assert.instance(h.s.snapshot(), Uint8Array);
});

test("codec: chunk, abort and both restore forms round-trip (the one-entry form keeps one field)", () => {
  const cmds: Command[] = [
    { type: "restore", data: enc("inline") },
    { type: "restore", data: new Uint8Array(0), pending: { id: "r1", total: 12345678, sha256: "ab".repeat(32) } },
    { type: "restore-chunk", id: "r1", seq: 7, data: enc("piece") },
    { type: "restore-abort", id: "r1" },
    { type: "restore-abort" },
  ];
  for (const c of cmds) assert.equal(decodeCommand(encodeCommand(c)), c);
  const one = encodeCommand({ type: "restore", data: enc("x") });
  const two = encodeCommand({ type: "restore", data: enc("x"), pending: { id: "i", total: 1, sha256: "s" } });
  assert.ok(one.length < two.length);
});

test("deterministic: two stores fed the same commands (through the codec) end identical", () => {
  const a = changed();
  const b = changed();
  assert.equal(a.saved, b.saved);
  const [p0, p1, p2] = pieces(a.saved);
  const cmds: Command[] = [
    { type: "restore-chunk", id: "x", seq: 0, data: enc("junk") },
    { type: "restore-chunk", id: "r1", seq: 0, data: p0! },
    { type: "restore-chunk", id: "r1", seq: 2, data: p2! }, // refused
    { type: "restore-chunk", id: "r1", seq: 1, data: p1! },
    { type: "restore-chunk", id: "r1", seq: 2, data: p2! },
    { type: "restore", data: new Uint8Array(0), pending: { id: "r1", total: a.saved.length, sha256: sha(a.saved) } },
    { type: "kv-set", key: "after", value: enc("z"), flags: 0n },
    { type: "restore-abort" },
  ];
  const ra = cmds.map((c) => a.h.apply(decodeCommand(encodeCommand(c))));
  const rb = cmds.map((c) => b.h.apply(decodeCommand(encodeCommand(c))));
  assert.equal(ra, rb);
  assert.ok(isError(ra[2]!));
  assert.equal(a.h.s.snapshot(), b.h.s.snapshot());
  assertRestored(a.h);
  assert.is(text(a.h.s.kvGet("after").value?.value), "z");
});

test.run();
