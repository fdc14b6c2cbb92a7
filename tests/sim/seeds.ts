/**
 * tests/sim/seeds: the fixed seed list CI runs, and the run lengths.
 *
 * Seeds are plain numbers: a failure prints its seed, and
 * `npm run sim -- --seed S` replays it exactly.
 *
 * Must never: be empty.
 */

export const CI_SEEDS: readonly number[] = Array.from({ length: 30 }, (_, i) => 1000 + i * 7919);

/** Simulated ms of faults per CI seed, then up to LIVENESS_MS to converge. */
export const CI_SAFETY_MS = 60_000;
export const CI_LIVENESS_MS = 30_000;
