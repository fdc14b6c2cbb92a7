/**
 * tests/checks/fake_timers: a manual clock for the pure check code (setTimer/clearTimer/now/random).
 */

export class FakeClock {
  now = 0;
  private seq = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();
  randomValue = 0.5;

  readonly deps = {
    now: (): number => this.now,
    random: (): number => this.randomValue,
    setTimer: (fn: () => void, ms: number): unknown => {
      const id = ++this.seq;
      this.timers.set(id, { at: this.now + ms, fn });
      return id;
    },
    clearTimer: (h: unknown): void => {
      this.timers.delete(h as number);
    },
  };

  pending(): number {
    return this.timers.size;
  }

  /** Advance time, firing due timers in order (timers set by timers fire too). */
  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (e[1].at <= end && (next === undefined || e[1].at < next[1].at)) next = e;
      if (next === undefined) break;
      this.timers.delete(next[0]);
      this.now = next[1].at;
      next[1].fn();
    }
    this.now = end;
  }
}
