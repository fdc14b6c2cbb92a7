// Tests for watch firing precision (src/state/watch.ts through the Store).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Harness, op } from "./helpers.ts";

function recorder(h: Harness, keys: string[], prefixes: string[]): Set<string> {
  const fired = new Set<string>();
  for (const k of keys) h.store.watchKey(k, () => fired.add(`key:${k}`));
  for (const p of prefixes) h.store.watchPrefix(p, () => fired.add(`prefix:${p}`));
  return fired;
}

test("a write to a/b wakes a/b and prefixes a/, a, '' but not a/c or b", () => {
  const h = new Harness();
  const fired = recorder(h, ["a/b", "a/c", "a", "b"], ["a/", "a", "", "b", "a/b/", "a/bc"]);
  h.set("a/b");
  assert.equal([...fired].sort(), ["key:a/b", "prefix:", "prefix:a", "prefix:a/"].sort());
});

test("each registration fires at most once; cancel is idempotent and stops firing", () => {
  const h = new Harness();
  let n = 0;
  h.store.watchKey("k", () => n++);
  const cancel = h.store.watchKey("k", () => n++);
  cancel();
  cancel();
  assert.is(h.store.watchCount(), 1);
  h.set("k");
  h.set("k", "again");
  assert.is(n, 1);
  assert.is(h.store.watchCount(), 0);
});

test("delete-tree wakes keys under it and prefixes above and below it", () => {
  const h = new Harness();
  h.set("a/b/c");
  h.set("a/x");
  const fired = recorder(h, ["a/b/c", "a/b/none", "a/x", "ab"], ["a/b/", "a/", "a", "", "a/b/c/d", "b", "a/x/"]);
  h.apply({ type: "kv-delete-tree", prefix: "a/b/" });
  assert.equal(
    [...fired].sort(),
    ["key:a/b/c", "key:a/b/none", "prefix:", "prefix:a", "prefix:a/", "prefix:a/b/", "prefix:a/b/c/d"].sort(),
  );
});

test("no-op writes wake nobody", () => {
  const h = new Harness();
  h.set("k", "same");
  const fired = recorder(h, ["k", "missing"], ["", "zzz/"]);
  h.set("k", "same"); // identical content
  h.apply({ type: "kv-delete", key: "missing" });
  h.apply({ type: "kv-delete-tree", prefix: "zzz/" });
  h.apply({ type: "noop" });
  assert.equal([...fired], []);
});

test("callbacks see fully applied state of a txn, and failed txns wake nobody", () => {
  const h = new Harness();
  let seen: string[] = [];
  h.store.watchPrefix("t/", () => {
    seen = h.store.kvKeys("t/", "").value;
  });
  let failed = 0;
  h.store.watchKey("u", () => failed++);
  h.apply({ type: "txn", ops: [op("set", "u"), op("get", "nope")] });
  assert.is(failed, 0);
  h.apply({ type: "txn", ops: [op("set", "t/1"), op("set", "t/2"), op("set", "t/3")] });
  assert.equal(seen, ["t/1", "t/2", "t/3"]);
});

test("callbacks run after the write is complete (lastIndex already advanced)", () => {
  const h = new Harness();
  let seenIndex = -1;
  let seenValue: unknown;
  h.store.watchKey("k", () => {
    seenIndex = h.store.lastIndex();
    seenValue = h.store.kvGet("k").value?.modifyIndex;
  });
  h.set("x");
  h.set("k");
  assert.is(seenIndex, 2);
  assert.is(seenValue, 2);
});

test("10k watchers on one key fire cheaply; prefix walk does not scan all watchers", () => {
  const h = new Harness();
  let n = 0;
  for (let i = 0; i < 10_000; i++) h.store.watchKey("hot", () => n++);
  for (let i = 0; i < 50_000; i++) h.store.watchKey(`cold/${i}`, () => n++);
  const t0 = performance.now();
  h.set("hot");
  const dt = performance.now() - t0;
  assert.is(n, 10_000);
  assert.ok(dt < 200, `took ${dt} ms`);
  const t1 = performance.now();
  for (let i = 0; i < 1000; i++) h.set(`other/${i}`);
  const dt2 = performance.now() - t1;
  assert.ok(dt2 < 200, `1000 unrelated writes took ${dt2} ms`);
  assert.is(h.store.watchCount(), 50_000);
});

test("a throwing callback does not stop the others or the write", async () => {
  const h = new Harness();
  let ok = 0;
  const errors: unknown[] = [];
  const onErr = (e: unknown): void => void errors.push(e);
  const g = globalThis as { process?: { on: (e: string, f: (x: unknown) => void) => void; off: (e: string, f: (x: unknown) => void) => void } };
  g.process?.on("uncaughtException", onErr);
  h.store.watchKey("k", () => {
    throw new Error("boom");
  });
  h.store.watchKey("k", () => ok++);
  try {
    h.set("k");
    assert.is(ok, 1);
    assert.ok(h.store.kvGet("k").value);
    await new Promise((r) => setTimeout(r, 10));
  } finally {
    g.process?.off("uncaughtException", onErr);
  }
});

test("restore wakes every watcher", () => {
  const h = new Harness();
  h.set("a");
  const snap = h.store.snapshot();
  const fired = recorder(h, ["a", "zz"], ["q/"]);
  h.store.restore(snap);
  assert.is(fired.size, 3);
  assert.is(h.store.watchCount(), 0);
});

test.run();
