// WalLog specifics: segment rolls, group commit (counted fsyncs), throughput with
// 64 concurrent writers, the bounded overflow queue, message-based durability.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { isCairnError } from "../../src/shared/errors.ts";
import { WalLog, openWal } from "../../src/wal/index.ts";
import { entry, range, removeDir, sameEntries, segFiles, tempDir, waitDurable } from "./helpers.ts";

test("many appends across segment rolls survive reopen and continue", async () => {
  const dir = tempDir();
  try {
    let { log } = await openWal(dir, { segmentBytes: 8192 });
    for (let i = 1; i <= 3000; i += 10) log.append(range(i, i + 9));
    await waitDurable(log, 3000);
    await log.close();
    const segs = segFiles(dir);
    assert.ok(segs.length > 20, `rolled into ${segs.length} segments`);
    assert.is(segs[0], "00000000000000000001.seg");
    let rec;
    ({ log, recovered: rec } = await openWal(dir, { segmentBytes: 8192 }));
    assert.is(sameEntries(rec.entries, range(1, 3000)), undefined);
    log.append(range(3001, 3100));
    await log.close();
    ({ log, recovered: rec } = await openWal(dir, { segmentBytes: 8192 }));
    assert.is(sameEntries(rec.entries, range(1, 3100)), undefined);
    await log.close();
  } finally {
    removeDir(dir);
  }
});

test("group commit: thousands of single-entry appends share few fdatasyncs", async () => {
  const dir = tempDir();
  try {
    const { log } = await openWal(dir);
    const n = 20_000;
    for (let i = 1; i <= n; i++) log.append([entry(i, 1, 256)]);
    await waitDurable(log, n);
    const s = log.stats();
    assert.is(s.entries, n);
    assert.ok(s.syncs < n / 20, `${s.syncs} fdatasyncs for ${n} appends`);
    assert.ok(s.maxBatch > 100, `largest batch ${s.maxBatch}`);
    await log.close();
  } finally {
    removeDir(dir);
  }
});

test("64 concurrent writers of 256-byte entries: throughput and batching", async () => {
  const dir = tempDir();
  try {
    const { log } = await openWal(dir);
    const waiting = new Map<number, () => void>();
    let next = 1;
    log.onDurable((d) => {
      for (const [i, r] of waiting) {
        if (i <= d) {
          waiting.delete(i);
          r();
        }
      }
    });
    const data = new Uint8Array(256).fill(7);
    let done = 0;
    const t0 = performance.now();
    const until = t0 + 1500;
    const writer = async (): Promise<void> => {
      while (performance.now() < until) {
        const index = next++;
        const p = new Promise<void>((r) => waiting.set(index, r));
        log.append([{ index, term: 1, type: "command", data }]);
        await p;
        done++;
      }
    };
    await Promise.all(Array.from({ length: 64 }, writer));
    const secs = (performance.now() - t0) / 1000;
    const rate = done / secs;
    const s = log.stats();
    console.log(`    64 writers: ${Math.round(rate)} entries/s, ${s.syncs} fdatasyncs, ${(done / s.syncs).toFixed(1)} entries per sync`);
    assert.ok(rate > 5000, `only ${Math.round(rate)} entries/s`);
    assert.ok(done / s.syncs > 4, "writes are batched");
    await log.close();
  } finally {
    removeDir(dir);
  }
});

test("a full ring spills to a bounded overflow queue, then refuses with rate-limited", async () => {
  const dir = tempDir();
  try {
    const { log } = await openWal(dir, { ringBytes: 4096, maxPending: 50 });
    let accepted = 0;
    let refused: unknown;
    for (let i = 1; i <= 10_000; i++) {
      try {
        log.append([entry(i, 1, 500)]);
        accepted = i;
      } catch (e) {
        refused = e;
        break;
      }
    }
    assert.ok(isCairnError(refused) && refused.kind === "rate-limited", String(refused));
    assert.ok(accepted >= 50, `accepted ${accepted}`);
    assert.ok(log.stats().overflow > 0);
    // control operations queue behind the overflow, in order
    const trunc = log.truncateSuffix(accepted); // drops only the last accepted entry
    await trunc;
    await waitDurable(log, accepted - 1);
    log.append([entry(accepted, 2, 500)]);
    await log.close();
    const r = await openWal(dir);
    assert.is(sameEntries(r.recovered.entries, [...range(1, accepted - 1, 1, 500), entry(accepted, 2, 500)]), undefined);
    await r.log.close();
  } finally {
    removeDir(dir);
  }
});

test("durability reported by message when Atomics.waitAsync is not used", async () => {
  const dir = tempDir();
  try {
    const { log } = await openWal(dir, { notifyByMessage: true });
    const seen: number[] = [];
    log.onDurable((i) => seen.push(i));
    for (let i = 1; i <= 500; i++) log.append([entry(i)]);
    await waitDurable(log, 500);
    assert.is(seen[seen.length - 1], 500);
    await log.close();
  } finally {
    removeDir(dir);
  }
});

test("truncateSuffix across segments, interleaved with appends", async () => {
  const dir = tempDir();
  try {
    let { log } = await openWal(dir, { segmentBytes: 4096 });
    log.append(range(1, 400));
    const t = log.truncateSuffix(120); // issued after the appends: applies to them
    log.append(range(120, 150, 2)); // issued after the truncate: survives it
    await t;
    await waitDurable(log, 150);
    assert.is(log.durableIndex(), 150);
    await log.close();
    let rec;
    ({ log, recovered: rec } = await openWal(dir, { segmentBytes: 4096 }));
    assert.is(sameEntries(rec.entries, [...range(1, 119), ...range(120, 150, 2)]), undefined);
    await log.truncateSuffix(1);
    log.append(range(1, 3, 5));
    await log.close();
    ({ log, recovered: rec } = await openWal(dir, { segmentBytes: 4096 }));
    assert.is(sameEntries(rec.entries, range(1, 3, 5)), undefined);
    await log.close();
  } finally {
    removeDir(dir);
  }
});

test("open before anything else; a second WalLog handle works after close", async () => {
  const dir = tempDir();
  try {
    const log = new WalLog(dir);
    assert.throws(() => log.append([entry(1)]), /not open/);
    await log.open();
    await log.close();
    await new WalLog(dir).close(); // never opened: close is a no-op
  } finally {
    removeDir(dir);
  }
});

test.run();
