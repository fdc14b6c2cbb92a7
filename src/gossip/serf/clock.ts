/**
 * gossip/serf/clock: serf's Lamport clock (lamport.go). increment() returns the new
 * value; witness(v) moves the clock to v + 1 when v is at or past it.
 *
 * Must never: go backwards.
 */

export class LamportClock {
  #t = 0;

  time(): number {
    return this.#t;
  }

  increment(): number {
    this.#t += 1;
    return this.#t;
  }

  witness(v: number): void {
    if (v < this.#t) return;
    this.#t = v + 1;
  }
}
