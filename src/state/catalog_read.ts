/**
 * catalog_read: the catalog's reads with Consul's index choices, and the
 * health helpers others share (status aggregation, `passing` filtering).
 *
 * Index rules (agent/consul/state/catalog.go): nodes list -> "nodes" table;
 * one node -> "node.<name>" (missing: node extinction index); services list ->
 * "services" (with node-meta: max of services and nodes); one service's
 * instances -> maxIndexForService (the service's own index, the service
 * extinction index when it has no instances, else the catalog max); health
 * of a service -> the same with checks; node, service-name and state check
 * lists -> "checks". Callers turn 0 into 1.
 *
 * Must never: mutate tables or return internal arrays callers could change.
 */

import type { CheckRow, HealthStatus, NodeRow, ServiceHealth, ServiceRow } from "./catalog_types.ts";
import type { Tables } from "./tables.ts";
import { lower, NODE_EXTINCTION, nodeIndexName, nodeKey, SERVICE_EXTINCTION, serviceIndexName } from "./catalog_tables.ts";

type Meta = Readonly<Record<string, string>>;

/** structs.SatisfiesMetaFilters. */
export function satisfiesMeta(meta: Meta, filters: Meta | undefined): boolean {
  if (filters === undefined) return true;
  for (const k of Object.keys(filters)) if (meta[k] !== filters[k]) return false;
  return true;
}

const hasFilters = (f: Meta | undefined): f is Meta => f !== undefined && Object.keys(f).length > 0;

/** maxIndexForService. */
export function maxIndexForService(t: Tables, name: string, exists: boolean, checks: boolean): number {
  const named = t.cat.named;
  if (!exists) {
    const ext = named.get(SERVICE_EXTINCTION);
    if (ext !== undefined) return ext;
  }
  const own = named.get(serviceIndexName(name));
  if (own !== undefined) return own;
  const m = Math.max(t.index("nodes"), t.index("services"));
  return checks ? Math.max(m, t.index("checks")) : m;
}

export function readNodes(t: Tables, nodeMeta?: Meta): { index: number; value: NodeRow[] } {
  const out: NodeRow[] = [];
  const f = hasFilters(nodeMeta) ? nodeMeta : undefined;
  t.cat.nodes.forEach((_k, n) => {
    if (satisfiesMeta(n.meta, f)) out.push(n);
  });
  return { index: t.index("nodes"), value: out };
}

/** A node by name, else by (a unique prefix of) its ID, as Consul's nodeServices lookup. */
export function findNode(t: Tables, nameOrId: string): NodeRow | undefined {
  const byName = t.cat.nodes.get(nodeKey(nameOrId));
  if (byName !== undefined) return byName;
  if (nameOrId.length < 2) return undefined;
  const exact = t.cat.nodeById(nameOrId);
  if (exact !== undefined) return exact;
  // resizeNodeLookupKey: an odd-length prefix loses its last character.
  const prefix = lower(nameOrId.length % 2 !== 0 ? nameOrId.slice(0, -1) : nameOrId);
  let found: string | undefined;
  for (const [id, key] of t.cat.nodeIds) {
    if (!id.replace(/-/g, "").startsWith(prefix.replace(/-/g, ""))) continue;
    if (found !== undefined) return undefined; // ambiguous
    found = key;
  }
  return found === undefined ? undefined : t.cat.nodes.get(found);
}

export function readNode(t: Tables, name: string, byIdToo: boolean): { index: number; value: { node: NodeRow; services: ServiceRow[] } | undefined } {
  const node = byIdToo ? findNode(t, name) : t.cat.nodes.get(nodeKey(name));
  if (node === undefined) return { index: t.cat.named0(NODE_EXTINCTION), value: undefined };
  return { index: t.cat.named0(nodeIndexName(node.node)), value: { node, services: t.cat.servicesOfNode(node.node) } };
}

export function readServices(t: Tables, nodeMeta?: Meta): { index: number; value: Map<string, string[]> } {
  const tags = new Map<string, Set<string>>();
  const add = (s: ServiceRow): void => {
    let set = tags.get(s.service);
    if (set === undefined) tags.set(s.service, (set = new Set()));
    for (const tag of s.tags) set.add(tag);
  };
  let index = t.index("services");
  if (hasFilters(nodeMeta)) {
    index = Math.max(index, t.index("nodes"));
    t.cat.nodes.forEach((_k, n) => {
      if (satisfiesMeta(n.meta, nodeMeta)) for (const s of t.cat.servicesOfNode(n.node)) add(s);
    });
  } else {
    t.cat.services.forEach((_k, s) => add(s));
  }
  const value = new Map<string, string[]>();
  for (const [name, set] of tags) value.set(name, [...set].sort());
  return { index, value };
}

function nodeOf(t: Tables, s: ServiceRow): NodeRow {
  const n = t.cat.nodes.get(nodeKey(s.node));
  if (n === undefined) throw new Error(`assertion failed: service ${s.id} on missing node ${s.node}`);
  return n;
}

/** serviceTagsFilter: every wanted tag present (case-insensitive). */
export function hasTags(s: ServiceRow, tags: readonly string[] | undefined): boolean {
  if (tags === undefined) return true;
  for (const want of tags) {
    const w = lower(want);
    if (!s.tags.some((t) => lower(t) === w)) return false;
  }
  return true;
}

export function readServiceNodes(
  t: Tables,
  name: string,
  tags?: readonly string[],
): { index: number; value: Array<{ node: NodeRow; service: ServiceRow }> } {
  const all = t.cat.instancesOf(name);
  const value = all.filter((s) => hasTags(s, tags)).map((s) => ({ node: nodeOf(t, s), service: s }));
  return { index: maxIndexForService(t, name, all.length > 0, false), value };
}

export function readServiceHealth(t: Tables, name: string, tags?: readonly string[]): { index: number; value: ServiceHealth[] } {
  const all = t.cat.instancesOf(name);
  const value: ServiceHealth[] = [];
  for (const s of all) {
    if (!hasTags(s, tags)) continue;
    const checks = t.cat.checksOfInstance(s.node, "");
    for (const c of t.cat.checksOfInstance(s.node, s.id)) checks.push(c);
    value.push({ node: nodeOf(t, s), service: s, checks });
  }
  return { index: maxIndexForService(t, name, all.length > 0, true), value };
}

function nodeMetaOk(t: Tables, c: CheckRow, f: Meta | undefined): boolean {
  if (f === undefined) return true;
  const n = t.cat.nodes.get(nodeKey(c.node));
  return n !== undefined && satisfiesMeta(n.meta, f);
}

export function readNodeChecks(t: Tables, node: string): { index: number; value: CheckRow[] } {
  return { index: t.index("checks"), value: t.cat.checksOfNode(node) };
}

export function readServiceChecks(t: Tables, name: string, nodeMeta?: Meta): { index: number; value: CheckRow[] } {
  const f = hasFilters(nodeMeta) ? nodeMeta : undefined;
  const value = t.cat.checksOfServiceName(name).filter((c) => nodeMetaOk(t, c, f));
  const index = f === undefined ? t.index("checks") : maxIndexForService(t, name, true, true);
  return { index, value };
}

export function readChecksInState(t: Tables, state: HealthStatus | "any", nodeMeta?: Meta): { index: number; value: CheckRow[] } {
  const f = hasFilters(nodeMeta) ? nodeMeta : undefined;
  const value: CheckRow[] = [];
  t.cat.checks.forEach((_k, c) => {
    // Maintenance is shown (and found) as critical.
    if (state !== "any" && c.status !== state && shownStatus(c.status) !== state) return;
    if (nodeMetaOk(t, c, f)) value.push(c);
  });
  return { index: t.index("checks"), value };
}

// ---- health helpers --------------------------------------------------------------

/** How a status is shown: maintenance counts as critical. */
export function shownStatus(s: HealthStatus): "passing" | "warning" | "critical" {
  return s === "maintenance" ? "critical" : s;
}

/** The worst status among checks (passing when there are none). */
export function aggregateStatus(checks: readonly CheckRow[]): "passing" | "warning" | "critical" {
  let worst: "passing" | "warning" | "critical" = "passing";
  for (const c of checks) {
    const s = shownStatus(c.status);
    if (s === "critical") return "critical";
    if (s === "warning") worst = "warning";
  }
  return worst;
}

/**
 * The HTTP `?passing` filter (agent/health_endpoint.go filterNonPassing): drops an
 * entry when any of its checks is not passing. Like Consul it fills a dropped
 * slot with the last remaining entry, so the order of what stays can change.
 */
export function filterNonPassing(entries: readonly ServiceHealth[]): ServiceHealth[] {
  const out = entries.slice();
  let n = out.length;
  outer: for (let i = 0; i < n; i++) {
    const e = out[i]!;
    for (const c of e.checks) {
      if (c.status !== "passing") {
        out[i] = out[n - 1]!;
        n--;
        i--;
        continue outer;
      }
    }
  }
  out.length = n;
  return out;
}
