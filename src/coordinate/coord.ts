/**
 * coord: Vivaldi network coordinates (serf's coordinate package): the
 * coordinate value, its defaults, distance, force application and validity.
 * All values are in seconds, as serf keeps them.
 *
 * Must never: read clocks, do I/O, or mutate a coordinate it was given
 * (every operation returns a new value).
 */

export interface Coordinate {
  readonly Vec: readonly number[];
  readonly Error: number;
  readonly Adjustment: number;
  readonly Height: number;
}

export interface VivaldiConfig {
  readonly dimensionality: number;
  readonly vivaldiErrorMax: number;
  readonly vivaldiCE: number;
  readonly vivaldiCC: number;
  readonly adjustmentWindowSize: number;
  readonly heightMin: number;
  readonly latencyFilterSize: number;
  readonly gravityRho: number;
}

/** serf's DefaultConfig. */
export const DEFAULT_VIVALDI: VivaldiConfig = {
  dimensionality: 8,
  vivaldiErrorMax: 1.5,
  vivaldiCE: 0.25,
  vivaldiCC: 0.25,
  adjustmentWindowSize: 20,
  heightMin: 10.0e-6,
  latencyFilterSize: 3,
  gravityRho: 150.0,
};

/** Below this, two positions are treated as coincident (serf's zeroThreshold). */
export const ZERO_THRESHOLD = 1.0e-6;

/** A coordinate at the origin with maximal error (serf's NewCoordinate). */
export function newCoordinate(cfg: VivaldiConfig = DEFAULT_VIVALDI): Coordinate {
  return { Vec: new Array<number>(cfg.dimensionality).fill(0), Error: cfg.vivaldiErrorMax, Adjustment: 0, Height: cfg.heightMin };
}

export function isCompatible(a: Coordinate, b: Coordinate): boolean {
  return a.Vec.length === b.Vec.length;
}

/** False when any component is NaN or infinite. */
export function isValid(c: Coordinate): boolean {
  return c.Vec.every(Number.isFinite) && Number.isFinite(c.Error) && Number.isFinite(c.Adjustment) && Number.isFinite(c.Height);
}

function magnitude(v: readonly number[]): number {
  let s = 0;
  for (const x of v) s += x * x;
  return Math.sqrt(s);
}

function diff(a: readonly number[], b: readonly number[]): number[] {
  return a.map((x, i) => x - (b[i] ?? 0));
}

/** Vivaldi distance in seconds without the adjustment terms. */
export function rawDistance(a: Coordinate, b: Coordinate): number {
  return magnitude(diff(a.Vec, b.Vec)) + a.Height + b.Height;
}

/** Estimated RTT in seconds between two coordinates (adjustments applied when the sum stays positive). */
export function distanceSeconds(a: Coordinate, b: Coordinate): number {
  const dist = rawDistance(a, b);
  const adjusted = dist + a.Adjustment + b.Adjustment;
  const s = adjusted > 0 ? adjusted : dist;
  // serf converts to a time.Duration (whole nanoseconds).
  return Math.trunc(s * 1e9) / 1e9;
}

/**
 * Unit vector pointing at `a` from `b` and the distance between them; a random
 * unit vector (from `rand`, values in [0,1)) when they coincide.
 */
function unitVectorAt(a: readonly number[], b: readonly number[], rand: () => number): [number[], number] {
  const d = diff(a, b);
  const mag = magnitude(d);
  if (mag > ZERO_THRESHOLD) return [d.map((x) => x / mag), mag];
  const r = d.map(() => rand() - 0.5);
  const rm = magnitude(r);
  if (rm > ZERO_THRESHOLD) return [r.map((x) => x / rm), 0];
  const e = new Array<number>(d.length).fill(0);
  e[0] = 1;
  return [e, 0];
}

/** `c` moved by `force` along the direction away from `other`; height follows serf's rule. */
export function applyForce(cfg: VivaldiConfig, c: Coordinate, force: number, other: Coordinate, rand: () => number): Coordinate {
  const [unit, mag] = unitVectorAt(c.Vec, other.Vec, rand);
  const vec = c.Vec.map((x, i) => x + (unit[i] ?? 0) * force);
  let height = c.Height;
  if (mag > ZERO_THRESHOLD) {
    height = Math.max(height + (force * (height + other.Height)) / mag, cfg.heightMin);
  }
  return { Vec: vec, Error: c.Error, Adjustment: c.Adjustment, Height: height };
}
