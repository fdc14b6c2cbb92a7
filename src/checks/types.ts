/**
 * checks/types: what a health check is (Consul's structs.CheckType, durations in ms),
 * its type name (CheckType.Type()), its validation with Consul's texts, and the
 * protocol between the main thread and the check worker (one run -> one result).
 *
 * Must never: do I/O or read clocks; these are values and pure functions only.
 */

export type CheckStatus = "passing" | "warning" | "critical";

/** Consul's CheckType, with durations in milliseconds. */
export interface CheckSpec {
  readonly checkId: string;
  readonly name: string;
  /** Initial status ("" = Consul's default, critical). */
  readonly status: CheckStatus | "";
  readonly notes: string;
  readonly scriptArgs: readonly string[];
  readonly http: string;
  readonly header: Readonly<Record<string, readonly string[]>>;
  readonly method: string;
  readonly body: string;
  readonly disableRedirects: boolean;
  readonly tcp: string;
  readonly tcpUseTls: boolean;
  readonly udp: string;
  readonly grpc: string;
  readonly grpcUseTls: boolean;
  readonly h2ping: string;
  readonly h2pingUseTls: boolean;
  readonly aliasNode: string;
  readonly aliasService: string;
  readonly dockerContainerId: string;
  readonly shell: string;
  readonly osService: string;
  readonly tlsServerName: string;
  readonly tlsSkipVerify: boolean;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly ttlMs: number;
  readonly successBeforePassing: number;
  readonly failuresBeforeWarning: number;
  readonly failuresBeforeCritical: number;
  readonly deregisterCriticalServiceAfterMs: number;
  readonly outputMaxSize: number;
}

export const EMPTY_SPEC: CheckSpec = Object.freeze({
  checkId: "",
  name: "",
  status: "",
  notes: "",
  scriptArgs: [],
  http: "",
  header: {},
  method: "",
  body: "",
  disableRedirects: false,
  tcp: "",
  tcpUseTls: false,
  udp: "",
  grpc: "",
  grpcUseTls: false,
  h2ping: "",
  h2pingUseTls: false,
  aliasNode: "",
  aliasService: "",
  dockerContainerId: "",
  shell: "",
  osService: "",
  tlsServerName: "",
  tlsSkipVerify: false,
  intervalMs: 0,
  timeoutMs: 0,
  ttlMs: 0,
  successBeforePassing: 0,
  failuresBeforeWarning: 0,
  failuresBeforeCritical: 0,
  deregisterCriticalServiceAfterMs: 0,
  outputMaxSize: 0,
});

export type CheckKind =
  | "grpc"
  | "http"
  | "ttl"
  | "tcp"
  | "udp"
  | "alias"
  | "docker"
  | "script"
  | "h2ping"
  | "os_service"
  | "";

const isScript = (c: CheckSpec): boolean => c.scriptArgs.length > 0;
const isAlias = (c: CheckSpec): boolean => c.aliasNode !== "" || c.aliasService !== "";

/** Consul's CheckType.Type(), in its order of precedence. */
export function checkKind(c: CheckSpec): CheckKind {
  const iv = c.intervalMs > 0;
  if (c.grpc !== "" && iv) return "grpc";
  if (c.http !== "" && iv) return "http";
  if (c.ttlMs > 0) return "ttl";
  if (c.tcp !== "" && iv) return "tcp";
  if (c.udp !== "" && iv) return "udp";
  if (isAlias(c)) return "alias";
  if (isScript(c) && c.dockerContainerId !== "" && iv) return "docker";
  if (isScript(c) && iv) return "script";
  if (c.h2ping !== "" && iv) return "h2ping";
  if (c.osService !== "" && iv) return "os_service";
  return "";
}

export function isScriptCheck(c: CheckSpec): boolean {
  return isScript(c);
}

/** Consul's CheckType.Validate(): undefined when valid, else Consul's text. */
export function validateCheckSpec(c: CheckSpec): string | undefined {
  const intervalCheck =
    isScript(c) || c.http !== "" || c.tcp !== "" || c.udp !== "" || c.grpc !== "" || c.h2ping !== "" || c.osService !== "";
  if (c.intervalMs > 0 && c.ttlMs > 0) return "Interval and TTL cannot both be specified";
  if (intervalCheck && c.intervalMs <= 0) return "Interval must be > 0 for Script, HTTP, H2PING, TCP, UDP or OSService checks";
  if (intervalCheck && isAlias(c)) return "Interval cannot be set for Alias checks";
  if (isAlias(c) && c.ttlMs > 0) return "TTL must be not be set for Alias checks";
  if (!intervalCheck && !isAlias(c) && c.ttlMs <= 0) return "TTL must be > 0 for TTL checks";
  if (c.outputMaxSize < 0) return "MaxOutputMaxSize must be positive";
  if (c.failuresBeforeWarning > c.failuresBeforeCritical) return "FailuresBeforeWarning can't be higher than FailuresBeforeCritical";
  return undefined;
}

/** Consul's CheckType.Empty(): nothing at all was given. */
export function isEmptySpec(c: CheckSpec): boolean {
  for (const k of Object.keys(EMPTY_SPEC) as (keyof CheckSpec)[]) {
    const a = c[k];
    const b = EMPTY_SPEC[k];
    if (Array.isArray(a)) {
      if (a.length > 0) return false;
    } else if (typeof a === "object" && a !== null) {
      if (Object.keys(a).length > 0) return false;
    } else if (a !== b) return false;
  }
  return true;
}

// ---- worker protocol ------------------------------------------------------------

interface TlsOpts {
  readonly tlsSkipVerify: boolean;
  readonly tlsServerName: string;
}

/** One run of a check, as sent to the check worker. `prevKey` lets it answer "same as last time". */
export type CheckTask =
  | ({
      readonly kind: "http";
      readonly url: string;
      readonly method: string;
      readonly header: Readonly<Record<string, readonly string[]>>;
      readonly body: string;
      readonly disableRedirects: boolean;
      readonly timeoutMs: number;
      readonly maxOutput: number;
      readonly prevKey: string;
    } & TlsOpts)
  | ({
      readonly kind: "tcp";
      readonly address: string;
      readonly useTls: boolean;
      readonly timeoutMs: number;
      readonly prevKey: string;
    } & TlsOpts)
  | { readonly kind: "udp"; readonly address: string; readonly timeoutMs: number; readonly prevKey: string }
  | ({
      readonly kind: "grpc";
      readonly target: string;
      readonly useTls: boolean;
      readonly timeoutMs: number;
      readonly prevKey: string;
    } & TlsOpts)
  | {
      readonly kind: "script";
      readonly args: readonly string[];
      readonly timeoutMs: number;
      readonly maxOutput: number;
      readonly prevKey: string;
    }
  /** Test hook: make the worker exit, hang in a busy loop, or throw. */
  | { readonly kind: "fault"; readonly mode: "exit" | "hang" | "throw"; readonly prevKey: string };

/** The worker's answer: a new result, or "identical to prevKey" (nothing else crosses threads). */
export type CheckResult =
  | { readonly same: true }
  | { readonly same: false; readonly status: CheckStatus; readonly output: string; readonly key: string };

/** FNV-1a (32-bit) of status + output, the identity of a result. */
export function resultKey(status: CheckStatus, output: string): string {
  let h = 0x811c9dc5;
  const s = status + "\u0000" + output;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16) + ":" + String(output.length);
}
