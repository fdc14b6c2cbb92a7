/**
 * tests/dns/fake_catalog: a small in-memory CatalogReader for DNS tests and the bench,
 * with Consul's index rules (per-table and per-service indexes) and one-shot watches.
 *
 * Must never: be imported by src/ (test and bench helper only).
 */

import type {
  CatalogReader, CheckRow, HealthStatus, NodeRow, ServiceHealth, ServiceRow,
} from "../../src/state/catalog_types.ts";
import type { DnsConfig } from "../../src/agent/config/types.ts";
import { mulberry32 } from "../shared/prng.ts";

type Table = "nodes" | "services" | "checks";

export interface NodeInput {
  node: string;
  address: string;
  meta?: Record<string, string>;
  taggedAddresses?: Record<string, string>;
}

export interface ServiceInput {
  node: string;
  id?: string;
  service: string;
  address?: string;
  port?: number;
  tags?: string[];
  weights?: { passing: number; warning: number };
  taggedAddresses?: Record<string, { address: string; port: number }>;
}

const NO_DEF = {
  http: "", tlsServerName: "", tlsSkipVerify: false, header: {}, method: "", body: "", tcp: "", udp: "", grpc: "",
  grpcUseTls: false, intervalNs: 0, timeoutNs: 0, deregisterCriticalServiceAfterNs: 0,
};

export class FakeCatalog implements CatalogReader {
  index = 1;
  private nodes = new Map<string, NodeRow>();
  private services = new Map<string, ServiceRow>(); // key node/id
  private checks = new Map<string, CheckRow>(); // key node/checkId
  private tableIndex: Record<Table, number> = { nodes: 1, services: 1, checks: 1 };
  private serviceIndex = new Map<string, number>();
  private serviceWatch = new Map<string, Set<() => void>>();
  private nodeWatch = new Map<string, Set<() => void>>();
  private tableWatch = new Map<Table, Set<() => void>>();
  /** Counts catalog reads (cache tests check the cache avoids them). */
  reads = 0;

  private fire(set: Set<() => void> | undefined): void {
    if (set === undefined) return;
    const cbs = [...set];
    set.clear();
    for (const cb of cbs) cb();
  }

  private touchService(name: string): void {
    this.serviceIndex.set(name, this.index);
    this.fire(this.serviceWatch.get(name));
  }

  private touchNode(node: string): void {
    this.fire(this.nodeWatch.get(node));
    for (const s of this.services.values()) if (s.node === node) this.touchService(s.service);
  }

  /** Every mutation bumps the index first. */
  catalogGeneration(): number {
    return this.index;
  }

  private bump(...tables: Table[]): void {
    this.index++;
    for (const t of tables) this.tableIndex[t] = this.index;
  }

  private fireTables(...tables: Table[]): void {
    for (const t of tables) this.fire(this.tableWatch.get(t));
  }

  addNode(n: NodeInput): void {
    this.bump("nodes");
    const prev = this.nodes.get(n.node);
    this.nodes.set(n.node, {
      id: "", node: n.node, address: n.address, datacenter: "dc1", taggedAddresses: n.taggedAddresses ?? {},
      meta: n.meta ?? {}, createIndex: prev?.createIndex ?? this.index, modifyIndex: this.index,
    });
    this.touchNode(n.node);
    this.fireTables("nodes");
  }

  removeNode(node: string): void {
    this.bump("nodes", "services", "checks");
    const affected = [...this.services.values()].filter((s) => s.node === node);
    this.nodes.delete(node);
    for (const s of affected) this.services.delete(`${node}/${s.id}`);
    for (const [k, c] of this.checks) if (c.node === node) this.checks.delete(k);
    this.fire(this.nodeWatch.get(node));
    for (const s of affected) this.touchService(s.service);
    this.fireTables("nodes", "services", "checks");
  }

  addService(s: ServiceInput): void {
    if (!this.nodes.has(s.node)) throw new Error(`no node ${s.node}`);
    this.bump("services");
    const id = s.id ?? s.service;
    this.services.set(`${s.node}/${id}`, {
      node: s.node, kind: "", id, service: s.service, tags: s.tags ?? [], address: s.address ?? "",
      taggedAddresses: s.taggedAddresses ?? {}, meta: {}, port: s.port ?? 0, socketPath: "",
      weights: s.weights ?? { passing: 1, warning: 1 }, enableTagOverride: false, proxy: null, connect: null, locality: null,
      createIndex: this.index, modifyIndex: this.index,
    });
    this.touchService(s.service);
    this.fire(this.nodeWatch.get(s.node));
    this.fireTables("services");
  }

  removeService(node: string, id: string): void {
    const s = this.services.get(`${node}/${id}`);
    if (s === undefined) return;
    this.bump("services");
    this.services.delete(`${node}/${id}`);
    this.touchService(s.service);
    this.fire(this.nodeWatch.get(node));
    this.fireTables("services");
  }

  /** Set a check; serviceId "" makes it a node-level check. */
  setCheck(node: string, checkId: string, status: HealthStatus, serviceId = ""): void {
    this.bump("checks");
    const svc = serviceId === "" ? undefined : this.services.get(`${node}/${serviceId}`);
    this.checks.set(`${node}/${checkId}`, {
      node, checkId, name: checkId, status, notes: "", output: "", serviceId, serviceName: svc?.service ?? "",
      serviceTags: svc?.tags ?? [], type: "ttl", intervalNs: 0, timeoutNs: 0, exposedPort: 0, definition: NO_DEF,
      createIndex: this.index, modifyIndex: this.index,
    });
    if (svc !== undefined) this.touchService(svc.service);
    else this.touchNode(node);
    this.fireTables("checks");
  }

  catalogNodes(): { index: number; value: NodeRow[] } {
    this.reads++;
    return { index: this.tableIndex.nodes, value: [...this.nodes.values()].sort((a, b) => (a.node < b.node ? -1 : 1)) };
  }

  catalogNode(name: string): { index: number; value: { node: NodeRow; services: ServiceRow[] } | undefined } {
    this.reads++;
    const node = this.nodes.get(name);
    if (node === undefined) return { index: this.tableIndex.nodes, value: undefined };
    return { index: this.tableIndex.nodes, value: { node, services: [...this.services.values()].filter((s) => s.node === name) } };
  }

  catalogNodeByNameOrId(name: string): { index: number; value: { node: NodeRow; services: ServiceRow[] } | undefined } {
    return this.catalogNode(name); // DNS never looks a node up by ID
  }

  catalogServices(): { index: number; value: Map<string, string[]> } {
    this.reads++;
    const m = new Map<string, string[]>();
    for (const s of this.services.values()) {
      const tags = new Set(m.get(s.service) ?? []);
      for (const t of s.tags) tags.add(t);
      m.set(s.service, [...tags].sort());
    }
    return { index: this.tableIndex.services, value: new Map([...m].sort((a, b) => (a[0] < b[0] ? -1 : 1))) };
  }

  catalogService(name: string): { index: number; value: Array<{ node: NodeRow; service: ServiceRow }> } {
    this.reads++;
    const value = [...this.services.values()]
      .filter((s) => s.service === name)
      .sort((a, b) => (a.node === b.node ? (a.id < b.id ? -1 : 1) : a.node < b.node ? -1 : 1))
      .map((service) => ({ node: this.nodes.get(service.node)!, service }));
    return { index: this.serviceIndex.get(name) ?? this.tableIndex.services, value };
  }

  healthService(name: string): { index: number; value: ServiceHealth[] } {
    const { index, value } = this.catalogService(name);
    const checks = [...this.checks.values()];
    return {
      index,
      value: value.map(({ node, service }) => ({
        node, service,
        checks: checks
          .filter((c) => c.node === node.node && (c.serviceId === "" || c.serviceId === service.id))
          .sort((a, b) => (a.serviceId === b.serviceId ? (a.checkId < b.checkId ? -1 : 1) : a.serviceId === "" ? -1 : 1)),
      })),
    };
  }

  healthNode(node: string): { index: number; value: CheckRow[] } {
    return { index: this.tableIndex.checks, value: [...this.checks.values()].filter((c) => c.node === node) };
  }

  healthChecks(service: string): { index: number; value: CheckRow[] } {
    return { index: this.tableIndex.checks, value: [...this.checks.values()].filter((c) => c.serviceName === service) };
  }

  healthState(state: HealthStatus | "any"): { index: number; value: CheckRow[] } {
    return { index: this.tableIndex.checks, value: [...this.checks.values()].filter((c) => state === "any" || c.status === state) };
  }

  private watch<K>(m: Map<K, Set<() => void>>, k: K, cb: () => void): () => void {
    let set = m.get(k);
    if (set === undefined) m.set(k, (set = new Set()));
    const s = set;
    s.add(cb);
    return () => {
      s.delete(cb);
    };
  }

  watchService(name: string, cb: () => void): () => void {
    return this.watch(this.serviceWatch, name, cb);
  }

  watchTable(table: Table, cb: () => void): () => void {
    return this.watch(this.tableWatch, table, cb);
  }

  watchNode(name: string, cb: () => void): () => void {
    return this.watch(this.nodeWatch, name, cb);
  }

  /** Registered watch callbacks (leak checks). */
  watchCount(): number {
    let n = 0;
    for (const m of [this.serviceWatch, this.nodeWatch]) for (const s of m.values()) n += s.size;
    for (const s of this.tableWatch.values()) n += s.size;
    return n;
  }
}

/** Consul's dns_config defaults. */
export function dnsDefaults(over: Partial<DnsConfig> = {}): DnsConfig {
  return {
    allowStale: true, maxStaleMs: 87600 * 3600 * 1000, nodeTtlMs: 0, serviceTtlMs: {}, onlyPassing: false,
    enableTruncate: false, udpAnswerLimit: 3, aRecordLimit: 0, disableCompression: false, recursorTimeoutMs: 2000,
    recursorStrategy: "sequential", enableAdditionalNodeMetaTxt: true,
    soa: { refresh: 3600, retry: 600, expire: 86400, minTtl: 0 }, useCache: false, cacheMaxAgeMs: 0,
    ...over,
  };
}

export const seeded = mulberry32;

/** A catalog with `count` healthy instances of `service` on nodes n0..n(count-1), 10.0.x.y. */
export function populate(cat: FakeCatalog, service: string, count: number, port = 8080): void {
  for (let i = 0; i < count; i++) {
    const node = `${service}-n${i}`;
    cat.addNode({ node, address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` });
    cat.addService({ node, service, port, id: `${service}-${i}` });
    cat.setCheck(node, `serfHealth`, "passing");
  }
}
