/**
 * agent/local/decode: service and check definitions (Consul's structs.ServiceDefinition,
 * CheckDefinition and CheckType) from an HTTP body or a config-file tree. Keys match
 * case-insensitively and snake_case is accepted (`enable_tag_override`,
 * `deregister_critical_service_after`, `args`/`script_args`, `ID`/`CheckID`), durations
 * are Go duration strings or integer nanoseconds, wrong types fail with Go's
 * "json: cannot unmarshal ..." text.
 *
 * Must never: accept a value of the wrong type silently, or apply agent defaults that
 * belong to registration (IDs, check names, tagged addresses).
 */

import { EMPTY_SPEC, isEmptySpec, type CheckSpec, type CheckStatus } from "../../checks/index.ts";
import { parseGoDuration } from "../config/duration.ts";
import type { LocalService } from "./types.ts";

export class DefinitionError extends Error {}

type Obj = Readonly<Record<string, unknown>>;

const norm = (k: string): string => k.toLowerCase().replace(/_/g, "");

function kindOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "object") return "object";
  if (typeof v === "number") return "number";
  if (typeof v === "boolean") return "bool";
  return "string";
}

function typeErr(v: unknown, path: string, goType: string): DefinitionError {
  const what = typeof v === "number" ? `number ${String(v)}` : kindOf(v);
  return new DefinitionError(`json: cannot unmarshal ${what} into Go struct field ${path} of type ${goType}`);
}

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The value of the first name (or alias) present, matched case- and underscore-insensitively. */
function get(o: Obj, ...names: string[]): unknown {
  for (const name of names) {
    const want = norm(name);
    let found: unknown;
    for (const k of Object.keys(o)) if (norm(k) === want) found = o[k];
    if (found !== undefined) return found;
  }
  return undefined;
}

function str(o: Obj, path: string, ...names: string[]): string {
  const v = get(o, ...names);
  if (v === undefined || v === null) return "";
  if (typeof v !== "string") throw typeErr(v, `${path}.${names[0]}`, "string");
  return v;
}

function bool(o: Obj, path: string, ...names: string[]): boolean {
  const v = get(o, ...names);
  if (v === undefined || v === null) return false;
  if (typeof v !== "boolean") throw typeErr(v, `${path}.${names[0]}`, "bool");
  return v;
}

function int(o: Obj, path: string, ...names: string[]): number {
  const v = get(o, ...names);
  if (v === undefined || v === null) return 0;
  if (typeof v !== "number" || !Number.isInteger(v)) throw typeErr(v, `${path}.${names[0]}`, "int");
  return v;
}

function strList(o: Obj, path: string, ...names: string[]): string[] {
  const v = get(o, ...names);
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw typeErr(v, `${path}.${names[0]}`, "[]string");
  return v.map((x) => {
    if (typeof x !== "string") throw typeErr(x, `${path}.${names[0]}`, "string");
    return x;
  });
}

function strMap(o: Obj, path: string, ...names: string[]): Record<string, string> | null {
  const v = get(o, ...names);
  if (v === undefined || v === null) return null;
  if (!isObj(v)) throw typeErr(v, `${path}.${names[0]}`, "map[string]string");
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (x === null) out[k] = "";
    else if (typeof x !== "string") throw typeErr(x, `${path}.${names[0]}`, "string");
    else out[k] = x;
  }
  return out;
}

/** Milliseconds from a Go duration string or integer nanoseconds. */
function duration(o: Obj, path: string, ...names: string[]): number {
  const v = get(o, ...names);
  if (v === undefined || v === null) return 0;
  if (typeof v === "string") {
    if (v === "") return 0;
    const ms = parseGoDuration(v);
    if (ms === undefined) throw new DefinitionError(`time: invalid duration ${JSON.stringify(v)}`);
    return ms;
  }
  if (typeof v === "number") return v / 1e6;
  throw typeErr(v, `${path}.${names[0]}`, "time.Duration");
}

/** snake_case keys of a config-file block -> Consul's JSON casing (Proxy, Connect, Locality). */
function pascalKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(pascalKeys);
  if (!isObj(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    const pk = k.includes("_") || /^[a-z]/.test(k)
      ? k.split("_").map((p) => (p === "id" ? "ID" : p.charAt(0).toUpperCase() + p.slice(1))).join("")
      : k;
    out[pk] = k === "config" || k === "Config" ? x : pascalKeys(x);
  }
  return out;
}

export interface CheckDefinition {
  /** ID or CheckID ("" = derived from the name). */
  readonly id: string;
  readonly serviceId: string;
  readonly token: string;
  /** The status as given, validated by the caller ("" when absent). */
  readonly rawStatus: string;
  readonly spec: CheckSpec;
}

export interface ServiceDefinition {
  readonly service: Omit<LocalService, "weights"> & { readonly weights: { passing: number; warning: number } | null };
  /** Non-empty check definitions in order: Check, then Checks. */
  readonly checks: readonly CheckDefinition[];
  readonly token: string;
  /** A connect.sidecar_service block was present (not supported; dropped). */
  readonly hadSidecar: boolean;
}

/** Consul's CheckType (also the body of /v1/agent/check/register, with ID/ServiceID/Token). */
export function decodeCheck(v: unknown, path: string, fromConfig: boolean): CheckDefinition {
  if (!isObj(v)) throw typeErr(v, path, "structs.CheckType");
  const o = v;
  const hm = get(o, "Header");
  const header: Record<string, string[]> = {};
  if (hm !== undefined && hm !== null) {
    if (!isObj(hm)) throw typeErr(hm, `${path}.Header`, "map[string][]string");
    for (const k of Object.keys(hm)) header[k] = strList(hm, `${path}.Header`, k);
  }
  const rawStatus = str(o, path, "Status");
  let args = strList(o, path, "ScriptArgs", "Args");
  if (args.length === 0) {
    const script = str(o, path, "Script");
    if (script !== "") args = ["/bin/sh", "-c", script];
  }
  const id = str(o, path, "ID", "CheckID");
  const spec: CheckSpec = {
    ...EMPTY_SPEC,
    checkId: id,
    name: str(o, path, "Name"),
    status: rawStatus as CheckStatus | "",
    notes: str(o, path, "Notes"),
    scriptArgs: args,
    http: str(o, path, "HTTP"),
    header,
    method: str(o, path, "Method"),
    body: str(o, path, "Body"),
    disableRedirects: bool(o, path, "DisableRedirects"),
    tcp: str(o, path, "TCP"),
    tcpUseTls: bool(o, path, "TCPUseTLS"),
    udp: str(o, path, "UDP"),
    grpc: str(o, path, "GRPC"),
    grpcUseTls: bool(o, path, "GRPCUseTLS"),
    h2ping: str(o, path, "H2PING"),
    h2pingUseTls: get(o, "H2PingUseTLS") === undefined ? str(o, path, "H2PING") !== "" : bool(o, path, "H2PingUseTLS"),
    aliasNode: str(o, path, "AliasNode"),
    aliasService: str(o, path, "AliasService"),
    dockerContainerId: str(o, path, "DockerContainerID"),
    shell: str(o, path, "Shell"),
    osService: str(o, path, "OSService"),
    tlsServerName: str(o, path, "TLSServerName"),
    tlsSkipVerify: bool(o, path, "TLSSkipVerify"),
    intervalMs: duration(o, path, "Interval"),
    timeoutMs: duration(o, path, "Timeout"),
    ttlMs: duration(o, path, "TTL"),
    successBeforePassing: int(o, path, "SuccessBeforePassing"),
    failuresBeforeWarning: int(o, path, "FailuresBeforeWarning"),
    failuresBeforeCritical: int(o, path, "FailuresBeforeCritical"),
    deregisterCriticalServiceAfterMs: duration(o, path, "DeregisterCriticalServiceAfter"),
    outputMaxSize: int(o, path, "OutputMaxSize"),
  };
  void fromConfig;
  return { id, serviceId: str(o, path, "ServiceID"), token: str(o, path, "Token"), rawStatus, spec };
}

/** Consul's ServiceDefinition. */
export function decodeService(v: unknown, fromConfig: boolean): ServiceDefinition {
  const P = "ServiceDefinition";
  if (!isObj(v)) throw new DefinitionError(`json: cannot unmarshal ${kindOf(v)} into Go value of type structs.ServiceDefinition`);
  const o = v;
  const taRaw = get(o, "TaggedAddresses");
  let taggedAddresses: Record<string, { address: string; port: number }> = {};
  if (taRaw !== undefined && taRaw !== null) {
    if (!isObj(taRaw)) throw typeErr(taRaw, `${P}.TaggedAddresses`, "map[string]structs.ServiceAddress");
    taggedAddresses = {};
    for (const [k, a] of Object.entries(taRaw)) {
      if (!isObj(a)) throw typeErr(a, `${P}.TaggedAddresses`, "structs.ServiceAddress");
      taggedAddresses[k] = { address: str(a, `${P}.TaggedAddresses`, "Address"), port: int(a, `${P}.TaggedAddresses`, "Port") };
    }
  }
  const wRaw = get(o, "Weights");
  let weights: { passing: number; warning: number } | null = null;
  if (wRaw !== undefined && wRaw !== null) {
    if (!isObj(wRaw)) throw typeErr(wRaw, `${P}.Weights`, "structs.Weights");
    const def = fromConfig ? 1 : 0;
    weights = {
      passing: get(wRaw, "Passing") === undefined ? def : int(wRaw, `${P}.Weights`, "Passing"),
      warning: get(wRaw, "Warning") === undefined ? def : int(wRaw, `${P}.Weights`, "Warning"),
    };
  }
  const obj = (name: string, goType: string): Record<string, unknown> | null => {
    const x = get(o, name);
    if (x === undefined || x === null) return null;
    if (!isObj(x)) throw typeErr(x, `${P}.${name}`, goType);
    return (fromConfig ? pascalKeys(x) : { ...x }) as Record<string, unknown>;
  };
  let connect = obj("Connect", "structs.ServiceConnect");
  let hadSidecar = false;
  if (connect !== null) {
    for (const k of Object.keys(connect)) {
      if (norm(k) === "sidecarservice") {
        hadSidecar = true;
        delete connect[k];
      }
    }
    if (Object.keys(connect).length === 0) connect = null;
  }
  const checks: CheckDefinition[] = [];
  const one = get(o, "Check");
  if (one !== undefined && one !== null) {
    const c = decodeCheck(one, `${P}.Check`, fromConfig);
    if (!isEmptySpec(c.spec)) checks.push(c);
  }
  const many = get(o, "Checks");
  if (many !== undefined && many !== null) {
    if (!Array.isArray(many)) throw typeErr(many, `${P}.Checks`, "structs.CheckTypes");
    for (const c of many) {
      if (c === null) continue;
      checks.push(decodeCheck(c, `${P}.Checks`, fromConfig));
    }
  }
  return {
    service: {
      kind: str(o, P, "Kind"),
      id: str(o, P, "ID"),
      service: str(o, P, "Name"),
      tags: strList(o, P, "Tags"),
      address: str(o, P, "Address"),
      taggedAddresses,
      meta: strMap(o, P, "Meta") ?? {},
      port: int(o, P, "Port"),
      socketPath: str(o, P, "SocketPath"),
      weights,
      enableTagOverride: bool(o, P, "EnableTagOverride"),
      proxy: obj("Proxy", "structs.ConnectProxyConfig"),
      connect,
      locality: obj("Locality", "structs.Locality"),
    },
    checks,
    token: str(o, P, "Token"),
    hadSidecar,
  };
}

/** Consul's checkUpdate body ({Status, Output}). */
export function decodeCheckUpdate(v: unknown): { status: string; output: string } {
  if (v === null || v === undefined) return { status: "", output: "" };
  if (!isObj(v)) throw new DefinitionError(`json: cannot unmarshal ${kindOf(v)} into Go value of type agent.checkUpdate`);
  return { status: str(v, "checkUpdate", "Status"), output: str(v, "checkUpdate", "Output") };
}
