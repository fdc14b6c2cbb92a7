// Helpers for the WAL tests (not a test file): temp dirs, deterministic entries,
// waiting for durability, and a one-call reopen.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { EntryType, LogEntry, LogStore, Recovered } from "../../src/wal/index.ts";

export function tempDir(prefix = "cairn-wal-"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Deterministic data for (index, term): the same bytes every time. */
export function dataFor(index: number, term = 1, size?: number): Uint8Array {
  const n = size ?? 16 + ((index * 37) % 200);
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (index * 7 + term * 13 + i) & 0xff;
  return b;
}

const TYPES: EntryType[] = ["command", "noop", "config"];

export function entry(index: number, term = 1, size?: number): LogEntry {
  return { index, term, type: index % 17 === 0 ? TYPES[(index >> 4) % 3]! : "command", data: dataFor(index, term, size) };
}

export function range(from: number, to: number, term = 1, size?: number): LogEntry[] {
  const out: LogEntry[] = [];
  for (let i = from; i <= to; i++) out.push(entry(i, term, size));
  return out;
}

/** Resolve once the log reports `index` durable (registers one onDurable per log). */
const waiters = new WeakMap<LogStore, Array<{ index: number; resolve: () => void }>>();
export function waitDurable(log: LogStore, index: number, timeoutMs = 10_000): Promise<void> {
  if (log.durableIndex() >= index) return Promise.resolve();
  let list = waiters.get(log);
  if (list === undefined) {
    const l: Array<{ index: number; resolve: () => void }> = [];
    waiters.set(log, l);
    log.onDurable((d) => {
      for (let i = l.length - 1; i >= 0; i--) {
        if (l[i]!.index <= d) {
          l[i]!.resolve();
          l.splice(i, 1);
        }
      }
    });
    list = l;
  }
  const target = list;
  return new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`index ${index} not durable after ${timeoutMs} ms (durable ${log.durableIndex()})`)), timeoutMs);
    target.push({
      index,
      resolve: () => {
        clearTimeout(t);
        resolve();
      },
    });
  });
}

/** Compare recovered entries with expected ones (index, term, type, bytes). */
export function sameEntries(got: readonly LogEntry[], want: readonly LogEntry[]): string | undefined {
  if (got.length !== want.length) return `length ${got.length}, want ${want.length}`;
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!;
    const w = want[i]!;
    if (g.index !== w.index || g.term !== w.term || g.type !== w.type) {
      return `entry ${i}: got ${g.index}/${g.term}/${g.type}, want ${w.index}/${w.term}/${w.type}`;
    }
    if (g.data.length !== w.data.length) return `entry ${w.index}: data length ${g.data.length}, want ${w.data.length}`;
    for (let k = 0; k < w.data.length; k++) if (g.data[k] !== w.data[k]) return `entry ${w.index}: data differs at ${k}`;
  }
  return undefined;
}

export interface Opener {
  name: string;
  /** A handle on the same storage (a fresh WalLog on the dir, or the same MemoryLog). */
  make(): LogStore;
  cleanup(): void;
}

export async function openLog(o: Opener): Promise<{ log: LogStore; rec: Recovered }> {
  const log = o.make();
  const rec = await log.open();
  return { log, rec };
}

export function segFiles(dir: string): string[] {
  return fs.readdirSync(path.join(dir, "wal")).filter((f) => f.endsWith(".seg")).sort();
}

export function snapFiles(dir: string): string[] {
  return fs.readdirSync(path.join(dir, "snapshots")).filter((f) => f.endsWith(".snap")).sort();
}
