// ByteRing: a seeded single-threaded interleaving checked against a naive queue
// model (sizes include 0, max, exactly-fits-before-end and wrap cases, positions
// crossing the uint32 wrap), and a two-thread stress test in both directions.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ByteRing } from "../../src/shared/ring.ts";
import { spawnWorker } from "../../src/platform/runtime.ts";
import { checkRecord, fillRecord, lenOf, rng } from "./ring_helpers.ts";

const align4 = (n: number): number => (n + 3) & ~3;

interface ModelRec {
  bytes: Uint8Array;
  size: number;
}

function runSchedule(seed: number, cap: number, ops: number): void {
  const rand = rng(seed);
  const start = rand() < 0.5 ? 0 : (0x100000000 - 4 * Math.floor(rand() * cap)) >>> 0;
  const ring = ByteRing.create(cap, { initialPosition: start | 0 });
  const max = ring.maxRecord;
  // the model: plain numbers, no masks, no wrapping int32 arithmetic
  let mw = start;
  let mr = start;
  const q: ModelRec[] = [];
  let counter = 0;
  for (let op = 0; op < ops; op++) {
    const x = rand();
    if (x < 0.6) {
      const off = mw % cap;
      const toEnd = cap - off;
      const pick = rand();
      let len: number;
      if (pick < 0.15) len = 0;
      else if (pick < 0.3) len = max;
      else if (pick < 0.45) len = Math.max(0, Math.min(max, toEnd - 4)); // exactly fits before the end
      else if (pick < 0.55) len = Math.max(0, Math.min(max, toEnd - 4 + 1)); // one byte too many: wraps
      else len = Math.floor(rand() * (max + 1));
      const bytes = new Uint8Array(len);
      for (let i = 0; i < len; i++) bytes[i] = (counter + i * 13) & 0xff;
      counter++;
      const need = 4 + align4(len);
      const skip = need > toEnd ? toEnd : 0;
      const fits = mw - mr + skip + need <= cap;
      assert.is(ring.canWrite(len), fits, `seed ${seed} op ${op}: canWrite(${len})`);
      assert.is(ring.tryWrite(bytes), fits, `seed ${seed} op ${op}: tryWrite(${len})`);
      if (fits) {
        mw += skip + need;
        q.push({ bytes, size: skip + need });
      }
    } else {
      const mode = rand();
      const limitCount = mode < 0.3 ? 1 + Math.floor(rand() * 3) : Infinity;
      const maxBytes = mode > 0.8 ? Math.floor(rand() * cap) : Infinity;
      let seen = 0;
      let total = 0;
      const n = ring.drain((b, s, e) => {
        const want = q.shift();
        assert.ok(want !== undefined, `seed ${seed} op ${op}: ring returned an extra record`);
        assert.equal(b.slice(s, e), want.bytes, `seed ${seed} op ${op}: record bytes`);
        mr += want.size;
        seen++;
        total += e - s;
        return seen < limitCount;
      }, maxBytes);
      assert.is(n, seen);
      if (seen > 1) assert.ok(total <= maxBytes, "maxBytes respected");
    }
    assert.is(ring.used(), mw - mr, `seed ${seed} op ${op}: used bytes`);
    assert.is(ring.hasData(), q.length > 0);
  }
  // finally everything left comes out in order
  for (const rec of ring.readAll()) assert.equal(rec, q.shift()?.bytes);
  assert.is(q.length, 0);
  assert.is(ring.used(), 0);
}

test("seeded interleavings match a naive queue model", () => {
  for (let seed = 1; seed <= 300; seed++) runSchedule(seed, [16, 64, 128, 1024][seed % 4]!, 1500);
});

test("reserve/commit encodes in place and may shorten; oversize records are refused", () => {
  const ring = ByteRing.create(64);
  assert.is(ring.maxRecord, 28);
  const at = ring.reserve(20);
  ring.view.setUint32(at, 0xdeadbeef, true);
  ring.commit(4);
  ring.wake();
  const out = ring.readAll();
  assert.is(out.length, 1);
  assert.equal(Array.from(out[0]!), [0xef, 0xbe, 0xad, 0xde]);
  assert.throws(() => ring.reserve(29), /exceeds/);
  assert.throws(() => ByteRing.create(100), /power of two/);
});

test("full ring refuses, frees after drain; waits resolve; close wakes", async () => {
  const ring = ByteRing.create(64);
  const rec = new Uint8Array(12);
  let n = 0;
  while (ring.tryWrite(rec)) n++;
  assert.is(n, 4); // 4 x (4 + 12) = 64
  assert.is(ring.canWrite(0), false);
  const space = ring.waitForSpaceAsync(12, 2000);
  assert.is(ring.readAll().length, 4);
  assert.is(await space, true);
  assert.is(await ring.waitForDataAsync(10), false, "times out with no data");
  const data = ring.waitForDataAsync(2000);
  ring.tryWrite(rec);
  assert.is(await data, true);
  const closedWait = ByteRing.create(64);
  const p = closedWait.waitForDataAsync(5000);
  closedWait.close();
  assert.is(await p, true);
  assert.is(closedWait.isClosed(), true);
});

async function stress(direction: "worker-produces" | "main-produces"): Promise<void> {
  const n = 200_000;
  const max = 600;
  const ring = ByteRing.create(64 * 1024);
  const role = direction === "worker-produces" ? "produce" : "consume";
  const worker = spawnWorker("./ring_stress_worker.ts", import.meta.url, { workerData: { sab: ring.sab, role, n, max } });
  const result = new Promise<string>((resolve, reject) => {
    worker.once("message", (m: unknown) => resolve(String(m)));
    worker.once("error", reject);
  });
  const t0 = Date.now();
  const deadline = t0 + 15_000;
  try {
    if (direction === "worker-produces") {
      let next = 0;
      while (next < n) {
        assert.ok(Date.now() < deadline, `stalled at ${next}`);
        await ring.waitForDataAsync(200);
        let err: string | undefined;
        ring.drain((b, s, e) => {
          err = checkRecord(b, s, e, next, max);
          next++;
          return err === undefined;
        });
        assert.is(err, undefined);
      }
      assert.is(await result, "ok");
    } else {
      for (let seq = 0; seq < n; seq++) {
        const len = lenOf(seq, max);
        let at = ring.reserve(len);
        while (at < 0) {
          assert.ok(Date.now() < deadline, `stalled at ${seq}`);
          ring.wake();
          await ring.waitForSpaceAsync(len, 200);
          at = ring.reserve(len);
        }
        fillRecord(ring.view, ring.bytes, at, len, seq);
        ring.commit();
        if ((seq & 15) === 0) ring.wake();
      }
      ring.wake();
      assert.is(await result, "ok");
    }
  } finally {
    await worker.terminate();
  }
  assert.ok(Date.now() - t0 < 15_000);
}

test("two threads: worker produces, main consumes, order and contents intact", async () => {
  await stress("worker-produces");
});

test("two threads: main produces, worker consumes, order and contents intact", async () => {
  await stress("main-produces");
});

test.run();
