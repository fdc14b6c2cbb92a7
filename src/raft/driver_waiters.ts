/**
 * raft/driver_waiters: the callers the Raft driver (RaftServer) keeps
 * waiting, and when they are let go: proposals until their entry is applied
 * (pendingApplies), reads until the leader confirmed their read index
 * (pendingReads) and until it is applied (apply waiters), retries until the
 * leadership changes (change waiters), log writes until durable, and close()
 * until no Ready is in flight (idle waiters).
 *
 * Must never: let a waiter wait past its deadline (sweep), resolve a waiter
 * twice, or resolve a proposal other than with its own entry's result (the
 * driver does that; here they are only rejected).
 */

import type { CairnError } from "../shared/errors.ts";
import type { ApplyWaiter, PendingApply, RaftServerDeps, Waiter } from "./driver_types.ts";
import { leadershipLost, noLeader } from "./driver_types.ts";
import type { ReadState } from "./types.ts";

export class Waiters {
  private readonly deps: Pick<RaftServerDeps, "now" | "schedule" | "log">;
  readonly pendingApplies = new Map<number, PendingApply>();
  readonly pendingReads = new Map<string, Waiter>();
  private applyWaiters: ApplyWaiter[] = [];
  private changeWaiters: Array<{ readonly deadline: number; readonly wake: () => void }> = [];
  private durableWaiters: Array<{ readonly index: number; readonly resolve: () => void }> = [];
  private idleWaiters: Array<() => void> = [];

  constructor(deps: Pick<RaftServerDeps, "now" | "schedule" | "log">) {
    this.deps = deps;
  }

  waitApplied(index: number, deadline: number, applied: number): Promise<void> {
    if (applied >= index) return Promise.resolve();
    return new Promise<void>((resolve, reject) => this.applyWaiters.push({ index, deadline, resolve: () => resolve(), reject }));
  }

  /** Resolves on the next leadership change or after ms. */
  waitChange(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      let done = false;
      const wake = (): void => {
        if (done) return;
        done = true;
        cancel();
        resolve();
      };
      const cancel = this.deps.schedule(Math.max(0, ms), wake);
      this.changeWaiters.push({ deadline: this.deps.now() + ms, wake });
    });
  }

  /** The leader or role changed: wake everyone in waitChange(). */
  wakeChange(): void {
    const ws = this.changeWaiters;
    this.changeWaiters = [];
    for (const w of ws) w.wake();
  }

  /** This server stopped leading: its proposals and reads will not complete here. */
  leadershipEnded(): void {
    for (const [, p] of this.pendingApplies) p.reject(leadershipLost());
    this.pendingApplies.clear();
    for (const [, w] of this.pendingReads) w.reject(noLeader());
    this.pendingReads.clear();
  }

  /** A snapshot up to `index` was installed: proposals at or below it were overwritten. */
  snapshotInstalled(index: number): void {
    for (const [i, p] of this.pendingApplies) {
      if (i <= index) {
        this.pendingApplies.delete(i);
        p.reject(leadershipLost());
      }
    }
  }

  /** Fail waiters past their deadline. */
  sweep(): void {
    const now = this.deps.now();
    for (const [ctx, w] of this.pendingReads) {
      if (w.deadline <= now) {
        this.pendingReads.delete(ctx);
        w.reject(noLeader());
      }
    }
    if (this.applyWaiters.length > 0) {
      const keep: ApplyWaiter[] = [];
      for (const w of this.applyWaiters) {
        if (w.deadline <= now) w.reject(noLeader());
        else keep.push(w);
      }
      this.applyWaiters = keep;
    }
    if (this.changeWaiters.length > 0) this.changeWaiters = this.changeWaiters.filter((w) => w.deadline > now);
  }

  releaseRead(rs: ReadState): void {
    const w = this.pendingReads.get(rs.ctx);
    if (w === undefined) return;
    this.pendingReads.delete(rs.ctx);
    w.resolve(rs.index);
  }

  releaseApplied(applied: number): void {
    if (this.applyWaiters.length === 0) return;
    const keep: ApplyWaiter[] = [];
    for (const w of this.applyWaiters) {
      if (w.index <= applied) w.resolve(w.index);
      else keep.push(w);
    }
    this.applyWaiters = keep;
  }

  // ---------------------------------------------------------------- durability

  waitDurable(index: number): Promise<void> {
    if (this.deps.log.durableIndex() >= index) return Promise.resolve();
    return new Promise<void>((resolve) => this.durableWaiters.push({ index, resolve }));
  }

  onDurable(index: number): void {
    if (this.durableWaiters.length === 0) return;
    const keep: typeof this.durableWaiters = [];
    for (const w of this.durableWaiters) {
      if (w.index <= index) w.resolve();
      else keep.push(w);
    }
    this.durableWaiters = keep;
  }

  // ---------------------------------------------------------------- idle

  /** Resolves once no Ready is in flight (`idle` says whether that is already so). */
  whenIdle(idle: boolean): Promise<void> {
    if (idle) return Promise.resolve();
    return new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  notifyIdle(): void {
    const ws = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of ws) w();
  }

  // ---------------------------------------------------------------- failure

  failWaiting(e: CairnError): void {
    for (const [, p] of this.pendingApplies) p.reject(e);
    this.pendingApplies.clear();
    for (const [, w] of this.pendingReads) w.reject(e.kind === "unavailable" ? noLeader() : e);
    this.pendingReads.clear();
    for (const w of this.applyWaiters) w.reject(noLeader());
    this.applyWaiters = [];
    this.wakeChange();
  }
}
