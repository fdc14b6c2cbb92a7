/**
 * bench/state: the in-memory state store alone (no HTTP, no log).
 *
 * Inserts N keys (default 1M) with V-byte values (default 256) through
 * Store.apply, then measures: apply rate, RSS and heap, point reads, prefix
 * list latency (small and large prefixes), ?keys roll-up, watch fan-out, a
 * delete-tree of 10% of the keys, snapshot encode and restore time and size,
 * and memory after restore. The ceiling row is a plain JS Map of the same
 * keys to Uint8Array(V) slices, built in the same run.
 * Prints a Markdown table on stdout, progress on stderr.
 * Usage: npm run bench -- state [--keys=N] [--value=BYTES]
 *
 * Must never: write files, open sockets, or run longer than a few minutes.
 */

import { Store } from "../src/state/index.ts";

function arg(name: string, def: number): number {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : def;
}

const N = arg("keys", 1_000_000);
const V = arg("value", 256);
const gc = (globalThis as { gc?: () => void }).gc;
const mb = (b: number): string => `${(b / 1048576).toFixed(0)} MiB`;
const rows: [string, string][] = [];
const row = (what: string, value: string): void => {
  rows.push([what, value]);
  process.stderr.write(`${what}: ${value}\n`);
};
function mem(label: string): void {
  gc?.();
  const m = process.memoryUsage();
  row(`${label}: RSS / heapUsed / arrayBuffers`, `${mb(m.rss)} / ${mb(m.heapUsed)} / ${mb(m.arrayBuffers)}`);
}
function time<T>(f: () => T): [T, number] {
  const t0 = performance.now();
  const r = f();
  return [r, performance.now() - t0];
}
const key = (i: number): string => `svc/${String(i % 1000).padStart(3, "0")}/node-${i}`;

mem("baseline");
const value = new Uint8Array(V);
for (let i = 0; i < V; i++) value[i] = i & 0xff;

let store = new Store();
let idx = 0;
(() => {
  const [, ms] = time(() => {
    for (let i = 0; i < N; i++) {
      value[0] = i & 0xff;
      store.apply(++idx, { type: "kv-set", key: key(i), value, flags: BigInt(i & 7) });
    }
  });
  row(`apply ${N} kv-set (${V} B values)`, `${ms.toFixed(0)} ms, ${((N / ms) * 1000).toFixed(0)} ops/s`);
})();
mem(`after ${N} keys`);
(() => {
  const [, ms] = time(() => {
    for (let i = 0; i < 200_000; i++) store.kvGet(key((i * 7919) % N));
  });
  row("kvGet, 200k random", `${((ms * 1000) / 200_000).toFixed(2)} µs/op`);
})();
(() => {
  const per = Math.max(1, Math.floor(N / 1000));
  const [r, ms] = time(() => {
    let n = 0;
    for (let i = 0; i < 200; i++) n += store.kvList(`svc/${String(i).padStart(3, "0")}/`).value.length;
    return n;
  });
  row(`kvList of a ~${per}-key prefix`, `${(ms / 200).toFixed(3)} ms (${r / 200} entries)`);
  const [keys, ms2] = time(() => store.kvKeys("", "/"));
  row("kvKeys('', '/') roll-up over all keys", `${ms2.toFixed(0)} ms -> ${keys.value.length} keys`);
  const [all, ms3] = time(() => store.kvList(""));
  row("kvList('') all keys", `${ms3.toFixed(0)} ms (${all.value.length} entries)`);
})();
(() => {
  let fired = 0;
  for (let i = 0; i < 10_000; i++) store.watchKey("svc/000/node-0", () => fired++);
  for (let i = 0; i < 10_000; i++) store.watchPrefix(`svc/${String(i % 1000).padStart(3, "0")}/`, () => fired++);
  const [, ms] = time(() => store.apply(++idx, { type: "kv-set", key: "svc/000/node-0", value, flags: 0n }));
  row("one write waking 10k key + 10 prefix watchers", `${ms.toFixed(2)} ms (${fired} fired)`);
  const [, ms2] = time(() => {
    for (let i = 0; i < 10_000; i++) store.apply(++idx, { type: "kv-set", key: `other/${i}`, value, flags: 0n });
  });
  row("10k unrelated writes with 9.99k prefix watchers parked", `${((ms2 * 1000) / 10_000).toFixed(2)} µs/op`);
})();
(() => {
  const [, ms] = time(() => store.apply(++idx, { type: "kv-delete-tree", prefix: "svc/1" }));
  row("delete-tree of 10% of keys (svc/1*)", `${ms.toFixed(0)} ms, ${store.kvCount()} keys left`);
})();
const [snap, encMs] = time(() => store.snapshot());
row("snapshot encode", `${encMs.toFixed(0)} ms, ${mb(snap.byteLength)}`);
mem("with snapshot bytes held");
store = new Store();
gc?.();
const [restored, decMs] = time(() => Store.restore(snap));
row("snapshot restore", `${decMs.toFixed(0)} ms, ${restored.kvCount()} keys`);
store = restored;
mem("after restore (snapshot bytes still held)");
(() => {
  // Ceiling: plain Map of keys to 256-byte slices of one buffer.
  const m = new Map<string, Uint8Array>();
  const big = new Uint8Array(N * V);
  const [, ms] = time(() => {
    for (let i = 0; i < N; i++) m.set(key(i), big.subarray(i * V, (i + 1) * V));
  });
  row(`ceiling: Map.set of ${N} keys (views of one buffer)`, `${ms.toFixed(0)} ms`);
  m.clear();
})();

process.stdout.write(`\n| measurement (N=${N}, value=${V} B, ${process.version}) | result |\n|---|---|\n`);
for (const [a, b] of rows) process.stdout.write(`| ${a} | ${b} |\n`);
