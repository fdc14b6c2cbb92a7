/**
 * state/types: the data the state store holds and the commands the FSM applies.
 *
 * These types are the contract between the HTTP layer (which builds commands
 * and reads rows), the log (which carries encoded commands) and the FSM (which
 * applies them). Rows are immutable once stored: a write replaces the row.
 *
 * Must never: import I/O modules or HTTP types.
 */

import type { CatalogReader, CheckInput, CheckRow, NodeInput, NodeRow, RegisterInput, ServiceInput, ServiceRow } from "./catalog_types.ts";
import type { CAConfigInput, CARootRow } from "./ca_types.ts";
import type { SessionInput } from "./session_types.ts";
import type { CoordRow } from "./coord_tables.ts";
import type { AutopilotConfig } from "./autopilot_table.ts";

/** One KV row, as Consul's DirEntry. */
export interface KVEntry {
  readonly key: string;
  readonly value: Uint8Array; // empty = no value (rendered as null)
  readonly flags: bigint; // uint64
  readonly lockIndex: number;
  readonly session: string; // "" = not held
  readonly createIndex: number;
  readonly modifyIndex: number;
}

/** KV verbs of /v1/txn (Consul api.KVOp). */
export type KVTxnVerb =
  | "set"
  | "cas"
  | "lock"
  | "unlock"
  | "get"
  | "get-or-empty"
  | "get-tree"
  | "check-index"
  | "check-session"
  | "check-not-exists"
  | "delete"
  | "delete-tree"
  | "delete-cas";

export interface KVTxnOp {
  readonly verb: KVTxnVerb;
  readonly key: string;
  readonly value: Uint8Array;
  readonly flags: bigint;
  readonly index: number;
  readonly session: string;
}

/** Node, Service and Check verbs of /v1/txn (Consul api.NodeOp, ServiceOp, CheckOp). */
export type CatalogTxnVerb = "set" | "cas" | "get" | "delete" | "delete-cas";

/** One transaction operation. `index` is the ModifyIndex a cas/delete-cas compares against. */
export type TxnOp =
  | { readonly kind: "kv"; readonly op: KVTxnOp }
  | { readonly kind: "node"; readonly verb: CatalogTxnVerb; readonly node: NodeInput; readonly index: number }
  | {
      readonly kind: "service";
      readonly verb: CatalogTxnVerb;
      readonly node: string;
      readonly service: ServiceInput;
      readonly index: number;
    }
  | { readonly kind: "check"; readonly verb: CatalogTxnVerb; readonly check: CheckInput; readonly index: number };

/** One result of a transaction (Consul TxnResult). */
export type TxnResult =
  | { readonly kind: "kv"; readonly entry: KVEntry; readonly withValue: boolean }
  | { readonly kind: "node"; readonly node: NodeRow }
  | { readonly kind: "service"; readonly service: ServiceRow }
  | { readonly kind: "check"; readonly check: CheckRow };

export interface TxnError {
  readonly opIndex: number;
  readonly what: string;
}

/** A command carried by the log and applied by the FSM, in log order. */
/** The final entry of a restore sent in chunks: which pending restore, its length and sha256 (hex). */
export interface RestoreFinal {
  readonly id: string;
  readonly total: number;
  readonly sha256: string;
}

export type Command =
  | { readonly type: "noop" }
  | { readonly type: "kv-set"; readonly key: string; readonly value: Uint8Array; readonly flags: bigint }
  | {
      readonly type: "kv-cas";
      readonly key: string;
      readonly value: Uint8Array;
      readonly flags: bigint;
      readonly index: number; // 0 = only if absent
    }
  | { readonly type: "kv-delete"; readonly key: string }
  | { readonly type: "kv-delete-cas"; readonly key: string; readonly index: number }
  | { readonly type: "kv-delete-tree"; readonly prefix: string }
  /**
   * `now`: the leader's wall clock (ms) when it built the command; lock verbs
   * honour lock-delays against it (absent in entries logged before sessions).
   */
  | { readonly type: "txn"; readonly ops: readonly TxnOp[]; readonly now?: number }
  /** Remove tombstones with index <= `index` (Consul's tombstone reaping). */
  | { readonly type: "tombstone-reap"; readonly index: number }
  /**
   * PUT ?acquire=<session>: set the key only if the lock is free or held by that session,
   * and no lock-delay on the key runs past `now` (leader wall clock, ms).
   */
  | {
      readonly type: "kv-lock";
      readonly key: string;
      readonly value: Uint8Array;
      readonly flags: bigint;
      readonly session: string;
      readonly now?: number;
    }
  /** PUT ?release=<session>: set the key and clear Session only if that session holds it. */
  | {
      readonly type: "kv-unlock";
      readonly key: string;
      readonly value: Uint8Array;
      readonly flags: bigint;
      readonly session: string;
    }
  /** PUT /v1/catalog/register: Consul's ensureRegistration (node, optional service, checks) in one write. */
  | { readonly type: "catalog-register"; readonly req: RegisterInput }
  /**
   * PUT /v1/catalog/deregister: remove the service (serviceId set), else the check
   * (checkId set), else the node with its services and checks.
   */
  | { readonly type: "catalog-deregister"; readonly node: string; readonly serviceId: string; readonly checkId: string }
  /**
   * Connect CA: replace the roots (null keeps them) and/or the configuration (null keeps it),
   * together; with `cas` only when the stored config's ModifyIndex equals it (0: none stored).
   * Result: bool (false = CAS failed, nothing changed).
   */
  | {
      readonly type: "ca-set";
      readonly roots: readonly CARootRow[] | null;
      readonly config: CAConfigInput | null;
      readonly cas: number | null;
    }
  /** PUT /v1/session/create: the leader chose the ID; the FSM checks node and checks. */
  | { readonly type: "session-create"; readonly session: SessionInput }
  /**
   * Session destroy or invalidation (TTL expiry): release or delete its keys, with
   * lock-delays counted from `now` (leader wall clock, ms). Unknown IDs change nothing.
   */
  | { readonly type: "session-destroy"; readonly id: string; readonly now: number }
  /** Lock-delays left pending by catalog-driven invalidations start at `now` (leader ms). */
  | { readonly type: "lock-delay-stamp"; readonly now: number }
  /**
   * Snapshot restore (PUT /v1/snapshot): replace the whole state with a cairn store
   * snapshot's (state/restore.ts); everything is stamped at this entry's index, so no
   * index moves backwards, and every watch fires. Bad bytes: an error result, no change.
   * Without `pending` the state.bin is `data` (one entry); with it, `data` is empty and
   * the state.bin is the store's pending restore (restore-chunk entries) named by
   * `pending.id`, checked against `total` bytes and its sha256 (hex). A final naming the
   * pending id always clears the pending buffer; one naming another id changes nothing.
   */
  | { readonly type: "restore"; readonly data: Uint8Array; readonly pending?: RestoreFinal }
  /**
   * One piece of a state.bin restored through several entries: seq 0 starts a new pending
   * restore `id` (discarding any other), seq n > 0 must follow seq n-1 of the same id, or
   * it is refused (an error result, no change). While a restore is pending no store
   * snapshot may be taken (Store.restorePending).
   */
  | { readonly type: "restore-chunk"; readonly id: string; readonly seq: number; readonly data: Uint8Array }
  /** Drops the pending restore (only if it is `id`, when given); no pending restore: nothing changes. */
  | { readonly type: "restore-abort"; readonly id?: string }
  /**
   * Consul's CoordinateBatchUpdate: set the LAN coordinate of each (node, segment);
   * updates for nodes not in the catalog are dropped silently.
   */
  | { readonly type: "coordinate-batch-update"; readonly updates: readonly CoordRow[] }
  /**
   * Consul's AutopilotSetConfig: replace the autopilot configuration; with `cas` (a
   * ModifyIndex) only when the stored row has it (result bool; false changes nothing).
   */
  | { readonly type: "autopilot-set"; readonly config: AutopilotConfig; readonly cas: number | null };

/** What applying a command returned. */
export type ApplyResult =
  | { readonly type: "none" }
  | { readonly type: "bool"; readonly ok: boolean }
  | { readonly type: "txn"; readonly results: readonly TxnResult[]; readonly errors: readonly TxnError[] }
  /**
   * The FSM refused the command with Consul's error text (e.g. `invalid session "x"`
   * for kv-lock); Consul answers such RPC errors with HTTP 500.
   */
  | { readonly type: "error"; readonly message: string };

/** A read result with the index Consul would report for it (never 0). */
export interface Indexed<T> {
  readonly index: number;
  readonly value: T;
}

/** Called when a watched key or prefix may have changed. */
export type WatchCallback = () => void;

/** Cancels a watch registration; idempotent. */
export type CancelWatch = () => void;

/** The read side of the store, as the HTTP layer sees it (KV and the catalog). */
export interface StoreReader extends CatalogReader {
  /** Index of the last applied log entry. */
  lastIndex(): number;
  /** Single key: Consul's KVS.Get index rules (ModifyIndex if present, else table index). */
  kvGet(key: string): Indexed<KVEntry | undefined>;
  /** All entries under prefix, sorted by key; Consul's kvsList index rules. */
  kvList(prefix: string): Indexed<KVEntry[]>;
  /** Keys under prefix rolled up to separator ("" = no roll-up); Consul's KVS.ListKeys index rules. */
  kvKeys(prefix: string, separator: string): Indexed<string[]>;
  /** Read-only transaction (all ops are get/check verbs), no log entry. */
  txnRead(ops: readonly TxnOp[]): Indexed<{ results: TxnResult[]; errors: TxnError[] }>;
  /** Fire cb once when `key` changes (set, delete, or a tree delete covering it). */
  watchKey(key: string, cb: WatchCallback): CancelWatch;
  /** Fire cb once when any key under `prefix` changes. */
  watchPrefix(prefix: string, cb: WatchCallback): CancelWatch;
  /** Number of registered watches (for metrics and limits). */
  watchCount(): number;
}
