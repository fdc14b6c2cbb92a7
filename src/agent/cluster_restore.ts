/**
 * agent/cluster_restore: a cluster leader's care of chunked snapshot restores
 * (state/restore.ts). A pending restore blocks every server's snapshots, so the leader
 * drops one (restore-abort through the log) that an earlier leader left unfinished — after
 * a read barrier, so it sees every committed chunk — and one that has received no chunk for
 * SNAPSHOT_RESTORE_STALL_MS (the server serving its HTTP request died); the second check
 * runs on every autopilot tick.
 *
 * Must never: drop a restore on a server that is not the leader, or write anything but
 * restore-abort.
 */

import type { RaftServer } from "../raft/index.ts";
import { SNAPSHOT_RESTORE_STALL_MS } from "../shared/limits.ts";
import type { Store } from "../state/index.ts";
import type { ClusterLog } from "./cluster_members.ts";

export interface RestoreJanitorDeps {
  readonly store: Store;
  readonly log: ClusterLog;
  /** The running Raft server (undefined before it starts). */
  raft(): RaftServer | undefined;
  /** The cluster server is closing or closed. */
  closed(): boolean;
}

export class RestoreJanitor {
  private readonly deps: RestoreJanitorDeps;
  /** The pending chunked restore as the last tick saw it (stall detection). */
  private seen: { id: string; chunks: number; since: number } | undefined;

  constructor(deps: RestoreJanitorDeps) {
    this.deps = deps;
  }

  /** Leadership (re)gained: forget what an earlier term saw. */
  reset(): void {
    this.seen = undefined;
  }

  /**
   * A new leader drops a chunked snapshot restore left pending by an earlier leader (its
   * HTTP request died with it), after a read barrier so it sees every committed chunk. A
   * restore this leader's own HTTP handler starts in that short window is aborted too, and
   * that request fails.
   */
  async abortAbandoned(): Promise<void> {
    const raft = this.deps.raft();
    if (raft === undefined || !raft.isLeader() || this.deps.closed()) return;
    try {
      await raft.readBarrier("consistent");
      const id = this.deps.store.pendingRestoreId();
      if (id === undefined || !raft.isLeader() || this.deps.closed()) return;
      this.deps.log("warn", `raft: dropping snapshot restore ${id} left unfinished by an earlier leader`);
      await raft.apply({ type: "restore-abort", id });
    } catch (e) {
      this.deps.log("warn", `raft: could not drop an unfinished snapshot restore: ${String(e)}`);
    }
  }

  /** On the leader (every autopilot tick): drop a restore that has received no chunk for SNAPSHOT_RESTORE_STALL_MS. */
  checkStalled(): void {
    const store = this.deps.store;
    const id = store.pendingRestoreId();
    if (id === undefined) {
      this.seen = undefined;
      return;
    }
    const chunks = store.pendingRestoreChunks();
    const now = performance.now();
    const seen = this.seen;
    if (seen === undefined || seen.id !== id || seen.chunks !== chunks) {
      this.seen = { id, chunks, since: now };
      return;
    }
    const raft = this.deps.raft();
    if (now - seen.since < SNAPSHOT_RESTORE_STALL_MS || raft === undefined) return;
    this.seen = undefined;
    this.deps.log("warn", `raft: dropping snapshot restore ${id}: no chunk for ${SNAPSHOT_RESTORE_STALL_MS} ms`);
    raft.apply({ type: "restore-abort", id }).catch((e: unknown) => {
      this.deps.log("warn", `raft: could not drop a stalled snapshot restore: ${String(e)}`);
    });
  }
}
