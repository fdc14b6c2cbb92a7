/**
 * kvops: Consul's KV state operations (agent/consul/state/kvs.go) over a WriteTx.
 *
 * Each function mirrors one Consul routine: kvsSetTxn (keeps CreateIndex and
 * Session, skips the write when nothing changed), kvsSetCASTxn, kvsLockTxn,
 * kvsUnlockTxn, kvsDeleteTxn (tombstone + delete, no-op when missing),
 * kvsDeleteCASTxn (missing key counts as success), kvsDeleteTreeTxn (one
 * tombstone for the prefix, none for ""), and the txn checks. Failures that
 * Consul reports as Go errors are returned as `{ err }` with Consul's text.
 *
 * Must never: read a clock or randomness, or touch watchers.
 */

import { Buffer } from "node:buffer";
import type { KVEntry } from "./types.ts";
import type { KVFields, Tables, WriteTx } from "./tables.ts";
import { goQuote } from "./gofmt.ts";

export type OpErr = { readonly err: string };

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.byteLength !== b.byteLength) return false;
  if (a.byteLength > 32) {
    // memcmp through Buffer.equals; views share the bytes, nothing is copied.
    return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
  }
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** DirEntry.Equal: LockIndex, Key, Flags, Value, Session. */
function sameContent(e: KVEntry, f: KVFields): boolean {
  return (
    e.lockIndex === f.lockIndex &&
    e.key === f.key &&
    e.flags === f.flags &&
    e.session === f.session &&
    bytesEqual(e.value, f.value)
  );
}

/**
 * kvsSetTxn. `session` undefined keeps the existing session ("" for a new key).
 * Returns the entry as Consul's txn would report it (the stored row, or the
 * unchanged existing row when the content is equal).
 */
/**
 * A copy of `s` that does not share storage with any larger string (V8 keeps a
 * sliced string's parent alive). Concatenating then slicing forces a flat copy.
 */
export function ownString(s: string): string {
  return s.length < 13 ? s : (s + " ").slice(0, -1);
}

export function kvSet(
  tx: WriteTx,
  key: string,
  value: Uint8Array,
  flags: bigint,
  lockIndex: number,
  session: string | undefined,
): KVEntry {
  const existing = tx.tables.kvs.get(key);
  const f: KVFields = {
    // Reuse the stored key string; a new key is copied so the row never pins the
    // (possibly much larger) string the caller sliced it from, e.g. a txn body.
    key: existing !== undefined ? existing.key : ownString(key),
    value,
    flags,
    lockIndex,
    session: session ?? existing?.session ?? "",
  };
  if (existing !== undefined && sameContent(existing, f)) return existing;
  return tx.putKV(f, existing !== undefined ? existing.createIndex : tx.index);
}

/** kvsSetCASTxn: index 0 = only if absent; else only if ModifyIndex matches. */
export function kvCas(tx: WriteTx, key: string, value: Uint8Array, flags: bigint, index: number): KVEntry | undefined {
  const existing = tx.tables.kvs.get(key);
  if (index === 0 && existing !== undefined) return undefined;
  if (index !== 0 && existing === undefined) return undefined;
  if (existing !== undefined && index !== 0 && existing.modifyIndex !== index) return undefined;
  return kvSet(tx, key, value, flags, 0, undefined);
}

/** kvsLockTxn: undefined = held by another session. */
export function kvLock(
  tx: WriteTx,
  key: string,
  value: Uint8Array,
  flags: bigint,
  session: string,
): KVEntry | undefined | OpErr {
  if (session === "") return { err: "missing session" };
  if (!tx.tables.sessions.exists(session)) return { err: `invalid session ${goQuote(session)}` };
  const existing = tx.tables.kvs.get(key);
  let lockIndex = 1;
  if (existing !== undefined) {
    if (existing.session === session) lockIndex = existing.lockIndex;
    else if (existing.session !== "") return undefined;
    else lockIndex = existing.lockIndex + 1;
  }
  return kvSet(tx, key, value, flags, lockIndex, session);
}

/** kvsUnlockTxn: undefined = missing key or not held by this session. */
export function kvUnlock(
  tx: WriteTx,
  key: string,
  value: Uint8Array,
  flags: bigint,
  session: string,
): KVEntry | undefined | OpErr {
  if (session === "") return { err: "missing session" };
  const existing = tx.tables.kvs.get(key);
  if (existing === undefined || existing.session !== session) return undefined;
  return kvSet(tx, key, value, flags, existing.lockIndex, "");
}

/** kvsDeleteTxn: tombstone + delete; a missing key changes nothing. */
export function kvDelete(tx: WriteTx, key: string): void {
  const existing = tx.tables.kvs.get(key);
  if (existing === undefined) return;
  tx.putTombstone(existing.key);
  tx.deleteKV(key);
}

/** kvsDeleteCASTxn: true when deleted, or when the key does not exist. */
export function kvDeleteCas(tx: WriteTx, key: string, index: number): boolean {
  const existing = tx.tables.kvs.get(key);
  if (existing === undefined) return true;
  if (existing.modifyIndex !== index) return false;
  kvDelete(tx, key);
  return true;
}

/** kvsDeleteTreeTxn: one tombstone for the prefix (none for ""), kvs index bumped if anything went. */
export function kvDeleteTree(tx: WriteTx, prefix: string): void {
  if (tx.deleteTree(prefix) === 0) return;
  if (prefix !== "") tx.putTombstone(ownString(prefix));
  tx.setIndex("kvs");
}

/** kvsCheckSessionTxn. */
export function kvCheckSession(t: Tables, key: string, session: string): KVEntry | OpErr {
  const e = t.kvs.get(key);
  if (e === undefined) return { err: `failed to check session, key ${goQuote(key)} doesn't exist` };
  if (e.session !== session) {
    return { err: `failed session check for key ${goQuote(key)}, current session ${goQuote(e.session)} != ${goQuote(session)}` };
  }
  return e;
}

/** kvsCheckIndexTxn. */
export function kvCheckIndex(t: Tables, key: string, index: number): KVEntry | OpErr {
  const e = t.kvs.get(key);
  if (e === undefined) return { err: `failed to check index, key ${goQuote(key)} doesn't exist` };
  if (e.modifyIndex !== index) {
    return { err: `failed index check for key ${goQuote(key)}, current modify index ${e.modifyIndex} != ${index}` };
  }
  return e;
}

/** Entries under prefix in key order (kvsListEntriesTxn) with their max ModifyIndex. */
export function kvListEntries(t: Tables, prefix: string): { entries: KVEntry[]; maxIndex: number } {
  const entries: KVEntry[] = [];
  let maxIndex = 0;
  t.kvs.forEachPrefix(prefix, (_k, e) => {
    entries.push(e);
    if (e.modifyIndex > maxIndex) maxIndex = e.modifyIndex;
  });
  return { entries, maxIndex };
}

/** kvsListTxn's index: entries and tombstones under prefix, else the table index; never 0. */
export function kvListIndex(t: Tables, prefix: string, entriesMax: number): number {
  let lindex = entriesMax;
  if (prefix !== "") {
    const g = t.tombstoneMaxUnder(prefix);
    if (g > lindex) lindex = g;
  } else {
    lindex = t.kvsMaxIndex();
  }
  const idx = lindex !== 0 ? lindex : t.kvsMaxIndex();
  return idx === 0 ? 1 : idx;
}

export function isOpErr(x: unknown): x is OpErr {
  return typeof x === "object" && x !== null && "err" in x;
}
