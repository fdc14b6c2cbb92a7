/**
 * tests/sim/network: a simulated network between servers and clients.
 *
 * Each message is delayed (a base plus a random amount, with a rare long
 * tail, which reorders), may be dropped or duplicated, and is blocked when
 * its directed link is cut (partitions may be asymmetric).
 *
 * Must never: use anything but the simulator's rng and clock.
 */

import type { Rng } from "../../src/shared/rng.ts";

export interface NetworkFaults {
  dropRate: number;
  duplicateRate: number;
  delayMinMs: number;
  delayMaxMs: number;
  /** Probability that a message takes a long detour (up to longDelayMs). */
  longDelayRate: number;
  longDelayMs: number;
}

export const CALM: NetworkFaults = { dropRate: 0, duplicateRate: 0, delayMinMs: 1, delayMaxMs: 10, longDelayRate: 0, longDelayMs: 0 };

export class SimNetwork {
  faults: NetworkFaults = { ...CALM };
  private readonly blocked = new Set<string>();
  sent = 0;
  dropped = 0;

  private readonly rng: Rng;

  constructor(rng: Rng) {
    this.rng = rng;
  }

  block(from: string, to: string): void {
    this.blocked.add(`${from}>${to}`);
  }

  heal(): void {
    this.blocked.clear();
  }

  isBlocked(from: string, to: string): boolean {
    return this.blocked.has(`${from}>${to}`);
  }

  /** Delays (ms) at which copies of a message arrive; empty when it is lost. */
  route(from: string, to: string): number[] {
    this.sent++;
    if (this.isBlocked(from, to) || this.rng.chance(this.faults.dropRate)) {
      this.dropped++;
      return [];
    }
    const copies = this.rng.chance(this.faults.duplicateRate) ? 2 : 1;
    const out: number[] = [];
    for (let i = 0; i < copies; i++) {
      const f = this.faults;
      let d = f.delayMinMs + this.rng.float() * (f.delayMaxMs - f.delayMinMs);
      if (this.rng.chance(f.longDelayRate)) d += this.rng.float() * f.longDelayMs;
      out.push(d);
    }
    return out;
  }
}
