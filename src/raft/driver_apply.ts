/**
 * raft/driver_apply: the Raft driver's (RaftServer's) state-machine side:
 * applying committed entries to the store in order (settling this server's
 * proposals with their results, or rejecting those another leader's entries
 * replaced), installing received snapshots, and taking snapshots every
 * snapshotThreshold applied entries (not while a chunked restore is pending).
 *
 * Must never: apply out of order or twice, settle a proposal with another
 * entry's result, or snapshot while a chunked restore is pending.
 */

import type { FsmStore } from "../server/fsm_store.ts";
import type { ApplyResult } from "../state/types.ts";
import type { LogEntry } from "../wal/types.ts";
import { assert } from "../shared/errors.ts";
import type { RaftCore } from "./core.ts";
import type { RaftServerDeps } from "./driver_types.ts";
import { leadershipLost } from "./driver_types.ts";
import type { Waiters } from "./driver_waiters.ts";
import { encodeSnapshotEnvelope } from "./driver_wire.ts";
import type { NodeId, RaftSnapshot } from "./types.ts";

export class Applier {
  private readonly id: NodeId;
  private readonly deps: RaftServerDeps;
  private readonly store: FsmStore;
  private readonly waiters: Waiters;
  private readonly core: () => RaftCore;
  /** The last index applied to the store, and that of the last snapshot taken or installed. */
  applied = 0;
  snapshotIndex = 0;
  /** A snapshot being taken (awaited by close()). */
  snapshotting: Promise<void> | undefined;

  constructor(deps: RaftServerDeps, waiters: Waiters, core: () => RaftCore) {
    this.id = deps.id;
    this.deps = deps;
    this.store = deps.store;
    this.waiters = waiters;
    this.core = core;
  }

  /** Take a snapshot when snapshotThreshold entries were applied since the last one (the server is running). */
  afterReady(): void {
    const t = this.deps.snapshotThreshold;
    // No snapshot while a chunked restore is pending (its chunks are not in snapshots): the
    // next ready after its final restore or restore-abort takes it.
    if (t > 0 && this.snapshotting === undefined && this.applied - this.snapshotIndex >= t && !this.store.restorePending()) {
      this.snapshotting = this.takeSnapshot()
        .catch((e: unknown) => this.deps.logger("error", `raft ${this.id}: snapshot failed: ${String(e)}`))
        .finally(() => {
          this.snapshotting = undefined;
        });
    }
  }

  async takeSnapshot(): Promise<void> {
    const data = this.store.snapshot();
    const snap = this.core().compact(this.applied, data, this.deps.trailingLogs);
    this.snapshotIndex = snap.index;
    const env = encodeSnapshotEnvelope(snap.config, data);
    await this.deps.log.saveSnapshot({ index: snap.index, term: snap.term, data: env }, this.deps.trailingLogs, { owned: true });
    this.deps.logger("info", `raft ${this.id}: snapshot at index ${snap.index} (${data.byteLength} bytes)`);
  }

  installSnapshot(s: RaftSnapshot): void {
    this.store.restore(s.data);
    this.applied = s.index;
    this.snapshotIndex = s.index;
    this.waiters.snapshotInstalled(s.index);
  }

  applyEntry(e: LogEntry): void {
    assert(e.index === this.applied + 1, `raft ${this.id}: applying ${e.index} after ${this.applied}`);
    const p = this.waiters.pendingApplies.get(e.index);
    const mine = p !== undefined && p.term === e.term;
    let result: ApplyResult = { type: "none" };
    if (e.type === "command") {
      // The leader applies what the log holds, decoded, as followers and replay do: the same
      // state on every server, and no store string is a slice of a request's JSON text (V8
      // keeps the whole text alive behind such a slice: ~240 B per registered instance).
      result = this.store.apply(e.index, this.deps.decode(e.data));
    }
    this.applied = e.index;
    if (p !== undefined) {
      this.waiters.pendingApplies.delete(e.index);
      if (mine) p.resolve(result);
      else p.reject(leadershipLost());
    }
  }
}
