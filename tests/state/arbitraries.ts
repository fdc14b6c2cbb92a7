// fast-check arbitraries for commands (not a test file).
import fc from "fast-check";
import type { Command, KVTxnVerb, TxnOp } from "../../src/state/index.ts";

export const keyArb = fc.constantFrom("", "a", "a/", "a/b", "a/b/c", "a/c", "b", "b/x", "é", "😀/k");
export const valueArb = fc.uint8Array({ maxLength: 8 });
export const flagsArb = fc.oneof(fc.constant(0n), fc.bigInt({ min: 0n, max: 0xffffffffffffffffn }));
export const indexArb = fc.integer({ min: 0, max: 40 });

const verbs: KVTxnVerb[] = [
  "set",
  "cas",
  "lock",
  "unlock",
  "get",
  "get-or-empty",
  "get-tree",
  "check-index",
  "check-session",
  "check-not-exists",
  "delete",
  "delete-tree",
  "delete-cas",
];

export const txnOpArb: fc.Arbitrary<TxnOp> = fc
  .record({
    verb: fc.constantFrom(...verbs),
    key: keyArb,
    value: valueArb,
    flags: flagsArb,
    index: indexArb,
    session: fc.constantFrom("", "s1"),
  })
  .map((op) => ({ kind: "kv" as const, op }));

export const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ type: fc.constant("kv-set" as const), key: keyArb, value: valueArb, flags: flagsArb }) },
  {
    weight: 2,
    arbitrary: fc.record({ type: fc.constant("kv-cas" as const), key: keyArb, value: valueArb, flags: flagsArb, index: indexArb }),
  },
  { weight: 2, arbitrary: fc.record({ type: fc.constant("kv-delete" as const), key: keyArb }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant("kv-delete-cas" as const), key: keyArb, index: indexArb }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant("kv-delete-tree" as const), prefix: keyArb }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant("txn" as const), ops: fc.array(txnOpArb, { maxLength: 5 }) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant("tombstone-reap" as const), index: indexArb }) },
  { weight: 1, arbitrary: fc.constant({ type: "noop" as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constantFrom("kv-lock" as const, "kv-unlock" as const),
      key: keyArb,
      value: valueArb,
      flags: flagsArb,
      session: fc.constantFrom("", "s1"),
    }),
  },
);
