/**
 * server/fsm_store: what the write path needs from the state store.
 *
 * Must never: grow beyond the FSM's needs (reads go through StoreReader).
 */

import type { ApplyResult, Command, StoreReader } from "../state/types.ts";

export interface FsmStore extends StoreReader {
  apply(index: number, cmd: Command): ApplyResult;
  /** Never while restorePending(): callers skip the snapshot and retry later. */
  snapshot(): Uint8Array;
  /** A chunked restore is pending (its chunks are not in snapshots). */
  restorePending(): boolean;
  /** The pending chunked restore's id, if any. */
  pendingRestoreId(): string | undefined;
  restore(data: Uint8Array): void;
}
