// Unit tests for src/state/store.ts: every command kind and Consul's index rules.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Store, txnPreCheck, isReadOnlyTxn } from "../../src/state/index.ts";
import { Harness, dec, enc, op } from "./helpers.ts";
import type { KVEntry, TxnResult } from "../../src/state/index.ts";

/** The KV side of a txn result (these tests only run KV ops). */
function kv(r: TxnResult | undefined): { entry: KVEntry; withValue: boolean } {
  if (r === undefined || r.kind !== "kv") throw new Error("expected a KV txn result");
  return r;
}

test("empty store: X-Consul-Index is never 0", () => {
  const s = new Store();
  assert.is(s.lastIndex(), 0);
  assert.is(s.kvGet("a").index, 1);
  assert.is(s.kvGet("a").value, undefined);
  assert.is(s.kvList("").index, 1);
  assert.equal(s.kvList("").value, []);
  assert.is(s.kvKeys("", "/").index, 1);
  assert.is(s.txnRead([op("get-or-empty", "a")]).index, 1);
});

test("kv-set: create and update keep CreateIndex, bump ModifyIndex", () => {
  const h = new Harness();
  assert.equal(h.apply({ type: "kv-set", key: "foo", value: enc("bar"), flags: 42n }), { type: "bool", ok: true });
  let e = h.store.kvGet("foo");
  assert.is(e.index, 1);
  assert.is(dec(e.value!.value), "bar");
  assert.is(e.value!.flags, 42n);
  assert.is(e.value!.createIndex, 1);
  assert.is(e.value!.modifyIndex, 1);
  h.set("foo", "baz");
  e = h.store.kvGet("foo");
  assert.is(e.value!.createIndex, 1);
  assert.is(e.value!.modifyIndex, 2);
  assert.is(e.index, 2);
  assert.is(h.store.lastIndex(), 2);
});

test("kv-set of identical content is not a write (no index bump)", () => {
  const h = new Harness();
  h.set("foo", "bar");
  h.set("other", "x"); // index 2
  h.set("foo", "bar"); // index 3: unchanged
  assert.is(h.store.kvGet("foo").value!.modifyIndex, 1);
  assert.is(h.store.kvList("").index, 2);
  assert.is(h.store.lastIndex(), 3);
});

test("kv-set copies the caller's bytes", () => {
  const h = new Harness();
  const buf = enc("abc");
  h.apply({ type: "kv-set", key: "k", value: buf, flags: 0n });
  buf[0] = 0x7a;
  assert.is(dec(h.store.kvGet("k").value!.value), "abc");
});

test("flags 2^64-1 are preserved", () => {
  const h = new Harness();
  const max = 0xffffffffffffffffn;
  h.apply({ type: "kv-set", key: "f", value: enc(""), flags: max });
  assert.is(h.store.kvGet("f").value!.flags, max);
  assert.is(h.store.kvList("f").value[0]!.flags, max);
});

test("kvGet of a missing key reports the kvs table index (incl. tombstones)", () => {
  const h = new Harness();
  h.set("a");
  h.set("b");
  h.apply({ type: "kv-delete", key: "b" }); // 3: tombstone
  assert.is(h.store.kvGet("nope").index, 3);
  assert.is(h.store.kvGet("a").index, 1);
});

test("kv-cas: index 0 only if absent, else ModifyIndex must match", () => {
  const h = new Harness();
  const cas = (index: number, v: string) => h.apply({ type: "kv-cas", key: "k", value: enc(v), flags: 0n, index });
  assert.equal(cas(5, "x"), { type: "bool", ok: false }); // missing + non-zero
  assert.equal(cas(0, "a"), { type: "bool", ok: true }); // 2
  assert.equal(cas(0, "b"), { type: "bool", ok: false }); // exists
  assert.equal(cas(1, "b"), { type: "bool", ok: false }); // stale
  assert.equal(cas(2, "c"), { type: "bool", ok: true });
  const e = h.store.kvGet("k").value!;
  assert.is(dec(e.value), "c");
  assert.is(e.createIndex, 2);
  assert.is(e.modifyIndex, 5);
});

test("kv-delete: tombstone keeps the prefix index from going backwards", () => {
  const h = new Harness();
  h.set("foo"); // 1
  h.set("foo/bar"); // 2
  h.set("foo/baz"); // 3
  assert.is(h.store.kvList("foo/").index, 3);
  h.apply({ type: "kv-delete", key: "foo/baz" }); // 4
  assert.is(h.store.kvList("foo/").index, 4);
  assert.is(h.store.kvList("foo/").value.length, 1);
  h.apply({ type: "tombstone-reap", index: 4 }); // 5
  assert.is(h.store.tombstoneCount(), 0);
  // After reaping, the sub-index slides back to the remaining entries (Consul's behaviour).
  assert.is(h.store.kvList("foo/").index, 2);
  // The table index still covers the delete.
  assert.is(h.store.kvList("").index, 4);
  assert.is(h.store.kvGet("foo/baz").index, 4);
});

test("kv-delete of a missing key changes nothing", () => {
  const h = new Harness();
  h.set("a"); // 1
  assert.equal(h.apply({ type: "kv-delete", key: "zz" }), { type: "bool", ok: true }); // 2
  assert.is(h.store.tombstoneCount(), 0);
  assert.is(h.store.kvList("").index, 1);
  assert.is(h.store.kvGet("zz").index, 1);
  assert.is(h.store.lastIndex(), 2);
});

test("kv-list of an empty prefix falls back to the table index", () => {
  const h = new Harness();
  h.set("a"); // 1
  h.set("b"); // 2
  assert.is(h.store.kvList("nothing/").index, 2);
  assert.is(h.store.kvKeys("nothing/", "").index, 2);
});

test("kv-delete-cas: stale fails, match deletes, missing key is a success no-op", () => {
  const h = new Harness();
  h.set("k"); // 1
  assert.equal(h.apply({ type: "kv-delete-cas", key: "k", index: 9 }), { type: "bool", ok: false });
  assert.ok(h.store.kvGet("k").value);
  assert.equal(h.apply({ type: "kv-delete-cas", key: "k", index: 1 }), { type: "bool", ok: true }); // 3
  assert.is(h.store.kvGet("k").value, undefined);
  assert.is(h.store.kvGet("k").index, 3);
  assert.equal(h.apply({ type: "kv-delete-cas", key: "k", index: 1 }), { type: "bool", ok: true });
  assert.equal(h.apply({ type: "kv-delete-cas", key: "never", index: 0 }), { type: "bool", ok: true });
});

test("kv-delete-tree: one prefix tombstone, none for the whole tree", () => {
  const h = new Harness();
  h.set("a/1"); // 1
  h.set("a/2"); // 2
  h.set("b/1"); // 3
  h.apply({ type: "kv-delete-tree", prefix: "a/" }); // 4
  assert.equal(h.store.kvKeys("", "").value, ["b/1"]);
  assert.is(h.store.tombstoneCount(), 1);
  assert.is(h.store.kvList("a/").index, 4);
  assert.is(h.store.kvList("a/2").index, 4); // falls back to the table index (no tombstone under "a/2")
  h.apply({ type: "kv-delete-tree", prefix: "zzz" }); // 5: nothing deleted, nothing written
  assert.is(h.store.kvList("").index, 4);
  h.apply({ type: "kv-delete-tree", prefix: "" }); // 6
  assert.is(h.store.kvCount(), 0);
  assert.is(h.store.tombstoneCount(), 1);
  assert.is(h.store.kvList("").index, 6);
});

test("kvKeys: roll-up to the separator, Consul's ListKeys cases", () => {
  const h = new Harness();
  for (const k of ["foo", "foo/bar", "foo/bar/baz", "foo/bar/zip", "foo/bar/zip/zam", "foo/bar/zip/zorp", "some/other/prefix"]) {
    h.set(k);
  }
  let r = h.store.kvKeys("", "");
  assert.is(r.value.length, 7);
  assert.is(r.index, 7);
  r = h.store.kvKeys("foo/bar/", "/");
  assert.equal(r.value, ["foo/bar/baz", "foo/bar/zip", "foo/bar/zip/"]);
  assert.is(r.index, 6);
  r = h.store.kvKeys("", "/");
  assert.equal(r.value, ["foo", "foo/", "some/"]);
  r = h.store.kvKeys("foo", "");
  assert.equal(r.value, ["foo", "foo/bar", "foo/bar/baz", "foo/bar/zip", "foo/bar/zip/zam", "foo/bar/zip/zorp"]);
  h.apply({ type: "kv-delete", key: "foo/bar/baz" }); // 8
  assert.is(h.store.kvKeys("foo/bar/baz", "").index, 8);
  h.set("some/other/key"); // 9
  assert.is(h.store.kvKeys("foo/bar/baz", "").index, 8);
  h.apply({ type: "tombstone-reap", index: 8 }); // 10
  assert.is(h.store.kvKeys("foo/bar/baz", "").index, 9);
  // Multi-character separator.
  assert.equal(h.store.kvKeys("foo", "ar/").value, ["foo", "foo/bar", "foo/bar/"]);
});

test("kv-lock / kv-unlock without sessions report Consul's errors", () => {
  const h = new Harness();
  h.set("k");
  assert.equal(h.apply({ type: "kv-lock", key: "k", value: enc("x"), flags: 0n, session: "" }), {
    type: "error",
    message: "missing session",
  });
  assert.equal(h.apply({ type: "kv-lock", key: "k", value: enc("x"), flags: 0n, session: "abc" }), {
    type: "error",
    message: 'invalid session "abc"',
  });
  assert.equal(h.apply({ type: "kv-unlock", key: "k", value: enc("x"), flags: 0n, session: "abc" }), {
    type: "bool",
    ok: false,
  });
  assert.is(dec(h.store.kvGet("k").value!.value), "v");
});

test("kv-lock / kv-unlock with a session lookup", () => {
  const h = new Harness();
  h.store.setSessionLookup({ exists: (id) => id === "s1" || id === "s2" });
  assert.equal(h.apply({ type: "kv-lock", key: "k", value: enc("x"), flags: 0n, session: "s1" }), { type: "bool", ok: true });
  let e = h.store.kvGet("k").value!;
  assert.is(e.lockIndex, 1);
  assert.is(e.session, "s1");
  // Re-acquire by the holder keeps LockIndex; another session fails.
  assert.equal(h.apply({ type: "kv-lock", key: "k", value: enc("y"), flags: 0n, session: "s1" }), { type: "bool", ok: true });
  assert.is(h.store.kvGet("k").value!.lockIndex, 1);
  assert.equal(h.apply({ type: "kv-lock", key: "k", value: enc("z"), flags: 0n, session: "s2" }), { type: "bool", ok: false });
  // A plain set keeps the session (Consul's kvsSetTxn).
  h.set("k", "plain");
  assert.is(h.store.kvGet("k").value!.session, "s1");
  assert.equal(h.apply({ type: "kv-unlock", key: "k", value: enc("u"), flags: 0n, session: "s2" }), { type: "bool", ok: false });
  assert.equal(h.apply({ type: "kv-unlock", key: "k", value: enc("u"), flags: 0n, session: "s1" }), { type: "bool", ok: true });
  e = h.store.kvGet("k").value!;
  assert.is(e.session, "");
  assert.is(dec(e.value), "u");
  assert.equal(h.apply({ type: "kv-lock", key: "k", value: enc("x"), flags: 0n, session: "s2" }), { type: "bool", ok: true });
  assert.is(h.store.kvGet("k").value!.lockIndex, 1); // plain set reset LockIndex to 0, then +1
});

test("noop and tombstone-reap advance lastIndex only", () => {
  const h = new Harness();
  h.set("a");
  assert.equal(h.apply({ type: "noop" }), { type: "none" });
  assert.is(h.store.lastIndex(), 2);
  assert.is(h.store.kvList("").index, 1);
  assert.throws(() => h.store.apply(2, { type: "noop" }), /apply index/);
});

test("txn: results, values only for get verbs, deletes report nothing", () => {
  const h = new Harness();
  h.set("existing", "old"); // 1
  const r = h.apply({
    type: "txn",
    ops: [
      op("set", "a", { value: enc("1"), flags: 7n }),
      op("cas", "existing", { value: enc("new"), index: 1 }),
      op("get", "a"),
      op("delete", "missing"),
      op("check-not-exists", "nope"),
      op("get-tree", ""),
    ],
  }); // 2
  assert.is(r.type, "txn");
  if (r.type !== "txn") return;
  assert.equal(r.errors, []);
  assert.is(r.results.length, 5);
  assert.is(kv(r.results[0]).entry.key, "a");
  assert.is(kv(r.results[0]).withValue, false);
  assert.is(kv(r.results[0]).entry.modifyIndex, 2);
  assert.is(kv(r.results[1]).entry.createIndex, 1);
  assert.is(kv(r.results[1]).entry.modifyIndex, 2);
  assert.is(kv(r.results[2]).withValue, true);
  assert.is(dec(kv(r.results[2]).entry.value), "1");
  assert.is(kv(r.results[2]).entry.flags, 7n);
  assert.equal(r.results.slice(3).map((x) => kv(x).entry.key), ["a", "existing"]);
  assert.ok(r.results.slice(3).every((x) => kv(x).withValue));
});

test("txn: rollback leaves the store unchanged and reports every failing OpIndex", () => {
  const h = new Harness();
  h.set("a", "1"); // 1
  h.set("b/x", "2"); // 2
  h.apply({ type: "kv-delete", key: "gone" }); // 3 (no-op)
  const before = JSON.stringify(h.store.kvList(""), (_k, v) => (typeof v === "bigint" ? String(v) : v));
  const snapBefore = h.store.snapshot();
  let fired = 0;
  h.store.watchPrefix("", () => fired++);
  const r = h.apply({
    type: "txn",
    ops: [
      op("set", "a", { value: enc("changed") }),
      op("delete-tree", "b/"),
      op("get", "missing"),
      op("cas", "a", { index: 99 }),
      op("set", "c", { value: enc("3") }),
      op("delete-cas", "a", { index: 98 }),
      op("check-index", "a", { index: 1 }),
      op("check-session", "a", { session: "s" }),
      op("check-session", "zz"),
      op("check-index", "zz"),
      op("lock", "a", { session: "sess" }),
      op("unlock", "a", { session: "sess" }),
      op("check-not-exists", "a"),
    ],
  }); // 4
  assert.equal(r, {
    type: "txn",
    results: [],
    errors: [
      { opIndex: 2, what: 'key "missing" doesn\'t exist' },
      { opIndex: 3, what: 'failed to set key "a", index is stale' },
      { opIndex: 5, what: 'failed to delete key "a", index is stale' },
      // op 6 sees op 0's write: ModifyIndex is now 4
      { opIndex: 6, what: 'failed index check for key "a", current modify index 4 != 1' },
      { opIndex: 7, what: 'failed session check for key "a", current session "" != "s"' },
      { opIndex: 8, what: 'failed to check session, key "zz" doesn\'t exist' },
      { opIndex: 9, what: 'failed to check index, key "zz" doesn\'t exist' },
      { opIndex: 10, what: 'invalid session "sess"' },
      { opIndex: 11, what: 'failed to unlock key "a", lock isn\'t held, or is held by another session' },
      { opIndex: 12, what: 'key "a" exists' },
    ],
  });
  const after = JSON.stringify(h.store.kvList(""), (_k, v) => (typeof v === "bigint" ? String(v) : v));
  assert.is(after, before);
  assert.is(h.store.kvList("").index, 2);
  assert.is(h.store.tombstoneCount(), 0);
  assert.is(h.store.lastIndex(), 4);
  assert.is(fired, 0);
  // Snapshot equality except for lastIndex: restore both and compare reads.
  const s2 = Store.restore(snapBefore);
  assert.is(JSON.stringify(s2.kvList(""), (_k, v) => (typeof v === "bigint" ? String(v) : v)), after);
});

test("txn: get-or-empty on a missing key echoes the op", () => {
  const h = new Harness();
  const r = h.store.txnRead([op("get-or-empty", "nope", { flags: 3n, index: 5 })]);
  assert.equal(r.value.errors, []);
  const e = kv(r.value.results[0]).entry;
  assert.is(e.key, "nope");
  assert.is(e.flags, 3n);
  assert.is(e.modifyIndex, 5);
  assert.is(e.value.byteLength, 0);
});

test("txnRead: read verbs only; write verbs are refused per op", () => {
  const h = new Harness();
  h.set("a", "1");
  const r = h.store.txnRead([op("get", "a"), op("set", "b")]);
  assert.is(r.value.errors.length, 1);
  assert.is(r.value.errors[0]!.opIndex, 1);
  assert.is(h.store.kvGet("b").value, undefined);
  assert.ok(isReadOnlyTxn([op("get", "a"), op("check-index", "a")]));
  assert.not.ok(isReadOnlyTxn([op("get", "a"), op("delete", "a")]));
});

test("txnPreCheck: a key is required except for delete-tree", () => {
  assert.equal(txnPreCheck([op("set", ""), op("delete-tree", ""), op("get", "x"), op("get", "")]), [
    { opIndex: 0, what: "Must provide key" },
    { opIndex: 3, what: "Must provide key" },
  ]);
});

test("error texts quote keys like Go's %q", () => {
  const h = new Harness();
  const r = h.store.txnRead([op("get", 'we"ird\n\u00a0\u0001')]);
  assert.is(r.value.errors[0]!.what, 'key "we\\"ird\\n\\u00a0\\x01" doesn\'t exist');
});

test("overwrites reclaim value space (slab compaction)", () => {
  const h = new Harness();
  const big = "x".repeat(1000);
  for (let round = 0; round < 20; round++) {
    for (let i = 0; i < 200; i++) h.apply({ type: "kv-set", key: `k${i}`, value: enc(big + round), flags: 0n });
  }
  const st = h.store.valueStats();
  // 200 live values of ~1 KB; without compaction 20 rounds would keep ~4 MB.
  assert.ok(st.used < 3 * 1024 * 1024, `used ${st.used}`);
  assert.ok(st.live >= 200 * 1000);
  for (let i = 0; i < 200; i++) assert.is(dec(h.store.kvGet(`k${i}`).value!.value), big + 19);
});

test.run();
