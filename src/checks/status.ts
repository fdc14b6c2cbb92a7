/**
 * checks/status: Consul's StatusHandler, the counter machine behind
 * success_before_passing, failures_before_warning and failures_before_critical.
 *
 * Counters start at their thresholds, so the first result is reported at once
 * (Consul's NewStatusHandler). Passing and warning results count as successes;
 * critical ones as failures, reported as warning once failures_before_warning is
 * reached and as critical once failures_before_critical is.
 *
 * Must never: read clocks or do I/O; it maps results to reports and nothing else.
 */

import type { CheckStatus } from "./types.ts";

export interface StatusThresholds {
  readonly successBeforePassing: number;
  /** 0 means "same as failuresBeforeCritical" (Consul's addCheck default). */
  readonly failuresBeforeWarning: number;
  readonly failuresBeforeCritical: number;
}

export interface Report {
  readonly status: CheckStatus;
  readonly output: string;
}

export class StatusHandler {
  private readonly successBeforePassing: number;
  private readonly failuresBeforeWarning: number;
  private readonly failuresBeforeCritical: number;
  private successCounter: number;
  private failuresCounter: number;

  constructor(t: StatusThresholds) {
    this.successBeforePassing = t.successBeforePassing;
    this.failuresBeforeCritical = t.failuresBeforeCritical;
    this.failuresBeforeWarning = t.failuresBeforeWarning === 0 ? t.failuresBeforeCritical : t.failuresBeforeWarning;
    this.successCounter = this.successBeforePassing;
    this.failuresCounter = this.failuresBeforeCritical;
  }

  /** Feed one raw result; returns what to report, or undefined while a threshold is not reached. */
  observe(status: CheckStatus, output: string): Report | undefined {
    if (status === "passing" || status === "warning") {
      this.successCounter++;
      this.failuresCounter = 0;
      if (this.successCounter >= this.successBeforePassing) return { status, output };
      return undefined;
    }
    this.failuresCounter++;
    this.successCounter = 0;
    if (this.failuresCounter >= this.failuresBeforeCritical) return { status, output };
    if (this.failuresCounter >= this.failuresBeforeWarning) return { status: "warning", output };
    return undefined;
  }
}
