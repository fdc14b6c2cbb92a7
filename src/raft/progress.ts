/**
 * raft/progress: what the leader knows about one follower, and flow control.
 *
 * A follower is in one of three states (as in etcd's tracker):
 *  - probe: one AppendEntries at a time until the leader finds where the logs match;
 *  - replicate: optimistic pipelining, at most `maxInflight` messages in flight;
 *  - snapshot: an InstallSnapshot transfer is running, appends are paused.
 *
 * Must never: move `match` backwards, or let `next` fall to or below `match`.
 */

import { assert } from "../shared/errors.ts";

export type ProgressState = "probe" | "replicate" | "snapshot";

/** A bounded ring of the last indices of in-flight AppendEntries messages. */
export class Inflights {
  private readonly buf: number[];
  private start = 0;
  count = 0;

  constructor(capacity: number) {
    assert(capacity > 0, "inflights: capacity must be positive");
    this.buf = new Array<number>(capacity).fill(0);
  }

  full(): boolean {
    return this.count === this.buf.length;
  }

  add(last: number): void {
    assert(!this.full(), "inflights: add to a full window");
    this.buf[(this.start + this.count) % this.buf.length] = last;
    this.count++;
  }

  /** Free every message whose last index is <= index (they are acknowledged). */
  freeLE(index: number): void {
    while (this.count > 0 && this.buf[this.start]! <= index) {
      this.start = (this.start + 1) % this.buf.length;
      this.count--;
    }
  }

  /** Free the oldest in-flight message (presumed lost). */
  freeFirst(): void {
    if (this.count === 0) return;
    this.start = (this.start + 1) % this.buf.length;
    this.count--;
  }

  reset(): void {
    this.start = 0;
    this.count = 0;
  }
}

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = "probe";
  /** probe: an append is outstanding, wait for its answer or a heartbeat response. */
  probeSent = false;
  /** snapshot: index of the snapshot being sent, next byte to send, ticks without an answer. */
  pendingSnapshot = 0;
  snapshotOffset = 0;
  snapshotIdleTicks = 0;
  /** Heard from since the last CheckQuorum round. */
  recentActive = false;
  /** Highest heartbeat sequence this follower acknowledged. */
  ackedSeq = 0;
  /** Highest commit index sent to this follower in an append (leader's view; a hint, not a promise). */
  sentCommit = 0;
  readonly inflights: Inflights;

  constructor(next: number, maxInflight: number) {
    this.next = next;
    this.inflights = new Inflights(maxInflight);
  }

  becomeProbe(): void {
    if (this.state === "snapshot") {
      this.next = Math.max(this.match + 1, this.pendingSnapshot + 1);
      this.pendingSnapshot = 0;
    } else {
      this.next = this.match + 1;
    }
    this.state = "probe";
    this.probeSent = false;
    this.inflights.reset();
  }

  becomeReplicate(): void {
    this.state = "replicate";
    this.next = this.match + 1;
    this.inflights.reset();
  }

  becomeSnapshot(index: number): void {
    this.state = "snapshot";
    this.pendingSnapshot = index;
    this.snapshotOffset = 0;
    this.snapshotIdleTicks = 0;
    this.inflights.reset();
  }

  /** A success answer up to n; true when match moved. */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      this.probeSent = false;
      updated = true;
    }
    if (this.next < n + 1) this.next = n + 1;
    return updated;
  }

  /**
   * A reject of `rejected` (the prevIndex we sent) with a hint of where the
   * logs may match. False when the reject is stale.
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === "replicate") {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case "probe":
        return this.probeSent;
      case "replicate":
        return this.inflights.full();
      case "snapshot":
        return true;
    }
  }

  /** An append carrying entries up to `last` (count of them) was sent. */
  sentEntries(last: number, count: number): void {
    if (this.state === "replicate") {
      if (count > 0) {
        this.next = last + 1;
        this.inflights.add(last);
      }
    } else if (this.state === "probe") {
      this.probeSent = true;
    }
    assert(this.next > this.match, "progress: next fell to match");
  }
}
