/**
 * catalog_ops: Consul's catalog writes (agent/consul/state/catalog.go) over a WriteTx.
 *
 * ensureRegistration (node only when ChangesNode, then service, then checks),
 * ensureNode (node ID / name conflicts, renames), ensureService, ensureCheck,
 * deleteNode/Service/Check and their CAS forms, with Consul's index rules:
 * tables "nodes", "services", "checks"; named "service.<name>" (bumped by any
 * change to an instance, its node or its checks), "node.<name>" (node and its
 * services) and the extinction indexes. Failures come back as Consul's error
 * texts; the caller rolls the write back.
 *
 * Must never: read clocks or randomness, or leave a half-applied change when it
 * returns an error inside a journaled write (callers journal every catalog write).
 */

import {
  isNilMap,
  type CheckInput,
  type CheckRow,
  type NodeInput,
  type NodeRow,
  type RegisterInput,
  type ServiceInput,
  type ServiceRow,
} from "./catalog_types.ts";
import type { WriteTx } from "./tables.ts";
import {
  checkKey,
  lower,
  NODE_EXTINCTION,
  nodeIndexName,
  nodeKey,
  SERVICE_EXTINCTION,
  serviceIndexName,
  serviceKey,
} from "./catalog_tables.ts";
import { goQuote } from "./gofmt.ts";

/** Consul's structs.SerfCheckID. */
export const SERF_CHECK_ID = "serfHealth";

export const ERR_MISSING_NODE = "Missing node registration";
export const ERR_MISSING_SERVICE = "Missing service registration";

/** reflect.DeepEqual over rows: nil maps differ from empty ones, as in Go. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (isNilMap(a) || isNilMap(b)) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  const ob = b as Record<string, unknown>;
  const oa = a as Record<string, unknown>;
  for (const k of ka) if (!(k in ob) || !deepEqual(oa[k], ob[k])) return false;
  return true;
}

const equalFold = (a: string, b: string): boolean => a === b || lower(a) === lower(b);

function sameNode(a: NodeInput, b: NodeInput): boolean {
  return (
    a.id === b.id &&
    a.node === b.node &&
    a.address === b.address &&
    a.datacenter === b.datacenter &&
    deepEqual(a.taggedAddresses, b.taggedAddresses) &&
    deepEqual(a.meta, b.meta)
  );
}

/** RegisterRequest.ChangesNode. */
function changesNode(req: RegisterInput, node: NodeRow): boolean {
  if (req.skipNodeUpdate) return false;
  const n = req.node;
  return (
    n.id !== node.id ||
    !equalFold(n.node, node.node) ||
    n.address !== node.address ||
    n.datacenter !== node.datacenter ||
    !deepEqual(n.taggedAddresses, node.taggedAddresses) ||
    !deepEqual(n.meta, node.meta)
  );
}

/** updateAllServiceIndexesOfNode: a node or node-level check change touches every service on it. */
function touchServicesOfNode(tx: WriteTx, node: string): void {
  for (const s of tx.tables.cat.servicesOfNode(node)) tx.setNamed(serviceIndexName(s.service));
}

/** ensureNoNodeWithSimilarNameTxn: "" when the name is free for this node. */
function similarNameError(tx: WriteTx, node: NodeInput, allowClashWithoutID: boolean): string {
  const cat = tx.tables.cat;
  const enode = cat.nodes.get(nodeKey(node.node));
  if (enode === undefined || enode.id === node.id) return "";
  const serf = cat.checks.get(checkKey(enode.node, SERF_CHECK_ID));
  const healthy = serf !== undefined && serf.status !== "critical";
  if (!(enode.id === "" && allowClashWithoutID) && healthy) {
    return `Node name ${node.node} is reserved by node ${enode.id} with name ${enode.node} (${enode.address})`;
  }
  return "";
}

/** ensureNodeTxn; returns "" or Consul's error text. */
export function ensureNode(tx: WriteTx, node: NodeInput): string {
  const cat = tx.tables.cat;
  let n: NodeRow | undefined;
  if (node.id !== "") {
    const existing = cat.nodeById(node.id);
    if (existing !== undefined) {
      n = existing;
      if (!equalFold(existing.node, node.node)) {
        const dup = similarNameError(tx, node, false);
        if (dup !== "") return `Error while renaming Node ID: ${goQuote(node.id)} (${node.address}): ${dup}`;
        deleteNode(tx, existing.node);
      }
    } else {
      const dup = similarNameError(tx, node, true);
      if (dup !== "") return `Error while renaming Node ID: ${goQuote(node.id)}: ${dup}`;
    }
  }
  n ??= cat.nodes.get(nodeKey(node.node));
  let createIndex = tx.index;
  if (n !== undefined) {
    createIndex = n.createIndex;
    if (sameNode(node, n) && cat.nodes.get(nodeKey(node.node)) === n) return "";
  }
  const row: NodeRow = {
    id: node.id,
    node: node.node,
    address: node.address,
    datacenter: node.datacenter,
    taggedAddresses: node.taggedAddresses,
    meta: node.meta,
    createIndex,
    modifyIndex: tx.index,
  };
  tx.putNode(row);
  tx.setIndex("nodes");
  tx.setNamed(nodeIndexName(row.node));
  touchServicesOfNode(tx, row.node);
  return "";
}

/** ensureNodeCASTxn: false when the index does not match. */
export function ensureNodeCas(tx: WriteTx, node: NodeInput, index: number): boolean | { err: string } {
  const existing = tx.tables.cat.nodes.get(nodeKey(node.node));
  if (index === 0 && existing !== undefined) return false;
  if (index !== 0 && existing === undefined) return false;
  if (existing !== undefined && index !== 0 && index !== existing.modifyIndex) return false;
  const err = ensureNode(tx, node);
  return err === "" ? true : { err };
}

/** deleteNodeTxn: the node, its services and checks. */
export function deleteNode(tx: WriteTx, name: string): void {
  const cat = tx.tables.cat;
  const key = nodeKey(name);
  const node = cat.nodes.get(key);
  if (node === undefined) return;
  const services = cat.servicesOfNode(name);
  for (const s of services) tx.setNamed(serviceIndexName(s.service));
  for (const s of services) deleteService(tx, name, s.id);
  for (const c of cat.checksOfNode(name)) deleteCheck(tx, name, c.checkId);
  tx.deleteNode(key);
  tx.setIndex("nodes");
  tx.deleteNamed(nodeIndexName(name));
  tx.setNamed(NODE_EXTINCTION);
}

export function deleteNodeCas(tx: WriteTx, name: string, index: number): boolean {
  const node = tx.tables.cat.nodes.get(nodeKey(name));
  if (node === undefined || node.modifyIndex !== index) return false;
  deleteNode(tx, name);
  return true;
}

// ---- services ------------------------------------------------------------------

const META_KEY = /^[a-zA-Z0-9_-]+$/;
const META_MAX_PAIRS = 64;
const META_KEY_MAX = 128;
const META_VALUE_MAX = 512;

/** structs.ValidateServiceMetadata for typical services (no consul- prefix allowed). */
function serviceMetaError(meta: Readonly<Record<string, string>>): string {
  const keys = Object.keys(meta);
  if (keys.length > META_MAX_PAIRS) {
    return `Node metadata cannot contain more than ${META_MAX_PAIRS} key/value pairs`;
  }
  for (const k of keys) {
    const v = meta[k] ?? "";
    let e = "";
    if (k === "") e = "Key cannot be blank";
    else if (!META_KEY.test(k)) e = `Key contains invalid characters`;
    else if (k.length > META_KEY_MAX) e = `Key is too long (limit: ${META_KEY_MAX} characters)`;
    else if (k.startsWith("consul-")) e = "Key prefix 'consul-' is reserved for internal use";
    else if (v.length > META_VALUE_MAX) e = `Value is too long (limit: ${META_VALUE_MAX} characters)`;
    if (e !== "") return `Couldn't load metadata pair ('${k}', '${v}'): ${e}`;
  }
  return "";
}

/** NodeService.ToServiceNode: weights default to {1, 1} unless valid ones were given. */
function toServiceRow(node: string, s: ServiceInput, createIndex: number, modifyIndex: number): ServiceRow {
  const w = s.weights !== null && s.weights.passing >= 1 && s.weights.warning >= 0 ? s.weights : { passing: 1, warning: 1 };
  return {
    node,
    kind: s.kind,
    id: s.id,
    service: s.service,
    tags: s.tags,
    address: s.address,
    taggedAddresses: s.taggedAddresses,
    meta: s.meta,
    port: s.port,
    socketPath: s.socketPath,
    weights: { passing: w.passing, warning: w.warning },
    enableTagOverride: s.enableTagOverride,
    proxy: s.proxy,
    connect: s.connect,
    locality: s.locality,
    createIndex,
    modifyIndex,
  };
}

function sameService(a: ServiceRow, b: ServiceRow): boolean {
  return deepEqual({ ...a, createIndex: 0, modifyIndex: 0 }, { ...b, createIndex: 0, modifyIndex: 0 });
}

/** ensureServiceTxn. */
export function ensureService(tx: WriteTx, node: string, svc: ServiceInput): string {
  const cat = tx.tables.cat;
  const key = serviceKey(node, svc.id);
  const existing = cat.services.get(key);
  const metaErr = serviceMetaError(svc.meta);
  if (metaErr !== "") return `Invalid Service Meta for node ${node} and serviceID ${svc.id}: ${metaErr}`;
  if (cat.nodes.get(nodeKey(node)) === undefined) return ERR_MISSING_NODE;
  if (existing !== undefined) {
    const same = toServiceRow(node, svc, existing.createIndex, existing.modifyIndex);
    if (sameService(same, existing)) return "";
  }
  const row = toServiceRow(node, svc, existing?.createIndex ?? tx.index, tx.index);
  tx.putService(row);
  tx.setIndex("services");
  tx.setNamed(serviceIndexName(row.service));
  tx.setIndex("nodes");
  tx.setNamed(nodeIndexName(node));
  return "";
}

/** ensureServiceCASTxn: "stale" when the index does not match. */
export function ensureServiceCas(tx: WriteTx, node: string, svc: ServiceInput, index: number): string {
  const existing = tx.tables.cat.services.get(serviceKey(node, svc.id));
  if (index === 0 && existing !== undefined) return "stale";
  if (index !== 0 && existing === undefined) return "stale";
  if (existing !== undefined && index !== 0 && index !== existing.modifyIndex) return "stale";
  return ensureService(tx, node, svc);
}

/** deleteServiceTxn: the instance and its checks. */
export function deleteService(tx: WriteTx, node: string, id: string): void {
  const cat = tx.tables.cat;
  const key = serviceKey(node, id);
  const svc = cat.services.get(key);
  if (svc === undefined) return;
  for (const c of cat.checksOfNode(node)) if (c.serviceId !== "" && lower(c.serviceId) === lower(id)) deleteCheck(tx, node, c.checkId);
  tx.setIndex("checks");
  tx.deleteService(key);
  tx.setIndex("services");
  tx.setIndex("nodes");
  tx.setNamed(nodeIndexName(node));
  if (cat.instancesOf(svc.service).length > 0) {
    tx.setNamed(serviceIndexName(svc.service));
  } else {
    tx.deleteNamed(serviceIndexName(svc.service));
    tx.setNamed(SERVICE_EXTINCTION);
  }
}

export function deleteServiceCas(tx: WriteTx, node: string, id: string, index: number): boolean {
  const svc = tx.tables.cat.services.get(serviceKey(node, id));
  if (svc === undefined || svc.modifyIndex !== index) return false;
  deleteService(tx, node, id);
  return true;
}

// ---- checks --------------------------------------------------------------------

function sameCheck(a: CheckRow, b: CheckRow): boolean {
  return deepEqual({ ...a, createIndex: 0, modifyIndex: 0 }, { ...b, createIndex: 0, modifyIndex: 0 });
}

/** ensureCheckTxn. */
export function ensureCheck(tx: WriteTx, hc: CheckInput): string {
  const cat = tx.tables.cat;
  const existing = cat.checks.get(checkKey(hc.node, hc.checkId));
  const createIndex = existing?.createIndex ?? tx.index;
  if (cat.nodes.get(nodeKey(hc.node)) === undefined) return ERR_MISSING_NODE;
  let row: CheckRow = {
    ...hc,
    status: hc.status === "" ? "critical" : hc.status,
    createIndex,
    modifyIndex: existing?.modifyIndex ?? 0,
  };
  if (hc.serviceId !== "") {
    const svc = cat.services.get(serviceKey(hc.node, hc.serviceId));
    if (svc === undefined) return ERR_MISSING_SERVICE;
    row = { ...row, serviceName: svc.service, serviceTags: svc.tags };
    if (existing !== undefined && sameCheck(existing, row)) return "";
    tx.setNamed(serviceIndexName(svc.service));
  } else {
    if (existing !== undefined && sameCheck(existing, row)) return "";
    touchServicesOfNode(tx, hc.node);
  }
  tx.putCheck({ ...row, modifyIndex: tx.index });
  tx.setIndex("checks");
  return "";
}

/** ensureCheckCASTxn: false when the index does not match. */
export function ensureCheckCas(tx: WriteTx, hc: CheckInput, index: number): boolean | { err: string } {
  const existing = tx.tables.cat.checks.get(checkKey(hc.node, hc.checkId));
  if (index === 0 && existing !== undefined) return false;
  if (index !== 0 && existing === undefined) return false;
  if (existing !== undefined && index !== 0 && index !== existing.modifyIndex) return false;
  const err = ensureCheck(tx, hc);
  return err === "" ? true : { err };
}

/** deleteCheckTxn. */
export function deleteCheck(tx: WriteTx, node: string, id: string): void {
  const cat = tx.tables.cat;
  const key = checkKey(node, id);
  const hc = cat.checks.get(key);
  if (hc === undefined) return;
  if (hc.serviceId !== "") {
    tx.setNamed(serviceIndexName(hc.serviceName));
  } else {
    touchServicesOfNode(tx, hc.node);
    tx.setIndex("services");
  }
  tx.deleteCheck(key, hc.node);
  tx.setIndex("checks");
}

export function deleteCheckCas(tx: WriteTx, node: string, id: string, index: number): boolean {
  const hc = tx.tables.cat.checks.get(checkKey(node, id));
  if (hc === undefined || hc.modifyIndex !== index) return false;
  deleteCheck(tx, node, id);
  return true;
}

// ---- registration ----------------------------------------------------------------

/** ensureRegistrationTxn; returns "" or Consul's error text (the caller rolls back). */
export function ensureRegistration(tx: WriteTx, req: RegisterInput): string {
  const existing = tx.tables.cat.nodes.get(nodeKey(req.node.node));
  if (existing === undefined || changesNode(req, existing)) {
    const err = ensureNode(tx, req.node);
    if (err !== "") return `failed inserting node: ${err}`;
  }
  if (req.service !== null) {
    const err = ensureService(tx, req.node.node, req.service);
    if (err !== "") return `failed inserting service: ${err}`;
  }
  for (const c of req.checks) {
    if (!equalFold(c.node, req.node.node)) return `check node ${goQuote(c.node)} does not match node ${goQuote(req.node.node)}`;
    const err = ensureCheck(tx, c);
    if (err !== "") return `failed inserting check on node ${goQuote(c.node)}: ${err}`;
  }
  return "";
}

/** Consul's FSM applyDeregister: the service if given, else the check if given, else the node. */
export function deregister(tx: WriteTx, node: string, serviceId: string, checkId: string): void {
  if (serviceId !== "") deleteService(tx, node, serviceId);
  else if (checkId !== "") deleteCheck(tx, node, checkId);
  else deleteNode(tx, node);
}

