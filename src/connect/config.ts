/**
 * config: the Connect CA configuration, in Consul's shapes and with Consul's checks.
 *
 * - `CAConfig` is Consul's CAConfiguration JSON (GET/PUT /v1/connect/ca/configuration).
 * - `CAProviderSettings` is the parsed, validated built-in ("consul") provider config
 *   (Consul's ConsulCAProviderConfig: durations decoded, defaults filled in).
 * - The agent config (`connect { ca_provider, ca_config { leaf_cert_ttl ... } }`) and the PUT
 *   body both end here, and bad values give CairnError("bad-request", <Consul's text>).
 *
 * Must never: generate keys, touch the clock, or do I/O.
 */

import { CairnError } from "../shared/errors.ts";
import {
  CA_INTERMEDIATE_RENEW_INTERVAL_MS,
  CA_LEAF_CERT_TTL_MAX_MS,
  CA_LEAF_CERT_TTL_MIN_MS,
} from "../shared/limits.ts";
import { formatGoDuration, parseGoDurationNs } from "./duration.ts";

export type PrivateKeyType = "ec" | "rsa";

/** Consul's structs.CAConfiguration as JSON. */
export interface CAConfig {
  Provider: string;
  /** Opaque provider config, keys as stored (LeafCertTTL, IntermediateCertTTL, RootCertTTL, ...). */
  Config: Record<string, unknown>;
  State: Record<string, string> | null;
  ForceWithoutCrossSigning: boolean;
  CreateIndex: number;
  ModifyIndex: number;
}

/** The parsed built-in provider config (Consul's ConsulCAProviderConfig). Durations in ms. */
export interface CAProviderSettings {
  leafCertTTLMs: number;
  intermediateCertTTLMs: number;
  rootCertTTLMs: number;
  privateKeyType: string;
  privateKeyBits: number;
  csrMaxPerSecond: number;
  csrMaxConcurrent: number;
  skipValidate: boolean;
  /** User-supplied key/root (not supported by cairn yet; always "" after parsing). */
  privateKey: string;
  rootCert: string;
}

export const CONSUL_CA_PROVIDER = "consul";
/** Consul's structs defaults, as the strings it stores in Config. */
export const DEFAULT_LEAF_CERT_TTL = "72h";
export const DEFAULT_INTERMEDIATE_CERT_TTL = "8760h";
export const DEFAULT_ROOT_CERT_TTL = "87600h";
export const DEFAULT_PRIVATE_KEY_TYPE: PrivateKeyType = "ec";
export const DEFAULT_PRIVATE_KEY_BITS = 256;
/** Consul's default CSRMaxPerSecond. */
export const DEFAULT_CSR_MAX_PER_SECOND = 50;

const HOUR_MS = 60 * 60 * 1000;

/** The CA configuration a fresh cluster starts from (Consul's server DefaultConfig().CAConfig). */
export function defaultCAConfig(): CAConfig {
  return {
    Provider: CONSUL_CA_PROVIDER,
    Config: {
      LeafCertTTL: DEFAULT_LEAF_CERT_TTL,
      IntermediateCertTTL: DEFAULT_INTERMEDIATE_CERT_TTL,
      RootCertTTL: DEFAULT_ROOT_CERT_TTL,
    },
    State: null,
    ForceWithoutCrossSigning: false,
    CreateIndex: 0,
    ModifyIndex: 0,
  };
}

/** Agent config snake_case keys -> Consul's Config keys (agent/config/builder.go TranslateKeys). */
const AGENT_KEY_MAP: ReadonlyMap<string, string> = new Map([
  ["private_key", "PrivateKey"],
  ["root_cert", "RootCert"],
  ["intermediate_cert_ttl", "IntermediateCertTTL"],
  ["leaf_cert_ttl", "LeafCertTTL"],
  ["csr_max_per_second", "CSRMaxPerSecond"],
  ["csr_max_concurrent", "CSRMaxConcurrent"],
  ["private_key_type", "PrivateKeyType"],
  ["private_key_bits", "PrivateKeyBits"],
  ["root_cert_ttl", "RootCertTTL"],
]);

const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export interface AgentConnectCA {
  /** `connect.ca_provider` ("" or absent = consul). */
  ca_provider?: unknown;
  /** `connect.ca_config` as parsed from HCL/JSON (snake_case keys). */
  ca_config?: unknown;
}

export interface AgentCAConfigResult {
  /** `ca_config.cluster_id` when given (a valid UUID); otherwise the leader makes one. */
  clusterId: string | undefined;
  config: CAConfig;
  settings: CAProviderSettings;
}

/**
 * Builds the initial CA configuration from the agent config's `connect` block, the way
 * Consul's config builder and RuntimeConfig.ConnectCAConfiguration do, and validates it
 * (the builder's ParseConsulCAConfig check).
 */
export function caConfigFromAgent(connect: AgentConnectCA): AgentCAConfigResult {
  const provider = connect.ca_provider === undefined || connect.ca_provider === null ? "" : connect.ca_provider;
  if (typeof provider !== "string") {
    throw new CairnError("bad-request", `${goValue(provider)} is not a valid CA provider`);
  }
  checkProviderName(provider, (p) => `${p} is not a valid CA provider`);
  const raw = connect.ca_config ?? {};
  if (!isRecord(raw)) throw new CairnError("bad-request", "connect.ca_config must be an object");
  const cfg = defaultCAConfig();
  let clusterId: string | undefined;
  for (const [k, v] of Object.entries(raw)) {
    if (k === "cluster_id") {
      if (typeof v !== "string") {
        throw new CairnError("bad-request", "cluster_id was supplied but was not a string");
      }
      if (!UUID_RE.test(v)) {
        throw new CairnError("bad-request", "cluster_id was supplied but was not a valid UUID");
      }
      clusterId = v.toLowerCase();
      continue;
    }
    cfg.Config[AGENT_KEY_MAP.get(k) ?? k] = v;
  }
  const settings = parseProviderSettings(cfg.Config);
  return { clusterId, config: cfg, settings };
}

export interface PutCAConfigResult {
  /** The configuration to commit (ClusterID, State and indexes are the caller's). */
  config: CAConfig;
  settings: CAProviderSettings;
  /** True when Provider and Config equal the current ones: Consul returns at once. */
  noop: boolean;
  /** True when the change needs a new root (key type/bits or provider changed). */
  rotate: boolean;
}

/**
 * Checks a PUT /v1/connect/ca/configuration body against the current configuration,
 * as Consul's CAManager.UpdateConfiguration does before it touches raft.
 */
export function parseCAConfigPut(body: unknown, current: CAConfig): PutCAConfigResult {
  if (!isRecord(body)) {
    throw new CairnError("bad-request", "Request decode failed: body must be a JSON object");
  }
  const providerRaw = body["Provider"] ?? "";
  if (typeof providerRaw !== "string") {
    throw new CairnError("bad-request", "Request decode failed: Provider must be a string");
  }
  const configRaw = body["Config"] ?? null;
  if (configRaw !== null && !isRecord(configRaw)) {
    throw new CairnError("bad-request", "Request decode failed: Config must be an object");
  }
  const stateRaw = body["State"] ?? null;
  if (stateRaw !== null && !isRecord(stateRaw)) {
    throw new CairnError("bad-request", "Request decode failed: State must be an object");
  }
  const force = body["ForceWithoutCrossSigning"] === true || body["force_without_cross_signing"] === true;
  if (stateRaw !== null && Object.keys(stateRaw).length > 0 && !deepEqual(stateRaw, current.State ?? {})) {
    throw new CairnError(
      "bad-request",
      "Provider State is read-only. It must be omitted or identical to the current value",
    );
  }
  const newConfig = configRaw === null ? {} : { ...configRaw };
  const config: CAConfig = {
    Provider: providerRaw,
    Config: newConfig,
    // Consul commits the new provider's State(): the built-in one passes `test_state` through
    // (api TestAPI_ConnectCAConfig_get_set reads it back), else the state it was given.
    State: providerState(newConfig, stateRaw === null ? null : stringMap(stateRaw)),
    ForceWithoutCrossSigning: force,
    CreateIndex: current.CreateIndex,
    ModifyIndex: current.ModifyIndex,
  };
  if (config.Provider === current.Provider && deepEqual(config.Config, current.Config)) {
    return { config: current, settings: parseProviderSettings(current.Config), noop: true, rotate: false };
  }
  checkProviderName(config.Provider, (p) => `could not initialize provider: unknown CA provider ${JSON.stringify(p)}`);
  let settings: CAProviderSettings;
  try {
    settings = parseProviderSettings(config.Config);
  } catch (e) {
    if (e instanceof CairnError) throw new CairnError(e.kind, `error configuring provider: ${e.message}`);
    throw e;
  }
  let rotate = config.Provider !== current.Provider;
  if (!rotate) {
    const old = parseProviderSettings(current.Config);
    rotate = providerIdentityChanged(old, settings);
  }
  return { config, settings, noop: false, rotate };
}

/**
 * The State the built-in provider reports after Configure (Consul's ConsulProvider.State /
 * parseTestState): a `test_state` map in Config (its string values), else a non-empty
 * previous state, else null.
 */
export function providerState(config: Record<string, unknown>, previous: Record<string, string> | null): Record<string, string> | null {
  const raw = Object.hasOwn(config, "test_state") ? config["test_state"] : undefined;
  if (isRecord(raw)) return stringMap(raw);
  return previous !== null && Object.keys(previous).length > 0 ? { ...previous } : null;
}

function stringMap(raw: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) if (typeof v === "string") out[k] = v;
  return out;
}

/**
 * Consul's built-in provider keeps its key and root while (PrivateKey, RootCert,
 * PrivateKeyType, PrivateKeyBits) stay the same; a change of any of them means a new root.
 */
export function providerIdentityChanged(a: CAProviderSettings, b: CAProviderSettings): boolean {
  return (
    a.privateKey !== b.privateKey ||
    a.rootCert !== b.rootCert ||
    a.privateKeyType !== b.privateKeyType ||
    a.privateKeyBits !== b.privateKeyBits
  );
}

function checkProviderName(p: string, unknownText: (p: string) => string): void {
  if (p === "" || p === CONSUL_CA_PROVIDER) return;
  if (p === "vault" || p === "aws-pca") {
    throw new CairnError("bad-request", `CA provider ${JSON.stringify(p)} is not supported by cairn; only "consul" is`);
  }
  throw new CairnError("bad-request", unknownText(p));
}

// ---------------------------------------------------------------------------
// Decoding the opaque Config map like Go's mapstructure (WeaklyTypedInput, case-insensitive
// field names, unknown keys ignored), then Consul's validation.

type FieldKind = "duration" | "int" | "float" | "string" | "bool";

const FIELDS: ReadonlyArray<readonly [string, FieldKind]> = [
  ["LeafCertTTL", "duration"],
  ["IntermediateCertTTL", "duration"],
  ["RootCertTTL", "duration"],
  ["SkipValidate", "bool"],
  ["CSRMaxPerSecond", "float"],
  ["CSRMaxConcurrent", "int"],
  ["PrivateKeyType", "string"],
  ["PrivateKeyBits", "int"],
  ["PrivateKey", "string"],
  ["RootCert", "string"],
];

type Decoded = number | string | boolean;

/**
 * Parses and validates a "consul" provider Config map (Consul's ParseConsulCAConfig):
 * defaults for missing keys, then CommonCAProviderConfig.Validate. Errors are
 * CairnError("bad-request") with Consul's texts.
 */
export function parseProviderSettings(raw: Record<string, unknown>): CAProviderSettings {
  const s: CAProviderSettings = {
    leafCertTTLMs: 72 * HOUR_MS,
    intermediateCertTTLMs: 8760 * HOUR_MS,
    rootCertTTLMs: 87600 * HOUR_MS,
    privateKeyType: DEFAULT_PRIVATE_KEY_TYPE,
    privateKeyBits: DEFAULT_PRIVATE_KEY_BITS,
    csrMaxPerSecond: DEFAULT_CSR_MAX_PER_SECOND,
    csrMaxConcurrent: 0,
    skipValidate: false,
    privateKey: "",
    rootCert: "",
  };
  const errors: string[] = [];
  for (const [name, kind] of FIELDS) {
    const key = findKey(raw, name);
    if (key === undefined) continue;
    const value = raw[key];
    if (value === null || value === undefined) continue;
    let d: Decoded;
    try {
      d = decodeField(name, kind, value);
    } catch (e) {
      if (e instanceof CairnError) {
        errors.push(e.message);
        continue;
      }
      throw e;
    }
    assign(s, name, d);
  }
  if (errors.length > 0) {
    throw new CairnError(
      "bad-request",
      `error decoding config: ${errors.length} error(s) decoding:\n\n${errors.map((m) => `* ${m}`).join("\n")}`,
    );
  }
  if (s.privateKey === "" && s.rootCert !== "") {
    throw new CairnError("bad-request", "must provide a private key when providing a root cert");
  }
  validateCommon(s);
  if (s.privateKey !== "" || s.rootCert !== "") {
    throw new CairnError(
      "bad-request",
      "cairn's built-in CA does not support a user-supplied PrivateKey/RootCert yet; omit them to have one generated",
    );
  }
  if (s.privateKeyType === "ec" && s.privateKeyBits === 224) {
    throw new CairnError(
      "bad-request",
      "EC key length 224 is not supported by cairn (WebCrypto has no P-224); use 256, 384 or 521",
    );
  }
  return s;
}

/** Consul's CommonCAProviderConfig.Validate, in its order and with its texts. */
function validateCommon(c: CAProviderSettings): void {
  if (c.skipValidate) return;
  const bad = (m: string): CairnError => new CairnError("bad-request", m);
  if (c.rootCertTTLMs < c.intermediateCertTTLMs) {
    throw bad(
      `root cert TTL is set and is not greater than intermediate cert ttl. root cert ttl: ${formatGoDuration(c.rootCertTTLMs)}, intermediate cert ttl: ${formatGoDuration(c.intermediateCertTTLMs)}`,
    );
  }
  if (c.leafCertTTLMs < CA_LEAF_CERT_TTL_MIN_MS) {
    throw bad(`leaf cert TTL must be greater or equal than ${formatGoDuration(CA_LEAF_CERT_TTL_MIN_MS)}`);
  }
  if (c.leafCertTTLMs > CA_LEAF_CERT_TTL_MAX_MS) {
    throw bad(`leaf cert TTL must be less than ${formatGoDuration(CA_LEAF_CERT_TTL_MAX_MS)}`);
  }
  if (c.intermediateCertTTLMs < 3 * CA_INTERMEDIATE_RENEW_INTERVAL_MS) {
    throw bad(`Intermediate Cert TTL must be greater or equal than ${3 * (CA_INTERMEDIATE_RENEW_INTERVAL_MS / HOUR_MS)}h`);
  }
  if (c.intermediateCertTTLMs < 3 * c.leafCertTTLMs) {
    throw bad(
      `Intermediate Cert TTL must be greater or equal than 3 * LeafCertTTL (>=${formatGoDuration(3 * c.leafCertTTLMs)}).`,
    );
  }
  switch (c.privateKeyType) {
    case "ec":
      if (![224, 256, 384, 521].includes(c.privateKeyBits)) {
        throw bad("EC key length must be one of (224, 256, 384, 521) bits");
      }
      break;
    case "rsa":
      if (c.privateKeyBits !== 2048 && c.privateKeyBits !== 4096) {
        throw bad("RSA key length must be 2048 or 4096 bits");
      }
      break;
    default:
      throw bad("private key type must be either 'ec' or 'rsa'");
  }
}

function assign(s: CAProviderSettings, name: string, d: Decoded): void {
  switch (name) {
    case "LeafCertTTL":
      s.leafCertTTLMs = Number(d);
      return;
    case "IntermediateCertTTL":
      s.intermediateCertTTLMs = Number(d);
      return;
    case "RootCertTTL":
      s.rootCertTTLMs = Number(d);
      return;
    case "SkipValidate":
      s.skipValidate = d === true;
      return;
    case "CSRMaxPerSecond":
      s.csrMaxPerSecond = Number(d);
      return;
    case "CSRMaxConcurrent":
      s.csrMaxConcurrent = Number(d);
      return;
    case "PrivateKeyType":
      s.privateKeyType = String(d);
      return;
    case "PrivateKeyBits":
      s.privateKeyBits = Number(d);
      return;
    case "PrivateKey":
      s.privateKey = String(d);
      return;
    case "RootCert":
      s.rootCert = String(d);
      return;
    default:
      return;
  }
}

/** mapstructure field matching: exact key first, then case-insensitive. */
function findKey(raw: Record<string, unknown>, name: string): string | undefined {
  if (Object.hasOwn(raw, name)) return name;
  const lower = name.toLowerCase();
  return Object.keys(raw).find((k) => k.toLowerCase() === lower);
}

function goTypeName(v: unknown): string {
  if (typeof v === "string") return "string";
  if (typeof v === "number") return "float64";
  if (typeof v === "boolean") return "bool";
  if (Array.isArray(v)) return "[]interface {}";
  if (isRecord(v)) return "map[string]interface {}";
  return "interface {}";
}

function goValue(v: unknown): string {
  if (typeof v === "string") return v;
  return JSON.stringify(v) ?? String(v);
}

function unconvertible(name: string, want: string, v: unknown): CairnError {
  return new CairnError(
    "bad-request",
    `'${name}' expected type '${want}', got unconvertible type '${goTypeName(v)}', value: '${goValue(v)}'`,
  );
}

function decodeField(name: string, kind: FieldKind, v: unknown): Decoded {
  switch (kind) {
    case "duration": {
      if (typeof v === "string") {
        try {
          return parseGoDurationNs(v) / 1_000_000;
        } catch (e) {
          if (e instanceof CairnError) throw new CairnError("bad-request", `error decoding '${name}': ${e.message}`);
          throw e;
        }
      }
      // A JSON number is a time.Duration in nanoseconds (weakly typed int64).
      if (typeof v === "number") return Math.trunc(v) / 1_000_000;
      if (typeof v === "boolean") return v ? 1 / 1_000_000 : 0;
      throw unconvertible(name, "int64", v);
    }
    case "int": {
      if (typeof v === "number") return Math.trunc(v);
      if (typeof v === "boolean") return v ? 1 : 0;
      if (typeof v === "string") {
        const t = v === "" ? "0" : v;
        if (/^[+-]?[0-9]+$/.test(t)) return Number(t);
        const hex = /^([+-]?)0[xX]([0-9a-fA-F]+)$/.exec(t);
        if (hex !== null) return (hex[1] === "-" ? -1 : 1) * Number.parseInt(hex[2] ?? "0", 16);
        throw new CairnError(
          "bad-request",
          `cannot parse '${name}' as int: strconv.ParseInt: parsing ${JSON.stringify(v)}: invalid syntax`,
        );
      }
      throw unconvertible(name, "int", v);
    }
    case "float": {
      if (typeof v === "number") return v;
      if (typeof v === "boolean") return v ? 1 : 0;
      if (typeof v === "string") {
        const t = v === "" ? "0" : v;
        const n = Number(t);
        if (!Number.isFinite(n)) {
          throw new CairnError(
            "bad-request",
            `cannot parse '${name}' as float: strconv.ParseFloat: parsing ${JSON.stringify(v)}: invalid syntax`,
          );
        }
        return n;
      }
      throw unconvertible(name, "float32", v);
    }
    case "string": {
      if (typeof v === "string") return v;
      if (typeof v === "number") return String(v);
      if (typeof v === "boolean") return v ? "1" : "0";
      throw unconvertible(name, "string", v);
    }
    case "bool": {
      if (typeof v === "boolean") return v;
      if (typeof v === "number") return v !== 0;
      if (typeof v === "string") {
        if (["1", "t", "T", "TRUE", "true", "True"].includes(v)) return true;
        if (["0", "f", "F", "FALSE", "false", "False", ""].includes(v)) return false;
        throw new CairnError(
          "bad-request",
          `cannot parse '${name}' as bool: strconv.ParseBool: parsing ${JSON.stringify(v)}: invalid syntax`,
        );
      }
      throw unconvertible(name, "bool", v);
    }
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  }
  if (isRecord(a) && isRecord(b)) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}
