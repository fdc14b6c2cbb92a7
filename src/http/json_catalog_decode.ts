/**
 * http/json_catalog_decode: request bodies of the catalog (RegisterRequest,
 * DeregisterRequest) and of txn Node/Service/Check ops, decoded like Go's
 * encoding/json into Consul's structs: keys match case-insensitively, absent or
 * null fields are zero values, absent maps stay nil (NIL_MAP), wrong types fail
 * with Go's "json: cannot unmarshal ..." text, and check durations accept Go
 * duration strings or nanoseconds (Consul's DurationFixer).
 *
 * Must never: accept a value of the wrong type silently, or recurse without bound
 * (depth is bounded by the JSON parser).
 */

import {
  NIL_MAP,
  type CheckDefinition,
  type CheckInput,
  type HealthStatus,
  type NodeInput,
  type ServiceAddress,
  type ServiceInput,
} from "../state/catalog_types.ts";
import { field, jsonKind, type JsonValue } from "./jsonparse.ts";
import { parseGoDuration } from "./query.ts";

/** A body that does not fit the Go struct; the message is Go's. */
export class BodyDecodeError extends Error {}

type Obj = [string, JsonValue][];

function typeErr(v: JsonValue, path: string, goType: string): BodyDecodeError {
  const what = v.t === "num" ? `number ${v.src}` : jsonKind(v);
  return new BodyDecodeError(`json: cannot unmarshal ${what} into Go struct field ${path} of type ${goType}`);
}

export function asObj(v: JsonValue | undefined, path: string, goType: string): Obj | undefined {
  if (v === undefined || v.t === "null") return undefined;
  if (v.t !== "obj") throw typeErr(v, path, goType);
  return v.v;
}

export function str(o: Obj | undefined, name: string, path: string): string {
  const v = o === undefined ? undefined : field(o, name);
  if (v === undefined || v.t === "null") return "";
  if (v.t !== "str") throw typeErr(v, `${path}.${name}`, "string");
  return v.v;
}

function bool(o: Obj | undefined, name: string, path: string): boolean {
  const v = o === undefined ? undefined : field(o, name);
  if (v === undefined || v.t === "null") return false;
  if (v.t !== "bool") throw typeErr(v, `${path}.${name}`, "bool");
  return v.v;
}

export function int(o: Obj | undefined, name: string, path: string, goType = "int"): number {
  const v = o === undefined ? undefined : field(o, name);
  if (v === undefined || v.t === "null") return 0;
  if (v.t !== "num" || !/^-?[0-9]+$/.test(v.src)) throw typeErr(v, `${path}.${name}`, goType);
  const n = Number(v.src);
  if (!Number.isSafeInteger(n) || (goType.startsWith("uint") && n < 0)) throw typeErr(v, `${path}.${name}`, goType);
  return n;
}

function strList(o: Obj | undefined, name: string, path: string): string[] {
  const v = o === undefined ? undefined : field(o, name);
  if (v === undefined || v.t === "null") return [];
  if (v.t !== "arr") throw typeErr(v, `${path}.${name}`, "[]string");
  return v.v.map((x) => {
    if (x.t !== "str") throw typeErr(x, `${path}.${name}`, "string");
    return x.v;
  });
}

function strMap(o: Obj | undefined, name: string, path: string): Readonly<Record<string, string>> {
  const m = asObj(o === undefined ? undefined : field(o, name), `${path}.${name}`, "map[string]string");
  if (m === undefined) return NIL_MAP;
  const out: Record<string, string> = {};
  for (const [k, v] of m) {
    if (v.t === "null") out[k] = "";
    else if (v.t !== "str") throw typeErr(v, `${path}.${name}`, "string");
    else out[k] = v.v;
  }
  return out;
}

/** A JSON value as a plain JS value (numbers as numbers), for Proxy/Connect/Locality. */
function plain(v: JsonValue): unknown {
  switch (v.t) {
    case "null":
      return null;
    case "bool":
    case "str":
      return v.v;
    case "num":
      return Number(v.src);
    case "arr":
      return v.v.map(plain);
    case "obj": {
      const out: Record<string, unknown> = {};
      for (const [k, x] of v.v) out[k] = plain(x);
      return out;
    }
  }
}

function objOrNull(o: Obj | undefined, name: string, path: string, goType: string): Record<string, unknown> | null {
  const m = asObj(o === undefined ? undefined : field(o, name), `${path}.${name}`, goType);
  return m === undefined ? null : (plain({ t: "obj", v: m }) as Record<string, unknown>);
}

/** A duration field: Go duration string (DurationFixer) or nanoseconds. */
function duration(o: Obj | undefined, name: string, path: string): number {
  const v = o === undefined ? undefined : field(o, name);
  if (v === undefined || v.t === "null") return 0;
  if (v.t === "str") {
    const ms = parseGoDuration(v.v);
    if (ms === undefined) throw new BodyDecodeError(`time: invalid duration ${JSON.stringify(v.v)}`);
    return Math.round(ms * 1e6);
  }
  if (v.t === "num" && /^-?[0-9]+$/.test(v.src)) return Number(v.src);
  throw typeErr(v, `${path}.${name}`, "time.Duration");
}

const STATUSES: ReadonlySet<string> = new Set(["passing", "warning", "critical", "maintenance"]);

export function decodeNode(o: Obj | undefined, path: string): NodeInput {
  return {
    id: str(o, "ID", path),
    node: str(o, "Node", path),
    address: str(o, "Address", path),
    datacenter: str(o, "Datacenter", path),
    taggedAddresses: strMap(o, "TaggedAddresses", path),
    meta: strMap(o, "Meta", path),
  };
}

export function decodeService(o: Obj, path: string): ServiceInput {
  const ta = asObj(field(o, "TaggedAddresses"), `${path}.TaggedAddresses`, "map[string]structs.ServiceAddress");
  let taggedAddresses: Readonly<Record<string, ServiceAddress>> = NIL_MAP;
  if (ta !== undefined) {
    const out: Record<string, ServiceAddress> = {};
    for (const [k, v] of ta) {
      const a = asObj(v, `${path}.TaggedAddresses`, "structs.ServiceAddress");
      out[k] = { address: str(a, "Address", `${path}.TaggedAddresses`), port: int(a, "Port", `${path}.TaggedAddresses`) };
    }
    taggedAddresses = out;
  }
  const w = asObj(field(o, "Weights"), `${path}.Weights`, "structs.Weights");
  return {
    kind: str(o, "Kind", path),
    id: str(o, "ID", path),
    service: str(o, "Service", path),
    tags: strList(o, "Tags", path),
    address: str(o, "Address", path),
    taggedAddresses,
    meta: strMap(o, "Meta", path),
    port: int(o, "Port", path),
    socketPath: str(o, "SocketPath", path),
    weights: w === undefined ? null : { passing: int(w, "Passing", `${path}.Weights`), warning: int(w, "Warning", `${path}.Weights`) },
    enableTagOverride: bool(o, "EnableTagOverride", path),
    proxy: objOrNull(o, "Proxy", path, "structs.ConnectProxyConfig"),
    connect: objOrNull(o, "Connect", path, "structs.ServiceConnect"),
    locality: objOrNull(o, "Locality", path, "structs.Locality"),
  };
}

function decodeDefinition(o: Obj | undefined, path: string): CheckDefinition {
  const hm = asObj(o === undefined ? undefined : field(o, "Header"), `${path}.Header`, "map[string][]string");
  let header: Readonly<Record<string, readonly string[]>> = NIL_MAP;
  if (hm !== undefined) {
    const h: Record<string, string[]> = {};
    for (const [k] of hm) h[k] = strList(hm, k, `${path}.Header`);
    header = h;
  }
  return {
    http: str(o, "HTTP", path),
    tlsServerName: str(o, "TLSServerName", path),
    tlsSkipVerify: bool(o, "TLSSkipVerify", path),
    header,
    method: str(o, "Method", path),
    body: str(o, "Body", path),
    tcp: str(o, "TCP", path),
    udp: str(o, "UDP", path),
    grpc: str(o, "GRPC", path),
    grpcUseTls: bool(o, "GRPCUseTLS", path),
    intervalNs: duration(o, "Interval", path),
    timeoutNs: duration(o, "Timeout", path),
    deregisterCriticalServiceAfterNs: duration(o, "DeregisterCriticalServiceAfter", path),
  };
}

export function decodeCheck(o: Obj, path: string): CheckInput {
  const status = str(o, "Status", path);
  if (status !== "" && !STATUSES.has(status)) throw new BodyDecodeError(`invalid check status ${JSON.stringify(status)}`);
  return {
    node: str(o, "Node", path),
    checkId: str(o, "CheckID", path),
    name: str(o, "Name", path),
    status: status as HealthStatus | "",
    notes: str(o, "Notes", path),
    output: str(o, "Output", path),
    serviceId: str(o, "ServiceID", path),
    serviceName: str(o, "ServiceName", path),
    serviceTags: strList(o, "ServiceTags", path),
    type: str(o, "Type", path),
    intervalNs: duration(o, "Interval", path),
    timeoutNs: duration(o, "Timeout", path),
    exposedPort: int(o, "ExposedPort", path),
    definition: decodeDefinition(asObj(field(o, "Definition"), `${path}.Definition`, "structs.HealthCheckDefinition"), `${path}.Definition`),
  };
}

/** go-uuid ParseUUID's errors ("" when the ID is well-formed). */
export function uuidError(id: string): string {
  if (id.length !== 36) return "uuid string is wrong length";
  if (id[8] !== "-" || id[13] !== "-" || id[18] !== "-" || id[23] !== "-") return "uuid is improperly formatted";
  const hex = id.replace(/-/g, "");
  const bad = /[^0-9a-fA-F]/.exec(hex);
  if (bad) {
    const cp = bad[0].codePointAt(0) ?? 0;
    return `encoding/hex: invalid byte: U+${cp.toString(16).toUpperCase().padStart(4, "0")} ${JSON.stringify(bad[0]).replace(/^"|"$/g, "'")}`;
  }
  return "";
}

/** ipaddr.IsAny: an unspecified address a service must not advertise. */
export function isAnyAddress(a: string): boolean {
  return a === "0.0.0.0" || a === "::" || a === "[::]";
}
