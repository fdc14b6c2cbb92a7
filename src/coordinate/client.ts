/**
 * client: serf's Vivaldi client: the local coordinate, updated from an
 * observed RTT to a peer and the peer's coordinate (latency filter, Vivaldi
 * step, adjustment window, gravity, reset on NaN/Inf).
 *
 * Must never: read clocks or do I/O; randomness comes in through `rand`.
 */

import type { Coordinate, VivaldiConfig } from "./coord.ts";
import { DEFAULT_VIVALDI, ZERO_THRESHOLD, applyForce, distanceSeconds, isCompatible, isValid, newCoordinate, rawDistance } from "./coord.ts";
import { CairnError } from "../shared/errors.ts";
import { VIVALDI_MAX_RTT_SECONDS, VIVALDI_MAX_FILTERED_PEERS } from "../shared/limits.ts";

export interface VivaldiDeps {
  readonly config?: VivaldiConfig;
  /** Uniform in [0, 1); only used when two coordinates coincide. */
  readonly rand?: () => number;
}

export class VivaldiClient {
  readonly #cfg: VivaldiConfig;
  readonly #rand: () => number;
  readonly #origin: Coordinate;
  #coord: Coordinate;
  #adjIndex = 0;
  readonly #adjSamples: number[];
  readonly #filter = new Map<string, number[]>();
  #resets = 0;

  constructor(deps: VivaldiDeps = {}) {
    this.#cfg = deps.config ?? DEFAULT_VIVALDI;
    if (this.#cfg.dimensionality <= 0) throw new CairnError("bad-request", "dimensionality must be >0");
    this.#rand = deps.rand ?? Math.random;
    this.#coord = newCoordinate(this.#cfg);
    this.#origin = newCoordinate(this.#cfg);
    this.#adjSamples = new Array<number>(this.#cfg.adjustmentWindowSize).fill(0);
  }

  get coordinate(): Coordinate {
    return this.#coord;
  }

  get resets(): number {
    return this.#resets;
  }

  /** Replace the local coordinate (checked for dimension and validity). */
  setCoordinate(c: Coordinate): void {
    this.#check(c);
    this.#coord = { ...c, Vec: [...c.Vec] };
  }

  forgetNode(node: string): void {
    this.#filter.delete(node);
  }

  /** Estimated RTT in seconds from this client to `other`. */
  distanceTo(other: Coordinate): number {
    return distanceSeconds(this.#coord, other);
  }

  /** One observation: `rttSeconds` to `node` whose coordinate is `other`. Returns the new coordinate. */
  update(node: string, other: Coordinate, rttSeconds: number): Coordinate {
    this.#check(other);
    if (!(rttSeconds >= 0) || rttSeconds > VIVALDI_MAX_RTT_SECONDS) {
      throw new CairnError("bad-request", `round trip time not in valid range, duration ${rttSeconds}s is not a positive value less than ${VIVALDI_MAX_RTT_SECONDS}s`);
    }
    const rtt = this.#latencyFilter(node, rttSeconds);
    this.#updateVivaldi(other, rtt);
    this.#updateAdjustment(other, rtt);
    this.#updateGravity();
    if (!isValid(this.#coord)) {
      this.#resets++;
      this.#coord = newCoordinate(this.#cfg);
    }
    return this.#coord;
  }

  #check(c: Coordinate): void {
    if (!isCompatible(this.#coord, c)) throw new CairnError("bad-request", "dimensions aren't compatible");
    if (!isValid(c)) throw new CairnError("bad-request", "coordinate is invalid");
  }

  #latencyFilter(node: string, rtt: number): number {
    let samples = this.#filter.get(node);
    if (samples === undefined) {
      if (this.#filter.size >= VIVALDI_MAX_FILTERED_PEERS) {
        const oldest = this.#filter.keys().next();
        if (oldest.done !== true) this.#filter.delete(oldest.value);
      }
      samples = [];
      this.#filter.set(node, samples);
    }
    samples.push(rtt);
    if (samples.length > this.#cfg.latencyFilterSize) samples.shift();
    const sorted = [...samples].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)] ?? rtt;
  }

  #updateVivaldi(other: Coordinate, rttIn: number): void {
    const dist = distanceSeconds(this.#coord, other);
    const rtt = Math.max(rttIn, ZERO_THRESHOLD);
    const wrongness = Math.abs(dist - rtt) / rtt;
    const total = Math.max(this.#coord.Error + other.Error, ZERO_THRESHOLD);
    const weight = this.#coord.Error / total;
    const ce = this.#cfg.vivaldiCE;
    const err = Math.min(ce * weight * wrongness + this.#coord.Error * (1 - ce * weight), this.#cfg.vivaldiErrorMax);
    const force = this.#cfg.vivaldiCC * weight * (rtt - dist);
    this.#coord = applyForce(this.#cfg, { ...this.#coord, Error: err }, force, other, this.#rand);
  }

  #updateAdjustment(other: Coordinate, rtt: number): void {
    const n = this.#cfg.adjustmentWindowSize;
    if (n === 0) return;
    this.#adjSamples[this.#adjIndex] = rtt - rawDistance(this.#coord, other);
    this.#adjIndex = (this.#adjIndex + 1) % n;
    let sum = 0;
    for (const s of this.#adjSamples) sum += s;
    this.#coord = { ...this.#coord, Adjustment: sum / (2 * n) };
  }

  #updateGravity(): void {
    const dist = distanceSeconds(this.#origin, this.#coord);
    const force = -1 * Math.pow(dist / this.#cfg.gravityRho, 2);
    this.#coord = applyForce(this.#cfg, this.#coord, force, this.#origin, this.#rand);
  }
}
