/**
 * wal/types: the contract of the durable log.
 *
 * The log stores opaque entries (index, term, type, data) and snapshots. The
 * main thread appends; a worker thread makes entries durable with group commit
 * and reports the durable index. Raft (and, before it, the single-voter driver)
 * is the only writer.
 *
 * Must never: interpret entry data (that is the FSM's job).
 */

export type EntryType = "command" | "noop" | "config";

export interface LogEntry {
  readonly index: number;
  readonly term: number;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

export interface SnapshotMeta {
  readonly index: number;
  readonly term: number;
}

export interface Snapshot extends SnapshotMeta {
  readonly data: Uint8Array;
}

/** What open() found on disk. */
export interface Recovered {
  readonly snapshot: Snapshot | undefined;
  /** Entries after the snapshot, in index order, contiguous. */
  readonly entries: LogEntry[];
  /** Raft hard state (term, vote), persisted with the log. */
  readonly hardState: { term: number; vote: string };
  /** Human-readable notes, e.g. "cut torn tail at wal/00..01.seg offset 1234". */
  readonly notes: string[];
}

export interface LogStore {
  /** Read what is on disk and start the writer; call once, before anything else. */
  open(): Promise<Recovered>;
  /**
   * Queue entries for durable append. Entries must continue the log (index = last+1).
   * Returns synchronously; durability is reported via waitDurable / onDurable.
   * Throws CairnError("rate-limited") when the queue is full.
   */
  append(entries: readonly LogEntry[]): void;
  /** Highest index known durable. */
  durableIndex(): number;
  /** Called (on the main thread) each time the durable index advances. */
  onDurable(cb: (index: number) => void): void;
  /** Persist term/vote (Raft hard state) durably. */
  setHardState(term: number, vote: string): Promise<void>;
  /** Remove entries with index >= `from` (Raft conflict resolution). */
  truncateSuffix(from: number): Promise<void>;
  /**
   * Write a snapshot durably, then drop log entries <= index - trailing.
   * With `owned`, the caller gives up snap.data (it may be detached) and no copy is made.
   */
  saveSnapshot(snap: Snapshot, trailing: number, opts?: { owned?: boolean }): Promise<void>;
  /** Flush everything queued, make it durable, stop the writer. */
  close(): Promise<void>;
}
