// The LogStore behaviours every implementation must show (not a test file):
// registered against WalLog and MemoryLog by the test files.
import type { Test } from "uvu";
import * as assert from "uvu/assert";
import { isCairnError } from "../../src/shared/errors.ts";
import { entry, openLog, range, sameEntries, waitDurable, type Opener } from "./helpers.ts";

export function logContract(test: Test, mk: () => Opener): void {
  test("contract: empty open, append, durable callback, reopen round trip", async () => {
    const o = mk();
    try {
      let { log, rec } = await openLog(o);
      assert.is(rec.entries.length, 0);
      assert.is(rec.snapshot, undefined);
      assert.equal(rec.hardState, { term: 0, vote: "" });
      const seen: number[] = [];
      log.onDurable((i) => seen.push(i));
      log.append(range(1, 3));
      assert.is(seen.length, 0, "onDurable is never called synchronously from append");
      log.append(range(4, 50));
      await waitDurable(log, 50);
      assert.is(log.durableIndex(), 50);
      for (let k = 1; k < seen.length; k++) assert.ok(seen[k]! > seen[k - 1]!, "durable index increases");
      await log.close();
      ({ log, rec } = await openLog(o));
      assert.is(sameEntries(rec.entries, range(1, 50)), undefined);
      assert.is(log.durableIndex(), 50);
      log.append([entry(51)]);
      await waitDurable(log, 51);
      await log.close();
    } finally {
      o.cleanup();
    }
  });

  test("contract: appends must continue the log", async () => {
    const o = mk();
    try {
      const { log } = await openLog(o);
      log.append(range(1, 5));
      assert.throws(() => log.append([entry(7)]), /expected 6/);
      assert.throws(() => log.append([entry(5)]), /expected 6/);
      try {
        log.append([{ index: 6, term: 1, type: "command", data: new Uint8Array(5 * 1024 * 1024) }]);
        assert.unreachable("oversize entry accepted");
      } catch (e) {
        assert.ok(isCairnError(e) && e.kind === "too-large", String(e));
      }
      log.append([entry(6)]);
      await log.close();
      try {
        log.append([entry(7)]);
        assert.unreachable("append after close accepted");
      } catch (e) {
        assert.ok(isCairnError(e), String(e));
      }
    } finally {
      o.cleanup();
    }
  });

  test("contract: hard state round trip", async () => {
    const o = mk();
    try {
      let { log } = await openLog(o);
      await log.setHardState(3, "node-a");
      await log.setHardState(4, "node-b");
      await log.close();
      const r = await openLog(o);
      assert.equal(r.rec.hardState, { term: 4, vote: "node-b" });
      log = r.log;
      await log.close();
    } finally {
      o.cleanup();
    }
  });

  test("contract: truncateSuffix then re-append with a new term", async () => {
    const o = mk();
    try {
      let { log, rec } = await openLog(o);
      log.append(range(1, 20));
      await waitDurable(log, 20);
      await log.truncateSuffix(15);
      assert.ok(log.durableIndex() <= 14, "durable index drops with the truncated entries");
      log.append(range(15, 18, 2));
      await waitDurable(log, 18);
      await log.truncateSuffix(100); // past the end: nothing to do
      await log.close();
      ({ log, rec } = await openLog(o));
      assert.is(sameEntries(rec.entries, [...range(1, 14), ...range(15, 18, 2)]), undefined);
      await log.close();
    } finally {
      o.cleanup();
    }
  });

  test("contract: snapshot, then later entries; snapshot past the end replaces the log", async () => {
    const o = mk();
    try {
      let { log, rec } = await openLog(o);
      log.append(range(1, 30));
      const data = new TextEncoder().encode("state at 20");
      await log.saveSnapshot({ index: 20, term: 1, data }, 5);
      data.fill(0); // the log keeps its own copy
      await waitDurable(log, 30);
      await log.close();
      ({ log, rec } = await openLog(o));
      assert.is(rec.snapshot?.index, 20);
      assert.is(new TextDecoder().decode(rec.snapshot?.data), "state at 20");
      assert.is(sameEntries(rec.entries, range(21, 30)), undefined);
      // a snapshot from "the leader" beyond our log: the log restarts after it
      await log.saveSnapshot({ index: 100, term: 3, data: new Uint8Array([1, 2, 3]) }, 0);
      assert.is(log.durableIndex(), 100);
      log.append(range(101, 105, 3));
      await waitDurable(log, 105);
      await log.close();
      ({ log, rec } = await openLog(o));
      assert.is(rec.snapshot?.index, 100);
      assert.equal(Array.from(rec.snapshot?.data ?? []), [1, 2, 3]);
      assert.is(sameEntries(rec.entries, range(101, 105, 3)), undefined);
      await log.close();
    } finally {
      o.cleanup();
    }
  });

  test("contract: close flushes everything appended, and is safe twice", async () => {
    const o = mk();
    try {
      let { log, rec } = await openLog(o);
      for (let i = 1; i <= 2000; i++) log.append([entry(i)]);
      await log.close();
      await log.close();
      assert.is(log.durableIndex(), 2000);
      ({ log, rec } = await openLog(o));
      assert.is(sameEntries(rec.entries, range(1, 2000)), undefined);
      await log.close();
    } finally {
      o.cleanup();
    }
  });
}
