/**
 * catalog_tables: the catalog's tables (nodes, services, checks), their
 * secondary indexes and Consul's named indexes ("service.<name>",
 * "node.<name>", the extinction indexes).
 *
 * Keys follow Consul's memdb schema: node names, service IDs, service names
 * and check IDs are indexed lower-cased, so lookups are case-insensitive and
 * iteration order is the order of the lower-cased keys. Every put/delete keeps
 * the secondary indexes (node IDs, services by name, checks by service name)
 * in step, so undoing a change is just putting the previous row back.
 *
 * Must never: change a row in place, or be written outside a WriteTx (which
 * journals and wakes watchers).
 */

import type { CheckRow, NodeRow, ServiceRow } from "./catalog_types.ts";
import { BTree } from "./btree.ts";

/** Separator inside compound keys; sorts before every other character, like memdb's null terminator. */
export const SEP = "\0";

export const lower = (s: string): string => s.toLowerCase();
export const nodeKey = (node: string): string => lower(node);
export const serviceKey = (node: string, id: string): string => lower(node) + SEP + lower(id);
export const checkKey = (node: string, id: string): string => lower(node) + SEP + lower(id);
const nodeServiceCheckKey = (c: CheckRow): string => lower(c.node) + SEP + lower(c.serviceId) + SEP + lower(c.checkId);

/** Named index of one service ("service.<name>"): its instances and their health. */
export const serviceIndexName = (name: string): string => "service." + lower(name);
/** Named index of one node ("node.<name>"): the node and its services. */
export const nodeIndexName = (name: string): string => "node." + lower(name);
export const SERVICE_EXTINCTION = "service_last_extinction";
export const NODE_EXTINCTION = "node_last_extinction";

export class CatalogTables {
  nodes = new BTree<NodeRow>();
  /** Lower-cased node ID -> node key. */
  nodeIds = new Map<string, string>();
  services = new BTree<ServiceRow>();
  /** lower(service name) + SEP + service key. */
  servicesByName = new BTree<ServiceRow>();
  checks = new BTree<CheckRow>();
  /** lower(service name) + SEP + check key, for checks with a service name. */
  checksByService = new BTree<CheckRow>();
  /** lower(node) + SEP + lower(service ID, "" for node checks) + SEP + lower(check ID). */
  checksByNodeService = new BTree<CheckRow>();
  /** Consul's named index entries. */
  named = new Map<string, number>();

  putNode(row: NodeRow): NodeRow | undefined {
    const key = nodeKey(row.node);
    const prev = this.nodes.set(key, row);
    if (prev !== undefined && prev.id !== "" && this.nodeIds.get(lower(prev.id)) === key) this.nodeIds.delete(lower(prev.id));
    if (row.id !== "") this.nodeIds.set(lower(row.id), key);
    return prev;
  }

  deleteNode(key: string): NodeRow | undefined {
    const prev = this.nodes.delete(key);
    if (prev !== undefined && prev.id !== "" && this.nodeIds.get(lower(prev.id)) === key) this.nodeIds.delete(lower(prev.id));
    return prev;
  }

  nodeById(id: string): NodeRow | undefined {
    const key = this.nodeIds.get(lower(id));
    return key === undefined ? undefined : this.nodes.get(key);
  }

  putService(row: ServiceRow): ServiceRow | undefined {
    const key = serviceKey(row.node, row.id);
    const prev = this.services.set(key, row);
    if (prev !== undefined) this.servicesByName.delete(lower(prev.service) + SEP + key);
    this.servicesByName.set(lower(row.service) + SEP + key, row);
    return prev;
  }

  deleteService(key: string): ServiceRow | undefined {
    const prev = this.services.delete(key);
    if (prev !== undefined) this.servicesByName.delete(lower(prev.service) + SEP + key);
    return prev;
  }

  putCheck(row: CheckRow): CheckRow | undefined {
    const key = checkKey(row.node, row.checkId);
    const prev = this.checks.set(key, row);
    if (prev !== undefined && prev.serviceName !== "") this.checksByService.delete(lower(prev.serviceName) + SEP + key);
    if (row.serviceName !== "") this.checksByService.set(lower(row.serviceName) + SEP + key, row);
    if (prev !== undefined) this.checksByNodeService.delete(nodeServiceCheckKey(prev));
    this.checksByNodeService.set(nodeServiceCheckKey(row), row);
    return prev;
  }

  deleteCheck(key: string): CheckRow | undefined {
    const prev = this.checks.delete(key);
    if (prev !== undefined && prev.serviceName !== "") this.checksByService.delete(lower(prev.serviceName) + SEP + key);
    if (prev !== undefined) this.checksByNodeService.delete(nodeServiceCheckKey(prev));
    return prev;
  }

  named0(name: string): number {
    return this.named.get(name) ?? 0;
  }

  /** Services of one node, in service-ID order. */
  servicesOfNode(node: string): ServiceRow[] {
    const out: ServiceRow[] = [];
    this.services.forEachPrefix(nodeKey(node) + SEP, (_k, r) => void out.push(r));
    return out;
  }

  /** Checks of one node, in check-ID order. */
  checksOfNode(node: string): CheckRow[] {
    const out: CheckRow[] = [];
    this.checks.forEachPrefix(nodeKey(node) + SEP, (_k, r) => void out.push(r));
    return out;
  }

  /**
   * Checks of one service instance (serviceId) or of the node itself (serviceId ""),
   * in check-ID order: O(log n + k), whatever else runs on the node.
   */
  checksOfInstance(node: string, serviceId: string): CheckRow[] {
    const out: CheckRow[] = [];
    this.checksByNodeService.forEachPrefix(nodeKey(node) + SEP + lower(serviceId) + SEP, (_k, r) => void out.push(r));
    return out;
  }

  /** Instances of a service name, in (node, service ID) order. */
  instancesOf(name: string): ServiceRow[] {
    const out: ServiceRow[] = [];
    this.servicesByName.forEachPrefix(lower(name) + SEP, (_k, r) => void out.push(r));
    return out;
  }

  /** Checks carrying a service name, in (node, check ID) order. */
  checksOfServiceName(name: string): CheckRow[] {
    const out: CheckRow[] = [];
    this.checksByService.forEachPrefix(lower(name) + SEP, (_k, r) => void out.push(r));
    return out;
  }
}
