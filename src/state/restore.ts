/**
 * state/restore: the FSM side of a snapshot restore that arrives through the log
 * (PUT /v1/snapshot -> Command "restore"): the decoded tables of a cairn store
 * snapshot, re-stamped at the restore entry's index.
 *
 * Consul's FSM restore installs the snapshot's rows with their old indexes, so
 * X-Consul-Index can move backwards and blocking queries are kicked through the
 * abandon channel. cairn instead stamps every table index, every named catalog
 * index, every KV ModifyIndex, every tombstone and the CA and coordinate indexes
 * with the restore entry's index (CreateIndex kept, never above ModifyIndex), so
 * no read index ever goes below what a client has seen and a blocking query on
 * anything the restore may have changed wakes with a higher index.
 *
 * A state.bin larger than one log entry arrives as restore-chunk entries collected
 * here (RestoreBuffer, the store's pending restore) and a final "restore" naming them.
 * The pending buffer is not part of store snapshots, so no snapshot may be taken while
 * a restore is pending (Store.restorePending; raft/driver and server/single skip and
 * retry). The log entries since the last snapshot are kept, so a restart replays the
 * chunks. An abandoned restore is dropped by a "restore-abort": the HTTP handler sends
 * one when it fails after sending chunks, a new Raft leader sends one after its read
 * barrier (and the leader, when one receives no chunk for SNAPSHOT_RESTORE_STALL_MS: its
 * HTTP request died on a follower), a single server after its recovery at start-up.
 *
 * Must never: do I/O, read clocks, or leave a row with ModifyIndex above the
 * entry's index; it is deterministic so every server computes the same state.
 */

import { createHash } from "node:crypto";
import { SNAPSHOT_MAX_STATE_BYTES, SNAPSHOT_RESTORE_CHUNK_BYTES } from "../shared/limits.ts";
import type { RestoreFinal } from "./types.ts";

import type { KVEntry } from "./types.ts";
import type { DecodedSnapshot } from "./snapshot.ts";
import { BTree } from "./btree.ts";
import { TABLE_NAMES } from "./tables.ts";
import { NODE_EXTINCTION, SERVICE_EXTINCTION, nodeIndexName, serviceIndexName } from "./catalog_tables.ts";

/** Re-stamps decoded snapshot tables at `index` (the restore entry's index), in place. */
export function stampRestored(d: DecodedSnapshot, index: number): void {
  d.lastIndex = index;
  for (const n of TABLE_NAMES) d.indexes.set(n, index);

  // KV rows: ModifyIndex = index (the value may differ from what a client last saw).
  const keys: string[] = [];
  const rows: KVEntry[] = [];
  d.kvs.forEach((k, row) => {
    keys.push(k);
    rows.push(row.modifyIndex === index ? row : { ...row, modifyIndex: index, createIndex: Math.min(row.createIndex, index) });
  });
  d.kvs = BTree.fromSorted(keys, rows);

  // Tombstones: a prefix listing over deleted keys reports the restore index too.
  const tkeys: string[] = [];
  d.tombstones.forEach((k) => void tkeys.push(k));
  d.tombstones = BTree.fromSorted(tkeys, tkeys.map(() => index));

  // Catalog: every named index (node.<n>, service.<s>, extinctions) at index.
  const named = d.catalog.named;
  for (const k of [...named.keys()]) named.set(k, index);
  named.set(NODE_EXTINCTION, index);
  named.set(SERVICE_EXTINCTION, index);
  d.catalog.nodes.forEach((_k, n) => void named.set(nodeIndexName(n.node), index));
  d.catalog.services.forEach((_k, s) => void named.set(serviceIndexName(s.service), index));

  d.ca.rootsIndex = index;
  d.ca.configIndex = index;
  d.coordinates.index = index;
}

/** The pending restore: chunks of one state.bin in order (restore-chunk entries). */
export class RestoreBuffer {
  private id: string | undefined;
  private chunks: Uint8Array[] = [];
  private size = 0;

  /** Whether chunks are waiting for their final restore entry. */
  pending(): boolean {
    return this.id !== undefined;
  }

  /** The pending restore's id, if any. */
  pendingId(): string | undefined {
    return this.id;
  }

  /** Chunks received by the pending restore (its progress). */
  pendingChunks(): number {
    return this.chunks.length;
  }

  /** Adds a chunk; returns an error text (and changes nothing) when it does not fit. */
  chunk(id: string, seq: number, data: Uint8Array): string | undefined {
    if (data.length > SNAPSHOT_RESTORE_CHUNK_BYTES) {
      return `restore chunk of ${data.length} bytes is larger than ${SNAPSHOT_RESTORE_CHUNK_BYTES}`;
    }
    if (seq === 0) {
      this.id = id;
      this.chunks = [data];
      this.size = data.length;
      return undefined;
    }
    if (this.id !== id) return `restore chunk ${seq} of ${id}: no such pending restore`;
    if (seq !== this.chunks.length) return `restore chunk ${seq} of ${id}: expected chunk ${this.chunks.length}`;
    if (this.size + data.length > SNAPSHOT_MAX_STATE_BYTES) {
      return `restore ${id} is larger than ${SNAPSHOT_MAX_STATE_BYTES} bytes`;
    }
    this.chunks.push(data);
    this.size += data.length;
    return undefined;
  }

  /** Drops the pending restore (only `id`'s, when given). */
  abort(id: string | undefined): void {
    if (id !== undefined && id !== this.id) return;
    this.clear();
  }

  /**
   * The final entry: the pending state.bin when `f` names the pending restore and its
   * length and sha256 match (the buffer is cleared either way), else an error text
   * (a final naming another id changes nothing).
   */
  take(f: RestoreFinal): { ok: true; data: Uint8Array } | { ok: false; error: string } {
    if (this.id !== f.id) return { ok: false, error: `failed to restore snapshot: no pending restore ${f.id}` };
    const chunks = this.chunks;
    const size = this.size;
    this.clear();
    if (size !== f.total) return { ok: false, error: `failed to restore snapshot: received ${size} bytes, expected ${f.total}` };
    const data = new Uint8Array(size);
    let at = 0;
    for (const c of chunks) {
      data.set(c, at);
      at += c.length;
    }
    const sum = createHash("sha256").update(data).digest("hex");
    if (sum !== f.sha256.toLowerCase()) return { ok: false, error: "failed to restore snapshot: sha256 of the received chunks does not match" };
    return { ok: true, data };
  }

  clear(): void {
    this.id = undefined;
    this.chunks = [];
    this.size = 0;
  }
}
