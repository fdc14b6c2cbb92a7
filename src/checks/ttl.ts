/**
 * checks/ttl: Consul's CheckTTL. The status is set from outside (pass/warn/fail/update);
 * when no update comes within the TTL the check turns critical with
 * "TTL expired" (plus the last output, if any). Timers come in through deps.
 *
 * Must never: read clocks or start timers except through deps.
 */

import type { CheckStatus } from "./types.ts";
import { truncateHead } from "./output.ts";

export interface TimerDeps {
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(h: unknown): void;
}

export class TtlCheck {
  private readonly ttlMs: number;
  private readonly maxOutput: number;
  private readonly deps: TimerDeps;
  private readonly notify: (status: CheckStatus, output: string) => void;
  private timer: unknown;
  private lastOutput = "";
  private stopped = true;

  constructor(ttlMs: number, maxOutput: number, deps: TimerDeps, notify: (status: CheckStatus, output: string) => void) {
    this.ttlMs = ttlMs;
    this.maxOutput = maxOutput;
    this.deps = deps;
    this.notify = notify;
  }

  start(): void {
    this.stopped = false;
    this.arm();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.deps.clearTimer(this.timer);
    this.timer = undefined;
  }

  /** Sets the status and renews the TTL; returns the (possibly truncated) output. */
  setStatus(status: CheckStatus, output: string): string {
    const out = truncateHead(output, this.maxOutput);
    this.notify(status, out);
    this.lastOutput = out;
    if (!this.stopped) this.arm();
    return out;
  }

  expiredOutput(): string {
    return this.lastOutput === "" ? "TTL expired" : `TTL expired (last output before timeout follows): ${this.lastOutput}`;
  }

  private arm(): void {
    if (this.timer !== undefined) this.deps.clearTimer(this.timer);
    this.timer = this.deps.setTimer(() => {
      this.timer = undefined;
      if (this.stopped) return;
      this.notify("critical", this.expiredOutput());
    }, this.ttlMs);
  }
}
