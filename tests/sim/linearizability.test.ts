/**
 * tests/sim/linearizability: the checker against histories whose answer is
 * known: classic linearizable and non-linearizable register histories, ops of
 * unknown outcome, cas, per-key partitioning, and a brute-force twin on small
 * random histories.
 */

import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { kvModel } from "./kv.ts";
import type { KvInput, KvOutput } from "./kv.ts";
import { checkHistory, checkOperations } from "./linearizability.ts";
import type { Operation } from "./linearizability.ts";

type Op = Operation<KvInput, KvOutput>;
const put = (client: number, value: string, call: number, ret: number, key = "k"): Op => ({ client, input: { op: "put", key, value }, output: null, call, ret });
const get = (client: number, value: string | null, call: number, ret: number, key = "k"): Op => ({ client, input: { op: "get", key }, output: value, call, ret });
const cas = (client: number, expect: string | null, value: string, out: "ok" | "fail" | undefined, call: number, ret: number): Op => ({
  client,
  input: { op: "cas", key: "k", expect, value },
  output: out,
  call,
  ret,
});

test("sequential history that follows the register is linearizable", () => {
  assert.is(checkOperations(kvModel, [put(0, "a", 1, 2), get(0, "a", 3, 4), put(0, "b", 5, 6), get(1, "b", 7, 8)]), "ok");
});

test("a read of a value never written is not linearizable", () => {
  assert.is(checkOperations(kvModel, [put(0, "a", 1, 2), get(1, "z", 3, 4)]), "illegal");
});

test("a stale read after a newer write completed is not linearizable", () => {
  assert.is(checkOperations(kvModel, [put(0, "a", 1, 2), put(0, "b", 3, 4), get(1, "a", 5, 6)]), "illegal");
});

test("a read concurrent with a write may see either value", () => {
  assert.is(checkOperations(kvModel, [put(0, "a", 1, 2), put(0, "b", 3, 10), get(1, "a", 4, 5)]), "ok");
  assert.is(checkOperations(kvModel, [put(0, "a", 1, 2), put(0, "b", 3, 10), get(1, "b", 4, 5)]), "ok");
});

test("two reads that see a concurrent write in opposite orders are not linearizable", () => {
  // b is written concurrently with both reads; reader 1 sees b, then (later) reader 2 sees a.
  const h = [put(0, "a", 1, 2), put(0, "b", 3, 20), get(1, "b", 4, 5), get(2, "a", 6, 7)];
  assert.is(checkOperations(kvModel, h), "illegal");
});

test("an op of unknown outcome may take effect late or never", () => {
  const unknown: Op = { client: 0, input: { op: "put", key: "k", value: "x" }, output: undefined, call: 3, ret: Infinity };
  assert.is(checkOperations(kvModel, [put(0, "a", 1, 2), unknown, get(1, "a", 5, 6)]), "ok", "never (yet)");
  assert.is(checkOperations(kvModel, [put(0, "a", 1, 2), unknown, get(1, "a", 5, 6), get(1, "x", 7, 8)]), "ok", "later");
  assert.is(checkOperations(kvModel, [put(0, "a", 1, 2), unknown, get(1, "x", 5, 6), get(1, "a", 7, 8)]), "illegal", "not undone");
});

test("cas: success and failure must agree with the value at the linearization point", () => {
  assert.is(checkOperations(kvModel, [put(0, "a", 1, 2), cas(1, "a", "b", "ok", 3, 4), get(0, "b", 5, 6)]), "ok");
  assert.is(checkOperations(kvModel, [put(0, "a", 1, 2), cas(1, "a", "b", "fail", 3, 4)]), "illegal");
  assert.is(checkOperations(kvModel, [cas(1, null, "b", "ok", 1, 2), cas(2, null, "c", "ok", 3, 4)]), "illegal", "two winners");
  assert.is(checkOperations(kvModel, [cas(1, null, "b", "ok", 1, 10), cas(2, null, "c", "fail", 2, 9)]), "ok");
});

test("histories are partitioned by key", () => {
  const h = [put(0, "a", 1, 2, "x"), put(1, "b", 3, 4, "y"), get(2, "a", 5, 6, "x"), get(2, "z", 7, 8, "y")];
  assert.equal(checkHistory(kvModel, h, (i) => i.key), { result: "illegal", key: "y" });
  assert.equal(checkHistory(kvModel, h.slice(0, 3), (i) => i.key), { result: "ok", key: undefined });
});

test("many concurrent clients: a long valid history is checked quickly (memoization)", () => {
  const ops: Op[] = [];
  let t = 0;
  let value = "v0";
  ops.push(put(0, value, ++t, ++t));
  for (let round = 0; round < 200; round++) {
    // Five clients overlap; one writes, the others read the old or the new value.
    const callW = ++t;
    const next = `v${round + 1}`;
    const reads: Op[] = [];
    for (let c = 1; c <= 4; c++) reads.push(get(c, c % 2 === 0 ? value : next, ++t, 0));
    const retW = ++t;
    ops.push(put(0, next, callW, retW));
    for (const r of reads) ops.push({ ...r, ret: ++t });
    value = next;
  }
  assert.is(checkOperations(kvModel, ops), "ok");
});

/** Brute force: try every permutation consistent with real time. */
function bruteForce(ops: Op[]): boolean {
  const n = ops.length;
  const used = new Array<boolean>(n).fill(false);
  const go = (state: string | null, depth: number): boolean => {
    if (depth === n) return true;
    for (let i = 0; i < n; i++) {
      if (used[i]) continue;
      // i may go next only if no unused op returned before i was called.
      if (ops.some((o, j) => !used[j] && j !== i && o.ret < ops[i]!.call)) continue;
      const r = kvModel.step(state, ops[i]!.input, ops[i]!.output);
      if (r === undefined) continue;
      used[i] = true;
      if (go(r.next, depth + 1)) return true;
      used[i] = false;
    }
    return false;
  };
  return go(null, 0);
}

test("the checker agrees with brute force on small random histories", () => {
  const opArb = fc.record({
    kind: fc.constantFrom("put", "get", "cas"),
    value: fc.constantFrom("a", "b", "c"),
    expect: fc.constantFrom<string | null>(null, "a", "b"),
    result: fc.constantFrom<string | null>(null, "a", "b", "c", "ok", "fail"),
    start: fc.nat(20),
    len: fc.integer({ min: 1, max: 8 }),
  });
  fc.assert(
    fc.property(fc.array(opArb, { minLength: 1, maxLength: 6 }), (raw) => {
      let tie = 0;
      const ops: Op[] = raw.map((r, i) => {
        const call = r.start * 100 + i;
        const ret = (r.start + r.len) * 100 + 50 + i + ++tie;
        if (r.kind === "put") return put(i, r.value, call, ret);
        if (r.kind === "get") return get(i, r.result === "ok" || r.result === "fail" ? null : r.result, call, ret);
        return cas(i, r.expect, r.value, r.result === "ok" ? "ok" : "fail", call, ret);
      });
      assert.is(checkOperations(kvModel, ops) === "ok", bruteForce(ops));
    }),
    { numRuns: 1500 },
  );
});

test.run();
