/**
 * txn: Consul's transaction dispatch (agent/consul/state/txn.go) for KV ops.
 *
 * Every op runs, in order, against the same write transaction, so later ops
 * see earlier ones; every failing op adds a TxnError (OpIndex + Consul's What
 * text) and, if any failed, the caller rolls the whole write back and reports
 * only the errors. Results: get verbs carry values; set/cas/lock/unlock and
 * the checks report the entry without its value; deletes report nothing.
 * Read-only transactions run the same code with no WriteTx.
 *
 * Must never: apply anything itself when an op fails (rollback is the
 * store's job), or read clocks/randomness.
 */

import type { KVEntry, KVTxnOp, TxnError, TxnOp, TxnResult } from "./types.ts";
import type { Tables, WriteTx } from "./tables.ts";
import { unreachable } from "../shared/errors.ts";
import { EMPTY_VALUE } from "./arena.ts";
import { goQuote } from "./gofmt.ts";
import {
  isOpErr,
  kvCas,
  kvCheckIndex,
  kvCheckSession,
  kvDelete,
  kvDeleteCas,
  kvDeleteTree,
  kvListEntries,
  kvLock,
  kvSet,
  kvUnlock,
} from "./kvops.ts";

const READ_VERBS: ReadonlySet<string> = new Set([
  "get",
  "get-or-empty",
  "get-tree",
  "check-index",
  "check-session",
  "check-not-exists",
]);

/** True when every op only reads (Consul routes such txns to TxnRO, no log entry). */
export function isReadOnlyTxn(ops: readonly TxnOp[]): boolean {
  return ops.every((o) => READ_VERBS.has(o.op.verb));
}

/**
 * Consul's leader-side pre-check (kvsPreApply) without ACLs: a key is required
 * for every verb but delete-tree. The HTTP layer reports these without applying.
 */
export function txnPreCheck(ops: readonly TxnOp[]): TxnError[] {
  const errors: TxnError[] = [];
  ops.forEach((o, i) => {
    if (o.op.key === "" && o.op.verb !== "delete-tree") errors.push({ opIndex: i, what: "Must provide key" });
  });
  return errors;
}

function withoutValue(e: KVEntry): TxnResult {
  return { kind: "kv", entry: e.value.byteLength === 0 ? e : { ...e, value: EMPTY_VALUE }, withValue: false };
}

type OpOutcome = { readonly results: TxnResult[] } | { readonly err: string };
const NONE: OpOutcome = { results: [] };

function readOp(t: Tables, op: KVTxnOp): OpOutcome | undefined {
  switch (op.verb) {
    case "get": {
      const e = t.kvs.get(op.key);
      if (e === undefined) return { err: `key ${goQuote(op.key)} doesn't exist` };
      return { results: [{ kind: "kv", entry: e, withValue: true }] };
    }
    case "get-or-empty": {
      const e = t.kvs.get(op.key);
      const entry: KVEntry = e ?? {
        key: op.key,
        value: EMPTY_VALUE,
        flags: op.flags,
        lockIndex: 0,
        session: op.session,
        createIndex: 0,
        modifyIndex: op.index,
      };
      return { results: [{ kind: "kv", entry, withValue: true }] };
    }
    case "get-tree": {
      const { entries } = kvListEntries(t, op.key);
      return { results: entries.map((entry) => ({ kind: "kv", entry, withValue: true })) };
    }
    case "check-session": {
      const r = kvCheckSession(t, op.key, op.session);
      return isOpErr(r) ? r : { results: [withoutValue(r)] };
    }
    case "check-index": {
      const r = kvCheckIndex(t, op.key, op.index);
      return isOpErr(r) ? r : { results: [withoutValue(r)] };
    }
    case "check-not-exists":
      return t.kvs.get(op.key) !== undefined ? { err: `key ${goQuote(op.key)} exists` } : NONE;
    default:
      return undefined;
  }
}

function writeOp(tx: WriteTx, op: KVTxnOp): OpOutcome {
  const read = readOp(tx.tables, op);
  if (read !== undefined) return read;
  switch (op.verb) {
    case "set":
      return { results: [withoutValue(kvSet(tx, op.key, op.value, op.flags, 0, undefined))] };
    case "cas": {
      const e = kvCas(tx, op.key, op.value, op.flags, op.index);
      if (e === undefined) return { err: `failed to set key ${goQuote(op.key)}, index is stale` };
      return { results: [withoutValue(e)] };
    }
    case "lock": {
      const e = kvLock(tx, op.key, op.value, op.flags, op.session);
      if (isOpErr(e)) return e;
      if (e === undefined) return { err: `failed to lock key ${goQuote(op.key)}, lock is already held` };
      return { results: [withoutValue(e)] };
    }
    case "unlock": {
      const e = kvUnlock(tx, op.key, op.value, op.flags, op.session);
      if (isOpErr(e)) return e;
      if (e === undefined) {
        return { err: `failed to unlock key ${goQuote(op.key)}, lock isn't held, or is held by another session` };
      }
      return { results: [withoutValue(e)] };
    }
    case "delete":
      kvDelete(tx, op.key);
      return NONE;
    case "delete-cas":
      if (!kvDeleteCas(tx, op.key, op.index)) return { err: `failed to delete key ${goQuote(op.key)}, index is stale` };
      return NONE;
    case "delete-tree":
      kvDeleteTree(tx, op.key);
      return NONE;
    case "get":
    case "get-or-empty":
    case "get-tree":
    case "check-index":
    case "check-session":
    case "check-not-exists":
      throw new Error("assertion failed: read verb not handled by readOp");
    default:
      return unreachable(op.verb);
  }
}

export interface TxnOutcome {
  results: TxnResult[];
  errors: TxnError[];
}

function dispatch(ops: readonly TxnOp[], run: (op: KVTxnOp) => OpOutcome): TxnOutcome {
  const results: TxnResult[] = [];
  const errors: TxnError[] = [];
  ops.forEach((o, i) => {
    switch (o.kind) {
      case "kv": {
        const r = run(o.op);
        if ("err" in r) errors.push({ opIndex: i, what: r.err });
        else results.push(...r.results);
        break;
      }
      default:
        unreachable(o.kind);
    }
  });
  return errors.length > 0 ? { results: [], errors } : { results, errors };
}

/** TxnRW: the caller must roll tx back when errors is non-empty. */
export function txnReadWrite(tx: WriteTx, ops: readonly TxnOp[]): TxnOutcome {
  return dispatch(ops, (op) => writeOp(tx, op));
}

/** TxnRO: write verbs are refused per op. */
export function txnReadOnly(t: Tables, ops: readonly TxnOp[]): TxnOutcome {
  return dispatch(ops, (op) => readOp(t, op) ?? { err: `cannot run verb ${goQuote(op.verb)} in a read-only transaction` });
}
