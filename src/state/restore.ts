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
 * Must never: do I/O, read clocks, or leave a row with ModifyIndex above the
 * entry's index; it is deterministic so every server computes the same state.
 */

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
