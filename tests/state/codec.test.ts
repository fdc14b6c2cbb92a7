// Tests for src/state/codec.ts: round-trips (property) and rejection of garbage.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { Packr } from "msgpackr";
import { decodeApplyResult, decodeCommand, encodeApplyResult, encodeCommand } from "../../src/state/index.ts";
import { isCairnError } from "../../src/shared/errors.ts";
import { commandArb } from "./arbitraries.ts";
import { Harness, op } from "./helpers.ts";

/** Structural form with Uint8Arrays as arrays (Buffer vs Uint8Array does not matter). */
function norm(x: unknown): unknown {
  if (x instanceof Uint8Array) return { bytes: Array.from(x) };
  if (Array.isArray(x)) return x.map(norm);
  if (typeof x === "object" && x !== null) {
    return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, norm(v)]));
  }
  return x;
}

test("commands round-trip exactly (property)", () => {
  fc.assert(
    fc.property(commandArb, (cmd) => {
      const back = decodeCommand(encodeCommand(cmd));
      assert.equal(norm(back), norm(cmd));
    }),
    { numRuns: 2000 },
  );
});

test("flags up to 2^64-1 and large indexes round-trip", () => {
  for (const flags of [0n, 1n, 2n ** 32n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n]) {
    const back = decodeCommand(encodeCommand({ type: "kv-set", key: "k", value: new Uint8Array([1]), flags }));
    assert.is(back.type === "kv-set" && back.flags, flags);
  }
  const big = Number.MAX_SAFE_INTEGER;
  const back = decodeCommand(encodeCommand({ type: "kv-cas", key: "k", value: new Uint8Array(0), flags: 0n, index: big }));
  assert.is(back.type === "kv-cas" && back.index, big);
});

test("decoded values are copies, not views of the input", () => {
  const bytes = encodeCommand({ type: "kv-set", key: "k", value: new Uint8Array([7, 7, 7]), flags: 0n });
  const cmd = decodeCommand(bytes);
  bytes.fill(0);
  assert.equal(cmd.type === "kv-set" && Array.from(cmd.value), [7, 7, 7]);
});

test("garbage is rejected with a clear error", () => {
  const p = new Packr({ useRecords: false });
  const cases: Uint8Array[] = [
    new Uint8Array([0xc1]),
    new Uint8Array(0),
    p.pack("hello"),
    p.pack([2, "noop"]),
    p.pack([1, "kv-explode", "k"]),
    p.pack([1, "kv-set", "k", "not-bytes", 0]),
    p.pack([1, "kv-set", "k", new Uint8Array(1), -1]),
    p.pack([1, "kv-set", "k", new Uint8Array(1), 2 ** 64]),
    p.pack([1, "kv-set", "k", new Uint8Array(1)]),
    p.pack([1, "kv-cas", "k", new Uint8Array(1), 0, 1.5]),
    p.pack([1, "txn", [["kv", "frobnicate", "k", new Uint8Array(0), 0, 0, ""]]]),
    p.pack([1, "txn", [["node", "set", "k", new Uint8Array(0), 0, 0, ""]]]),
    p.pack([1, "txn", "nope"]),
    p.pack([1, "kv-delete", 5]),
  ];
  for (const c of cases) {
    let err: unknown;
    try {
      decodeCommand(c);
    } catch (e) {
      err = e;
    }
    assert.ok(isCairnError(err), `expected rejection of ${Array.from(c).join(",")}`);
    assert.match((err as Error).message, /^invalid command: /);
  }
});

test("apply results round-trip", () => {
  const h = new Harness();
  h.set("a", "x", 2n ** 64n - 1n);
  const results = [
    h.apply({ type: "txn", ops: [op("get", "a"), op("set", "b")] }),
    h.apply({ type: "txn", ops: [op("get", "zz")] }),
    h.apply({ type: "kv-cas", key: "a", value: new Uint8Array(0), flags: 0n, index: 99 }),
    h.apply({ type: "noop" }),
    h.apply({ type: "kv-lock", key: "a", value: new Uint8Array(0), flags: 0n, session: "s" }),
  ];
  for (const r of results) assert.equal(norm(decodeApplyResult(encodeApplyResult(r))), norm(r));
});

test.run();
