/**
 * http/catalog: /v1/catalog/* (register, deregister, datacenters, nodes, services,
 * service/<s>, node/<n>, node-services/<n>) with Consul's validation texts, blocking
 * reads on the precise catalog watches, X-Consul-Index per Consul's index rules, and
 * Consul's JSON, `?near=` RTT sorting (near.ts), `?filter=` through src/filter (on /catalog/services it is refused with
 * 400 for now). Also the helpers /v1/health shares (blocking list reads, node-meta,
 * repeated query values, filtering).
 *
 * Must never: answer a write before backend.apply() resolved, or read a body past
 * HTTP_MAX_JSON_BODY.
 */

import { badRequest, CairnError } from "../shared/errors.ts";
import { HTTP_MAX_JSON_BODY } from "../shared/limits.ts";
import { compileFilter, FILTER_SCHEMAS, type Filter, type FilterSchema } from "../filter/index.ts";
import type { CatalogReader, CheckInput, RegisterInput, ServiceInput } from "../state/catalog_types.ts";
import type { CancelWatch } from "../state/types.ts";
import type { BlockingQuery } from "./blocking.ts";
import type { Env, RequestCtx } from "./context.ts";
import { jsonString, renderStrings } from "./json.ts";
import { renderNode, renderNodeService, renderServiceNode } from "./json_catalog.ts";
import {
  asObj,
  BodyDecodeError,
  decodeCheck,
  decodeNode as decodeNodeShim,
  decodeService,
  isAnyAddress,
  str,
  uuidError,
} from "./json_catalog_decode.ts";
import { field, JsonSyntaxError, jsonKind, type JsonValue, parseJson } from "./jsonparse.ts";
import { readHeaders } from "./kv.ts";
import { checkDatacenter, effectiveConsistency, parseQueryOptions, percentDecode, type Query } from "./query.ts";
import { jsonReply, Rendered, type Reply, textReply } from "./respond.ts";
import { nearParam, sortNear } from "./near.ts";

// ---- shared helpers -------------------------------------------------------------

/** Every value of a repeated query parameter, in order (Go's url.Values[key]). */
export function allValues(q: Query, key: string): string[] | undefined {
  if (!q.has(key)) return undefined;
  const out: string[] = [];
  for (const part of q.encode().split("&")) {
    const eq = part.indexOf("=");
    if ((percentDecode(part.slice(0, eq), true) ?? "") !== key) continue;
    out.push(percentDecode(part.slice(eq + 1), true) ?? "");
  }
  return out;
}

/** Consul's parseMetaFilter: node-meta=k:v (repeatable); undefined when absent. */
export function nodeMetaFilter(q: Query): Record<string, string> | undefined {
  const vals = allValues(q, "node-meta");
  if (vals === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const v of vals) {
    const at = v.indexOf(":");
    if (at < 0) out[v] = "";
    else out[v.slice(0, at)] = v.slice(at + 1);
  }
  return out;
}

/** `?filter=` where the endpoint cannot filter yet: refuse rather than ignore it. */
export function rejectFilter(q: Query): void {
  if (q.get("filter") !== "") throw badRequest("filter not supported yet");
}

/** `?filter=` compiled against the endpoint's schema (400 with Consul's text when bad); undefined when absent. */
export function itemFilter(q: Query, schema: FilterSchema): Filter | undefined {
  const expr = q.get("filter");
  return expr === "" ? undefined : compileFilter(expr, schema);
}

/** Keeps the items whose Consul JSON passes the filter (the filter sees exactly what the client sees). */
export function applyFilter<T>(items: readonly T[], f: Filter | undefined, render: (t: T) => string): T[] {
  if (f === undefined) return items.slice();
  return items.filter((x) => f(JSON.parse(render(x)) as unknown));
}

/** The name after a route prefix; 400 with Consul's text when empty. */
export function pathName(ctx: RequestCtx, prefix: string, missing: string): string {
  const name = ctx.path.startsWith(prefix) ? ctx.path.slice(prefix.length) : "";
  if (name === "") throw badRequest(missing);
  return name;
}

export function watchAll(...cancels: CancelWatch[]): CancelWatch {
  return () => {
    for (const c of cancels) c();
  };
}

/** A blocking catalog read: run, watch, render once per (key, index); not run again while `generation` stands still. */
export function listQuery<T>(
  key: string,
  run: () => { index: number; value: T },
  watch: (cb: () => void) => CancelWatch,
  render: (v: T) => string,
  generation?: () => number,
): BlockingQuery<T, Rendered> {
  const q = { key, run, watch, render: (v: T) => new Rendered(render(v)), sizeOf: (r: Rendered) => r.size };
  return generation === undefined ? q : { ...q, generation };
}

/**
 * The catalog generation for a read that depends on the catalog alone; none with `?near`
 * (coordinates order the answer and move without a catalog write).
 */
export function catalogOnly(store: CatalogReader, near: string | undefined): (() => number) | undefined {
  return near === undefined ? () => store.catalogGeneration() : undefined;
}

/** Consul's blocking-query answer: consistency barrier, block, headers. */
export async function serveQuery<T>(ctx: RequestCtx, env: Env, q: BlockingQuery<T, Rendered>): Promise<Reply | undefined> {
  const opts = parseQueryOptions(ctx.query, ctx.headers, env.agent.datacenter);
  await env.backend.readBarrier(opts.consistency);
  if (ctx.isAborted()) return undefined;
  const res = await env.blocking.serve(q, opts.minIndex, opts.waitMs, (cancel) => ctx.onAbort(cancel));
  if (res === undefined) return undefined;
  const headers = readHeaders(res.index, env.backend.leader(), effectiveConsistency(opts.consistency));
  return { status: 200, headers, body: { kind: "json", r: res.rendered } };
}

const metaKey = (m: Record<string, string> | undefined): string =>
  m === undefined ? "" : Object.keys(m).sort().map((k) => k + "=" + m[k]).join("\u0001");

// ---- writes ---------------------------------------------------------------------

async function readJsonBody(ctx: RequestCtx): Promise<JsonValue | Reply> {
  const body = await ctx.readBody(HTTP_MAX_JSON_BODY);
  if (!body.ok) return { ...textReply(413, `Request body too large, max size: ${HTTP_MAX_JSON_BODY} bytes`), close: true };
  const text = body.data.toString("utf8");
  if (text.trim() === "") return { t: "null" };
  try {
    return parseJson(text);
  } catch (e) {
    if (e instanceof JsonSyntaxError) return textReply(400, `Request decode failed: ${e.message}`);
    throw e;
  }
}

function rootObj(v: JsonValue, goType: string): [string, JsonValue][] {
  if (v.t === "null") return [];
  if (v.t !== "obj") throw new BodyDecodeError(`json: cannot unmarshal ${jsonKind(v)} into Go value of type ${goType}`);
  return v.v;
}

/** The RPC layer's Catalog.Register checks and fix-ups; throws 400 with Consul's texts. */
export function buildRegister(root: [string, JsonValue][], localDc: string): RegisterInput {
  const P = "RegisterRequest";
  const dcGiven = str(root, "Datacenter", P);
  if (dcGiven !== "" && dcGiven !== localDc) throw new CairnError("internal", "No path to datacenter");
  const node = str(root, "Node", P);
  const address = str(root, "Address", P);
  const id = str(root, "ID", P);
  const skipV = field(root, "SkipNodeUpdate");
  if (skipV !== undefined && skipV.t !== "null" && skipV.t !== "bool") {
    throw new BodyDecodeError(`json: cannot unmarshal ${jsonKind(skipV)} into Go struct field ${P}.SkipNodeUpdate of type bool`);
  }
  const skipNodeUpdate = skipV?.t === "bool" && skipV.v;
  const nodeInput = {
    id,
    node,
    address,
    datacenter: localDc,
    ...decodeNodeMaps(root, P),
  };
  const svcObj = asObj(field(root, "Service"), `${P}.Service`, "structs.NodeService");
  let service: ServiceInput | null = svcObj === undefined ? null : decodeService(svcObj, `${P}.Service`);
  const checks: CheckInput[] = [];
  const one = asObj(field(root, "Check"), `${P}.Check`, "structs.HealthCheck");
  const many = field(root, "Checks");
  if (many !== undefined && many.t !== "null") {
    if (many.t !== "arr") throw new BodyDecodeError(`json: cannot unmarshal ${jsonKind(many)} into Go struct field ${P}.Checks of type structs.HealthChecks`);
    for (const c of many.v) {
      const o = asObj(c, `${P}.Checks`, "structs.HealthCheck");
      if (o !== undefined) checks.push(decodeCheck(o, `${P}.Checks`));
    }
  }
  if (one !== undefined) checks.push(decodeCheck(one, `${P}.Check`));

  if (node === "") throw badRequest("Must provide node");
  if (address === "" && !skipNodeUpdate) throw badRequest("Must provide address if SkipNodeUpdate is not set");
  if (id !== "") {
    const e = uuidError(id);
    if (e !== "") throw badRequest(`Bad node ID: ${e}`);
  }
  if (service !== null) {
    if (service.id === "" && service.service !== "") service = { ...service, id: service.service };
    if (service.id !== "" && service.service === "") throw badRequest("Must provide service name with ID");
    if (isAnyAddress(service.address)) throw badRequest("Invalid service address");
  }
  const fixed = checks.map((c) => ({
    ...c,
    node: c.node === "" ? node : c.node,
    checkId: c.checkId === "" && c.name !== "" ? c.name : c.checkId,
  }));
  return { node: nodeInput, skipNodeUpdate, service, checks: fixed };
}

function decodeNodeMaps(root: [string, JsonValue][], P: string): { taggedAddresses: Readonly<Record<string, string>>; meta: Readonly<Record<string, string>> } {
  // RegisterRequest names them TaggedAddresses and NodeMeta.
  const shim: [string, JsonValue][] = [];
  const ta = field(root, "TaggedAddresses");
  const nm = field(root, "NodeMeta");
  if (ta !== undefined) shim.push(["TaggedAddresses", ta]);
  if (nm !== undefined) shim.push(["Meta", nm]);
  try {
    const { taggedAddresses, meta } = decodeNodeShim(shim, P);
    return { taggedAddresses, meta };
  } catch (e) {
    if (e instanceof BodyDecodeError) throw new BodyDecodeError(e.message.replace(`${P}.Meta`, `${P}.NodeMeta`));
    throw e;
  }
}


async function catalogRegister(ctx: RequestCtx, env: Env): Promise<Reply> {
  checkDatacenter(ctx.query, env.agent.datacenter);
  const body = await readJsonBody(ctx);
  if ("status" in body) return body;
  let req: RegisterInput;
  try {
    req = buildRegister(rootObj(body, "structs.RegisterRequest"), env.agent.datacenter);
  } catch (e) {
    if (e instanceof BodyDecodeError) return textReply(400, `Request decode failed: ${e.message}`);
    throw e;
  }
  const out = await env.backend.apply({ type: "catalog-register", req });
  if (out.type === "error") throw new CairnError("internal", out.message);
  return jsonReply("true");
}

async function catalogDeregister(ctx: RequestCtx, env: Env): Promise<Reply> {
  checkDatacenter(ctx.query, env.agent.datacenter);
  const body = await readJsonBody(ctx);
  if ("status" in body) return body;
  const P = "DeregisterRequest";
  let node: string;
  let serviceId: string;
  let checkId: string;
  try {
    const root = rootObj(body, "structs.DeregisterRequest");
    const dc = str(root, "Datacenter", P);
    if (dc !== "" && dc !== env.agent.datacenter) throw new CairnError("internal", "No path to datacenter");
    node = str(root, "Node", P);
    serviceId = str(root, "ServiceID", P);
    checkId = str(root, "CheckID", P);
  } catch (e) {
    if (e instanceof BodyDecodeError) return textReply(400, `Request decode failed: ${e.message}`);
    throw e;
  }
  if (node === "") throw badRequest("Must provide node");
  const out = await env.backend.apply({ type: "catalog-deregister", node, serviceId, checkId });
  if (out.type === "error") throw new CairnError("internal", out.message);
  return jsonReply("true");
}

export function catalogRegisterHandler(ctx: RequestCtx, env: Env): Promise<Reply> {
  return catalogRegister(ctx, env);
}
export function catalogDeregisterHandler(ctx: RequestCtx, env: Env): Promise<Reply> {
  return catalogDeregister(ctx, env);
}

// ---- reads ----------------------------------------------------------------------

/** A server with a WAN pool: every datacenter seen there, nearest first (Consul GetDatacentersByDistance). */
export async function catalogDatacenters(_ctx: RequestCtx, env: Env): Promise<Reply> {
  const wan = env.ops?.wan;
  const dcs = wan === undefined ? [] : await wan.datacenters();
  return jsonReply(renderStrings(dcs.length === 0 ? [env.agent.datacenter] : dcs));
}

export function catalogNodes(ctx: RequestCtx, env: Env): Promise<Reply | undefined> {
  const f = itemFilter(ctx.query, FILTER_SCHEMAS.catalogNodes);
  const near = nearParam(ctx);
  const meta = nodeMetaFilter(ctx.query);
  const store = env.backend.store;
  return serveQuery(
    ctx,
    env,
    listQuery(
      "catalog-nodes\0" + metaKey(meta) + "\0" + ctx.query.get("filter") + "\0" + (near ?? ""),
      () => {
        const r = store.catalogNodes(meta);
        return { index: r.index, value: sortNear(env, near, applyFilter(r.value, f, renderNode), (n) => n.node) };
      },
      (cb) => store.watchTable("nodes", cb),
      (nodes) => "[" + nodes.map(renderNode).join(",") + "]",
      catalogOnly(store, near),
    ),
  );
}

export function catalogServices(ctx: RequestCtx, env: Env): Promise<Reply | undefined> {
  rejectFilter(ctx.query);
  const meta = nodeMetaFilter(ctx.query);
  const store = env.backend.store;
  return serveQuery(
    ctx,
    env,
    listQuery(
      "catalog-services\0" + metaKey(meta),
      () => store.catalogServices(meta),
      (cb) => (meta === undefined ? store.watchTable("services", cb) : watchAll(store.watchTable("services", cb), store.watchTable("nodes", cb))),
      (m) => {
        const names = [...m.keys()].sort();
        return "{" + names.map((n) => jsonString(n) + ":" + renderStrings(m.get(n) ?? [])).join(",") + "}";
      },
      catalogOnly(store, undefined),
    ),
  );
}

export function catalogService(ctx: RequestCtx, env: Env): Promise<Reply | undefined> {
  const name = pathName(ctx, "/v1/catalog/service/", "Missing service name");
  const f = itemFilter(ctx.query, FILTER_SCHEMAS.catalogService);
  const near = nearParam(ctx);
  const tags = allValues(ctx.query, "tag");
  const meta = nodeMetaFilter(ctx.query);
  const store = env.backend.store;
  return serveQuery(
    ctx,
    env,
    listQuery(
      "catalog-service\0" + name + "\0" + (tags ?? []).join("\u0001") + "\0" + (tags === undefined ? "" : "t") + metaKey(meta) + "\0" + ctx.query.get("filter") + "\0" + (near ?? ""),
      () => {
        const r = store.catalogService(name, tags);
        let v = r.value;
        if (meta !== undefined) v = v.filter((e) => Object.keys(meta).every((k) => e.node.meta[k] === meta[k]));
        v = applyFilter(v, f, (e) => renderServiceNode(e.node, e.service));
        return { index: r.index, value: sortNear(env, near, v, (e) => e.node.node) };
      },
      (cb) => store.watchService(name, cb),
      (list) => "[" + list.map((e) => renderServiceNode(e.node, e.service)).join(",") + "]",
      catalogOnly(store, near),
    ),
  );
}

export function catalogNode(ctx: RequestCtx, env: Env): Promise<Reply | undefined> {
  const name = pathName(ctx, "/v1/catalog/node/", "Missing node name");
  const f = itemFilter(ctx.query, FILTER_SCHEMAS.catalogNodeServices); // applies to the Services entries
  const store = env.backend.store;
  return serveQuery(
    ctx,
    env,
    listQuery(
      "catalog-node\0" + name + "\0" + ctx.query.get("filter"),
      () => {
        const r = store.catalogNodeByNameOrId(name);
        if (r.value === undefined || f === undefined) return r;
        return { index: r.index, value: { node: r.value.node, services: applyFilter(r.value.services, f, renderNodeService) } };
      },
      (cb) => store.watchNode(name, cb),
      (v) => {
        if (v === undefined) return "null";
        const svcs = [...v.services].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
        return (
          '{"Node":' + renderNode(v.node) +
          ',"Services":{' + svcs.map((s) => jsonString(s.id) + ":" + renderNodeService(s)).join(",") + "}}"
        );
      },
      catalogOnly(store, undefined),
    ),
  );
}

export async function catalogNodeServices(ctx: RequestCtx, env: Env): Promise<Reply | undefined> {
  const name = pathName(ctx, "/v1/catalog/node-services/", "Missing node name");
  const f = itemFilter(ctx.query, FILTER_SCHEMAS.catalogNodeServices);
  const store = env.backend.store;
  const reply = await serveQuery(
    ctx,
    env,
    listQuery(
      "catalog-node-services\0" + name + "\0" + ctx.query.get("filter"),
      () => {
        const r = store.catalogNodeByNameOrId(name);
        if (r.value === undefined || f === undefined) return r;
        return { index: r.index, value: { node: r.value.node, services: applyFilter(r.value.services, f, renderNodeService) } };
      },
      (cb) => store.watchNode(name, cb),
      (v) => {
        if (v === undefined) return "";
        return '{"Node":' + renderNode(v.node) + ',"Services":[' + v.services.map(renderNodeService).join(",") + "]}";
      },
      catalogOnly(store, undefined),
    ),
  );
  if (reply !== undefined && reply.body.kind === "json" && reply.body.r.size === 0) {
    return textReply(404, `Node not found: ${JSON.stringify(name)}`, { ...reply.headers });
  }
  return reply;
}
