/**
 * session_ops: Consul's session state operations (agent/consul/state/session.go)
 * over a WriteTx: sessionCreateTxn (behavior, node and check validation with
 * Consul's texts), deleteSessionTxn (release clears Session on held keys, delete
 * removes them, then a lock-delay on each of those keys, capped at 60 s), the
 * invalidations catalog writes cause (critical or deleted check, deleted node),
 * lock-delay stamping and the lock-delay test of acquisitions.
 *
 * Time only arrives in commands: an invalidation with a leader timestamp sets
 * the expiry at once; one without (a catalog write) leaves it pending until the
 * leader's lock-delay-stamp command.
 *
 * Must never: read a clock or randomness.
 */

import type { CatalogSessionHooks, WriteTx } from "./tables.ts";
import type { SessionInput, SessionRow } from "./session_types.ts";
import { MAX_LOCK_DELAY_MS, sessionCheckIds } from "./session_types.ts";
import { checkKey, nodeKey } from "./catalog_tables.ts";
import { ERR_MISSING_NODE } from "./catalog_ops.ts";
import { kvDelete, kvSet } from "./kvops.ts";

const lower = (s: string): string => s.toLowerCase();

/** Watch keys of sessions (kept apart from catalog names by their prefixes). */
export const SESSIONS_WATCH = "sessions";
export const sessionWatchKey = (id: string): string => "session." + lower(id);
export const nodeSessionsWatchKey = (node: string): string => "sessions.node." + lower(node);

function touch(tx: WriteTx, row: SessionRow): void {
  tx.setIndex("sessions");
  tx.touchedSessions.push(SESSIONS_WATCH, sessionWatchKey(row.id), nodeSessionsWatchKey(row.node));
}

/** sessionCreateTxn; returns "" or Consul's error text (nothing changed then). */
export function sessionCreate(tx: WriteTx, s: SessionInput): string {
  if (s.id === "") return "Missing session ID";
  if (s.behavior !== "release" && s.behavior !== "delete") return `Invalid session behavior: ${String(s.behavior)}`;
  const t = tx.tables;
  if (t.cat.nodes.get(nodeKey(s.node)) === undefined) return ERR_MISSING_NODE;
  for (const c of sessionCheckIds(s)) {
    const hc = t.cat.checks.get(checkKey(s.node, c));
    if (hc === undefined) return `Missing check '${c}' registration`;
    if (hc.status === "critical") return `Check '${c}' is in ${hc.status} state`;
  }
  if (t.sess.exists(s.id)) return `Session ${s.id} already exists`;
  const row: SessionRow = {
    id: s.id,
    name: s.name,
    node: s.node,
    lockDelayNs: s.lockDelayNs,
    behavior: s.behavior,
    ttl: s.ttl,
    nodeChecks: s.nodeChecks,
    serviceChecks: s.serviceChecks,
    checks: s.checks,
    createIndex: tx.index,
    modifyIndex: tx.index,
  };
  tx.onUndo(t.sess.insert(row));
  tx.createdSessions.push(row);
  touch(tx, row);
  return "";
}

/**
 * deleteSessionTxn: removes the session, then releases or deletes every key it
 * holds and puts a lock-delay on them. `nowMs` null = pending a leader stamp.
 * A missing session changes nothing.
 */
export function sessionDestroy(tx: WriteTx, id: string, nowMs: number | null): void {
  const t = tx.tables;
  const row = t.sess.get(id);
  if (row === undefined) return;
  tx.onUndo(t.sess.remove(row));
  tx.destroyedSessions.push(row.id);
  touch(tx, row);
  const delayMs = Math.min(row.lockDelayNs / 1e6, MAX_LOCK_DELAY_MS);
  for (const key of t.sess.heldKeys(row.id)) {
    const e = t.kvs.get(key);
    if (e === undefined) continue;
    if (row.behavior === "release") kvSet(tx, key, e.value, e.flags, e.lockIndex, "");
    else kvDelete(tx, key);
    if (delayMs > 0) {
      tx.onUndo(t.sess.setLockDelay(key, { expiresMs: nowMs === null ? null : nowMs + delayMs, delayMs }));
    }
  }
  if (nowMs !== null) pruneLockDelays(tx, nowMs);
}

/** Drops lock-delays that have run out by `nowMs`. */
function pruneLockDelays(tx: WriteTx, nowMs: number): void {
  const sess = tx.tables.sess;
  const dead: string[] = [];
  for (const [k, d] of sess.lockDelays) if (d.expiresMs !== null && d.expiresMs <= nowMs) dead.push(k);
  for (const k of dead) tx.onUndo(sess.setLockDelay(k, undefined));
}

/** lock-delay-stamp: pending lock-delays start at the leader's `nowMs`. */
export function stampLockDelays(tx: WriteTx, nowMs: number): void {
  const sess = tx.tables.sess;
  for (const k of [...sess.pending]) {
    const d = sess.lockDelays.get(k);
    if (d !== undefined) tx.onUndo(sess.setLockDelay(k, { expiresMs: nowMs + d.delayMs, delayMs: d.delayMs }));
  }
  pruneLockDelays(tx, nowMs);
}

/**
 * The lock-delay test Consul's kvsPreApply makes before a lock: true when `key`
 * may not be acquired at leader time `nowMs` (undefined: the command carried no
 * time, as commands logged before sessions existed; no test then).
 */
export function lockDelayed(tx: WriteTx, key: string, nowMs: number | undefined): boolean {
  if (nowMs === undefined) return false;
  const sess = tx.tables.sess;
  if (sess.delayed(key, nowMs)) return true;
  if (sess.lockDelays.has(key)) tx.onUndo(sess.setLockDelay(key, undefined));
  return false;
}

/** Invalidation by catalog writes (Consul's ensureCheckTxn, deleteCheckTxn, deleteNodeTxn). */
export const SESSION_HOOKS: CatalogSessionHooks = {
  checkCritical(tx, node, checkId) {
    for (const s of tx.tables.sess.sessionsOfCheck(node, checkId)) sessionDestroy(tx, s.id, null);
  },
  checkDeleted(tx, node, checkId) {
    for (const s of tx.tables.sess.sessionsOfCheck(node, checkId)) sessionDestroy(tx, s.id, null);
  },
  nodeDeleted(tx, node) {
    for (const s of tx.tables.sess.sessionsOfNode(node)) sessionDestroy(tx, s.id, null);
  },
};

