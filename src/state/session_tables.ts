/**
 * session_tables: the sessions table and its companions: sessions by ID and by
 * node, the session_checks mapping ((node, check) -> sessions), the keys each
 * session holds (Consul's kvs "session" index) and the lock-delay map.
 *
 * Lock-delays are FSM state here (Consul keeps them beside the FSM): each entry
 * expires at a leader wall-clock time in ms that a command carried, or is
 * pending (an invalidation by a catalog write, which carries no time) until
 * the leader's lock-delay-stamp command gives it one. A pending delay refuses
 * acquisition like a running one.
 *
 * Every change goes through a method that reports how to undo it, so journaled
 * writes (txn, catalog-register) roll sessions back with everything else.
 *
 * Must never: read a clock, touch KV rows (session_ops does, through the WriteTx),
 * or change a row in place.
 */

import type { SessionLookup } from "./tables.ts";
import type { SessionRow } from "./session_types.ts";
import { sessionCheckIds } from "./session_types.ts";
import { BTree } from "./btree.ts";

const SEP = "\0";
const lower = (s: string): string => s.toLowerCase();

/** Key of the session_checks mapping (same folding as the catalog's check keys). */
export const sessionCheckKey = (node: string, checkId: string): string => lower(node) + SEP + lower(checkId);

export interface LockDelay {
  /** Leader wall-clock ms when acquisition is allowed again; null = pending a stamp. */
  readonly expiresMs: number | null;
  /** The delay to apply once stamped (ms). */
  readonly delayMs: number;
}

export type Undo = () => void;

export class SessionTables implements SessionLookup {
  readonly rows = new BTree<SessionRow>();
  readonly byNode = new BTree<SessionRow>();
  readonly checkMap = new Map<string, Set<string>>();
  /** lower(session id) -> keys it holds. */
  readonly held = new Map<string, Set<string>>();
  readonly lockDelays = new Map<string, LockDelay>();
  /** Keys whose lock-delay waits for a stamp. */
  readonly pending = new Set<string>();

  exists(id: string): boolean {
    return this.rows.get(lower(id)) !== undefined;
  }

  get(id: string): SessionRow | undefined {
    return this.rows.get(lower(id));
  }

  /** Inserts a new session with its check mappings. */
  insert(row: SessionRow): Undo {
    const id = lower(row.id);
    this.rows.set(id, row);
    this.byNode.set(lower(row.node) + SEP + id, row);
    const keys = sessionCheckIds(row).map((c) => sessionCheckKey(row.node, c));
    for (const k of keys) {
      let s = this.checkMap.get(k);
      if (s === undefined) this.checkMap.set(k, (s = new Set()));
      s.add(id);
    }
    return () => this.removeRow(row);
  }

  /** Removes a session and its check mappings (its held keys are session_ops' business). */
  remove(row: SessionRow): Undo {
    this.removeRow(row);
    return () => void this.insert(row);
  }

  private removeRow(row: SessionRow): void {
    const id = lower(row.id);
    this.rows.delete(id);
    this.byNode.delete(lower(row.node) + SEP + id);
    for (const c of sessionCheckIds(row)) {
      const k = sessionCheckKey(row.node, c);
      const s = this.checkMap.get(k);
      if (s === undefined) continue;
      s.delete(id);
      if (s.size === 0) this.checkMap.delete(k);
    }
  }

  /** Sessions linked to (node, check), in ID order. */
  sessionsOfCheck(node: string, checkId: string): SessionRow[] {
    const s = this.checkMap.get(sessionCheckKey(node, checkId));
    if (s === undefined) return [];
    const out: SessionRow[] = [];
    for (const id of [...s].sort()) {
      const r = this.rows.get(id);
      if (r !== undefined) out.push(r);
    }
    return out;
  }

  sessionsOfNode(node: string): SessionRow[] {
    const out: SessionRow[] = [];
    this.byNode.forEachPrefix(lower(node) + SEP, (_k, r) => void out.push(r));
    return out;
  }

  /** Keeps the held-keys index in step with a KV row's session changing (no undo: KV undo calls it too). */
  noteHolder(key: string, prev: string, next: string): void {
    if (prev === next) return;
    if (prev !== "") {
      const p = lower(prev);
      const s = this.held.get(p);
      if (s !== undefined) {
        s.delete(key);
        if (s.size === 0) this.held.delete(p);
      }
    }
    if (next !== "") {
      const n = lower(next);
      let s = this.held.get(n);
      if (s === undefined) this.held.set(n, (s = new Set()));
      s.add(key);
    }
  }

  /** Keys held by a session, sorted. */
  heldKeys(id: string): string[] {
    const s = this.held.get(lower(id));
    return s === undefined ? [] : [...s].sort();
  }

  setLockDelay(key: string, d: LockDelay | undefined): Undo {
    const prev = this.lockDelays.get(key);
    const wasPending = this.pending.has(key);
    this.applyDelay(key, d);
    return () => {
      this.applyDelay(key, prev);
      if (wasPending) this.pending.add(key);
    };
  }

  private applyDelay(key: string, d: LockDelay | undefined): void {
    if (d === undefined) this.lockDelays.delete(key);
    else this.lockDelays.set(key, d);
    if (d !== undefined && d.expiresMs === null) this.pending.add(key);
    else this.pending.delete(key);
  }

  /** Whether acquiring `key` at leader time `nowMs` is refused by a lock-delay. */
  delayed(key: string, nowMs: number): boolean {
    const d = this.lockDelays.get(key);
    if (d === undefined) return false;
    return d.expiresMs === null || d.expiresMs > nowMs;
  }
}
