/**
 * http/near: Consul's `near` sorting for catalog and health lists
 * (sortByDistanceFrom: by estimated RTT from the named node, stable, nodes
 * without a coordinate last; `_agent` is this agent's node), and the
 * coordinate view of the store the coordinate endpoints share.
 *
 * Must never: write, or import endpoint modules (catalog.ts and health.ts import it).
 */

import { sortByDistance, type Coordinate } from "../coordinate/index.ts";
import type { CoordRow } from "../state/index.ts";
import type { CancelWatch, StoreReader, WatchCallback } from "../state/types.ts";
import type { Env, RequestCtx } from "./context.ts";

/** What the coordinate endpoints read (the Store has it; other backends may not). */
export interface CoordinateReader {
  coordinates(): { index: number; value: CoordRow[] };
  coordinatesOfNode(node: string): { index: number; value: CoordRow[] };
  watchCoordinates(cb: WatchCallback): CancelWatch;
}

export function reader(env: Env): (CoordinateReader & StoreReader) | undefined {
  const s = env.backend.store as StoreReader & Partial<CoordinateReader>;
  return typeof s.coordinates === "function" ? (s as CoordinateReader & StoreReader) : undefined;
}

/**
 * Sorts `items` by estimated RTT from the node named by `near` (`_agent`: this
 * agent). Unknown source node or no coordinate for it: order unchanged.
 */
export function sortNear<T>(env: Env, near: string | undefined, items: readonly T[], nodeOf: (t: T) => string): T[] {
  if (near === undefined || near === "") return [...items];
  const r = reader(env);
  if (r === undefined) return [...items];
  const source = near === "_agent" ? env.agent.nodeName : near;
  const own = r.coordinatesOfNode(source).value.find((c) => c.segment === "");
  if (own === undefined) return [...items];
  const cache = new Map<string, Coordinate | undefined>();
  const coordOf = (t: T): Coordinate | undefined => {
    const n = nodeOf(t).toLowerCase();
    if (!cache.has(n)) cache.set(n, r.coordinatesOfNode(n).value.find((c) => c.segment === "")?.coord);
    return cache.get(n);
  };
  return sortByDistance(items, own.coord, coordOf);
}

/** The `near` query value, undefined when absent or empty. */
export function nearParam(ctx: RequestCtx): string | undefined {
  const v = ctx.query.get("near");
  return v === undefined || v === null || v === "" ? undefined : v;
}

