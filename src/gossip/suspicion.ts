/**
 * gossip/suspicion: Lifeguard's suspicion timer (memberlist suspicion.go) as pure data.
 * It starts at maxMs (minMs when no confirmations are expected) and shrinks as k
 * independent peers confirm the suspicion, following
 * timeout = max − log(c + 1) / log(k + 1) × (max − min), never below min.
 *
 * Must never: count the original accuser or the same peer twice, or read a clock (the
 * caller passes times).
 */

/** Time left (ms) after c of k confirmations, `elapsedMs` after the suspicion started. */
export function remainingSuspicionMs(c: number, k: number, elapsedMs: number, minMs: number, maxMs: number): number {
  const frac = Math.log(c + 1) / Math.log(k + 1);
  const raw = maxMs - frac * (maxMs - minMs);
  const timeout = Math.max(minMs, Math.floor(raw));
  return timeout - elapsedMs;
}

export class Suspicion {
  readonly startMs: number;
  readonly k: number;
  readonly minMs: number;
  readonly maxMs: number;
  readonly #confirmations = new Set<string>();
  #n = 0;
  #deadlineMs: number;

  constructor(from: string, k: number, minMs: number, maxMs: number, nowMs: number) {
    this.startMs = nowMs;
    this.k = k;
    this.minMs = minMs;
    this.maxMs = maxMs;
    this.#confirmations.add(from);
    this.#deadlineMs = nowMs + (k < 1 ? minMs : maxMs);
  }

  /** Records a confirmation; true when it was new (and so worth re-gossiping). */
  confirm(from: string, nowMs: number): boolean {
    if (this.#n >= this.k) return false;
    if (this.#confirmations.has(from)) return false;
    this.#confirmations.add(from);
    this.#n++;
    const elapsed = nowMs - this.startMs;
    const left = remainingSuspicionMs(this.#n, this.k, elapsed, this.minMs, this.maxMs);
    this.#deadlineMs = nowMs + Math.max(0, left);
    return true;
  }

  confirmations(): number {
    return this.#n;
  }

  deadlineMs(): number {
    return this.#deadlineMs;
  }
}
