/**
 * wal/protocol: what the main thread and the WAL worker share.
 *
 * Appends travel as log records through the ring (src/shared/ring.ts). Control
 * operations are messages on a dedicated MessagePort, each paired with a
 * barrier record in the ring, so the worker performs them exactly where they
 * were issued relative to appends. The worker answers on its parentPort and
 * publishes the durable index in a small status SharedArrayBuffer.
 *
 * Must never: hold logic beyond layouts and message shapes.
 */

/** Status SAB: BigInt64 slot 0 = durable index; Int32 slots below (indexes into the Int32 view). */
export const STATUS_BYTES = 64;
/** Bumped (and notified) each time the durable index is published. */
export const ST_DURABLE_SEQ = 2;
/** fdatasync/fsync calls on segment files (group-commit evidence). */
export const ST_SYNCS = 3;
/** Batches written. */
export const ST_BATCHES = 4;
/** Entries written (wraps at 2^31; a statistic). */
export const ST_ENTRIES = 5;
/** Largest batch so far, in entries. */
export const ST_MAX_BATCH = 6;

export interface WalWorkerOptions {
  dir: string;
  segmentBytes: number;
  /** Post {t:"durable"} messages as well (when Atomics.waitAsync is missing). */
  notifyByMessage: boolean;
}

export interface WorkerInit {
  ring: SharedArrayBuffer;
  status: SharedArrayBuffer;
  opts: WalWorkerOptions;
}

export type ControlOp =
  | { op: "open" }
  | { op: "hardState"; term: number; vote: string }
  | { op: "truncate"; from: number }
  | { op: "snapshot"; index: number; term: number; data: Uint8Array; trailing: number }
  | { op: "close" };

export type ControlRequest = ControlOp & { id: number };

/** Result of open: raw buffers are transferred; entries are described by tables. */
export interface OpenResult {
  snapshot: { index: number; term: number; file: Uint8Array; dataOffset: number } | undefined;
  /** One per segment read: the file image and a table of [index, term, type, dataOffset, dataLen] per entry. */
  segments: Array<{ bytes: Uint8Array; table: Float64Array }>;
  hardState: { term: number; vote: string };
  notes: string[];
  lastIndex: number;
}

export type WorkerReply =
  | { t: "reply"; id: number; ok: true; result?: OpenResult }
  | { t: "reply"; id: number; ok: false; error: string }
  | { t: "durable"; index: number }
  | { t: "fatal"; error: string };
