/**
 * sort: helpers around coordinates for the HTTP layer: parse a JSON coordinate,
 * and Consul's `near` sorting (by estimated RTT from a source coordinate, stable,
 * entries without a coordinate last).
 *
 * Must never: do I/O.
 */

import type { Coordinate } from "./coord.ts";
import { distanceSeconds, isCompatible, isValid } from "./coord.ts";

function num(v: unknown): number | undefined {
  return typeof v === "number" ? v : undefined;
}

/** A Coordinate from decoded JSON, or undefined when the shape is wrong. */
export function parseCoordinate(v: unknown): Coordinate | undefined {
  if (typeof v !== "object" || v === null) return undefined;
  const o = v as Record<string, unknown>;
  const vec = o["Vec"];
  if (!Array.isArray(vec) || !vec.every((x) => typeof x === "number")) return undefined;
  const err = num(o["Error"]) ?? 0;
  const adj = num(o["Adjustment"]) ?? 0;
  const h = num(o["Height"]) ?? 0;
  const c: Coordinate = { Vec: vec.map((x) => Number(x)), Error: err, Adjustment: adj, Height: h };
  return isValid(c) ? c : undefined;
}

/**
 * Items sorted by distance from `from` (Consul's sort in agent/consul/rtt.go):
 * stable, items whose coordinate is missing or incompatible go last. With no
 * source coordinate the order is unchanged.
 */
export function sortByDistance<T>(items: readonly T[], from: Coordinate | undefined, coordOf: (t: T) => Coordinate | undefined): T[] {
  if (from === undefined) return [...items];
  const keyed = items.map((t, i) => {
    const c = coordOf(t);
    const d = c !== undefined && isCompatible(from, c) ? distanceSeconds(from, c) : Number.POSITIVE_INFINITY;
    return { t, i, d };
  });
  keyed.sort((a, b) => (a.d === b.d ? a.i - b.i : a.d < b.d ? -1 : 1));
  return keyed.map((k) => k.t);
}
