/**
 * http/json_catalog: catalog and health rows rendered as Consul's JSON (structs.Node,
 * ServiceNode, NodeService, HealthCheck, CheckServiceNode), in Go's field order with
 * Go's omitempty rules, nil maps as null, nil tag lists as [] (as the catalog and
 * health endpoints do), durations as Go duration strings.
 *
 * Must never: do I/O, or render through JSON.stringify where Go's escaping differs.
 */

import { isNilMap, type CheckDefinition, type CheckRow, type NodeRow, type ServiceHealth, type ServiceRow } from "../state/catalog_types.ts";
import { shownStatus } from "../state/catalog_read.ts";
import { goFloat, goStringLess, jsonString, renderStringMap, renderStrings } from "./json.ts";

/** Go's time.Duration.String() for a count of nanoseconds. */
export function goDuration(ns: number): string {
  if (ns === 0) return "0s";
  const neg = ns < 0;
  let u = Math.abs(Math.round(ns));
  const sign = neg ? "-" : "";
  const frac = (v: number, digits: number): string => {
    // v has `digits` fractional decimal digits; drop trailing zeros.
    const p = 10 ** digits;
    const whole = Math.floor(v / p);
    let f = String(v % p).padStart(digits, "0").replace(/0+$/, "");
    if (f !== "") f = "." + f;
    return String(whole) + f;
  };
  if (u < 1e3) return `${sign}${u}ns`;
  if (u < 1e6) return `${sign}${frac(u, 3)}µs`;
  if (u < 1e9) return `${sign}${frac(u, 6)}ms`;
  const h = Math.floor(u / 3600e9);
  u -= h * 3600e9;
  const m = Math.floor(u / 60e9);
  u -= m * 60e9;
  const s = frac(u, 9) + "s";
  if (h > 0) return `${sign}${h}h${m}m${s}`;
  if (m > 0) return `${sign}${m}m${s}`;
  return sign + s;
}

function map(m: Readonly<Record<string, string>>): string {
  return isNilMap(m) ? "null" : renderStringMap(m);
}

/** Any JSON-shaped value kept as-is (Proxy, Connect, Locality), keys in insertion order. */
export function renderValue(v: unknown): string {
  if (v === null || v === undefined) return "null";
  if (typeof v === "string") return jsonString(v);
  if (typeof v === "number") return goFloat(v);
  if (typeof v === "boolean") return v ? "true" : "false";
  if (typeof v === "bigint") return v.toString();
  if (Array.isArray(v)) return "[" + v.map(renderValue).join(",") + "]";
  if (typeof v === "object") {
    const parts: string[] = [];
    for (const [k, x] of Object.entries(v)) parts.push(jsonString(k) + ":" + renderValue(x));
    return "{" + parts.join(",") + "}";
  }
  return "null";
}

/** structs.Node. */
export function renderNode(n: NodeRow): string {
  return (
    '{"ID":' + jsonString(n.id) +
    ',"Node":' + jsonString(n.node) +
    ',"Address":' + jsonString(n.address) +
    ',"Datacenter":' + jsonString(n.datacenter) +
    ',"TaggedAddresses":' + map(n.taggedAddresses) +
    ',"Meta":' + map(n.meta) +
    ',"CreateIndex":' + n.createIndex +
    ',"ModifyIndex":' + n.modifyIndex + "}"
  );
}

function taggedAddresses(s: ServiceRow): string {
  const keys = Object.keys(s.taggedAddresses).sort(goStringLess);
  return (
    "{" +
    keys
      .map((k) => {
        const a = s.taggedAddresses[k]!;
        return jsonString(k) + ':{"Address":' + jsonString(a.address) + ',"Port":' + a.port + "}";
      })
      .join(",") +
    "}"
  );
}

const ZERO_PROXY = '{"Mode":"","MeshGateway":{},"Expose":{}}';

function proxy(s: ServiceRow): string {
  return s.proxy === null ? ZERO_PROXY : renderValue(s.proxy);
}
function connect(s: ServiceRow): string {
  return s.connect === null ? "{}" : renderValue(s.connect);
}
function weights(s: ServiceRow): string {
  return '{"Passing":' + s.weights.passing + ',"Warning":' + s.weights.warning + "}";
}

/** structs.ServiceNode (GET /v1/catalog/service/<s>). */
export function renderServiceNode(n: NodeRow, s: ServiceRow): string {
  return (
    '{"ID":' + jsonString(n.id) +
    ',"Node":' + jsonString(s.node) +
    ',"Address":' + jsonString(n.address) +
    ',"Datacenter":' + jsonString(n.datacenter) +
    ',"TaggedAddresses":' + map(n.taggedAddresses) +
    ',"NodeMeta":' + map(n.meta) +
    ',"ServiceKind":' + jsonString(s.kind) +
    ',"ServiceID":' + jsonString(s.id) +
    ',"ServiceName":' + jsonString(s.service) +
    ',"ServiceTags":' + renderStrings(s.tags) +
    ',"ServiceAddress":' + jsonString(s.address) +
    (Object.keys(s.taggedAddresses).length > 0 ? ',"ServiceTaggedAddresses":' + taggedAddresses(s) : "") +
    ',"ServiceWeights":' + weights(s) +
    ',"ServiceMeta":' + map(s.meta) +
    ',"ServicePort":' + s.port +
    (s.socketPath !== "" ? ',"ServiceSocketPath":' + jsonString(s.socketPath) : "") +
    ',"ServiceEnableTagOverride":' + (s.enableTagOverride ? "true" : "false") +
    ',"ServiceProxy":' + proxy(s) +
    ',"ServiceConnect":' + connect(s) +
    (s.locality !== null ? ',"ServiceLocality":' + renderValue(s.locality) : "") +
    ',"CreateIndex":' + s.createIndex +
    ',"ModifyIndex":' + s.modifyIndex + "}"
  );
}

/** structs.NodeService (catalog node services, health service entries, txn results). */
export function renderNodeService(s: ServiceRow): string {
  return (
    "{" +
    (s.kind !== "" ? '"Kind":' + jsonString(s.kind) + "," : "") +
    '"ID":' + jsonString(s.id) +
    ',"Service":' + jsonString(s.service) +
    ',"Tags":' + renderStrings(s.tags) +
    ',"Address":' + jsonString(s.address) +
    (Object.keys(s.taggedAddresses).length > 0 ? ',"TaggedAddresses":' + taggedAddresses(s) : "") +
    ',"Meta":' + map(s.meta) +
    (s.port !== 0 ? ',"Port":' + s.port : "") +
    (s.socketPath !== "" ? ',"SocketPath":' + jsonString(s.socketPath) : "") +
    ',"Weights":' + weights(s) +
    ',"EnableTagOverride":' + (s.enableTagOverride ? "true" : "false") +
    ',"Proxy":' + proxy(s) +
    ',"Connect":' + connect(s) +
    (s.locality !== null ? ',"Locality":' + renderValue(s.locality) : "") +
    ',"CreateIndex":' + s.createIndex +
    ',"ModifyIndex":' + s.modifyIndex + "}"
  );
}

/** structs.HealthCheckDefinition with its MarshalJSON (omitempty, durations as strings). */
function renderDefinition(d: CheckDefinition): string {
  const parts: string[] = [];
  const s = (k: string, v: string): void => {
    if (v !== "") parts.push(`"${k}":` + jsonString(v));
  };
  const b = (k: string, v: boolean): void => {
    if (v) parts.push(`"${k}":true`);
  };
  const dur = (k: string, ns: number): void => {
    if (ns !== 0) parts.push(`"${k}":` + jsonString(goDuration(ns)));
  };
  s("HTTP", d.http);
  s("TLSServerName", d.tlsServerName);
  b("TLSSkipVerify", d.tlsSkipVerify);
  if (!isNilMap(d.header) && Object.keys(d.header).length > 0) {
    const keys = Object.keys(d.header).sort(goStringLess);
    parts.push('"Header":{' + keys.map((k) => jsonString(k) + ":" + renderStrings(d.header[k] ?? [])).join(",") + "}");
  }
  s("Method", d.method);
  s("Body", d.body);
  s("TCP", d.tcp);
  s("UDP", d.udp);
  dur("Interval", d.intervalNs);
  dur("Timeout", d.timeoutNs);
  dur("DeregisterCriticalServiceAfter", d.deregisterCriticalServiceAfterNs);
  s("GRPC", d.grpc);
  b("GRPCUseTLS", d.grpcUseTls);
  return "{" + parts.join(",") + "}";
}

/** structs.HealthCheck; maintenance is shown as critical. */
export function renderCheck(c: CheckRow): string {
  return (
    '{"Node":' + jsonString(c.node) +
    ',"CheckID":' + jsonString(c.checkId) +
    ',"Name":' + jsonString(c.name) +
    ',"Status":' + jsonString(shownStatus(c.status)) +
    ',"Notes":' + jsonString(c.notes) +
    ',"Output":' + jsonString(c.output) +
    ',"ServiceID":' + jsonString(c.serviceId) +
    ',"ServiceName":' + jsonString(c.serviceName) +
    ',"ServiceTags":' + renderStrings(c.serviceTags) +
    ',"Type":' + jsonString(c.type) +
    ',"Interval":' + jsonString(c.intervalNs !== 0 ? goDuration(c.intervalNs) : "") +
    ',"Timeout":' + jsonString(c.timeoutNs !== 0 ? goDuration(c.timeoutNs) : "") +
    ',"ExposedPort":' + c.exposedPort +
    ',"Definition":' + renderDefinition(c.definition) +
    ',"CreateIndex":' + c.createIndex +
    ',"ModifyIndex":' + c.modifyIndex + "}"
  );
}

export function renderChecks(cs: readonly CheckRow[]): string {
  return "[" + cs.map(renderCheck).join(",") + "]";
}

/** structs.CheckServiceNode (GET /v1/health/service/<s>). */
export function renderServiceHealth(e: ServiceHealth): string {
  return '{"Node":' + renderNode(e.node) + ',"Service":' + renderNodeService(e.service) + ',"Checks":' + renderChecks(e.checks) + "}";
}
