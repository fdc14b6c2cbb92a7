// Property tests: Store vs a naive model over random command sequences, and snapshot round-trips.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { Store, encodeCommand, decodeCommand } from "../../src/state/index.ts";
import type { Command, StoreReader } from "../../src/state/index.ts";
import { commandArb, txnOpArb } from "./arbitraries.ts";
import { Model } from "./model.ts";

const PROBES = ["", "a", "a/", "a/b", "a/b/c", "a/c", "b", "b/", "b/x", "é", "😀", "😀/", "zz"];
const SEPS = ["", "/", "b"];
const SESSIONS = new Set(["s1"]);

function norm(x: unknown): unknown {
  if (x instanceof Uint8Array) return { bytes: Array.from(x) };
  if (typeof x === "bigint") return `${x}n`;
  if (Array.isArray(x)) return x.map(norm);
  if (typeof x === "object" && x !== null) return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, norm(v)]));
  return x;
}

type Reader = Pick<StoreReader, "kvGet" | "kvList" | "kvKeys">;
function reads(s: Reader): unknown {
  const out: unknown[] = [];
  for (const p of PROBES) {
    out.push(s.kvGet(p), s.kvList(p));
    for (const sep of SEPS) out.push(s.kvKeys(p, sep));
  }
  return norm(out);
}

function modelReader(m: Model): Reader {
  return {
    kvGet: (k) => m.get(k),
    kvList: (p) => m.list(p),
    kvKeys: (p, s) => m.keys(p, s),
  };
}

test("Store matches the naive model over random command sequences (incl. txns)", () => {
  fc.assert(
    fc.property(fc.array(commandArb, { maxLength: 60 }), fc.boolean(), (cmds, viaCodec) => {
      const store = new Store();
      store.setSessionLookup({ exists: (id) => SESSIONS.has(id) });
      const model = new Model(SESSIONS);
      let idx = 0;
      for (const c of cmds) {
        idx += 1 + (idx % 3);
        const cmd: Command = viaCodec ? decodeCommand(encodeCommand(c)) : c;
        const got = store.apply(idx, cmd);
        const want = model.apply(idx, c);
        assert.equal(norm(got), norm(want), `result of ${JSON.stringify(norm(c))}`);
        assert.is(store.lastIndex(), model.last);
      }
      assert.equal(reads(store), reads(modelReader(model)));
    }),
    { numRuns: 400 },
  );
});

test("read-only txns match the model", () => {
  fc.assert(
    fc.property(fc.array(commandArb, { maxLength: 30 }), fc.array(txnOpArb, { maxLength: 6 }), (cmds, ops) => {
      const store = new Store();
      store.setSessionLookup({ exists: (id) => SESSIONS.has(id) });
      const model = new Model(SESSIONS);
      cmds.forEach((c, i) => {
        store.apply(i + 1, c);
        model.apply(i + 1, c);
      });
      const got = store.txnRead(ops).value;
      const want = model.txn(0, ops, false);
      assert.equal(norm(got), norm(want));
    }),
    { numRuns: 300 },
  );
});

test("snapshot round-trip: restore(snapshot()) gives identical reads and indexes", () => {
  fc.assert(
    fc.property(fc.array(commandArb, { maxLength: 60 }), (cmds) => {
      const store = new Store();
      store.setSessionLookup({ exists: (id) => SESSIONS.has(id) });
      cmds.forEach((c, i) => store.apply(i + 1, c));
      const bytes = store.snapshot();
      const back = Store.restore(bytes);
      assert.equal(reads(back), reads(store));
      assert.is(back.lastIndex(), store.lastIndex());
      assert.is(back.tombstoneCount(), store.tombstoneCount());
      assert.is(back.tableIndex("kvs"), store.tableIndex("kvs"));
      assert.is(back.tableIndex("tombstones"), store.tableIndex("tombstones"));
      // Same bytes again, and the restored store keeps applying like the original.
      assert.equal(Array.from(back.snapshot()), Array.from(bytes));
      const next = cmds.length + 1;
      const probe: Command = { type: "kv-set", key: "a/b", value: new Uint8Array([1]), flags: 1n };
      assert.equal(norm(back.apply(next, probe)), norm(store.apply(next, probe)));
      assert.equal(reads(back), reads(store));
    }),
    { numRuns: 300 },
  );
});

test("snapshot: corruption, truncation and bad magic are rejected", () => {
  const s = new Store();
  for (let i = 1; i <= 50; i++) s.apply(i, { type: "kv-set", key: `k/${i}`, value: new Uint8Array([i]), flags: BigInt(i) });
  s.apply(51, { type: "kv-delete", key: "k/7" });
  const good = s.snapshot();
  const flip = good.slice();
  flip[Math.floor(flip.length / 2)]! ^= 0x40;
  const cases = [good.subarray(0, good.length - 1), flip, new Uint8Array(good.length), good.subarray(0, 10)];
  for (const c of cases) assert.throws(() => Store.restore(c), /invalid snapshot/);
  // An unaligned copy still restores.
  const unaligned = new Uint8Array(good.length + 3).subarray(3);
  unaligned.set(good);
  assert.is(Store.restore(unaligned).kvCount(), 49);
});

test.run();
