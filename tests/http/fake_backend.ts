/**
 * tests/http/fake_backend: a naive in-memory Backend for the HTTP tests.
 *
 * Linear scans, one map, watches fired synchronously on apply. It follows Consul's index
 * rules only as far as the HTTP tests need: a key's index is its ModifyIndex, an absent
 * key or empty list reports the KV table index (bumped by every KV write, deletes too).
 *
 * Catalog reads and commands are delegated to a real Store (catalog endpoints are tested
 * against the real store; this only keeps the fake a complete StoreReader).
 *
 * Must never: be used outside tests.
 */

import type { Backend, Consistency, LeaderView } from "../../src/server/types.ts";
import { CairnError, unreachable } from "../../src/shared/errors.ts";
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
} from "../../src/state/types.ts";
import type { CheckRow, HealthStatus, NodeRow, ServiceHealth, ServiceRow } from "../../src/state/catalog_types.ts";
import { Store } from "../../src/state/store.ts";

interface Watch {
  readonly kind: "key" | "prefix";
  readonly k: string;
  readonly cb: WatchCallback;
}

export class FakeStore implements StoreReader {
  kv = new Map<string, KVEntry>();
  index = 1;
  kvIndex = 1;
  readonly watches = new Set<Watch>();
  /** The catalog side: a real store fed the catalog commands. */
  readonly cat = new Store();

  catalogGeneration(): number {
    return this.cat.catalogGeneration();
  }
  catalogNodes(m?: Record<string, string>): Indexed<NodeRow[]> {
    return this.cat.catalogNodes(m);
  }
  catalogNode(n: string): Indexed<{ node: NodeRow; services: ServiceRow[] } | undefined> {
    return this.cat.catalogNode(n);
  }
  catalogNodeByNameOrId(n: string): Indexed<{ node: NodeRow; services: ServiceRow[] } | undefined> {
    return this.cat.catalogNodeByNameOrId(n);
  }
  catalogServices(m?: Record<string, string>): Indexed<Map<string, string[]>> {
    return this.cat.catalogServices(m);
  }
  catalogService(n: string, tags?: readonly string[]): Indexed<Array<{ node: NodeRow; service: ServiceRow }>> {
    return this.cat.catalogService(n, tags);
  }
  healthService(n: string, tags?: readonly string[]): Indexed<ServiceHealth[]> {
    return this.cat.healthService(n, tags);
  }
  healthNode(n: string): Indexed<CheckRow[]> {
    return this.cat.healthNode(n);
  }
  healthChecks(n: string, m?: Record<string, string>): Indexed<CheckRow[]> {
    return this.cat.healthChecks(n, m);
  }
  healthState(st: HealthStatus | "any", m?: Record<string, string>): Indexed<CheckRow[]> {
    return this.cat.healthState(st, m);
  }
  watchService(n: string, cb: WatchCallback): CancelWatch {
    return this.cat.watchService(n, cb);
  }
  watchTable(t: "nodes" | "services" | "checks", cb: WatchCallback): CancelWatch {
    return this.cat.watchTable(t, cb);
  }
  watchNode(n: string, cb: WatchCallback): CancelWatch {
    return this.cat.watchNode(n, cb);
  }

  lastIndex(): number {
    return this.index;
  }

  kvGet(key: string): Indexed<KVEntry | undefined> {
    const e = this.kv.get(key);
    return { index: e ? e.modifyIndex : this.kvIndex, value: e };
  }

  private under(prefix: string): KVEntry[] {
    return [...this.kv.values()].filter((e) => e.key.startsWith(prefix)).sort((a, b) => (a.key < b.key ? -1 : 1));
  }

  kvList(prefix: string): Indexed<KVEntry[]> {
    const es = this.under(prefix);
    let idx = 0;
    for (const e of es) idx = Math.max(idx, e.modifyIndex);
    return { index: idx || this.kvIndex, value: es };
  }

  kvKeys(prefix: string, separator: string): Indexed<string[]> {
    const es = this.under(prefix);
    const out: string[] = [];
    let idx = 0;
    for (const e of es) {
      idx = Math.max(idx, e.modifyIndex);
      let k = e.key;
      if (separator !== "") {
        const at = k.indexOf(separator, prefix.length);
        if (at >= 0) k = k.slice(0, at + separator.length);
      }
      if (out[out.length - 1] !== k) out.push(k);
    }
    return { index: idx || this.kvIndex, value: out };
  }

  txnRead(ops: readonly TxnOp[]): Indexed<{ results: TxnResult[]; errors: TxnError[] }> {
    const r = runTxn(new Map(this.kv), ops, this.index);
    return { index: this.index, value: { results: r.results, errors: r.errors } };
  }

  watchKey(key: string, cb: WatchCallback): CancelWatch {
    const w: Watch = { kind: "key", k: key, cb };
    this.watches.add(w);
    return () => void this.watches.delete(w);
  }

  watchPrefix(prefix: string, cb: WatchCallback): CancelWatch {
    const w: Watch = { kind: "prefix", k: prefix, cb };
    this.watches.add(w);
    return () => void this.watches.delete(w);
  }

  watchCount(): number {
    return this.watches.size;
  }

  /** Fire (once) every watch touched by a change of `key`, or of everything under `tree`. */
  fire(changed: { key?: string; tree?: string }): void {
    const hit: Watch[] = [];
    for (const w of this.watches) {
      let t = false;
      if (changed.key !== undefined) t = w.kind === "key" ? w.k === changed.key : changed.key.startsWith(w.k);
      if (changed.tree !== undefined) {
        t = w.kind === "key" ? w.k.startsWith(changed.tree) : w.k.startsWith(changed.tree) || changed.tree.startsWith(w.k);
      }
      if (t) hit.push(w);
    }
    for (const w of hit) {
      this.watches.delete(w);
      w.cb();
    }
  }
}

function put(kv: Map<string, KVEntry>, key: string, value: Uint8Array, flags: bigint, index: number): KVEntry {
  const old = kv.get(key);
  const e: KVEntry = {
    key,
    value,
    flags,
    lockIndex: old?.lockIndex ?? 0,
    session: old?.session ?? "",
    createIndex: old?.createIndex ?? index,
    modifyIndex: index,
  };
  kv.set(key, e);
  return e;
}

/** Apply txn ops to `kv` (mutating it); the caller discards `kv` when there are errors. */
function runTxn(
  kv: Map<string, KVEntry>,
  ops: readonly TxnOp[],
  index: number,
): { results: TxnResult[]; errors: TxnError[]; touched: string[]; trees: string[] } {
  const results: TxnResult[] = [];
  const errors: TxnError[] = [];
  const touched: string[] = [];
  const trees: string[] = [];
  ops.forEach((o, i) => {
    if (o.kind !== "kv") {
      errors.push({ opIndex: i, what: `${o.kind} ops are not supported by the fake` });
      return;
    }
    const op = o.op;
    const cur = kv.get(op.key);
    switch (op.verb) {
      case "set":
        results.push({ kind: "kv", entry: put(kv, op.key, op.value, op.flags, index), withValue: false });
        touched.push(op.key);
        break;
      case "cas":
        if ((op.index === 0 && cur) || (op.index !== 0 && cur?.modifyIndex !== op.index)) {
          errors.push({ opIndex: i, what: `failed to set key "${op.key}", index is stale` });
        } else {
          results.push({ kind: "kv", entry: put(kv, op.key, op.value, op.flags, index), withValue: false });
          touched.push(op.key);
        }
        break;
      case "get":
        if (!cur) errors.push({ opIndex: i, what: `key "${op.key}" doesn't exist` });
        else results.push({ kind: "kv", entry: cur, withValue: true });
        break;
      case "get-tree":
        for (const e of [...kv.values()].filter((x) => x.key.startsWith(op.key))) {
          results.push({ kind: "kv", entry: e, withValue: true });
        }
        break;
      case "check-index":
        if (!cur || cur.modifyIndex !== op.index) errors.push({ opIndex: i, what: `current modify index ${cur?.modifyIndex ?? 0} != ${op.index}` });
        else results.push({ kind: "kv", entry: cur, withValue: false });
        break;
      case "check-not-exists":
        if (cur) errors.push({ opIndex: i, what: `key "${op.key}" exists` });
        break;
      case "delete":
        kv.delete(op.key);
        touched.push(op.key);
        break;
      case "delete-tree":
        for (const k of [...kv.keys()]) if (k.startsWith(op.key)) kv.delete(k);
        trees.push(op.key);
        break;
      case "delete-cas":
        if (!cur || cur.modifyIndex !== op.index) errors.push({ opIndex: i, what: "failed to delete key, index is stale" });
        else {
          kv.delete(op.key);
          touched.push(op.key);
        }
        break;
      default:
        errors.push({ opIndex: i, what: `verb ${op.verb} not supported by the fake` });
    }
  });
  return { results, errors, touched, trees };
}

export class FakeBackend implements Backend {
  readonly store = new FakeStore();
  hasLeader = true;
  lastContactMs = 0;
  leaderAddr = "127.0.0.1:8300";
  /** Commands applied, in order. */
  readonly applied: Command[] = [];
  barriers: Consistency[] = [];
  /** Session ids the fake treats as existing. */
  readonly sessions = new Set<string>();

  async apply(cmd: Command): Promise<ApplyResult> {
    if (!this.hasLeader) throw new CairnError("no-leader", "No cluster leader");
    this.applied.push(cmd);
    const s = this.store;
    const idx = ++s.index;
    switch (cmd.type) {
      case "noop":
      case "tombstone-reap":
        return { type: "none" };
      case "kv-set":
        put(s.kv, cmd.key, cmd.value, cmd.flags, idx);
        s.kvIndex = idx;
        s.fire({ key: cmd.key });
        return { type: "bool", ok: true };
      case "kv-cas": {
        const cur = s.kv.get(cmd.key);
        const ok = cmd.index === 0 ? cur === undefined : cur?.modifyIndex === cmd.index;
        if (ok) {
          put(s.kv, cmd.key, cmd.value, cmd.flags, idx);
          s.kvIndex = idx;
          s.fire({ key: cmd.key });
        }
        return { type: "bool", ok };
      }
      case "kv-delete":
        s.kv.delete(cmd.key);
        s.kvIndex = idx;
        s.fire({ key: cmd.key });
        return { type: "bool", ok: true };
      case "kv-delete-cas": {
        const cur = s.kv.get(cmd.key);
        const ok = cur !== undefined && cur.modifyIndex === cmd.index;
        if (ok) {
          s.kv.delete(cmd.key);
          s.kvIndex = idx;
          s.fire({ key: cmd.key });
        }
        return { type: "bool", ok };
      }
      case "kv-delete-tree":
        for (const k of [...s.kv.keys()]) if (k.startsWith(cmd.prefix)) s.kv.delete(k);
        s.kvIndex = idx;
        s.fire({ tree: cmd.prefix });
        return { type: "bool", ok: true };
      case "txn": {
        const copy = new Map(s.kv);
        const r = runTxn(copy, cmd.ops, idx);
        if (r.errors.length > 0) return { type: "txn", results: [], errors: r.errors };
        s.kv = copy;
        if (r.touched.length + r.trees.length > 0) s.kvIndex = idx;
        for (const k of r.touched) s.fire({ key: k });
        for (const t of r.trees) s.fire({ tree: t });
        return { type: "txn", results: r.results, errors: [] };
      }
      case "kv-lock":
      case "kv-unlock": {
        if (cmd.session === "") return { type: "error", message: "missing session" };
        if (!this.sessions.has(cmd.session)) return { type: "error", message: `invalid session "${cmd.session}"` };
        const cur = s.kv.get(cmd.key);
        const lock = cmd.type === "kv-lock";
        if (lock ? cur !== undefined && cur.session !== "" && cur.session !== cmd.session : cur?.session !== cmd.session) {
          return { type: "bool", ok: false };
        }
        const e = put(s.kv, cmd.key, cmd.value, cmd.flags, idx);
        const fresh = lock && cur?.session !== cmd.session;
        s.kv.set(cmd.key, { ...e, session: lock ? cmd.session : "", lockIndex: e.lockIndex + (fresh ? 1 : 0) });
        s.kvIndex = idx;
        s.fire({ key: cmd.key });
        return { type: "bool", ok: true };
      }
      case "catalog-register":
      case "catalog-deregister":
        return s.cat.apply(idx, cmd);
      case "ca-set":
        throw new Error("fake backend: connect CA commands are not modelled (use a real Store)");
      case "restore":
      case "restore-chunk":
      case "restore-abort":
        throw new Error("fake backend: snapshot restore is not modelled (use a real Store)");
      case "session-create":
      case "session-destroy":
      case "lock-delay-stamp":
      case "coordinate-batch-update":
        throw new Error("fake backend: session commands are not modelled (use a real Store)");
      case "autopilot-set":
        throw new Error("fake backend: autopilot commands are not modelled (use a real Store)");
      default:
        return unreachable(cmd);
    }
  }

  async readBarrier(mode: Consistency): Promise<LeaderView> {
    this.barriers.push(mode);
    if (!this.hasLeader && mode !== "stale") throw new CairnError("no-leader", "No cluster leader");
    return this.leader();
  }

  leader(): LeaderView {
    return {
      knownLeader: this.hasLeader,
      lastContactMs: this.lastContactMs,
      leaderAddr: this.hasLeader ? this.leaderAddr : "",
    };
  }

  peers(): string[] {
    return [this.leaderAddr];
  }
}
