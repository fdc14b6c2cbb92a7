/**
 * sim: serf's phantom.go in TypeScript for tests: truth matrices (line, grid,
 * split, circle), a seeded simulation of probes and the error evaluation.
 *
 * Must never: use unseeded randomness.
 */

import { VivaldiClient } from "../../src/coordinate/index.ts";
import type { VivaldiConfig } from "../../src/coordinate/index.ts";
import { mulberry32 } from "../shared/prng.ts";

export const seeded = mulberry32;

export function clients(n: number, config: VivaldiConfig, seed = 1): VivaldiClient[] {
  const rand = seeded(seed);
  return Array.from({ length: n }, () => new VivaldiClient({ config, rand }));
}

function matrix(n: number, f: (i: number, j: number) => number): number[][] {
  const m = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) { const v = f(i, j); m[i]![j] = v; m[j]![i] = v; }
  return m;
}

export const line = (n: number, spacing: number): number[][] => matrix(n, (i, j) => (j - i) * spacing);
export function grid(n: number, spacing: number): number[][] {
  const k = Math.floor(Math.sqrt(n));
  return matrix(n, (i, j) => Math.hypot((j % k) - (i % k), Math.floor(j / k) - Math.floor(i / k)) * spacing);
}
export function split(n: number, lan: number, wan: number): number[][] {
  const s = Math.floor(n / 2);
  return matrix(n, (i, j) => ((i <= s && j > s) || (i > s && j <= s) ? lan + wan : lan));
}
export function circle(n: number, radius: number): number[][] {
  return matrix(n, (i, j) => {
    if (i === 0) return 2 * radius;
    const t1 = (2 * Math.PI * i) / n, t2 = (2 * Math.PI * j) / n;
    return Math.hypot(Math.cos(t2) - Math.cos(t1), Math.sin(t2) - Math.sin(t1)) * radius;
  });
}

export function simulate(cs: VivaldiClient[], truth: number[][], cycles: number, seed = 1): void {
  const rand = seeded(seed);
  for (let c = 0; c < cycles; c++) {
    for (let i = 0; i < cs.length; i++) {
      const j = Math.floor(rand() * cs.length);
      if (j !== i) cs[i]!.update(`node_${j}`, cs[j]!.coordinate, truth[i]![j]!);
    }
  }
}

export function evaluate(cs: VivaldiClient[], truth: number[][]): { avg: number; max: number } {
  let max = 0, sum = 0, count = 0;
  for (let i = 0; i < cs.length; i++) {
    for (let j = i + 1; j < cs.length; j++) {
      const est = cs[i]!.distanceTo(cs[j]!.coordinate);
      const actual = truth[i]![j]!;
      const e = Math.abs(est - actual) / actual;
      max = Math.max(max, e); sum += e; count++;
    }
  }
  return { avg: sum / count, max };
}
