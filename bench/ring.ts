/**
 * bench/ring: throughput of the SAB byte ring (worker -> main, 64-byte and
 * 1 KiB records) and of the WAL (256-byte entries: one appender in a tight
 * loop, and 64 concurrent writers each waiting for durability), with the raw
 * write+fdatasync ceiling of the same disk measured in the same run.
 *
 * Must never: leave files or workers behind.
 */

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ByteRing } from "../src/shared/ring.ts";
import { runtimeName } from "../src/platform/runtime.ts";
import { openWal } from "../src/wal/index.ts";
import { Worker } from "node:worker_threads";

async function ringBench(n: number, size: number): Promise<number> {
  const ring = ByteRing.create(1 << 22);
  const src = `
    const { workerData } = require("node:worker_threads");
    const h = new Int32Array(workerData.sab, 0, 16);
    // minimal inline producer speaking the ring layout (header 64 bytes, int32 slots)
    const cap = h[7], mask = cap - 1, words = new Int32Array(workerData.sab, 64, cap / 4);
    const bytes = new Uint8Array(workerData.sab, 64, cap);
    const need = 4 + ((workerData.size + 3) & ~3);
    let w = Atomics.load(h, 0);
    for (let i = 0; i < workerData.n; i++) {
      for (;;) {
        const r = Atomics.load(h, 1);
        const off = w & mask, toEnd = cap - off, skip = need > toEnd ? toEnd : 0;
        if (((w - r) >>> 0) + skip + need <= cap) {
          if (skip) words[off >> 2] = -1;
          w = (w + skip) | 0;
          words[(w & mask) >> 2] = workerData.size;
          bytes[(w & mask) + 4] = i & 255;
          w = (w + need) | 0;
          Atomics.store(h, 0, w);
          if ((i & 63) === 0) { Atomics.add(h, 2, 1); if (Atomics.load(h, 5)) Atomics.notify(h, 2); }
          break;
        }
        Atomics.store(h, 6, 1); Atomics.wait(h, 3, Atomics.load(h, 3), 5); Atomics.store(h, 6, 0);
      }
    }
    Atomics.add(h, 2, 1); Atomics.notify(h, 2);
  `;
  const t0 = performance.now();
  const worker = new Worker(src, { eval: true, workerData: { sab: ring.sab, n, size } });
  let got = 0;
  while (got < n) {
    await ring.waitForDataAsync(100);
    got += ring.drain(() => {});
  }
  const secs = (performance.now() - t0) / 1000;
  await worker.terminate();
  return n / secs;
}

function fsyncCeiling(dir: string): number {
  const fd = fs.openSync(path.join(dir, "probe"), "w");
  const b = new Uint8Array(64 * 284);
  const t0 = performance.now();
  let pos = 0;
  for (let i = 0; i < 200; i++) {
    fs.writeSync(fd, b, 0, b.length, pos);
    pos += b.length;
    fs.fdatasyncSync(fd);
  }
  fs.closeSync(fd);
  return (performance.now() - t0) / 200;
}

async function walTight(dir: string, n: number): Promise<number> {
  const { log } = await openWal(dir);
  const data = new Uint8Array(256);
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    log.onDurable((d) => d >= n && resolve());
    let i = 1;
    const pump = (): void => {
      const stop = Math.min(n, i + 5000);
      for (; i <= stop; i++) log.append([{ index: i, term: 1, type: "command", data }]);
      if (i <= n) setTimeout(pump, 0);
    };
    pump();
  });
  const rate = n / ((performance.now() - t0) / 1000);
  await log.close();
  return rate;
}

async function walWriters(dir: string, writers: number, ms: number): Promise<{ rate: number; perSync: number }> {
  const { log } = await openWal(dir);
  const waiting = new Map<number, () => void>();
  log.onDurable((d) => {
    for (const [i, r] of waiting) if (i <= d) (waiting.delete(i), r());
  });
  const data = new Uint8Array(256);
  let next = 1;
  let done = 0;
  const t0 = performance.now();
  const until = t0 + ms;
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (performance.now() < until) {
        const index = next++;
        const p = new Promise<void>((r) => waiting.set(index, r));
        log.append([{ index, term: 1, type: "command", data }]);
        await p;
        done++;
      }
    }),
  );
  const rate = done / ((performance.now() - t0) / 1000);
  const perSync = done / Math.max(1, log.stats().syncs);
  await log.close();
  return { rate, perSync };
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cairn-bench-ring-"));
try {
  console.log(`ring/WAL bench on ${runtimeName()}, ${os.cpus().length} cpus`);
  const r64 = await ringBench(2_000_000, 64);
  const r1k = await ringBench(200_000, 1024);
  const syncMs = fsyncCeiling(tmp);
  const tight = await walTight(path.join(tmp, "a"), 200_000);
  const w64 = await walWriters(path.join(tmp, "b"), 64, 3000);
  const rows: Array<[string, string, string]> = [
    ["ring 64 B records (worker -> main)", `${Math.round(r64).toLocaleString()} msg/s`, ""],
    ["ring 1 KiB records", `${Math.round(r1k).toLocaleString()} msg/s`, `${((r1k * 1024) / 1e6).toFixed(0)} MB/s`],
    ["disk write+fdatasync (ceiling)", `${syncMs.toFixed(2)} ms`, `64 writers max ~${Math.round((64 / syncMs) * 1000).toLocaleString()}/s`],
    ["WAL 256 B, one appender, tight loop", `${Math.round(tight).toLocaleString()} entries/s`, ""],
    ["WAL 256 B, 64 writers awaiting durability", `${Math.round(w64.rate).toLocaleString()} entries/s`, `${w64.perSync.toFixed(1)} entries/fdatasync`],
  ];
  for (const [a, b, c] of rows) console.log(`${a.padEnd(44)} ${b.padStart(22)}  ${c}`);
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
