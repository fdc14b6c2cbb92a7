/**
 * http/coordinate: /v1/coordinate/* (datacenters, nodes (blocking), node/<n>,
 * update) and the `near` sorting helper catalog/health lists use (Consul's
 * sortByDistanceFrom: by estimated RTT from the named node, stable, nodes
 * without a coordinate last; `_agent` is this agent's node).
 *
 * Must never: answer an update before backend.apply() resolved, or read a body
 * past HTTP_MAX_JSON_BODY.
 */

import { CairnError } from "../shared/errors.ts";
import { HTTP_MAX_JSON_BODY } from "../shared/limits.ts";
import { isCompatible, isValid, newCoordinate, type Coordinate } from "../coordinate/index.ts";
import type { CoordRow } from "../state/index.ts";
import type { StoreReader } from "../state/types.ts";
import { reader, type CoordinateReader } from "./near.ts";
import type { Env, RequestCtx } from "./context.ts";
import { goFloat, jsonString } from "./json.ts";
import { listQuery, pathName, serveQuery } from "./catalog.ts";
import { checkDatacenter } from "./query.ts";
import { jsonReply, type Reply, textReply } from "./respond.ts";

function must(env: Env): CoordinateReader & StoreReader {
  const r = reader(env);
  if (r === undefined) throw new CairnError("internal", "coordinates are not supported by this backend");
  return r;
}

// ---- JSON ------------------------------------------------------------------------

export function renderCoord(c: Coordinate): string {
  return '{"Vec":[' + c.Vec.map(goFloat).join(",") + '],"Error":' + goFloat(c.Error) + ',"Adjustment":' + goFloat(c.Adjustment) + ',"Height":' + goFloat(c.Height) + "}";
}

function renderRow(r: CoordRow): string {
  return '{"Node":' + jsonString(r.node) + ',"Segment":' + jsonString(r.segment) + ',"Coord":' + renderCoord(r.coord) + "}";
}

const renderRows = (rows: readonly CoordRow[]): string => "[" + rows.map(renderRow).join(",") + "]";

function segmentFilter(ctx: RequestCtx, rows: CoordRow[]): CoordRow[] {
  if (!ctx.query.has("segment")) return rows;
  const seg = ctx.query.get("segment") ?? "";
  return rows.filter((r) => r.segment === seg);
}

// ---- endpoints -------------------------------------------------------------------

/**
 * GET /v1/coordinate/datacenters: with a WAN pool, its servers' coordinates by datacenter
 * (Consul Coordinate.ListDatacenters: node names without the `.<dc>` suffix); without one,
 * this datacenter with this server's coordinate (area WAN).
 */
export async function coordinateDatacenters(_ctx: RequestCtx, env: Env): Promise<Reply> {
  const wan = env.ops?.wan;
  if (wan !== undefined) {
    const maps = await wan.coordinates();
    return jsonReply(
      "[" +
        maps
          .map(
            (m) =>
              '{"Datacenter":' + jsonString(m.datacenter) + ',"AreaID":' + jsonString(m.areaId) + ',"Coordinates":[' +
              m.coordinates.map((c) => '{"Node":' + jsonString(c.node) + ',"Segment":"","Coord":' + renderCoord(c.coord) + "}").join(",") +
              "]}",
          )
          .join(",") +
        "]",
    );
  }
  const r = reader(env);
  const own = r?.coordinatesOfNode(env.agent.nodeName).value.find((c) => c.segment === "")?.coord ?? newCoordinate();
  return jsonReply(
    '[{"Datacenter":' + jsonString(env.agent.datacenter) + ',"AreaID":"WAN","Coordinates":[{"Node":' + jsonString(env.agent.nodeName) + ',"Segment":"","Coord":' + renderCoord(own) + "}]}]",
  );
}

/** GET /v1/coordinate/nodes (blocking). */
export function coordinateNodes(ctx: RequestCtx, env: Env): Promise<Reply | undefined> {
  const store = must(env);
  return serveQuery(
    ctx,
    env,
    listQuery(
      "coordinate-nodes\0" + (ctx.query.has("segment") ? "s" + (ctx.query.get("segment") ?? "") : ""),
      () => {
        const r = store.coordinates();
        return { index: r.index, value: segmentFilter(ctx, r.value) };
      },
      (cb) => store.watchCoordinates(cb),
      renderRows,
    ),
  );
}

/** GET /v1/coordinate/node/<node>: 404 with an empty body when the node has none. */
export async function coordinateNode(ctx: RequestCtx, env: Env): Promise<Reply | undefined> {
  const node = pathName(ctx, "/v1/coordinate/node/", "Missing node name");
  const store = must(env);
  const reply = await serveQuery(
    ctx,
    env,
    listQuery(
      "coordinate-node\0" + node.toLowerCase() + "\0" + (ctx.query.has("segment") ? "s" + (ctx.query.get("segment") ?? "") : ""),
      () => {
        const r = store.coordinatesOfNode(node);
        return { index: r.index, value: segmentFilter(ctx, r.value) };
      },
      (cb) => store.watchCoordinates(cb),
      renderRows,
    ),
  );
  if (reply !== undefined && reply.status === 200 && segmentFilter(ctx, store.coordinatesOfNode(node).value).length === 0) {
    return textReply(404, "", { ...reply.headers });
  }
  return reply;
}

function lookup(o: Record<string, unknown>, name: string): unknown {
  for (const [k, v] of Object.entries(o)) if (k.toLowerCase() === name.toLowerCase()) return v;
  return undefined;
}

/** Decodes Consul's CoordinateUpdateRequest body {Node, Segment, Coord}. */
export function decodeCoordinateUpdate(text: string): { node: string; segment: string; coord: Coordinate | null } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new CairnError("bad-request", `Request decode failed: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new CairnError("bad-request", "Request decode failed: body is not an object");
  const o = raw as Record<string, unknown>;
  const node = lookup(o, "Node") ?? "";
  const segment = lookup(o, "Segment") ?? "";
  if (typeof node !== "string" || typeof segment !== "string") throw new CairnError("bad-request", "Request decode failed: Node and Segment must be strings");
  const c = lookup(o, "Coord");
  if (c === undefined || c === null) return { node, segment, coord: null };
  if (typeof c !== "object" || Array.isArray(c)) throw new CairnError("bad-request", "Request decode failed: Coord must be an object");
  const co = c as Record<string, unknown>;
  const vec = lookup(co, "Vec") ?? [];
  const nums = ["Error", "Adjustment", "Height"].map((k) => lookup(co, k) ?? 0);
  if (!Array.isArray(vec) || !vec.every((x) => typeof x === "number") || !nums.every((x) => typeof x === "number")) {
    throw new CairnError("bad-request", "Request decode failed: Coord fields must be numbers");
  }
  return { node, segment, coord: { Vec: vec as number[], Error: nums[0] as number, Adjustment: nums[1] as number, Height: nums[2] as number } };
}

/** PUT /v1/coordinate/update. */
export async function coordinateUpdate(ctx: RequestCtx, env: Env): Promise<Reply> {
  const body = await ctx.readBody(HTTP_MAX_JSON_BODY);
  if (!body.ok) return { ...textReply(413, `Request body too large, max size: ${HTTP_MAX_JSON_BODY} bytes`), close: true };
  let u: ReturnType<typeof decodeCoordinateUpdate>;
  try {
    u = decodeCoordinateUpdate(body.data.toString("utf8"));
  } catch (e) {
    if (e instanceof CairnError && e.kind === "bad-request") return textReply(400, e.message);
    throw e;
  }
  checkDatacenter(ctx.query, env.agent.datacenter);
  // Consul's Coordinate.Update: an invalid or incompatible coordinate is an RPC error (500).
  if (u.coord === null || !isValid(u.coord)) throw new CairnError("internal", "invalid coordinate");
  if (!isCompatible(newCoordinate(), u.coord)) throw new CairnError("internal", "rejected bad coordinate");
  await env.backend.apply({ type: "coordinate-batch-update", updates: [{ node: u.node, segment: u.segment, coord: u.coord }] });
  return textReply(200, "");
}
