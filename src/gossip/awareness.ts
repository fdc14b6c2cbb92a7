/**
 * gossip/awareness: Lifeguard local health awareness (memberlist awareness.go). The score
 * counts recent evidence that this node itself is slow (missed nacks, refuted
 * suspicions); timeouts are multiplied by score + 1.
 *
 * Must never: leave [0, max − 1].
 */

export class Awareness {
  readonly #max: number;
  #score = 0;

  constructor(maxMultiplier: number) {
    this.#max = maxMultiplier;
  }

  applyDelta(delta: number): void {
    this.#score = Math.min(this.#max - 1, Math.max(0, this.#score + delta));
  }

  score(): number {
    return this.#score;
  }

  scaleTimeout(ms: number): number {
    return ms * (this.#score + 1);
  }
}
