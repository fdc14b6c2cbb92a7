/**
 * http/health: /v1/health/node/<n>, /checks/<s>, /service/<s> (passing, tag, node-meta)
 * and /state/<state>, blocking on the precise catalog watches, with Consul's texts
 * ("Missing node name", "Missing service name", "Missing check state", "Invalid value
 * for ?passing") and Consul's JSON (nil tag lists as []).
 *
 * Must never: park a query on a watch broader than the data it reads.
 */

import { nearParam, sortNear } from "./near.ts";
import { badRequest } from "../shared/errors.ts";
import { filterNonPassing } from "../state/catalog_read.ts";
import type { HealthStatus } from "../state/catalog_types.ts";
import type { Env, RequestCtx } from "./context.ts";
import { FILTER_SCHEMAS } from "../filter/index.ts";
import { allValues, applyFilter, catalogOnly, itemFilter, listQuery, nodeMetaFilter, pathName, serveQuery } from "./catalog.ts";
import { renderCheck, renderChecks, renderServiceHealth } from "./json_catalog.ts";
import type { Reply } from "./respond.ts";

const metaKey = (m: Record<string, string> | undefined): string =>
  m === undefined ? "" : Object.keys(m).sort().map((k) => k + "=" + m[k]).join("\u0001");

/** getBoolQueryParam: absent -> false, present without value -> true, else strconv.ParseBool. */
function boolParam(ctx: RequestCtx, key: string): boolean | undefined {
  if (!ctx.query.has(key)) return false;
  const v = ctx.query.get(key);
  if (v === "") return true;
  if (["1", "t", "T", "TRUE", "true", "True"].includes(v)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(v)) return false;
  return undefined;
}

export function healthNode(ctx: RequestCtx, env: Env): Promise<Reply | undefined> {
  const node = pathName(ctx, "/v1/health/node/", "Missing node name");
  const f = itemFilter(ctx.query, FILTER_SCHEMAS.healthNode);
  const store = env.backend.store;
  return serveQuery(
    ctx,
    env,
    listQuery(
      "health-node\0" + node + "\0" + ctx.query.get("filter"),
      () => {
        const r = store.healthNode(node);
        return { index: r.index, value: applyFilter(r.value, f, renderCheck) };
      },
      (cb) => store.watchNode(node, cb),
      renderChecks,
      catalogOnly(store, undefined),
    ),
  );
}

export function healthChecks(ctx: RequestCtx, env: Env): Promise<Reply | undefined> {
  const name = pathName(ctx, "/v1/health/checks/", "Missing service name");
  const f = itemFilter(ctx.query, FILTER_SCHEMAS.healthChecks);
  const near = nearParam(ctx);
  const meta = nodeMetaFilter(ctx.query);
  const store = env.backend.store;
  return serveQuery(
    ctx,
    env,
    listQuery(
      "health-checks\0" + name + "\0" + metaKey(meta) + "\0" + ctx.query.get("filter") + "\0" + (near ?? ""),
      () => {
        const r = store.healthChecks(name, meta);
        return { index: r.index, value: sortNear(env, near, applyFilter(r.value, f, renderCheck), (c) => c.node) };
      },
      (cb) => store.watchService(name, cb),
      renderChecks,
      catalogOnly(store, near),
    ),
  );
}

export function healthService(ctx: RequestCtx, env: Env): Promise<Reply | undefined> {
  const name = pathName(ctx, "/v1/health/service/", "Missing service name");
  const f = itemFilter(ctx.query, FILTER_SCHEMAS.healthService);
  const near = nearParam(ctx);
  const passing = boolParam(ctx, "passing");
  if (passing === undefined) throw badRequest("Invalid value for ?passing");
  const tags = allValues(ctx.query, "tag");
  const meta = nodeMetaFilter(ctx.query);
  const store = env.backend.store;
  return serveQuery(
    ctx,
    env,
    listQuery(
      "health-service\0" + name + "\0" + (tags === undefined ? "" : "t" + tags.join("\u0001")) + "\0" + metaKey(meta) + "\0" + String(passing) + "\0" + ctx.query.get("filter") + "\0" + (near ?? ""),
      () => {
        const r = store.healthService(name, tags);
        let v = r.value;
        if (meta !== undefined) v = v.filter((e) => Object.keys(meta).every((k) => e.node.meta[k] === meta[k]));
        v = applyFilter(v, f, renderServiceHealth);
        if (passing) v = filterNonPassing(v);
        return { index: r.index, value: sortNear(env, near, v, (e) => e.node.node) };
      },
      (cb) => store.watchService(name, cb),
      (list) => "[" + list.map(renderServiceHealth).join(",") + "]",
      catalogOnly(store, near),
    ),
  );
}

const STATES: ReadonlySet<string> = new Set(["any", "passing", "warning", "critical"]);

export function healthState(ctx: RequestCtx, env: Env): Promise<Reply | undefined> {
  const state = pathName(ctx, "/v1/health/state/", "Missing check state");
  const f = itemFilter(ctx.query, FILTER_SCHEMAS.healthState);
  const meta = nodeMetaFilter(ctx.query);
  const store = env.backend.store;
  // Consul does not validate the state: an unknown one matches no check (200, []).
  const known = STATES.has(state);
  return serveQuery(
    ctx,
    env,
    listQuery(
      "health-state\0" + state + "\0" + metaKey(meta) + "\0" + ctx.query.get("filter"),
      () => {
        const r = store.healthState(known ? (state as HealthStatus | "any") : "any", meta);
        return { index: r.index, value: known ? applyFilter(r.value, f, renderCheck) : [] };
      },
      (cb) => store.watchTable("checks", cb),
      renderChecks,
      catalogOnly(store, undefined),
    ),
  );
}
