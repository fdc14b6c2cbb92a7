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

import type { CatalogTxnVerb, KVEntry, KVTxnOp, TxnError, TxnOp, TxnResult } from "./types.ts";
import type { CheckInput, NodeInput, ServiceInput } from "./catalog_types.ts";
import { checkKey, nodeKey, serviceKey } from "./catalog_tables.ts";
import {
  deleteCheck,
  deleteCheckCas,
  deleteNode,
  deleteNodeCas,
  deleteService,
  deleteServiceCas,
  ensureCheck,
  ensureCheckCas,
  ensureNode,
  ensureNodeCas,
  ensureService,
  ensureServiceCas,
} from "./catalog_ops.ts";
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
import { lockDelayed } from "./session_ops.ts";

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
  return ops.every((o) => (o.kind === "kv" ? READ_VERBS.has(o.op.verb) : o.verb === "get"));
}

/**
 * Consul's leader-side pre-checks without ACLs: a key is required for every KV
 * verb but delete-tree (kvsPreApply); a service with an ID needs a name and a
 * specific address (servicePreApply). The HTTP layer reports these without applying.
 */
export function txnPreCheck(ops: readonly TxnOp[]): TxnError[] {
  const errors: TxnError[] = [];
  ops.forEach((o, i) => {
    if (o.kind === "kv") {
      if (o.op.key === "" && o.op.verb !== "delete-tree") errors.push({ opIndex: i, what: "Must provide key" });
    } else if (o.kind === "service") {
      if (o.service.id !== "" && o.service.service === "") errors.push({ opIndex: i, what: "Must provide service name with ID" });
      else if (o.service.address === "0.0.0.0" || o.service.address === "::" || o.service.address === "[::]") {
        errors.push({ opIndex: i, what: "Invalid service address" });
      }
    }
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

function writeOp(tx: WriteTx, op: KVTxnOp, nowMs: number | undefined): OpOutcome {
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
      // Consul's Txn preCheck (kvsPreApply) refuses a lock during its lock-delay.
      if (lockDelayed(tx, op.key, nowMs)) return { err: `failed to lock key ${goQuote(op.key)} due to lock delay` };
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

// ---- catalog ops (txnNode, txnService, txnCheck) ---------------------------------

type CatalogOp = Exclude<TxnOp, { kind: "kv" }>;

/** getNode of txnNode: by ID when one is given, else by name. */
function findTxnNode(t: Tables, n: NodeInput): TxnResult[] {
  const row = n.id !== "" ? t.cat.nodeById(n.id) : t.cat.nodes.get(nodeKey(n.node));
  return row === undefined ? [] : [{ kind: "node", node: row }];
}
function findTxnService(t: Tables, node: string, s: ServiceInput): TxnResult[] {
  const row = t.cat.services.get(serviceKey(node, s.id));
  return row === undefined ? [] : [{ kind: "service", service: row }];
}
function findTxnCheck(t: Tables, c: CheckInput): TxnResult[] {
  const row = t.cat.checks.get(checkKey(c.node, c.checkId));
  return row === undefined ? [] : [{ kind: "check", check: row }];
}

function catalogRead(t: Tables, o: CatalogOp): OpOutcome | undefined {
  if (o.verb !== "get") return undefined;
  switch (o.kind) {
    case "node": {
      const r = findTxnNode(t, o.node);
      return r.length > 0 ? { results: r } : { err: `node ${goQuote(o.node.node)} doesn't exist` };
    }
    case "service": {
      const r = findTxnService(t, o.node, o.service);
      return r.length > 0 ? { results: r } : { err: `service ${goQuote(o.service.id)} on node ${goQuote(o.node)} doesn't exist` };
    }
    case "check": {
      const r = findTxnCheck(t, o.check);
      return r.length > 0 ? { results: r } : { err: `check ${goQuote(o.check.checkId)} on node ${goQuote(o.check.node)} doesn't exist` };
    }
    default:
      return unreachable(o);
  }
}

function nodeWrite(tx: WriteTx, verb: Exclude<CatalogTxnVerb, "get">, n: NodeInput, index: number): OpOutcome {
  const q = goQuote(n.node);
  switch (verb) {
    case "set": {
      const err = ensureNode(tx, n);
      return err !== "" ? { err } : { results: findTxnNode(tx.tables, n) };
    }
    case "cas": {
      const r = ensureNodeCas(tx, n, index);
      if (r === false) return { err: `failed to set node ${q}, index is stale` };
      if (r !== true) return r;
      return { results: findTxnNode(tx.tables, n) };
    }
    case "delete":
      deleteNode(tx, n.node);
      return NONE;
    case "delete-cas":
      return deleteNodeCas(tx, n.node, index) ? NONE : { err: `failed to delete node ${q}, index is stale` };
    default:
      return unreachable(verb);
  }
}

function serviceWrite(tx: WriteTx, verb: Exclude<CatalogTxnVerb, "get">, node: string, s: ServiceInput, index: number): OpOutcome {
  const where = `${goQuote(s.id)} on node ${goQuote(node)}`;
  switch (verb) {
    case "set": {
      const err = ensureService(tx, node, s);
      return err !== "" ? { err } : { results: findTxnService(tx.tables, node, s) };
    }
    case "cas": {
      const err = ensureServiceCas(tx, node, s, index);
      if (err === "stale") return { err: `failed to set service ${where}, index is stale` };
      return err !== "" ? { err } : { results: findTxnService(tx.tables, node, s) };
    }
    case "delete":
      deleteService(tx, node, s.id);
      return NONE;
    case "delete-cas":
      return deleteServiceCas(tx, node, s.id, index) ? NONE : { err: `failed to delete service ${where}, index is stale` };
    default:
      return unreachable(verb);
  }
}

function checkWrite(tx: WriteTx, verb: Exclude<CatalogTxnVerb, "get">, c: CheckInput, index: number): OpOutcome {
  const where = `${goQuote(c.checkId)} on node ${goQuote(c.node)}`;
  switch (verb) {
    case "set": {
      const err = ensureCheck(tx, c);
      return err !== "" ? { err } : { results: findTxnCheck(tx.tables, c) };
    }
    case "cas": {
      const r = ensureCheckCas(tx, c, index);
      if (r === false) return { err: `failed to set check ${where}, index is stale` };
      if (r !== true) return r;
      return { results: findTxnCheck(tx.tables, c) };
    }
    case "delete":
      deleteCheck(tx, c.node, c.checkId);
      return NONE;
    case "delete-cas":
      return deleteCheckCas(tx, c.node, c.checkId, index) ? NONE : { err: `failed to delete check ${where}, index is stale` };
    default:
      return unreachable(verb);
  }
}

function catalogWrite(tx: WriteTx, o: CatalogOp): OpOutcome {
  const read = catalogRead(tx.tables, o);
  if (read !== undefined) return read;
  if (o.verb === "get") throw new Error("assertion failed: get not handled by catalogRead");
  switch (o.kind) {
    case "node":
      return nodeWrite(tx, o.verb, o.node, o.index);
    case "service":
      return serviceWrite(tx, o.verb, o.node, o.service, o.index);
    case "check":
      return checkWrite(tx, o.verb, o.check, o.index);
    default:
      return unreachable(o);
  }
}

function dispatch(ops: readonly TxnOp[], kv: (op: KVTxnOp) => OpOutcome, cat: (op: CatalogOp) => OpOutcome): TxnOutcome {
  const results: TxnResult[] = [];
  const errors: TxnError[] = [];
  ops.forEach((o, i) => {
    const r = o.kind === "kv" ? kv(o.op) : cat(o);
    if ("err" in r) errors.push({ opIndex: i, what: r.err });
    else results.push(...r.results);
  });
  return errors.length > 0 ? { results: [], errors } : { results, errors };
}

/** TxnRW: the caller must roll tx back when errors is non-empty. `nowMs`: leader time of lock verbs. */
export function txnReadWrite(tx: WriteTx, ops: readonly TxnOp[], nowMs?: number): TxnOutcome {
  return dispatch(
    ops,
    (op) => writeOp(tx, op, nowMs),
    (op) => catalogWrite(tx, op),
  );
}

/** TxnRO: write verbs are refused per op. */
export function txnReadOnly(t: Tables, ops: readonly TxnOp[]): TxnOutcome {
  return dispatch(
    ops,
    (op) => readOp(t, op) ?? { err: `cannot run verb ${goQuote(op.verb)} in a read-only transaction` },
    (op) => catalogRead(t, op) ?? { err: `cannot run verb ${goQuote(op.verb)} in a read-only transaction` },
  );
}
