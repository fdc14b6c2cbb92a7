/**
 * snapshot/restore: checks an archive read for a restore before anything reaches the
 * log: meta.Size matches state.bin (raft's "size didn't match"), state.bin is a cairn
 * store snapshot ("CRSN"; Consul's msgpack FSM stream is not readable by cairn) and
 * decodes completely, and it is at most SNAPSHOT_MAX_STATE_BYTES (sent through the log
 * in chunks when it does not fit one entry: http/snapshot).
 *
 * Must never: let bytes the store cannot decode become a log entry (every server
 * would have to refuse them), or do I/O.
 */

import { Store } from "../state/index.ts";
import { SNAPSHOT_MAX_STATE_BYTES } from "../shared/limits.ts";
import { ArchiveError, type Archive } from "./archive.ts";

const CAIRN_MAGIC = [0x43, 0x52, 0x53, 0x4e]; // "CRSN", state/snapshot.ts

/** Whether state.bin starts like a cairn store snapshot. */
export function isCairnState(state: Uint8Array): boolean {
  if (state.length < 4) return false;
  for (let i = 0; i < 4; i++) if (state[i] !== CAIRN_MAGIC[i]) return false;
  return true;
}

/**
 * Throws ArchiveError (Consul's texts where Consul has one) unless the archive can be
 * restored into cairn; returns the store's view of it (for the caller's logs).
 */
export function checkRestorable(a: Archive): { readonly kvs: number; readonly nodes: number; readonly sessions: number } {
  if (a.meta.size !== a.state.length) {
    throw new ArchiveError(`Raft error when restoring snapshot: failed to write snapshot, size didn't match (${a.state.length} != ${a.meta.size})`);
  }
  if (a.state.length > SNAPSHOT_MAX_STATE_BYTES) {
    throw new ArchiveError(`state.bin of ${a.state.length} bytes is too large to restore`, true);
  }
  if (!isCairnState(a.state)) {
    throw new ArchiveError("failed to restore snapshot: state.bin is not a cairn state snapshot (Consul's state.bin is not readable by cairn)");
  }
  let s: Store;
  try {
    s = Store.restore(a.state);
  } catch (e) {
    throw new ArchiveError(`failed to restore snapshot: ${e instanceof Error ? e.message : String(e)}`);
  }
  return { kvs: s.kvCount(), nodes: s.catalogNodes().value.length, sessions: s.sessionCount() };
}
