// Tests for src/state/btree.ts and keyorder.ts: unit cases and a model-based property test.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { BTree } from "../../src/state/btree.ts";
import { compareKeys } from "../../src/state/keyorder.ts";

function utf8Compare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

test("keyorder: code point order equals UTF-8 byte order", () => {
  const samples = ["", "a", "a/", "a/b", "b", "\u00e9", "\uffff", "\ud83d\ude00", "\ue000", "z\ud800\udc00", "z\uffee"];
  for (const a of samples) {
    for (const b of samples) {
      assert.is(Math.sign(compareKeys(a, b)), Math.sign(utf8Compare(a, b)), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
    }
  }
  fc.assert(
    fc.property(fc.string({ unit: "grapheme" }), fc.string({ unit: "grapheme" }), (a, b) => {
      assert.is(Math.sign(compareKeys(a, b)), Math.sign(utf8Compare(a, b)));
    }),
    { numRuns: 2000 },
  );
});

test("btree: basic set/get/delete/size and ordered iteration", () => {
  const t = new BTree<number>();
  assert.is(t.size, 0);
  assert.is(t.get("x"), undefined);
  assert.is(t.set("b", 2), undefined);
  assert.is(t.set("a", 1), undefined);
  assert.is(t.set("b", 3), 2);
  assert.is(t.size, 2);
  const seen: string[] = [];
  t.forEach((k) => void seen.push(k));
  assert.equal(seen, ["a", "b"]);
  assert.is(t.delete("a"), 1);
  assert.is(t.delete("a"), undefined);
  assert.is(t.size, 1);
});

test("btree: non-ASCII keys sort by UTF-8 bytes", () => {
  const t = new BTree<number>();
  const keys = ["\ud83d\ude00", "\uffff", "\ue000", "a", "\u00e9"];
  keys.forEach((k, i) => t.set(k, i));
  const seen: string[] = [];
  t.forEach((k) => void seen.push(k));
  assert.equal(seen, [...keys].sort(utf8Compare));
});

test("btree: large sequential insert, prefix scan and deleteRange keep invariants", () => {
  const t = new BTree<number>();
  const n = 20000;
  for (let i = 0; i < n; i++) t.set(`k/${String(i % 100).padStart(3, "0")}/${i}`, i);
  t.checkInvariants();
  assert.is(t.size, n);
  assert.ok(t.height() >= 3);
  let c = 0;
  t.forEachPrefix("k/042/", () => void c++);
  assert.is(c, 200);
  assert.is(t.deleteRange("k/04"), 2000);
  t.checkInvariants();
  assert.is(t.size, n - 2000);
  c = 0;
  t.forEachPrefix("k/04", () => void c++);
  assert.is(c, 0);
  assert.is(t.deleteRange("k/"), n - 2000);
  t.checkInvariants();
  assert.is(t.size, 0);
  assert.is(t.height(), 1);
});

test("btree: fromSorted builds a valid tree", () => {
  for (const n of [0, 1, 47, 48, 49, 5000]) {
    const keys = Array.from({ length: n }, (_, i) => `k${String(i).padStart(6, "0")}`);
    const t = BTree.fromSorted(keys, keys.map((_, i) => i));
    t.checkInvariants();
    assert.is(t.size, n);
    if (n > 0) assert.is(t.get(keys[n - 1]!), n - 1);
  }
});

type Op =
  | { op: "set"; k: string; v: number }
  | { op: "del"; k: string }
  | { op: "range"; p: string }
  | { op: "scan"; p: string };

const keyArb = fc.stringMatching(/^[ab\/é😀]{0,5}$/);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant("set" as const), k: keyArb, v: fc.integer() }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant("del" as const), k: keyArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("range" as const), p: keyArb }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("scan" as const), p: keyArb }) },
);

test("btree: property vs sorted Map model", () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 400 }), fc.integer({ min: 0, max: 3000 }), (ops, preload) => {
      const t = new BTree<number>();
      const m = new Map<string, number>();
      for (let i = 0; i < preload; i++) {
        const k = `${"ab"[i % 2]}/${i}`;
        t.set(k, i);
        m.set(k, i);
      }
      for (const o of ops) {
        switch (o.op) {
          case "set":
            assert.is(t.set(o.k, o.v), m.get(o.k));
            m.set(o.k, o.v);
            break;
          case "del":
            assert.is(t.delete(o.k), m.get(o.k));
            m.delete(o.k);
            break;
          case "range": {
            const want = [...m.keys()].filter((k) => k.startsWith(o.p)).sort(compareKeys);
            const got: string[] = [];
            assert.is(t.deleteRange(o.p, (k) => void got.push(k)), want.length);
            assert.equal(got, want);
            for (const k of want) m.delete(k);
            break;
          }
          case "scan": {
            const want = [...m.entries()].filter(([k]) => k.startsWith(o.p)).sort((a, b) => compareKeys(a[0], b[0]));
            const got: [string, number][] = [];
            t.forEachPrefix(o.p, (k, v) => void got.push([k, v]));
            assert.equal(got, want);
            break;
          }
        }
        assert.is(t.size, m.size);
      }
      t.checkInvariants();
      const all: string[] = [];
      t.forEach((k) => void all.push(k));
      assert.equal(all, [...m.keys()].sort(compareKeys));
      for (const [k, v] of m) assert.is(t.get(k), v);
    }),
    { numRuns: 150 },
  );
});

test.run();
