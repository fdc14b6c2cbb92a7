/**
 * tests/sim/lock_model: the lock (KV with session) model under the linearizability checker:
 * hand-written legal and illegal histories (two holders, a refused acquire of a free key, a
 * release by a non-holder, LockIndex), operations of unknown outcome, and two properties
 * against an independent reference: histories produced by running the reference at random
 * linearization points inside random intervals are accepted; changing any one definite
 * output of a sequential history makes it illegal.
 */

import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { checkHistory, checkOperations, type Operation } from "./linearizability.ts";
import { lockModel, type LockInput, type LockOutput, type LockRead } from "./lock_model.ts";

type Op = Operation<LockInput, LockOutput>;

/** An acquire or release by `client` with `session`; an undefined outcome is unknown (never returned). */
const lockOp = (op: "acquire" | "release") =>
  (client: number, session: string, out: boolean | undefined, call: number, ret: number, key = "k"): Op => ({
    client,
    input: { op, key, session },
    output: out,
    call,
    ret: out === undefined ? Infinity : ret,
  });
const acq = lockOp("acquire");
const rel = lockOp("release");
const read = (client: number, session: string | null, lockIndex: number, call: number, ret: number, key = "k"): Op => ({
  client,
  input: { op: "read", key },
  output: { session, lockIndex },
  call,
  ret,
});

test("a sequential hand-over is linearizable", () => {
  const h = [
    acq(1, "a", true, 1, 2),
    acq(2, "b", false, 3, 4),
    read(3, "a", 1, 5, 6),
    rel(1, "a", true, 7, 8),
    acq(2, "b", true, 9, 10),
    read(3, "b", 2, 11, 12),
    rel(2, "b", true, 13, 14),
    read(3, null, 2, 15, 16),
  ];
  assert.is(checkOperations(lockModel, h), "ok");
});

test("two holders at once are not linearizable", () => {
  assert.is(checkOperations(lockModel, [acq(1, "a", true, 1, 2), acq(2, "b", true, 3, 4)]), "illegal");
  // Even when both acquires overlap in time.
  assert.is(checkOperations(lockModel, [acq(1, "a", true, 1, 10), acq(2, "b", true, 2, 9)]), "illegal");
  // B acquires after A's release was invoked but A's release failed.
  assert.is(checkOperations(lockModel, [acq(1, "a", true, 1, 2), rel(1, "a", false, 3, 4), acq(2, "b", true, 5, 6)]), "illegal");
});

test("concurrent acquires: exactly one may win, in either order", () => {
  assert.is(checkOperations(lockModel, [acq(1, "a", true, 1, 10), acq(2, "b", false, 2, 9)]), "ok");
  assert.is(checkOperations(lockModel, [acq(1, "a", false, 1, 10), acq(2, "b", true, 2, 9)]), "ok");
  assert.is(checkOperations(lockModel, [acq(1, "a", false, 1, 10), acq(2, "b", false, 2, 9)]), "illegal", "nobody won a free key");
});

test("a refused acquire of a free key, and releases that disagree with the holder, are illegal", () => {
  assert.is(checkOperations(lockModel, [acq(1, "a", false, 1, 2)]), "illegal");
  assert.is(checkOperations(lockModel, [acq(1, "a", true, 1, 2), rel(1, "a", true, 3, 4), acq(2, "b", false, 5, 6)]), "illegal");
  assert.is(checkOperations(lockModel, [acq(1, "a", true, 1, 2), rel(2, "b", true, 3, 4)]), "illegal", "non-holder releases");
  assert.is(checkOperations(lockModel, [acq(1, "a", true, 1, 2), rel(1, "a", false, 3, 4)]), "illegal", "holder's release refused");
  assert.is(checkOperations(lockModel, [acq(1, "a", true, 1, 2), rel(2, "b", false, 3, 4), rel(1, "a", true, 5, 6)]), "ok");
});

test("LockIndex: a new holder increments it, the same holder re-acquiring does not, a read must agree", () => {
  assert.is(checkOperations(lockModel, [acq(1, "a", true, 1, 2), acq(1, "a", true, 3, 4), read(2, "a", 1, 5, 6)]), "ok");
  assert.is(checkOperations(lockModel, [acq(1, "a", true, 1, 2), acq(1, "a", true, 3, 4), read(2, "a", 2, 5, 6)]), "illegal");
  assert.is(checkOperations(lockModel, [read(2, null, 0, 1, 2), acq(1, "a", true, 3, 4), rel(1, "a", true, 5, 6), read(2, null, 1, 7, 8)]), "ok");
  assert.is(checkOperations(lockModel, [acq(1, "a", true, 3, 4), rel(1, "a", true, 5, 6), read(2, null, 0, 7, 8)]), "illegal", "index went back");
  assert.is(checkOperations(lockModel, [acq(1, "a", true, 1, 2), read(2, "b", 1, 3, 4)]), "illegal", "reads a holder that never acquired");
});

test("operations of unknown outcome may take effect late or never", () => {
  // A's acquire timed out; a later read shows it took effect.
  assert.is(checkOperations(lockModel, [acq(1, "a", undefined, 1, 0), read(2, "a", 1, 5, 6)]), "ok");
  // ... or it never did: B acquires the free key.
  assert.is(checkOperations(lockModel, [acq(1, "a", undefined, 1, 0), acq(2, "b", true, 5, 6), read(3, "b", 1, 7, 8)]), "ok");
  // It cannot take effect while B holds and then vanish.
  assert.is(checkOperations(lockModel, [acq(1, "a", undefined, 1, 0), acq(2, "b", true, 5, 6), read(3, "a", 1, 7, 8)]), "illegal");
  // A release of unknown outcome: the key may still be held by A ...
  const held = [acq(1, "a", true, 1, 2), rel(1, "a", undefined, 3, 0), acq(2, "b", false, 5, 6)];
  assert.is(checkOperations(lockModel, held), "ok");
  // ... or free; but not both in real-time order.
  assert.is(checkOperations(lockModel, [...held, acq(3, "c", true, 7, 8), read(4, "a", 1, 9, 10)]), "illegal");
});

test("keys are independent", () => {
  const h = [acq(1, "a", true, 1, 2, "x"), acq(2, "b", true, 3, 4, "y"), acq(3, "c", true, 5, 6, "x")];
  assert.equal(checkHistory(lockModel, h, (i) => i.key), { result: "illegal", key: "x" });
  assert.equal(checkHistory(lockModel, h.slice(0, 2), (i) => i.key), { result: "ok", key: undefined });
});

/** An independent reference of the lock rules (a holder and an index per key). */
class RefLock {
  holder: string | null = null;
  index = 0;
  apply(i: LockInput): LockOutput {
    switch (i.op) {
      case "acquire":
        if (this.holder !== null && this.holder !== i.session) return false;
        if (this.holder !== i.session) this.index++;
        this.holder = i.session;
        return true;
      case "release":
        if (this.holder !== i.session) return false;
        this.holder = null;
        return true;
      case "read":
        return { session: this.holder, lockIndex: this.index };
    }
  }
}

const inputArb = fc.oneof(
  fc.record({ op: fc.constant("acquire" as const), key: fc.constant("k"), session: fc.constantFrom("a", "b", "c") }),
  fc.record({ op: fc.constant("release" as const), key: fc.constant("k"), session: fc.constantFrom("a", "b", "c") }),
  fc.record({ op: fc.constant("read" as const), key: fc.constant("k") }),
);

test("property: histories produced by the reference at points inside their intervals are accepted", () => {
  const opArb = fc.record({ input: inputArb, before: fc.nat(30), after: fc.nat(30), unknown: fc.boolean() });
  fc.assert(
    fc.property(fc.array(opArb, { minLength: 1, maxLength: 9 }), (raw) => {
      const ref = new RefLock();
      const ops: Op[] = raw.map((r, i) => {
        const point = (i + 1) * 100; // linearization point, in order
        const output = ref.apply(r.input);
        const call = point - r.before * 10 - 0.001 * (i + 1);
        const unknown = r.unknown && i % 3 === 0;
        return { client: i, input: r.input, output: unknown ? undefined : output, call, ret: unknown ? Infinity : point + r.after * 10 + 0.002 * (i + 1) };
      });
      assert.is(checkOperations(lockModel, ops), "ok");
    }),
    { numRuns: 800 },
  );
});

test("property: changing one definite output of a sequential history makes it illegal", () => {
  fc.assert(
    fc.property(fc.array(inputArb, { minLength: 1, maxLength: 10 }), fc.nat(), (inputs, pick) => {
      const ref = new RefLock();
      const ops: Op[] = inputs.map((input, i) => ({ client: i, input, output: ref.apply(input), call: i * 10 + 1, ret: i * 10 + 2 }));
      assert.is(checkOperations(lockModel, ops), "ok");
      const j = pick % ops.length;
      const o = ops[j]!;
      let wrong: LockOutput;
      if (typeof o.output === "boolean") wrong = !o.output;
      else {
        const r = o.output as LockRead;
        wrong = pick % 2 === 0 ? { session: r.session, lockIndex: r.lockIndex + 1 } : { session: r.session === "a" ? "b" : "a", lockIndex: r.lockIndex };
      }
      const mutated = ops.map((x, i) => (i === j ? { ...x, output: wrong } : x));
      assert.is(checkOperations(lockModel, mutated), "illegal", JSON.stringify(mutated));
    }),
    { numRuns: 800 },
  );
});

test.run();
