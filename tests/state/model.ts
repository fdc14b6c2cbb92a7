// A naive model of Consul's KV state (Map + sort, clone-on-txn) for property tests (not a test file).
import type { ApplyResult, Command, KVEntry, KVTxnOp, TxnError, TxnOp, TxnResult } from "../../src/state/index.ts";
import { compareKeys, goQuote } from "../../src/state/index.ts";

type Row = KVEntry;
const EMPTY = new Uint8Array(0);

function eqBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export class Model {
  kv = new Map<string, Row>();
  tombs = new Map<string, number>();
  kvsIdx = 0;
  tombIdx = 0;
  last = 0;
  readonly sessions: ReadonlySet<string>;
  constructor(sessions: ReadonlySet<string>) {
    this.sessions = sessions;
  }

  private sorted(prefix: string): Row[] {
    return [...this.kv.values()].filter((r) => r.key.startsWith(prefix)).sort((a, b) => compareKeys(a.key, b.key));
  }
  private tableIdx(): number {
    return Math.max(this.kvsIdx, this.tombIdx);
  }
  get(key: string): { index: number; value: Row | undefined } {
    const r = this.kv.get(key);
    return { index: r ? r.modifyIndex : Math.max(1, this.tableIdx()), value: r };
  }
  listIndex(prefix: string, rows: Row[]): number {
    let l = 0;
    if (prefix === "") l = this.tableIdx();
    else {
      for (const r of rows) l = Math.max(l, r.modifyIndex);
      for (const [k, i] of this.tombs) if (k.startsWith(prefix)) l = Math.max(l, i);
    }
    return Math.max(1, l || this.tableIdx());
  }
  list(prefix: string): { index: number; value: Row[] } {
    const rows = this.sorted(prefix);
    return { index: this.listIndex(prefix, rows), value: rows };
  }
  keys(prefix: string, sep: string): { index: number; value: string[] } {
    const rows = this.sorted(prefix);
    const out: string[] = [];
    for (const r of rows) {
      const rest = r.key.slice(prefix.length);
      const at = sep === "" ? -1 : rest.indexOf(sep);
      const k = at === -1 ? r.key : r.key.slice(0, prefix.length + at + sep.length);
      if (!out.includes(k)) out.push(k);
    }
    return { index: this.listIndex(prefix, rows), value: out };
  }

  // ---- writes
  private put(idx: number, key: string, value: Uint8Array, flags: bigint, lockIndex: number, session: string | undefined): Row {
    const ex = this.kv.get(key);
    const s = session ?? ex?.session ?? "";
    if (ex && ex.lockIndex === lockIndex && ex.flags === flags && ex.session === s && eqBytes(ex.value, value)) return ex;
    const row: Row = {
      key,
      value: value.slice(),
      flags,
      lockIndex,
      session: s,
      createIndex: ex ? ex.createIndex : idx,
      modifyIndex: idx,
    };
    this.kv.set(key, row);
    this.kvsIdx = idx;
    return row;
  }
  private del(idx: number, key: string): void {
    if (!this.kv.has(key)) return;
    this.tombs.set(key, idx);
    this.tombIdx = idx;
    this.kv.delete(key);
    this.kvsIdx = idx;
  }
  private delTree(idx: number, prefix: string): void {
    const ks = [...this.kv.keys()].filter((k) => k.startsWith(prefix));
    if (ks.length === 0) return;
    for (const k of ks) this.kv.delete(k);
    if (prefix !== "") {
      this.tombs.set(prefix, idx);
      this.tombIdx = idx;
    }
    this.kvsIdx = idx;
  }
  private cas(idx: number, key: string, v: Uint8Array, f: bigint, ci: number): Row | undefined {
    const ex = this.kv.get(key);
    if (ci === 0 ? ex !== undefined : ex === undefined || ex.modifyIndex !== ci) return undefined;
    return this.put(idx, key, v, f, 0, undefined);
  }
  private lock(idx: number, key: string, v: Uint8Array, f: bigint, s: string): Row | undefined | string {
    if (s === "") return "missing session";
    if (!this.sessions.has(s)) return `invalid session ${goQuote(s)}`;
    const ex = this.kv.get(key);
    if (ex && ex.session !== "" && ex.session !== s) return undefined;
    const li = !ex ? 1 : ex.session === s ? ex.lockIndex : ex.lockIndex + 1;
    return this.put(idx, key, v, f, li, s);
  }
  private unlock(idx: number, key: string, v: Uint8Array, f: bigint, s: string): Row | undefined | string {
    if (s === "") return "missing session";
    const ex = this.kv.get(key);
    if (!ex || ex.session !== s) return undefined;
    return this.put(idx, key, v, f, ex.lockIndex, "");
  }

  private txnOp(idx: number, o: KVTxnOp, write: boolean): TxnResult[] | string {
    const q = goQuote(o.key);
    const noVal = (r: Row): TxnResult => ({ kind: "kv", entry: { ...r, value: EMPTY }, withValue: false });
    const ex = this.kv.get(o.key);
    switch (o.verb) {
      case "get":
        return ex ? [{ kind: "kv", entry: ex, withValue: true }] : `key ${q} doesn't exist`;
      case "get-or-empty":
        return [
          {
            kind: "kv",
            entry: ex ?? { key: o.key, value: EMPTY, flags: o.flags, lockIndex: 0, session: o.session, createIndex: 0, modifyIndex: o.index },
            withValue: true,
          },
        ];
      case "get-tree":
        return this.sorted(o.key).map((r) => ({ kind: "kv", entry: r, withValue: true }));
      case "check-index":
        if (!ex) return `failed to check index, key ${q} doesn't exist`;
        if (ex.modifyIndex !== o.index) return `failed index check for key ${q}, current modify index ${ex.modifyIndex} != ${o.index}`;
        return [noVal(ex)];
      case "check-session":
        if (!ex) return `failed to check session, key ${q} doesn't exist`;
        if (ex.session !== o.session) {
          return `failed session check for key ${q}, current session ${goQuote(ex.session)} != ${goQuote(o.session)}`;
        }
        return [noVal(ex)];
      case "check-not-exists":
        return ex ? `key ${q} exists` : [];
      default:
        break;
    }
    if (!write) return `cannot run verb ${goQuote(o.verb)} in a read-only transaction`;
    switch (o.verb) {
      case "set":
        return [noVal(this.put(idx, o.key, o.value, o.flags, 0, undefined))];
      case "cas": {
        const r = this.cas(idx, o.key, o.value, o.flags, o.index);
        return r ? [noVal(r)] : `failed to set key ${q}, index is stale`;
      }
      case "lock": {
        const r = this.lock(idx, o.key, o.value, o.flags, o.session);
        if (typeof r === "string") return r;
        return r ? [noVal(r)] : `failed to lock key ${q}, lock is already held`;
      }
      case "unlock": {
        const r = this.unlock(idx, o.key, o.value, o.flags, o.session);
        if (typeof r === "string") return r;
        return r ? [noVal(r)] : `failed to unlock key ${q}, lock isn't held, or is held by another session`;
      }
      case "delete":
        this.del(idx, o.key);
        return [];
      case "delete-cas":
        if (ex && ex.modifyIndex !== o.index) return `failed to delete key ${q}, index is stale`;
        this.del(idx, o.key);
        return [];
      case "delete-tree":
        this.delTree(idx, o.key);
        return [];
      default:
        throw new Error(`model: verb ${o.verb}`);
    }
  }

  /** KV ops only (the model does not know the catalog; arbitraries never generate catalog ops). */
  txn(idx: number, ops: readonly TxnOp[], write: boolean): { results: TxnResult[]; errors: TxnError[] } {
    const saved = { kv: new Map(this.kv), tombs: new Map(this.tombs), kvsIdx: this.kvsIdx, tombIdx: this.tombIdx };
    const results: TxnResult[] = [];
    const errors: TxnError[] = [];
    ops.forEach((o, i) => {
      if (o.kind !== "kv") throw new Error("model: catalog ops are not modelled");
      const r = this.txnOp(idx, o.op, write);
      if (typeof r === "string") errors.push({ opIndex: i, what: r });
      else results.push(...r);
    });
    if (errors.length === 0) return { results, errors };
    Object.assign(this, saved);
    return { results: [], errors };
  }

  apply(idx: number, c: Command): ApplyResult {
    this.last = idx;
    const b = (ok: boolean): ApplyResult => ({ type: "bool", ok });
    switch (c.type) {
      case "noop":
        return { type: "none" };
      case "kv-set":
        this.put(idx, c.key, c.value, c.flags, 0, undefined);
        return b(true);
      case "kv-cas":
        return b(this.cas(idx, c.key, c.value, c.flags, c.index) !== undefined);
      case "kv-delete":
        this.del(idx, c.key);
        return b(true);
      case "kv-delete-cas": {
        const ex = this.kv.get(c.key);
        if (ex && ex.modifyIndex !== c.index) return b(false);
        this.del(idx, c.key);
        return b(true);
      }
      case "kv-delete-tree":
        this.delTree(idx, c.prefix);
        return b(true);
      case "txn":
        return { type: "txn", ...this.txn(idx, c.ops, true) };
      case "tombstone-reap":
        for (const [k, i] of [...this.tombs]) if (i <= c.index) this.tombs.delete(k);
        return { type: "none" };
      case "kv-lock":
      case "kv-unlock": {
        const r = c.type === "kv-lock" ? this.lock(idx, c.key, c.value, c.flags, c.session) : this.unlock(idx, c.key, c.value, c.flags, c.session);
        if (typeof r === "string") return { type: "error", message: r };
        return b(r !== undefined);
      }
      case "catalog-register":
      case "catalog-deregister":
        throw new Error("model: catalog commands are not modelled");
      case "ca-set":
        throw new Error("model: connect CA commands are not modelled");
      case "restore":
      case "restore-chunk":
      case "restore-abort":
        throw new Error("model: snapshot restore is not modelled");
      case "session-create":
      case "session-destroy":
      case "lock-delay-stamp":
      case "coordinate-batch-update":
        throw new Error("model: session commands are not modelled");
      case "autopilot-set":
        throw new Error("model: autopilot commands are not modelled");
    }
  }
}
