/**
 * state: public face of the state store (tables, FSM apply, reads with
 * Consul's index rules, watches, command codec, snapshots).
 *
 * Must never: export internals others could use to mutate tables outside apply().
 */

export type {
  ApplyResult,
  CatalogTxnVerb,
  CancelWatch,
  Command,
  Indexed,
  KVEntry,
  KVTxnOp,
  KVTxnVerb,
  StoreReader,
  TxnError,
  TxnOp,
  TxnResult,
  WatchCallback,
} from "./types.ts";
export { Store } from "./store.ts";
export type { SessionLookup, TableName } from "./tables.ts";
export { encodeCommand, decodeCommand, encodeApplyResult, decodeApplyResult } from "./codec.ts";
export { isReadOnlyTxn, txnPreCheck } from "./txn.ts";
export { SNAPSHOT_VERSION, SNAPSHOT_KV_FIXED_BYTES, SNAPSHOT_TOMB_FIXED_BYTES, snapshotSizes } from "./snapshot.ts";
export type { CoordRow } from "./coord_tables.ts";
export { compareKeys } from "./keyorder.ts";
export { goQuote } from "./gofmt.ts";
export type {
  CatalogReader,
  CheckDefinition,
  CheckInput,
  CheckRow,
  HealthStatus,
  NodeInput,
  NodeRow,
  RegisterInput,
  ServiceAddress,
  ServiceHealth,
  ServiceInput,
  ServiceRow,
} from "./catalog_types.ts";
export { NIL_MAP, isNilMap } from "./catalog_types.ts";
export type { CAConfigInput, CAConfigRow, CAReader, CARootRow } from "./ca_types.ts";
export type { SessionBehavior, SessionEvents, SessionInput, SessionReader, SessionRow, SessionServiceCheck } from "./session_types.ts";
export { MAX_LOCK_DELAY_MS, sessionCheckIds } from "./session_types.ts";
export { aggregateStatus, filterNonPassing, shownStatus } from "./catalog_read.ts";
