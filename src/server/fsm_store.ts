/**
 * server/fsm_store: what the write path needs from the state store.
 *
 * Must never: grow beyond the FSM's needs (reads go through StoreReader).
 */

import type { ApplyResult, Command, StoreReader } from "../state/types.ts";

export interface FsmStore extends StoreReader {
  apply(index: number, cmd: Command): ApplyResult;
  snapshot(): Uint8Array;
  restore(data: Uint8Array): void;
}
