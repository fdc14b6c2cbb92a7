/**
 * catalog_codec: catalog rows and inputs <-> plain msgpack-able arrays, for the
 * command codec, apply results and snapshots.
 *
 * Go's nil maps (NIL_MAP) travel as null so the null/{} difference survives the
 * log and snapshots. Decoding validates every field and throws the caller's
 * CairnError through `bad`.
 *
 * Must never: return a row that shares mutable objects with the input.
 */

import {
  NIL_MAP,
  isNilMap,
  type CheckDefinition,
  type CheckInput,
  type CheckRow,
  type HealthStatus,
  type NodeInput,
  type NodeRow,
  type RegisterInput,
  type ServiceAddress,
  type ServiceInput,
  type ServiceRow,
} from "./catalog_types.ts";

type Bad = (msg: string) => Error;

const STATUSES: ReadonlySet<string> = new Set(["passing", "warning", "critical", "maintenance"]);

function mapOut(m: Readonly<Record<string, unknown>>): unknown {
  return isNilMap(m) ? null : m;
}
function isObj(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x) && !(x instanceof Uint8Array);
}
function strMap(x: unknown, what: string, bad: Bad): Readonly<Record<string, string>> {
  if (x === null) return NIL_MAP;
  if (!isObj(x)) throw bad(`${what} is not a map`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(x)) {
    if (typeof v !== "string") throw bad(`${what}.${k} is not a string`);
    out[k] = v;
  }
  return out;
}
function str(x: unknown, what: string, bad: Bad): string {
  if (typeof x !== "string") throw bad(`${what} is not a string`);
  return x;
}
function num(x: unknown, what: string, bad: Bad): number {
  if (typeof x === "bigint") return Number(x);
  if (typeof x !== "number" || !Number.isFinite(x)) throw bad(`${what} is not a number`);
  return x;
}
function bool(x: unknown, what: string, bad: Bad): boolean {
  if (typeof x !== "boolean") throw bad(`${what} is not a boolean`);
  return x;
}
function strs(x: unknown, what: string, bad: Bad): string[] {
  if (!Array.isArray(x)) throw bad(`${what} is not an array`);
  return x.map((v, i) => str(v, `${what}[${i}]`, bad));
}
function arr(x: unknown, n: number, what: string, bad: Bad): unknown[] {
  if (!Array.isArray(x) || x.length !== n) throw bad(`${what} is not a ${n}-field array`);
  return x;
}
function objOrNull(x: unknown, what: string, bad: Bad): Readonly<Record<string, unknown>> | null {
  if (x === null) return null;
  if (!isObj(x)) throw bad(`${what} is not a map`);
  return x;
}
function status(x: unknown, bad: Bad, allowEmpty: boolean): HealthStatus | "" {
  const s = str(x, "check status", bad);
  if (s === "" && allowEmpty) return "";
  if (!STATUSES.has(s)) throw bad(`unknown check status ${JSON.stringify(s)}`);
  return s as HealthStatus;
}

// ---- nodes -------------------------------------------------------------------

export function nodeInputOut(n: NodeInput): unknown[] {
  return [n.id, n.node, n.address, n.datacenter, mapOut(n.taggedAddresses), mapOut(n.meta)];
}
export function nodeInputIn(x: unknown, bad: Bad): NodeInput {
  const a = arr(x, 6, "node", bad);
  return {
    id: str(a[0], "node id", bad),
    node: str(a[1], "node name", bad),
    address: str(a[2], "node address", bad),
    datacenter: str(a[3], "node datacenter", bad),
    taggedAddresses: strMap(a[4], "node tagged addresses", bad),
    meta: strMap(a[5], "node meta", bad),
  };
}
export function nodeRowOut(n: NodeRow): unknown[] {
  return [...nodeInputOut(n), n.createIndex, n.modifyIndex];
}
export function nodeRowIn(x: unknown, bad: Bad): NodeRow {
  const a = arr(x, 8, "node row", bad);
  return { ...nodeInputIn(a.slice(0, 6), bad), createIndex: num(a[6], "createIndex", bad), modifyIndex: num(a[7], "modifyIndex", bad) };
}

// ---- services ------------------------------------------------------------------

function taggedOut(m: Readonly<Record<string, ServiceAddress>>): unknown {
  if (isNilMap(m)) return null;
  const out: Record<string, unknown[]> = {};
  for (const [k, v] of Object.entries(m)) out[k] = [v.address, v.port];
  return out;
}
function taggedIn(x: unknown, bad: Bad): Readonly<Record<string, ServiceAddress>> {
  if (x === null) return NIL_MAP;
  if (!isObj(x)) throw bad("service tagged addresses is not a map");
  const out: Record<string, ServiceAddress> = {};
  for (const [k, v] of Object.entries(x)) {
    const a = arr(v, 2, "service tagged address", bad);
    out[k] = { address: str(a[0], "tagged address", bad), port: num(a[1], "tagged port", bad) };
  }
  return out;
}

export function serviceInputOut(s: ServiceInput): unknown[] {
  return [
    s.kind, s.id, s.service, s.tags, s.address, taggedOut(s.taggedAddresses), mapOut(s.meta), s.port, s.socketPath,
    s.weights === null ? null : [s.weights.passing, s.weights.warning], s.enableTagOverride, s.proxy, s.connect, s.locality,
  ];
}
export function serviceInputIn(x: unknown, bad: Bad): ServiceInput {
  const a = arr(x, 14, "service", bad);
  let weights: ServiceInput["weights"] = null;
  if (a[9] !== null) {
    const w = arr(a[9], 2, "weights", bad);
    weights = { passing: num(w[0], "weights passing", bad), warning: num(w[1], "weights warning", bad) };
  }
  return {
    kind: str(a[0], "service kind", bad),
    id: str(a[1], "service id", bad),
    service: str(a[2], "service name", bad),
    tags: strs(a[3], "service tags", bad),
    address: str(a[4], "service address", bad),
    taggedAddresses: taggedIn(a[5], bad),
    meta: strMap(a[6], "service meta", bad),
    port: num(a[7], "service port", bad),
    socketPath: str(a[8], "service socket path", bad),
    weights,
    enableTagOverride: bool(a[10], "enable tag override", bad),
    proxy: objOrNull(a[11], "proxy", bad),
    connect: objOrNull(a[12], "connect", bad),
    locality: objOrNull(a[13], "locality", bad),
  };
}
export function serviceRowOut(s: ServiceRow): unknown[] {
  return [s.node, ...serviceInputOut(s), s.createIndex, s.modifyIndex];
}
export function serviceRowIn(x: unknown, bad: Bad): ServiceRow {
  const a = arr(x, 17, "service row", bad);
  const i = serviceInputIn(a.slice(1, 15), bad);
  return {
    ...i,
    node: str(a[0], "service node", bad),
    weights: i.weights ?? { passing: 1, warning: 1 },
    createIndex: num(a[15], "createIndex", bad),
    modifyIndex: num(a[16], "modifyIndex", bad),
  };
}

// ---- checks --------------------------------------------------------------------

function defOut(d: CheckDefinition): unknown[] {
  return [
    d.http, d.tlsServerName, d.tlsSkipVerify, mapOut(d.header), d.method, d.body, d.tcp, d.udp, d.grpc, d.grpcUseTls,
    d.intervalNs, d.timeoutNs, d.deregisterCriticalServiceAfterNs,
  ];
}
function defIn(x: unknown, bad: Bad): CheckDefinition {
  const a = arr(x, 13, "check definition", bad);
  let header: Readonly<Record<string, readonly string[]>> = NIL_MAP;
  if (a[3] !== null) {
    if (!isObj(a[3])) throw bad("header is not a map");
    const h: Record<string, string[]> = {};
    for (const [k, v] of Object.entries(a[3])) h[k] = strs(v, "header", bad);
    header = h;
  }
  return {
    http: str(a[0], "http", bad),
    tlsServerName: str(a[1], "tls server name", bad),
    tlsSkipVerify: bool(a[2], "tls skip verify", bad),
    header,
    method: str(a[4], "method", bad),
    body: str(a[5], "body", bad),
    tcp: str(a[6], "tcp", bad),
    udp: str(a[7], "udp", bad),
    grpc: str(a[8], "grpc", bad),
    grpcUseTls: bool(a[9], "grpc use tls", bad),
    intervalNs: num(a[10], "interval", bad),
    timeoutNs: num(a[11], "timeout", bad),
    deregisterCriticalServiceAfterNs: num(a[12], "deregister after", bad),
  };
}

export function checkInputOut(c: CheckInput): unknown[] {
  return [
    c.node, c.checkId, c.name, c.status, c.notes, c.output, c.serviceId, c.serviceName, c.serviceTags, c.type,
    c.intervalNs, c.timeoutNs, c.exposedPort, defOut(c.definition),
  ];
}
export function checkInputIn(x: unknown, bad: Bad, allowEmptyStatus = true): CheckInput {
  const a = arr(x, 14, "check", bad);
  return {
    node: str(a[0], "check node", bad),
    checkId: str(a[1], "check id", bad),
    name: str(a[2], "check name", bad),
    status: status(a[3], bad, allowEmptyStatus),
    notes: str(a[4], "notes", bad),
    output: str(a[5], "output", bad),
    serviceId: str(a[6], "service id", bad),
    serviceName: str(a[7], "service name", bad),
    serviceTags: strs(a[8], "service tags", bad),
    type: str(a[9], "type", bad),
    intervalNs: num(a[10], "interval", bad),
    timeoutNs: num(a[11], "timeout", bad),
    exposedPort: num(a[12], "exposed port", bad),
    definition: defIn(a[13], bad),
  };
}
export function checkRowOut(c: CheckRow): unknown[] {
  return [...checkInputOut(c), c.createIndex, c.modifyIndex];
}
export function checkRowIn(x: unknown, bad: Bad): CheckRow {
  const a = arr(x, 16, "check row", bad);
  const i = checkInputIn(a.slice(0, 14), bad, false);
  return {
    ...i,
    status: i.status === "" ? "critical" : i.status,
    createIndex: num(a[14], "createIndex", bad),
    modifyIndex: num(a[15], "modifyIndex", bad),
  };
}

// ---- registration --------------------------------------------------------------

export function registerOut(r: RegisterInput): unknown[] {
  return [nodeInputOut(r.node), r.skipNodeUpdate, r.service === null ? null : serviceInputOut(r.service), r.checks.map(checkInputOut)];
}
export function registerIn(x: unknown, bad: Bad): RegisterInput {
  const a = arr(x, 4, "register request", bad);
  if (!Array.isArray(a[3])) throw bad("checks is not an array");
  return {
    node: nodeInputIn(a[0], bad),
    skipNodeUpdate: bool(a[1], "skipNodeUpdate", bad),
    service: a[2] === null ? null : serviceInputIn(a[2], bad),
    checks: (a[3] as unknown[]).map((c) => checkInputIn(c, bad)),
  };
}
