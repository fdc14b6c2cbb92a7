/**
 * coord_tables: the coordinates table (Consul's "coordinates"): one row per
 * (node, segment) with the node's LAN Vivaldi coordinate, and the table index.
 * Rows are replaced whole, never changed in place.
 *
 * Must never: read clocks, or keep a caller's arrays (rows copy the vector).
 */

import type { Coordinate } from "../coordinate/index.ts";

export interface CoordRow {
  readonly node: string;
  readonly segment: string;
  readonly coord: Coordinate;
}

const key = (node: string, segment: string): string => node.toLowerCase() + "\0" + segment;

export class CoordTables {
  readonly rows = new Map<string, CoordRow>();
  /** Index of the last write to the table (0: never written). */
  index = 0;

  put(row: CoordRow): void {
    this.rows.set(key(row.node, row.segment), {
      node: row.node,
      segment: row.segment,
      coord: { Vec: [...row.coord.Vec], Error: row.coord.Error, Adjustment: row.coord.Adjustment, Height: row.coord.Height },
    });
  }

  /** Drops every row of `node`; true when any existed. */
  deleteNode(node: string): boolean {
    const low = node.toLowerCase() + "\0";
    let any = false;
    for (const k of [...this.rows.keys()]) {
      if (k.startsWith(low)) {
        this.rows.delete(k);
        any = true;
      }
    }
    return any;
  }

  /** Rows of `node` (case-insensitive), sorted by segment. */
  ofNode(node: string): CoordRow[] {
    const low = node.toLowerCase() + "\0";
    const out: CoordRow[] = [];
    for (const [k, r] of this.rows) if (k.startsWith(low)) out.push(r);
    return out.sort((a, b) => (a.segment < b.segment ? -1 : a.segment > b.segment ? 1 : 0));
  }

  /** Every row sorted by node then segment (Consul's table order). */
  all(): CoordRow[] {
    return [...this.rows.values()].sort((a, b) =>
      a.node.toLowerCase() < b.node.toLowerCase() ? -1 : a.node.toLowerCase() > b.node.toLowerCase() ? 1 : a.segment < b.segment ? -1 : a.segment > b.segment ? 1 : 0,
    );
  }
}

/** Row as stored in snapshots and log entries: [node, segment, vec, error, adjustment, height]. */
export function coordRowOut(r: CoordRow): unknown[] {
  return [r.node, r.segment, [...r.coord.Vec], r.coord.Error, r.coord.Adjustment, r.coord.Height];
}

export function coordRowIn(x: unknown, bad: (m: string) => Error): CoordRow {
  if (!Array.isArray(x) || x.length !== 6) throw bad("coordinate row");
  const [node, segment, vec, err, adj, h] = x as unknown[];
  if (typeof node !== "string" || typeof segment !== "string") throw bad("coordinate row node/segment");
  if (!Array.isArray(vec) || !vec.every((v) => typeof v === "number")) throw bad("coordinate row vec");
  if (typeof err !== "number" || typeof adj !== "number" || typeof h !== "number") throw bad("coordinate row numbers");
  return { node, segment, coord: { Vec: vec as number[], Error: err, Adjustment: adj, Height: h } };
}
