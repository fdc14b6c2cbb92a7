/**
 * wal: public face of the durable log.
 *
 * WalLog (disk, WAL worker, group commit) and MemoryLog (-dev) both implement
 * LogStore. openWal() is the one-call way to start a disk log.
 *
 * Must never: export the worker protocol or the disk internals.
 */

import { WalLog, type WalOptions } from "./wal_log.ts";
import type { Recovered } from "./types.ts";

export { WalLog, type WalOptions, type WalStats } from "./wal_log.ts";
export { MemoryLog } from "./memory_log.ts";
export type { EntryType, LogEntry, LogStore, Recovered, Snapshot, SnapshotMeta } from "./types.ts";

/** Start the WAL worker on `dir` (the agent passes `<data_dir>/raft`) and recover what is there. */
export async function openWal(dir: string, opts: WalOptions = {}): Promise<{ log: WalLog; recovered: Recovered }> {
  const log = new WalLog(dir, opts);
  const recovered = await log.open();
  return { log, recovered };
}
