/**
 * tables: the state store's tables, their max indexes, and the write
 * transaction that changes them.
 *
 * Each table keeps its own max index in `indexes` (Consul's "index" table), so
 * later tables (nodes, services, checks, sessions) add a name to TableName and
 * a field here, and a write to one never moves another's index. A WriteTx
 * records what it changed: an undo journal (only for txn commands, which must
 * be all-or-nothing), the keys and tree prefixes to wake watchers for, and
 * value bytes to give back to the arena once the write commits.
 *
 * Must never: fire watchers or release arena space before a write commits.
 */

import type { KVEntry } from "./types.ts";
import type { CheckRow, NodeRow, ServiceRow } from "./catalog_types.ts";
import { BTree } from "./btree.ts";
import { EMPTY_VALUE, ValueArena } from "./arena.ts";
import { CatalogTables, checkKey, nodeKey, serviceKey } from "./catalog_tables.ts";
import { SessionTables } from "./session_tables.ts";
import type { SessionRow } from "./session_types.ts";

export type TableName = "kvs" | "tombstones" | "nodes" | "services" | "checks" | "sessions";
export const TABLE_NAMES: readonly TableName[] = ["kvs", "tombstones", "nodes", "services", "checks", "sessions"];
const CATALOG_TABLES: ReadonlySet<string> = new Set(["nodes", "services", "checks"]);

/** What the KV code needs to know about sessions. */
export interface SessionLookup {
  exists(id: string): boolean;
}
export const NO_SESSIONS: SessionLookup = { exists: () => false };

/**
 * Session invalidation hooks of catalog writes (Consul does them inside the
 * catalog txn): a check stored as critical, a check deleted, a node deleted.
 * Installed by the store (session_ops), so tables need not import KV code.
 */
export interface CatalogSessionHooks {
  checkCritical(tx: WriteTx, node: string, checkId: string): void;
  checkDeleted(tx: WriteTx, node: string, checkId: string): void;
  nodeDeleted(tx: WriteTx, node: string): void;
}

const ZERO_FLAGS = 0n;

export class Tables {
  kvs = new BTree<KVEntry>();
  /** Tombstones: key (or deleted tree prefix) -> index of the delete. */
  tombstones = new BTree<number>();
  indexes = new Map<TableName, number>();
  arena = new ValueArena();
  /** Sessions, their check mappings, held keys and lock-delays. */
  sess = new SessionTables();
  /** What kvLock asks; the sessions table unless a test installs another view. */
  sessions: SessionLookup = this.sess;
  cat = new CatalogTables();
  /** Session invalidation on catalog writes (absent: none). */
  hooks: CatalogSessionHooks | undefined = undefined;

  index(name: TableName): number {
    return this.indexes.get(name) ?? 0;
  }

  /** Consul's kvsMaxIndex: max of the kvs and tombstones table indexes. */
  kvsMaxIndex(): number {
    return Math.max(this.index("kvs"), this.index("tombstones"));
  }

  /** Highest tombstone index among tombstones whose key starts with prefix (0 if none). */
  tombstoneMaxUnder(prefix: string): number {
    let max = 0;
    this.tombstones.forEachPrefix(prefix, (_k, idx) => {
      if (idx > max) max = idx;
    });
    return max;
  }
}

type Undo =
  | { readonly t: "kv"; readonly key: string; readonly prev: KVEntry | undefined }
  | { readonly t: "tomb"; readonly key: string; readonly prev: number | undefined }
  | { readonly t: "idx"; readonly table: TableName; readonly prev: number | undefined }
  | { readonly t: "tree"; readonly rows: KVEntry[] }
  | { readonly t: "node"; readonly key: string; readonly prev: NodeRow | undefined }
  | { readonly t: "svc"; readonly key: string; readonly prev: ServiceRow | undefined }
  | { readonly t: "chk"; readonly key: string; readonly prev: CheckRow | undefined }
  | { readonly t: "named"; readonly name: string; readonly prev: number | undefined }
  | { readonly t: "fn"; readonly undo: () => void };

/** The fields of a KV row a write chooses; indexes are filled in by the write. */
export interface KVFields {
  readonly key: string;
  readonly value: Uint8Array;
  readonly flags: bigint;
  readonly lockIndex: number;
  readonly session: string;
}

export class WriteTx {
  readonly index: number;
  readonly tables: Tables;
  /** Undo journal; undefined when the write cannot fail half-way. */
  private readonly journal: Undo[] | undefined;
  readonly touchedKeys: string[] = [];
  readonly touchedTrees: string[] = [];
  /** Catalog watch keys ("nodes", "services", "checks", "service.<name>", "node.<name>") to wake. */
  readonly touchedCatalog: string[] = [];
  /** A catalog row or index changed (also when no watch key names it); false again after a rollback. */
  catalogChanged = false;
  /** Session watch keys ("sessions", "session.<id>", "sessions.node.<node>") to wake. */
  readonly touchedSessions: string[] = [];
  /** Sessions this write created and destroyed (for the leader's TTL timers). */
  readonly createdSessions: SessionRow[] = [];
  readonly destroyedSessions: string[] = [];
  /** Values no longer referenced once this commits. */
  readonly released: Uint8Array[] = [];
  /** Values allocated by this write (released again if it rolls back); kept only when undoable. */
  private readonly allocated: Uint8Array[] | undefined;

  constructor(tables: Tables, index: number, undoable: boolean) {
    this.tables = tables;
    this.index = index;
    this.journal = undoable ? [] : undefined;
    this.allocated = undoable ? [] : undefined;
  }

  /** Inserts or replaces a KV row; copies the value bytes into the arena. */
  putKV(f: KVFields, createIndex: number): KVEntry {
    const t = this.tables;
    const value = f.value.byteLength === 0 ? EMPTY_VALUE : t.arena.alloc(f.key, f.value);
    if (value.byteLength > 0) this.allocated?.push(value);
    const row: KVEntry = {
      key: f.key,
      value,
      flags: f.flags === 0n ? ZERO_FLAGS : f.flags,
      lockIndex: f.lockIndex,
      session: f.session,
      createIndex,
      modifyIndex: this.index,
    };
    const prev = t.kvs.set(f.key, row);
    t.sess.noteHolder(f.key, prev?.session ?? "", row.session);
    this.journal?.push({ t: "kv", key: f.key, prev });
    if (prev !== undefined) this.released.push(prev.value);
    this.touchedKeys.push(f.key);
    this.setIndex("kvs");
    return row;
  }

  /** Deletes a KV row (Consul's kvsDeleteWithEntry); caller writes the tombstone. */
  deleteKV(key: string): void {
    const prev = this.tables.kvs.delete(key);
    if (prev === undefined) return;
    this.tables.sess.noteHolder(key, prev.session, "");
    this.journal?.push({ t: "kv", key, prev });
    this.released.push(prev.value);
    this.touchedKeys.push(key);
    this.setIndex("kvs");
  }

  /** Deletes every row under prefix; returns how many. */
  deleteTree(prefix: string): number {
    const rows: KVEntry[] = [];
    const n = this.tables.kvs.deleteRange(prefix, (_k, row) => void rows.push(row));
    if (n === 0) return 0;
    for (const r of rows) if (r.session !== "") this.tables.sess.noteHolder(r.key, r.session, "");
    this.journal?.push({ t: "tree", rows });
    for (const r of rows) this.released.push(r.value);
    this.touchedTrees.push(prefix);
    return n;
  }

  putTombstone(key: string): void {
    const prev = this.tables.tombstones.set(key, this.index);
    this.journal?.push({ t: "tomb", key, prev });
    this.setIndex("tombstones");
  }

  /** Removes tombstones with index <= upTo (no table index change, as Consul). */
  reapTombstones(upTo: number): number {
    const dead: string[] = [];
    this.tables.tombstones.forEach((k, idx) => {
      if (idx <= upTo) dead.push(k);
    });
    for (const k of dead) {
      const prev = this.tables.tombstones.delete(k);
      this.journal?.push({ t: "tomb", key: k, prev });
    }
    return dead.length;
  }

  setIndex(table: TableName): void {
    const m = this.tables.indexes;
    this.journal?.push({ t: "idx", table, prev: m.get(table) });
    m.set(table, this.index);
    if (CATALOG_TABLES.has(table)) {
      this.touchedCatalog.push(table);
      this.catalogChanged = true;
    }
  }

  // ---- catalog rows (indexes are the caller's job, as in Consul's catalog.go) ----

  putNode(row: NodeRow): void {
    this.catalogChanged = true;
    const prev = this.tables.cat.putNode(row);
    this.journal?.push({ t: "node", key: nodeKey(row.node), prev });
  }

  deleteNode(key: string): void {
    this.catalogChanged = true;
    const prev = this.tables.cat.deleteNode(key);
    if (prev === undefined) return;
    this.journal?.push({ t: "node", key, prev });
    this.tables.hooks?.nodeDeleted(this, prev.node);
  }

  putService(row: ServiceRow): void {
    this.catalogChanged = true;
    const prev = this.tables.cat.putService(row);
    this.journal?.push({ t: "svc", key: serviceKey(row.node, row.id), prev });
  }

  deleteService(key: string): void {
    this.catalogChanged = true;
    const prev = this.tables.cat.deleteService(key);
    if (prev !== undefined) this.journal?.push({ t: "svc", key, prev });
  }

  putCheck(row: CheckRow): void {
    this.catalogChanged = true;
    const prev = this.tables.cat.putCheck(row);
    this.journal?.push({ t: "chk", key: checkKey(row.node, row.checkId), prev });
    this.touchedCatalog.push("node." + nodeKey(row.node));
    if (row.status === "critical") this.tables.hooks?.checkCritical(this, row.node, row.checkId);
  }

  deleteCheck(key: string, node: string): void {
    this.catalogChanged = true;
    const prev = this.tables.cat.deleteCheck(key);
    if (prev === undefined) return;
    this.journal?.push({ t: "chk", key, prev });
    this.touchedCatalog.push("node." + nodeKey(node));
    this.tables.hooks?.checkDeleted(this, prev.node, prev.checkId);
  }

  /** Consul's indexUpdateMaxTxn on a named index entry (only ever raises it). */
  setNamed(name: string): void {
    const m = this.tables.cat.named;
    const prev = m.get(name);
    this.touchedCatalog.push(name);
    if (prev !== undefined && prev >= this.index) return;
    this.journal?.push({ t: "named", name, prev });
    m.set(name, this.index);
    this.catalogChanged = true;
  }

  deleteNamed(name: string): void {
    const m = this.tables.cat.named;
    const prev = m.get(name);
    this.touchedCatalog.push(name);
    if (prev === undefined) return;
    this.catalogChanged = true;
    this.journal?.push({ t: "named", name, prev });
    m.delete(name);
  }

  /** Records how to undo a change made outside the row journal (sessions). */
  onUndo(undo: () => void): void {
    this.journal?.push({ t: "fn", undo });
  }

  /** Undoes every change, newest first. Only for undoable transactions. */
  rollback(): void {
    const j = this.journal;
    if (j === undefined) throw new Error("assertion failed: rollback of a write without a journal");
    const t = this.tables;
    for (let i = j.length - 1; i >= 0; i--) {
      const u = j[i]!;
      switch (u.t) {
        case "kv": {
          const cur = u.prev === undefined ? t.kvs.delete(u.key) : t.kvs.set(u.key, u.prev);
          t.sess.noteHolder(u.key, cur?.session ?? "", u.prev?.session ?? "");
          break;
        }
        case "tomb":
          if (u.prev === undefined) t.tombstones.delete(u.key);
          else t.tombstones.set(u.key, u.prev);
          break;
        case "idx":
          if (u.prev === undefined) t.indexes.delete(u.table);
          else t.indexes.set(u.table, u.prev);
          break;
        case "tree":
          for (const r of u.rows) {
            t.kvs.set(r.key, r);
            if (r.session !== "") t.sess.noteHolder(r.key, "", r.session);
          }
          break;
        case "node":
          if (u.prev === undefined) t.cat.deleteNode(u.key);
          else t.cat.putNode(u.prev);
          break;
        case "svc":
          if (u.prev === undefined) t.cat.deleteService(u.key);
          else t.cat.putService(u.prev);
          break;
        case "chk":
          if (u.prev === undefined) t.cat.deleteCheck(u.key);
          else t.cat.putCheck(u.prev);
          break;
        case "named":
          if (u.prev === undefined) t.cat.named.delete(u.name);
          else t.cat.named.set(u.name, u.prev);
          break;
        case "fn":
          u.undo();
          break;
      }
    }
    j.length = 0;
    // Nothing this write allocated is referenced any more; nothing it released was really released.
    this.released.length = 0;
    this.released.push(...(this.allocated ?? []));
    this.touchedKeys.length = 0;
    this.touchedTrees.length = 0;
    this.touchedCatalog.length = 0;
    this.catalogChanged = false;
    this.touchedSessions.length = 0;
    this.createdSessions.length = 0;
    this.destroyedSessions.length = 0;
  }
}
