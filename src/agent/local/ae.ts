/**
 * agent/local/ae: when anti-entropy runs (Consul's agent/ae StateSyncer): a full sync at
 * start and then every interval + stagger(scaleFactor(clusterSize) * interval), a partial
 * sync (changes only) right after every local change, coalesced, never two at once, and
 * a retry after AE_RETRY_FAIL_MS when a sync failed.
 *
 * Must never: run two syncs concurrently, or read clocks except through deps.
 */

import { AE_RETRY_FAIL_MS, AE_SCALE_THRESHOLD, AE_SYNC_INTERVAL_MS } from "../../shared/limits.ts";

/** Consul's scaleFactor: 1 up to 128 nodes, then +1 per doubling. */
export function scaleFactor(nodes: number): number {
  if (nodes <= AE_SCALE_THRESHOLD) return 1;
  return Math.ceil(Math.log2(nodes) - Math.log2(AE_SCALE_THRESHOLD)) + 1;
}

export interface AeDeps {
  random(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(h: unknown): void;
}

export interface AeOptions {
  readonly deps: AeDeps;
  readonly clusterSize: () => number;
  readonly full: () => Promise<void>;
  readonly partial: () => Promise<void>;
  readonly onError: (e: unknown, full: boolean) => void;
  /** Base full-sync interval (tests shorten it). */
  readonly intervalMs?: number;
}

/** Time until the next full sync: interval + stagger(scale * interval). */
export function nextFullSyncMs(intervalMs: number, clusterSize: number, random: () => number): number {
  return intervalMs + Math.floor(random() * scaleFactor(clusterSize) * intervalMs);
}

export class AntiEntropy {
  private readonly o: AeOptions;
  private fullTimer: unknown;
  private kick: unknown;
  private running = false;
  private wantFull = false;
  private wantPartial = false;
  private waiters: Array<() => void> = [];
  private stopped = false;
  /** Completed syncs (full, partial) for tests and stats. */
  readonly counts = { full: 0, partial: 0, failed: 0 };

  constructor(o: AeOptions) {
    this.o = o;
  }

  start(): void {
    this.stopped = false;
    this.wantFull = true;
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    if (this.fullTimer !== undefined) this.o.deps.clearTimer(this.fullTimer);
    if (this.kick !== undefined) this.o.deps.clearTimer(this.kick);
    this.fullTimer = undefined;
    this.kick = undefined;
    for (const w of this.waiters.splice(0)) w();
  }

  /** Consul's TriggerSyncChanges: a partial sync soon (coalesced). */
  trigger(): void {
    if (this.stopped) return;
    this.wantPartial = true;
    this.schedule(0);
  }

  /** A partial sync that starts after this call; resolves when it finished (errors are reported, not thrown). */
  syncNow(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.trigger();
    });
  }

  private schedule(ms: number): void {
    if (this.stopped || this.running || this.kick !== undefined) return;
    this.kick = this.o.deps.setTimer(() => {
      this.kick = undefined;
      void this.loop();
    }, ms);
  }

  private scheduleFull(ms: number): void {
    if (this.stopped) return;
    if (this.fullTimer !== undefined) this.o.deps.clearTimer(this.fullTimer);
    this.fullTimer = this.o.deps.setTimer(() => {
      this.fullTimer = undefined;
      this.wantFull = true;
      this.schedule(0);
    }, ms);
  }

  private async loop(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = true;
    const interval = this.o.intervalMs ?? AE_SYNC_INTERVAL_MS;
    try {
      while (!this.stopped && (this.wantFull || this.wantPartial)) {
        const full = this.wantFull;
        this.wantFull = false;
        this.wantPartial = false;
        const waiters = this.waiters.splice(0);
        try {
          if (full) {
            await this.o.full();
            this.counts.full++;
            this.scheduleFull(nextFullSyncMs(interval, this.o.clusterSize(), this.o.deps.random));
          } else {
            await this.o.partial();
            this.counts.partial++;
          }
        } catch (e) {
          this.counts.failed++;
          this.o.onError(e, full);
          this.scheduleFull(AE_RETRY_FAIL_MS + Math.floor(this.o.deps.random() * AE_RETRY_FAIL_MS));
        }
        for (const w of waiters) w();
      }
    } finally {
      this.running = false;
    }
  }
}
