/**
 * store: cairn's state store and FSM: tables, Consul's read index rules,
 * apply(index, command), watches, snapshot/restore.
 *
 * apply is deterministic: its result and the new state depend only on the
 * prior state, the index and the command (no clock, no randomness). A write
 * runs to completion (a txn that fails is rolled back through its undo
 * journal), then arena space is reclaimed, then watchers are gathered and
 * fired, so a callback always sees fully applied state.
 *
 * Read index rules (Consul's KVS endpoint): kvGet -> the entry's ModifyIndex,
 * else the kvs table index (max of kvs and tombstones); kvList/kvKeys -> the
 * max ModifyIndex of entries and tombstones under the prefix (the whole table
 * index for prefix ""), else the table index. Reported indexes are never 0.
 *
 * Must never: let a callback run while a write is half applied, mutate a row
 * in place (rows are replaced), or keep a reference to a caller's value bytes.
 */

import type {
  ApplyResult,
  CancelWatch,
  Command,
  Indexed,
  KVEntry,
  StoreReader,
  TxnError,
  TxnOp,
  TxnResult,
  WatchCallback,
} from "./types.ts";
import { assert, unreachable } from "../shared/errors.ts";
import { Tables, WriteTx, type SessionLookup, type TableName } from "./tables.ts";
import type { Slab } from "./arena.ts";
import { WatchIndex, type Wakeups } from "./watch.ts";
import { kvCas, kvDelete, kvDeleteCas, kvDeleteTree, kvListEntries, kvListIndex, kvLock, kvSet, kvUnlock, isOpErr } from "./kvops.ts";
import { txnReadOnly, txnReadWrite } from "./txn.ts";
import { decodeSnapshot, encodeSnapshot, type DecodedSnapshot } from "./snapshot.ts";
import { RestoreBuffer, stampRestored } from "./restore.ts";
import type { CatalogReader, CheckRow, HealthStatus, NodeRow, ServiceHealth, ServiceRow } from "./catalog_types.ts";
import { deregister, ensureRegistration } from "./catalog_ops.ts";
import { nodeIndexName, nodeKey, serviceIndexName } from "./catalog_tables.ts";
import { CoordTables, type CoordRow } from "./coord_tables.ts";
import { AutopilotTable, type AutopilotRow } from "./autopilot_table.ts";
import {
  readChecksInState,
  readNode,
  readNodeChecks,
  readNodes,
  readServiceChecks,
  readServiceHealth,
  readServiceNodes,
  readServices,
} from "./catalog_read.ts";
import type { CAConfigRow, CAReader, CARootRow } from "./ca_types.ts";
import { CA_CONFIG_WATCH, CA_ROOTS_WATCH, CATables, caSet } from "./ca_tables.ts";
import type { SessionEvents, SessionReader, SessionRow } from "./session_types.ts";
import {
  lockDelayed,
  nodeSessionsWatchKey,
  SESSION_HOOKS,
  SESSIONS_WATCH,
  sessionCreate,
  sessionDestroy,
  sessionWatchKey,
  stampLockDelays,
} from "./session_ops.ts";

type Meta = Readonly<Record<string, string>>;

const TRUE: ApplyResult = { type: "bool", ok: true };
const FALSE: ApplyResult = { type: "bool", ok: false };
const NONE: ApplyResult = { type: "none" };

function atLeastOne(i: number): number {
  return i === 0 ? 1 : i;
}

/** Wires a fresh Tables for sessions: catalog hooks, the held-keys index, the session view. */
function installSessions(t: Tables, extra: SessionLookup | undefined): Tables {
  t.hooks = SESSION_HOOKS;
  const sess = t.sess;
  t.kvs.forEach((k, row) => {
    if (row.session !== "") sess.noteHolder(k, "", row.session);
  });
  t.sessions = extra === undefined ? sess : { exists: (id) => extra.exists(id) || sess.exists(id) };
  return t;
}

const COORD_WATCH = "coordinates";

export class Store implements StoreReader, CatalogReader, CAReader, SessionReader {
  private t = installSessions(new Tables(), undefined);
  /** Chunks of a restore not yet finished (never in snapshots: see restorePending). */
  private readonly restoring = new RestoreBuffer();
  /** A session view tests install beside the sessions table (setSessionLookup). */
  private extraSessions: SessionLookup | undefined;
  /** Session watches ("sessions", "session.<id>", "sessions.node.<node>"). */
  private readonly sessionWatches = new WatchIndex();
  private readonly sessionListeners = new Set<(ev: SessionEvents) => void>();
  /** Connect CA tables (roots, configuration); replaced whole on restore. */
  private ca = new CATables();
  /** Connect CA watches ("connect-ca-roots", "connect-ca-config"). */
  private readonly caWatches = new WatchIndex();
  /** Network coordinates (Consul's "coordinates" table); replaced whole on restore. */
  private coords = new CoordTables();
  /** Coordinate watches ("coordinates"). */
  private readonly coordWatches = new WatchIndex();
  /** Whether the write being applied changed the coordinates table. */
  private coordTouched = false;
  /** The autopilot configuration (Consul's "autopilot-config" table); in Raft snapshots (header field), kept across a restore command. */
  private readonly autopilot = new AutopilotTable();
  private last = 0;
  private readonly watches = new WatchIndex();
  /** Catalog watches, keyed by Consul's index names ("nodes", "service.<name>", "node.<name>", ...). */
  private readonly catWatches = new WatchIndex();
  private applying = false;
  /** The write being applied replaced the whole state (a restore): every watch fires. */
  private wakeAll = false;
  /** Moves on every write that changes the catalog and on every restore (catalogGeneration). */
  private catalogGen = 0;
  /** CA watch keys the write being applied touched. */
  private caTouched: readonly string[] = [];

  /** Restores a store from snapshot bytes. */
  static restore(bytes: Uint8Array): Store {
    const s = new Store();
    s.restore(bytes);
    return s;
  }

  // ---- reads -------------------------------------------------------------

  lastIndex(): number {
    return this.last;
  }

  /** Max index of the given tables (0 when none was written). */
  tableIndex(...tables: TableName[]): number {
    let m = 0;
    for (const n of tables) m = Math.max(m, this.t.index(n));
    return m;
  }

  kvGet(key: string): Indexed<KVEntry | undefined> {
    const e = this.t.kvs.get(key);
    if (e !== undefined) return { index: atLeastOne(e.modifyIndex), value: e };
    return { index: atLeastOne(this.t.kvsMaxIndex()), value: undefined };
  }

  kvList(prefix: string): Indexed<KVEntry[]> {
    const { entries, maxIndex } = kvListEntries(this.t, prefix);
    return { index: kvListIndex(this.t, prefix, maxIndex), value: entries };
  }

  kvKeys(prefix: string, separator: string): Indexed<string[]> {
    const { entries, maxIndex } = kvListEntries(this.t, prefix);
    const index = kvListIndex(this.t, prefix, maxIndex);
    const keys: string[] = [];
    if (separator === "") {
      for (const e of entries) keys.push(e.key);
      return { index, value: keys };
    }
    const seen = new Set<string>();
    const plen = prefix.length;
    for (const e of entries) {
      const at = e.key.indexOf(separator, plen);
      if (at === -1) {
        keys.push(e.key);
        continue;
      }
      const rolled = e.key.slice(0, at + separator.length);
      if (!seen.has(rolled)) {
        seen.add(rolled);
        keys.push(rolled);
      }
    }
    return { index, value: keys };
  }

  /** Number of KV entries. */
  kvCount(): number {
    return this.t.kvs.size;
  }

  /** Number of tombstones. */
  tombstoneCount(): number {
    return this.t.tombstones.size;
  }

  txnRead(ops: readonly TxnOp[]): Indexed<{ results: TxnResult[]; errors: TxnError[] }> {
    const out = txnReadOnly(this.t, ops);
    return { index: atLeastOne(this.t.kvsMaxIndex()), value: out };
  }

  watchKey(key: string, cb: WatchCallback): CancelWatch {
    return this.watches.watchKey(key, cb);
  }

  watchPrefix(prefix: string, cb: WatchCallback): CancelWatch {
    return this.watches.watchPrefix(prefix, cb);
  }

  watchCount(): number {
    return this.watches.count() + this.catWatches.count() + this.caWatches.count() + this.sessionWatches.count() + this.coordWatches.count();
  }

  // ---- catalog reads (state/catalog_read.ts has the index rules) ----------

  catalogGeneration(): number {
    return this.catalogGen;
  }

  catalogNodes(nodeMeta?: Meta): Indexed<NodeRow[]> {
    return readNodes(this.t, nodeMeta);
  }

  catalogNode(name: string): Indexed<{ node: NodeRow; services: ServiceRow[] } | undefined> {
    return readNode(this.t, name, false);
  }

  catalogNodeByNameOrId(nameOrId: string): Indexed<{ node: NodeRow; services: ServiceRow[] } | undefined> {
    return readNode(this.t, nameOrId, true);
  }

  catalogServices(nodeMeta?: Meta): Indexed<Map<string, string[]>> {
    return readServices(this.t, nodeMeta);
  }

  catalogService(name: string, tags?: readonly string[]): Indexed<Array<{ node: NodeRow; service: ServiceRow }>> {
    return readServiceNodes(this.t, name, tags);
  }

  healthService(name: string, tags?: readonly string[]): Indexed<ServiceHealth[]> {
    return readServiceHealth(this.t, name, tags);
  }

  healthNode(node: string): Indexed<CheckRow[]> {
    return readNodeChecks(this.t, node);
  }

  healthChecks(service: string, nodeMeta?: Meta): Indexed<CheckRow[]> {
    return readServiceChecks(this.t, service, nodeMeta);
  }

  healthState(state: HealthStatus | "any", nodeMeta?: Meta): Indexed<CheckRow[]> {
    return readChecksInState(this.t, state, nodeMeta);
  }

  watchService(name: string, cb: WatchCallback): CancelWatch {
    return this.catWatches.watchKey(serviceIndexName(name), cb);
  }

  watchTable(table: "nodes" | "services" | "checks", cb: WatchCallback): CancelWatch {
    return this.catWatches.watchKey(table, cb);
  }

  watchNode(name: string, cb: WatchCallback): CancelWatch {
    return this.catWatches.watchKey(nodeIndexName(name), cb);
  }

  // ---- connect CA reads ----------------------------------------------------

  caRoots(): Indexed<readonly CARootRow[]> {
    return { index: atLeastOne(this.ca.rootsIndex), value: this.ca.roots };
  }

  caConfig(): Indexed<CAConfigRow | undefined> {
    return { index: atLeastOne(this.ca.configIndex), value: this.ca.config };
  }

  watchCARoots(cb: WatchCallback): CancelWatch {
    return this.caWatches.watchKey(CA_ROOTS_WATCH, cb);
  }

  watchCAConfig(cb: WatchCallback): CancelWatch {
    return this.caWatches.watchKey(CA_CONFIG_WATCH, cb);
  }

  // ---- coordinates -------------------------------------------------------

  /** Every coordinate row, by node then segment (Consul's Coordinates()). */
  coordinates(): Indexed<CoordRow[]> {
    return { index: atLeastOne(this.coords.index), value: this.coords.all() };
  }

  /** The rows of one node (Consul's Coordinate.Node). */
  coordinatesOfNode(node: string): Indexed<CoordRow[]> {
    return { index: atLeastOne(this.coords.index), value: this.coords.ofNode(node) };
  }

  watchCoordinates(cb: WatchCallback): CancelWatch {
    return this.coordWatches.watchKey(COORD_WATCH, cb);
  }

  /** The autopilot configuration row, if one was ever set (Consul's AutopilotConfig()). */
  autopilotConfig(): AutopilotRow | undefined {
    return this.autopilot.row;
  }

  // ---- sessions (state/session_ops.ts has the rules) -----------------------

  sessionGet(id: string): Indexed<SessionRow | undefined> {
    return { index: atLeastOne(this.t.index("sessions")), value: this.t.sess.get(id) };
  }

  sessionList(): Indexed<SessionRow[]> {
    const out: SessionRow[] = [];
    this.t.sess.rows.forEach((_k, r) => void out.push(r));
    return { index: atLeastOne(this.t.index("sessions")), value: out };
  }

  sessionsOfNode(node: string): Indexed<SessionRow[]> {
    return { index: atLeastOne(this.t.index("sessions")), value: this.t.sess.sessionsOfNode(node) };
  }

  sessionCount(): number {
    return this.t.sess.rows.size;
  }

  watchSessions(cb: WatchCallback): CancelWatch {
    return this.sessionWatches.watchKey(SESSIONS_WATCH, cb);
  }

  watchSession(id: string, cb: WatchCallback): CancelWatch {
    return this.sessionWatches.watchKey(sessionWatchKey(id), cb);
  }

  watchNodeSessions(node: string, cb: WatchCallback): CancelWatch {
    return this.sessionWatches.watchKey(nodeSessionsWatchKey(node), cb);
  }

  /** Whether lock-delays wait for the leader's lock-delay-stamp. */
  lockDelaysPending(): boolean {
    return this.t.sess.pending.size > 0;
  }

  /** The lock-delay on a key: leader ms it runs to (null = pending a stamp), undefined when none. */
  lockDelayOf(key: string): number | null | undefined {
    const d = this.t.sess.lockDelays.get(key);
    return d === undefined ? undefined : d.expiresMs;
  }

  /** Called after every apply that created or destroyed sessions (the leader's TTL timers). */
  onSessionEvents(cb: (ev: SessionEvents) => void): CancelWatch {
    this.sessionListeners.add(cb);
    return () => void this.sessionListeners.delete(cb);
  }

  /** Arena use, for metrics and tests. */
  valueStats(): { slabs: number; used: number; live: number } {
    return this.t.arena.stats();
  }

  /** Installs the sessions view KV locks consult (until the sessions table exists, none exist). */
  setSessionLookup(s: SessionLookup): void {
    this.extraSessions = s;
    const sess = this.t.sess;
    this.t.sessions = { exists: (id) => s.exists(id) || sess.exists(id) };
  }

  // ---- writes ------------------------------------------------------------

  apply(index: number, cmd: Command): ApplyResult {
    assert(Number.isSafeInteger(index) && index > this.last, `apply index ${index} after ${this.last}`);
    assert(!this.applying, "apply re-entered from a watch callback");
    this.applying = true;
    let wake: Wakeups;
    let result: ApplyResult;
    let events: SessionEvents | undefined;
    let tx: WriteTx | undefined;
    try {
      tx = new WriteTx(this.t, index, cmd.type === "txn" || cmd.type === "catalog-register");
      result = this.run(tx, cmd);
      this.last = index;
      this.reclaim(tx.released);
      wake = [];
      for (const k of tx.touchedKeys) this.watches.collectKey(k, wake);
      for (const p of tx.touchedTrees) this.watches.collectTree(p, wake);
      for (const k of tx.touchedCatalog) this.catWatches.collectKey(k, wake);
      for (const k of this.caTouched) this.caWatches.collectKey(k, wake);
      if (tx.touchedCatalog.includes("nodes")) this.dropOrphanCoordinates(index);
      if (this.coordTouched) this.coordWatches.collectKey(COORD_WATCH, wake);
      this.coordTouched = false;
      this.caTouched = [];
      for (const k of tx.touchedSessions) this.sessionWatches.collectKey(k, wake);
      if (this.wakeAll) this.collectAllWatches(wake);
      if (tx.createdSessions.length > 0 || tx.destroyedSessions.length > 0) {
        events = { created: tx.createdSessions, destroyed: tx.destroyedSessions, pendingLockDelays: this.t.sess.pending.size > 0 };
      }
    } finally {
      this.applying = false;
      // also when the write threw half-way: whatever it changed is not what a reader cached
      if (tx?.catalogChanged === true) this.catalogGen++;
    }
    this.watches.fire(wake);
    if (events !== undefined) for (const l of [...this.sessionListeners]) l(events);
    return result;
  }

  private run(tx: WriteTx, cmd: Command): ApplyResult {
    switch (cmd.type) {
      case "noop":
        return NONE;
      case "kv-set":
        kvSet(tx, cmd.key, cmd.value, cmd.flags, 0, undefined);
        return TRUE;
      case "kv-cas":
        return kvCas(tx, cmd.key, cmd.value, cmd.flags, cmd.index) !== undefined ? TRUE : FALSE;
      case "kv-delete":
        kvDelete(tx, cmd.key);
        return TRUE;
      case "kv-delete-cas":
        return kvDeleteCas(tx, cmd.key, cmd.index) ? TRUE : FALSE;
      case "kv-delete-tree":
        kvDeleteTree(tx, cmd.prefix);
        return TRUE;
      case "kv-lock": {
        // Consul's kvsPreApply refuses a lock during a lock-delay before anything else.
        if (lockDelayed(tx, cmd.key, cmd.now)) return FALSE;
        const r = kvLock(tx, cmd.key, cmd.value, cmd.flags, cmd.session);
        if (isOpErr(r)) return { type: "error", message: r.err };
        return r !== undefined ? TRUE : FALSE;
      }
      case "kv-unlock": {
        const r = kvUnlock(tx, cmd.key, cmd.value, cmd.flags, cmd.session);
        if (isOpErr(r)) return { type: "error", message: r.err };
        return r !== undefined ? TRUE : FALSE;
      }
      case "txn": {
        const out = txnReadWrite(tx, cmd.ops, cmd.now);
        if (out.errors.length > 0) tx.rollback();
        return { type: "txn", results: out.results, errors: out.errors };
      }
      case "tombstone-reap":
        tx.reapTombstones(cmd.index);
        return NONE;
      case "catalog-register": {
        const err = ensureRegistration(tx, cmd.req);
        if (err === "") return NONE;
        tx.rollback();
        return { type: "error", message: err };
      }
      case "catalog-deregister":
        deregister(tx, cmd.node, cmd.serviceId, cmd.checkId);
        return NONE;
      case "ca-set": {
        const r = caSet(this.ca, tx.index, cmd.roots, cmd.config, cmd.cas);
        this.caTouched = r.touched;
        return r.ok ? TRUE : FALSE;
      }
      case "session-create": {
        const err = sessionCreate(tx, cmd.session);
        return err === "" ? NONE : { type: "error", message: err };
      }
      case "session-destroy":
        sessionDestroy(tx, cmd.id, cmd.now);
        return TRUE;
      case "lock-delay-stamp":
        stampLockDelays(tx, cmd.now);
        return NONE;
      case "restore": {
        if (cmd.pending === undefined) return this.applyRestore(tx, cmd.data);
        const got = this.restoring.take(cmd.pending);
        return got.ok ? this.applyRestore(tx, got.data) : { type: "error", message: got.error };
      }
      case "restore-chunk": {
        const err = this.restoring.chunk(cmd.id, cmd.seq, cmd.data);
        return err === undefined ? NONE : { type: "error", message: err };
      }
      case "restore-abort":
        this.restoring.abort(cmd.id);
        return NONE;
      case "coordinate-batch-update": {
        for (const u of cmd.updates) {
          // Consul drops updates for nodes it does not know (coordinates go with their node).
          if (this.t.cat.nodes.get(nodeKey(u.node)) === undefined) continue;
          this.coords.put(u);
          this.coordTouched = true;
        }
        if (this.coordTouched) this.coords.index = tx.index;
        return NONE;
      }
      case "autopilot-set":
        return this.autopilot.set(tx.index, cmd.config, cmd.cas) ? TRUE : FALSE;
      default:
        return unreachable(cmd);
    }
  }

  // ---- restore through the log (state/restore.ts) --------------------------

  /** Make decoded snapshot tables (built in `t`'s arena) the store's state; indexes and wake-ups are the caller's. */
  private installDecoded(t: Tables, d: DecodedSnapshot): void {
    t.kvs = d.kvs;
    t.tombstones = d.tombstones;
    t.indexes = d.indexes;
    t.cat = d.catalog;
    t.sess = d.sessions;
    this.t = installSessions(t, this.extraSessions);
    this.catalogGen++;
    this.ca = d.ca;
    this.coords = d.coordinates;
  }

  /**
   * Command "restore": the whole state becomes the snapshot's, stamped at this entry's
   * index; sessions are reported destroyed and created again (the leader's TTL timers
   * start over) and every watch fires. Undecodable bytes change nothing (an error result).
   */
  private applyRestore(tx: WriteTx, data: Uint8Array): ApplyResult {
    const t = new Tables();
    let d: DecodedSnapshot;
    try {
      d = decodeSnapshot(data, t.arena);
    } catch (e) {
      return { type: "error", message: `failed to restore snapshot: ${e instanceof Error ? e.message : String(e)}` };
    }
    stampRestored(d, tx.index);
    this.t.sess.rows.forEach((_k, r) => void tx.destroyedSessions.push(r.id));
    this.installDecoded(t, d);
    this.t.sess.rows.forEach((_k, r) => void tx.createdSessions.push(r));
    this.wakeAll = true;
    return NONE;
  }

  private collectAllWatches(wake: Wakeups): void {
    this.wakeAll = false;
    this.watches.collectTree("", wake);
    this.catWatches.collectTree("", wake);
    this.caWatches.collectTree("", wake);
    this.sessionWatches.collectTree("", wake);
    this.coordWatches.collectTree("", wake);
  }

  /** A node write may have deleted nodes: their coordinates go too (Consul's deleteNodeTxn). */
  private dropOrphanCoordinates(index: number): void {
    if (this.coords.rows.size === 0) return;
    const gone: string[] = [];
    for (const r of this.coords.rows.values()) if (this.t.cat.nodes.get(nodeKey(r.node)) === undefined) gone.push(r.node);
    for (const node of gone) {
      this.coords.deleteNode(node);
      this.coords.index = index;
      this.coordTouched = true;
    }
  }

  /** Gives released value bytes back to the arena; compacts slabs that became mostly dead. */
  private reclaim(released: readonly Uint8Array[]): void {
    const arena = this.t.arena;
    let todo: Slab[] | undefined;
    for (const v of released) {
      const s = arena.release(v);
      if (s !== undefined) (todo ??= []).includes(s) || todo.push(s);
    }
    if (todo) for (const s of todo) this.compactSlab(s);
  }

  /** Moves the live values of slab s into fresh space; rows are replaced, indexes untouched. */
  private compactSlab(s: Slab): void {
    const { arena, kvs } = this.t;
    arena.drop(s);
    for (const key of s.keys) {
      const row = kvs.get(key);
      if (row === undefined || !arena.owns(s, row.value)) continue;
      kvs.set(key, { ...row, value: arena.alloc(key, row.value) });
    }
  }

  // ---- snapshots ---------------------------------------------------------

  /**
   * Whether a restore sent in chunks is pending: its buffer is not in snapshots, so
   * no snapshot may be taken until its final restore (or restore-abort) is applied.
   */
  restorePending(): boolean {
    return this.restoring.pending();
  }

  /** The pending chunked restore's id, if any (for restore-abort). */
  pendingRestoreId(): string | undefined {
    return this.restoring.pendingId();
  }

  /** Chunks the pending chunked restore has received (0 when none is pending). */
  pendingRestoreChunks(): number {
    return this.restoring.pendingChunks();
  }

  /** Serializes every table, its indexes and the last applied index (never while restorePending()). */
  snapshot(): Uint8Array {
    assert(!this.restoring.pending(), "snapshot while a chunked restore is pending");
    return encodeSnapshot({
      lastIndex: this.last,
      indexes: this.t.indexes,
      kvs: this.t.kvs,
      tombstones: this.t.tombstones,
      catalog: this.t.cat,
      ca: this.ca,
      sessions: this.t.sess,
      coordinates: this.coords,
      autopilot: this.autopilot.row,
    });
  }

  /**
   * Replaces all state with a snapshot's. Registered watchers are all fired
   * (Consul abandons every watch on restore), after the new state is in place.
   */
  restore(bytes: Uint8Array): void {
    assert(!this.applying, "restore during apply");
    const t = new Tables();
    this.restoring.clear(); // a snapshot never holds a pending restore
    const d = decodeSnapshot(bytes, t.arena);
    this.installDecoded(t, d);
    this.autopilot.row = d.autopilot;
    this.last = d.lastIndex;
    const wake: Wakeups = [];
    this.watches.collectTree("", wake);
    this.catWatches.collectTree("", wake);
    this.caWatches.collectTree("", wake);
    this.sessionWatches.collectTree("", wake);
    this.coordWatches.collectTree("", wake);
    this.watches.fire(wake);
  }
}
