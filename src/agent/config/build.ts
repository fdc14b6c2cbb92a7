/**
 * agent/config/build: merged config tree -> RuntimeConfig, with Consul's
 * semantic checks (agent/config/builder.go build() and validate()).
 *
 * Errors are collected, not thrown; messages use Consul's wording.
 *
 * Must never: read files or the environment itself; host facts come in through BuildDeps.
 */

import { isIP } from "node:net";
import { CONSUL_API_VERSION } from "../../shared/version.ts";
import { CairnError } from "../../shared/errors.ts";
import { caConfigFromAgent } from "../../connect/index.ts";
import { parseGoDuration } from "./duration.ts";
import { type ConfigTree, type ConfigValue, isTree } from "./tree.ts";
import type { GossipConfig, LogLevel, RuntimeConfig } from "./types.ts";

export interface BuildDeps {
  /** os.Hostname(). */
  hostname(): string;
  /** Private IPv4 addresses of this host (advertise candidates for bind 0.0.0.0). */
  privateIPv4(): string[];
  /** Public IPv6 addresses of this host (advertise candidates for bind ::). */
  publicIPv6(): string[];
  /** Checks that data_dir is a directory or can be created; an error message or null. */
  checkDataDir(path: string): string | null;
}

export interface BuildInput {
  readonly tree: ConfigTree;
  readonly devMode: boolean;
  readonly sources: readonly string[];
  readonly warnings: readonly string[];
}

export type BuildResult =
  | { readonly ok: true; readonly config: RuntimeConfig; readonly warnings: string[] }
  | { readonly ok: false; readonly errors: string[]; readonly warnings: string[] };

/** Consul's consul.MaxRaftMultiplier. */
const MAX_RAFT_MULTIPLIER = 10;
const MAX_PORT = 65535;
const GRPC_TLS_SERVER_PORT = 8503;
const DEFAULT_RECONNECT_TIMEOUT_MS = 72 * 3_600_000;
const DEFAULT_SESSION_TTL_MIN_MS = 10_000;
const DEFAULT_UI_CONTENT_PATH = "/ui/";
const SOA_DEFAULTS = { refresh: 3600, retry: 600, expire: 86400, minTtl: 0 } as const;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const BASIC_NAME_RE = /^[a-z0-9_-]+$/;
const CONTENT_PATH_RE = /^[A-Za-z0-9/_-]+$/;

function lookup(tree: ConfigTree, path: string): ConfigValue | undefined {
  let cur: ConfigValue | undefined = tree;
  for (const part of path.split(".")) {
    if (!isTree(cur)) return undefined;
    cur = cur[part];
  }
  return cur;
}

class Reader {
  readonly errors: string[] = [];
  private readonly tree: ConfigTree;
  constructor(tree: ConfigTree) {
    this.tree = tree;
  }
  has(p: string): boolean {
    return lookup(this.tree, p) !== undefined;
  }
  str(p: string, def = ""): string {
    const v = lookup(this.tree, p);
    return typeof v === "string" ? v : def;
  }
  bool(p: string, def = false): boolean {
    const v = lookup(this.tree, p);
    return typeof v === "boolean" ? v : def;
  }
  num(p: string, def = 0): number {
    const v = lookup(this.tree, p);
    return typeof v === "number" ? v : def;
  }
  ms(p: string, def = 0): number {
    const v = lookup(this.tree, p);
    if (typeof v !== "string") return def;
    const d = parseGoDuration(v);
    if (d === undefined) {
      this.errors.push(`${p}: invalid duration: "${v}"`);
      return def;
    }
    return d;
  }
  strs(p: string): string[] {
    const v = lookup(this.tree, p);
    return Array.isArray(v) ? v.filter((e): e is string => typeof e === "string") : [];
  }
  smap(p: string): Record<string, string> {
    const v = lookup(this.tree, p);
    const out: Record<string, string> = {};
    if (isTree(v)) for (const [k, e] of Object.entries(v)) if (typeof e === "string") out[k] = e;
    return out;
  }
  trees(p: string): ConfigTree[] {
    const v = lookup(this.tree, p);
    return Array.isArray(v) ? v.filter((e): e is ConfigTree => isTree(e)) : [];
  }
  sub(p: string): ConfigTree {
    const v = lookup(this.tree, p);
    return isTree(v) ? v : {};
  }
  /** Consul's portVal: unset or <= 0 disables (-1), above 65535 is an error. */
  port(p: string, def = -1): number {
    const v = lookup(this.tree, `ports.${p}`);
    if (typeof v !== "number") return def;
    if (v <= 0) return -1;
    if (v > MAX_PORT) this.errors.push(`ports.${p}: invalid port: ${v}`);
    return v;
  }
}

function isAnyAddr(a: string): boolean {
  return a === "0.0.0.0" || a === "::" || a === "[::]";
}

function fqdn(d: string): string {
  const lower = d.toLowerCase();
  return lower === "" || lower.endsWith(".") ? lower : `${lower}.`;
}

function validateBasicName(field: string, value: string, allowEmpty: boolean): string | null {
  if (value === "") return allowEmpty ? null : `${field} cannot be empty`;
  if (!BASIC_NAME_RE.test(value)) {
    return `${field} can only contain lowercase alphanumeric, - or _ characters. received: ${JSON.stringify(value)}`;
  }
  return null;
}

function logLevelOf(text: string): LogLevel | undefined {
  switch (text.trim().toLowerCase()) {
    case "trace":
      return "trace";
    case "debug":
      return "debug";
    case "info":
      return "info";
    case "warn":
    case "warning":
      return "warn";
    case "err":
    case "error":
      return "error";
    default:
      return undefined;
  }
}

/** UIPathBuilder: content path with a leading and a trailing "/". */
function uiPath(p: string): string {
  if (p === "") return DEFAULT_UI_CONTENT_PATH;
  let s = p.startsWith("/") ? p : `/${p}`;
  if (!s.endsWith("/")) s += "/";
  return s;
}

function gossip(r: Reader, p: string): GossipConfig {
  return {
    gossipNodes: r.num(`${p}.gossip_nodes`),
    gossipIntervalMs: r.ms(`${p}.gossip_interval`),
    probeIntervalMs: r.ms(`${p}.probe_interval`),
    probeTimeoutMs: r.ms(`${p}.probe_timeout`),
    suspicionMult: r.num(`${p}.suspicion_mult`),
    retransmitMult: r.num(`${p}.retransmit_mult`),
  };
}

/** Splits a space-separated address list and checks every entry. */
function addressList(r: Reader, name: string, text: string, errors: string[]): string[] {
  const out: string[] = [];
  for (const a of text.split(/\s+/).filter((s) => s !== "")) {
    if (a.startsWith("unix://") || isIP(a) !== 0) out.push(a);
    else if (a.includes("{{")) errors.push(`${name}: go-sockaddr templates are not supported: ${a}`);
    else errors.push(`${name}: invalid ip address: ${a}`);
  }
  void r;
  return out;
}

function encryptKeyError(key: string): string | null {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(key) || key.length % 4 !== 0) return "illegal base64 data";
  const n = Buffer.from(key, "base64").length;
  if (n !== 16 && n !== 24 && n !== 32) return `key size must be 16, 24 or 32 bytes`;
  return null;
}

export function buildRuntimeConfig(input: BuildInput, deps: BuildDeps): BuildResult {
  const r = new Reader(input.tree);
  const errors = r.errors;
  const warnings = [...input.warnings];
  const dev = input.devMode;

  // identity
  const datacenter = r.str("datacenter").toLowerCase();
  const primaryDatacenter = r.str("primary_datacenter").toLowerCase() || datacenter;
  let nodeName = r.str("node_name");
  if (nodeName === "") {
    try {
      nodeName = deps.hostname();
    } catch (e) {
      errors.push(`node_name: ${(e as Error).message}`);
    }
  }
  nodeName = nodeName.trim();
  const nodeIdText = r.str("node_id").trim().toLowerCase();
  const server = r.bool("server");
  let bootstrap = r.bool("bootstrap");
  let bootstrapExpect = r.num("bootstrap_expect");
  if (bootstrapExpect === 1) {
    bootstrap = true;
    bootstrapExpect = 0;
    warnings.push("BootstrapExpect is set to 1; this is the same as Bootstrap mode.");
  }
  const dataDirText = r.str("data_dir");

  // network
  const bindAddr = r.str("bind_addr");
  const bindErrors: string[] = [];
  if (bindAddr === "") bindErrors.push("bind_addr cannot be empty");
  else if (bindAddr.startsWith("unix://")) bindErrors.push("bind_addr cannot be a unix socket");
  else if (bindAddr.includes(" ")) {
    bindErrors.push("bind_addr cannot contain multiple addresses. Use 'addresses.{dns,http,https}' instead.");
  } else if (isIP(bindAddr.replace(/^\[|\]$/g, "")) === 0) bindErrors.push("bind_addr must be an ip address");
  errors.push(...bindErrors);
  const advertiseText = r.str("advertise_addr");
  const advertiseWanText = r.str("advertise_addr_wan");
  let advertiseAddr = advertiseText;
  if (advertiseText !== "" && isAnyAddr(advertiseText)) errors.push("Advertise address cannot be 0.0.0.0, :: or [::]");
  else if (advertiseText !== "" && isIP(advertiseText) === 0) errors.push(`advertise_addr: invalid ip address: ${advertiseText}`);
  if (advertiseWanText !== "" && isAnyAddr(advertiseWanText)) {
    errors.push("Advertise WAN address cannot be 0.0.0.0, :: or [::]");
  }
  if (advertiseAddr === "" && bindErrors.length === 0) {
    if (!isAnyAddr(bindAddr)) advertiseAddr = bindAddr.replace(/^\[|\]$/g, "");
    else {
      const v6 = bindAddr !== "0.0.0.0";
      const kind = v6 ? "public IPv6" : "private IPv4";
      const found = v6 ? deps.publicIPv6() : deps.privateIPv4();
      if (found.length === 0) errors.push(`No ${kind} address found`);
      else if (found.length > 1) {
        errors.push(`Multiple ${kind} addresses found. Please configure one with 'bind' and/or 'advertise'.`);
      } else advertiseAddr = found[0] ?? "";
    }
  }
  const clientAddrs = addressList(r, "client_addr", r.str("client_addr"), errors);
  const listen = (name: string): string[] =>
    r.has(`addresses.${name}`) ? addressList(r, `addresses.${name}`, r.str(`addresses.${name}`), errors) : clientAddrs;

  const ports = {
    http: r.port("http"),
    https: r.port("https"),
    dns: r.port("dns"),
    grpc: r.port("grpc"),
    grpcTls: r.has("ports.grpc_tls") ? r.port("grpc_tls") : server ? GRPC_TLS_SERVER_PORT : -1,
    server: r.port("server"),
    serfLan: r.port("serf_lan"),
    serfWan: r.port("serf_wan"),
    sidecarMinPort: r.port("sidecar_min_port"),
    sidecarMaxPort: r.port("sidecar_max_port"),
    exposeMinPort: r.port("expose_min_port"),
    exposeMaxPort: r.port("expose_max_port"),
  };
  if (ports.sidecarMaxPort < ports.sidecarMinPort) {
    errors.push("sidecar_min_port must be less than sidecar_max_port. To disable, set both to zero.");
  }
  if (ports.exposeMaxPort < ports.exposeMinPort) {
    errors.push("expose_min_port must be less than expose_max_port. To disable, set both to zero.");
  }

  // logging
  const logLevelText = r.str("log_level");
  const logLevel = logLevelOf(logLevelText);
  if (logLevel === undefined) {
    errors.push(`Invalid log level: ${logLevelText}. Valid log levels are: [TRACE DEBUG INFO WARN ERR]`);
  }

  // raft
  const raftProtocol = r.num("raft_protocol");
  if (raftProtocol !== 3) errors.push(`raft_protocol version ${raftProtocol} is not supported by this version of Consul`);
  const multiplier = r.num("performance.raft_multiplier");
  if (multiplier < 1 || multiplier > MAX_RAFT_MULTIPLIER) {
    errors.push(`performance.raft_multiplier cannot be ${multiplier}. Must be between 1 and ${MAX_RAFT_MULTIPLIER}`);
  }

  // DNS
  const recursorStrategy = r.str("dns_config.recursor_strategy");
  if (recursorStrategy !== "" && recursorStrategy !== "sequential" && recursorStrategy !== "random") {
    errors.push(`dns_config.recursor_strategy: invalid strategy: ${JSON.stringify(recursorStrategy)}`);
  }
  const serviceTtlMs: Record<string, number> = {};
  for (const [k, v] of Object.entries(r.smap("dns_config.service_ttl"))) {
    const d = parseGoDuration(v);
    if (d === undefined) errors.push(`dns_config.service_ttl[${JSON.stringify(k)}]: invalid duration: "${v}"`);
    else serviceTtlMs[k] = d;
  }
  const udpAnswerLimit = r.num("dns_config.udp_answer_limit");
  const aRecordLimit = r.num("dns_config.a_record_limit");
  for (const d of r.strs("recursors")) {
    if (isAnyAddr(d)) errors.push("DNS recursor address cannot be 0.0.0.0, :: or [::]");
  }

  // limits
  const requestMode = r.str("limits.request_limits.mode");
  if (!["disabled", "permissive", "enforcing"].includes(requestMode)) {
    errors.push(`limits.request_limits.mode: invalid mode: ${JSON.stringify(requestMode)}`);
  }
  const rpcRate = r.num("limits.rpc_rate");

  // ACL
  const defaultPolicy = r.str("acl.default_policy");
  if (defaultPolicy !== "allow" && defaultPolicy !== "deny") {
    errors.push(`acl.default_policy: invalid policy ${JSON.stringify(defaultPolicy)}, must be "allow" or "deny"`);
  }
  const downPolicy = r.str("acl.down_policy");
  if (!["allow", "deny", "extend-cache", "async-cache"].includes(downPolicy)) {
    errors.push(`acl.down_policy: invalid policy ${JSON.stringify(downPolicy)}`);
  }

  // UI
  const uiEnabled = r.bool("ui_config.enabled");
  const uiDir = r.str("ui_config.dir");
  const contentPath = uiPath(r.str("ui_config.content_path"));

  // ---- validate (builder.validate) ----
  const push = (e: string | null): void => {
    if (e !== null) errors.push(e);
  };
  push(validateBasicName("datacenter", datacenter, false));
  if (dataDirText === "" && !dev) errors.push("data_dir cannot be empty");
  if (dataDirText !== "" && !dev) push(deps.checkDataDir(dataDirText));
  if (!CONTENT_PATH_RE.test(contentPath)) {
    errors.push(`ui-content-path can only contain alphanumeric, -, _, or /. received: ${JSON.stringify(contentPath)}`);
  } else if (/^\/v\d+\/$/.test(contentPath)) {
    errors.push(`ui-content-path cannot have 'v[0-9]'. received: ${JSON.stringify(contentPath)}`);
  }
  if (nodeName === "") errors.push("node_name cannot be empty");
  if (nodeIdText !== "" && !UUID_RE.test(nodeIdText)) {
    errors.push(`node_id: invalid UUID ${JSON.stringify(r.str("node_id"))}`);
  }
  if (bootstrap && !server) errors.push("'bootstrap = true' requires 'server = true'");
  if (bootstrapExpect < 0) {
    errors.push(`bootstrap_expect cannot be ${bootstrapExpect}. Must be greater than or equal to zero`);
  }
  if (bootstrapExpect > 0 && !server) errors.push("'bootstrap_expect > 0' requires 'server = true'");
  if (bootstrapExpect > 0 && dev) errors.push("'bootstrap_expect > 0' not allowed in dev mode");
  if (bootstrapExpect > 0 && bootstrap) {
    errors.push("'bootstrap_expect > 0' and 'bootstrap = true' are mutually exclusive");
  }
  if (r.num("check_output_max_size") < 1) {
    errors.push(
      "check_output_max_size must be positive, to discard check output use the discard_check_output flag",
    );
  }
  if (r.str("primary_datacenter") !== "") push(validateBasicName("primary_datacenter", primaryDatacenter, true));
  if (!dev && uiEnabled && uiDir !== "") {
    errors.push(
      "Both the ui_config.enabled and ui_config.dir (or -ui and -ui-dir) were specified, please provide only one.",
    );
  }
  if (udpAnswerLimit < 0) {
    errors.push(`dns_config.udp_answer_limit cannot be ${udpAnswerLimit}. Must be greater than or equal to zero`);
  }
  if (aRecordLimit < 0) {
    errors.push(`dns_config.a_record_limit cannot be ${aRecordLimit}. Must be greater than or equal to zero`);
  }
  for (const k of Object.keys(r.smap("node_meta"))) {
    if (k.startsWith("consul-")) errors.push("node_meta invalid: Key prefix 'consul-' is reserved for internal use");
  }
  const encrypt = r.str("encrypt");
  if (encrypt !== "") {
    const e = encryptKeyError(encrypt);
    if (e) errors.push(`encrypt has invalid key: ${e}`);
  }
  if (server && r.bool("auto_encrypt.tls")) errors.push("auto_encrypt.tls can only be used on a client.");
  if (!server && r.bool("auto_encrypt.allow_tls")) errors.push("auto_encrypt.allow_tls can only be used on a server.");
  const caProvider = r.str("connect.ca_provider");
  if (!["", "consul", "vault", "aws-pca"].includes(caProvider)) errors.push(`${caProvider} is not a valid CA provider`);
  else if (caProvider === "consul") {
    // Consul's builder checks an explicit "consul" provider's ca_config (ParseConsulCAConfig);
    // without ca_provider the CA reports bad values when it starts.
    try {
      caConfigFromAgent({ ca_provider: caProvider, ca_config: r.sub("connect.ca_config") });
    } catch (e) {
      if (!(e instanceof CairnError)) throw e;
      errors.push(e.message);
    }
  }

  const leaveOnTerminate = r.has("leave_on_terminate") ? r.bool("leave_on_terminate") : !server;
  const skipLeaveOnInterrupt = r.has("skip_leave_on_interrupt") ? r.bool("skip_leave_on_interrupt") : server;

  const config: RuntimeConfig = {
    datacenter,
    primaryDatacenter,
    nodeName,
    nodeId: nodeIdText === "" ? null : nodeIdText,
    nodeMeta: r.smap("node_meta"),
    server,
    bootstrap,
    bootstrapExpect,
    devMode: dev,
    dataDir: dev || dataDirText === "" ? null : dataDirText,
    disableHostNodeId: r.bool("disable_host_node_id"),

    bindAddr,
    advertiseAddr,
    advertiseAddrWan: advertiseWanText || advertiseAddr,
    clientAddrs,
    serfBindAddrLan: r.str("serf_lan") || bindAddr,
    serfBindAddrWan: r.str("serf_wan") || bindAddr,
    addresses: {
      http: listen("http"),
      https: listen("https"),
      dns: listen("dns"),
      grpc: listen("grpc"),
      grpcTls: listen("grpc_tls"),
    },
    ports,
    unixSockets: { user: r.str("unix_sockets.user"), group: r.str("unix_sockets.group"), mode: r.str("unix_sockets.mode") },
    taggedAddresses: r.smap("tagged_addresses"),
    translateWanAddrs: r.bool("translate_wan_addrs"),

    logLevel: logLevel ?? "info",
    logJson: r.bool("log_json"),
    logFile: r.str("log_file"),
    pidFile: r.str("pid_file"),
    enableDebug: r.bool("enable_debug"),
    disableUpdateCheck: r.bool("disable_update_check"),

    ui: { enabled: uiEnabled, dir: uiDir, contentPath },

    domain: fqdn(r.str("domain")),
    altDomain: fqdn(r.str("alt_domain")),
    recursors: r.strs("recursors"),
    dns: {
      allowStale: r.bool("dns_config.allow_stale"),
      maxStaleMs: r.ms("dns_config.max_stale"),
      nodeTtlMs: r.ms("dns_config.node_ttl"),
      serviceTtlMs,
      onlyPassing: r.bool("dns_config.only_passing"),
      enableTruncate: r.bool("dns_config.enable_truncate"),
      udpAnswerLimit,
      aRecordLimit,
      disableCompression: r.bool("dns_config.disable_compression"),
      recursorTimeoutMs: r.ms("dns_config.recursor_timeout"),
      recursorStrategy: recursorStrategy === "random" ? "random" : "sequential",
      enableAdditionalNodeMetaTxt: r.bool("dns_config.enable_additional_node_meta_txt", true),
      soa: {
        refresh: r.num("dns_config.soa.refresh", SOA_DEFAULTS.refresh),
        retry: r.num("dns_config.soa.retry", SOA_DEFAULTS.retry),
        expire: r.num("dns_config.soa.expire", SOA_DEFAULTS.expire),
        minTtl: r.num("dns_config.soa.min_ttl", SOA_DEFAULTS.minTtl),
      },
      useCache: r.bool("dns_config.use_cache"),
      cacheMaxAgeMs: r.ms("dns_config.cache_max_age"),
    },

    http: {
      responseHeaders: r.smap("http_config.response_headers"),
      blockEndpoints: r.strs("http_config.block_endpoints"),
      allowWriteHttpFrom: r.strs("http_config.allow_write_http_from"),
      useCache: r.bool("http_config.use_cache", true),
      maxHeaderBytes: r.num("http_config.max_header_bytes"),
    },
    defaultQueryTimeMs: r.ms("default_query_time"),
    maxQueryTimeMs: r.ms("max_query_time"),
    disableKvKeyValidation: r.bool("disable_kv_key_validation"),
    limits: {
      kvMaxValueSize: r.num("limits.kv_max_value_size"),
      txnMaxReqLen: r.num("limits.txn_max_req_len"),
      httpMaxConnsPerClient: r.num("limits.http_max_conns_per_client"),
      rpcMaxConnsPerClient: r.num("limits.rpc_max_conns_per_client"),
      rpcRate: rpcRate < 0 ? Number.POSITIVE_INFINITY : rpcRate,
      rpcMaxBurst: r.num("limits.rpc_max_burst"),
    },

    raft: {
      protocol: raftProtocol,
      snapshotThreshold: r.num("raft_snapshot_threshold"),
      snapshotIntervalMs: r.ms("raft_snapshot_interval"),
      trailingLogs: r.num("raft_trailing_logs"),
      multiplier,
      electionTimeoutMs: r.ms("consul.raft.election_timeout"),
      heartbeatTimeoutMs: r.ms("consul.raft.heartbeat_timeout"),
      leaderLeaseTimeoutMs: r.ms("consul.raft.leader_lease_timeout"),
    },
    autopilot: {
      cleanupDeadServers: r.bool("autopilot.cleanup_dead_servers"),
      lastContactThresholdMs: r.ms("autopilot.last_contact_threshold"),
      maxTrailingLogs: r.num("autopilot.max_trailing_logs"),
      minQuorum: r.num("autopilot.min_quorum"),
      serverStabilizationTimeMs: r.ms("autopilot.server_stabilization_time"),
      redundancyZoneTag: r.str("autopilot.redundancy_zone_tag"),
      disableUpgradeMigration: r.bool("autopilot.disable_upgrade_migration"),
      upgradeVersionTag: r.str("autopilot.upgrade_version_tag"),
    },
    gossipLan: gossip(r, "gossip_lan"),
    gossipWan: gossip(r, "gossip_wan"),
    sessionTtlMinMs: r.ms("session_ttl_min", DEFAULT_SESSION_TTL_MIN_MS),
    reconnectTimeoutMs: r.ms("reconnect_timeout", DEFAULT_RECONNECT_TIMEOUT_MS),
    reconnectTimeoutWanMs: r.ms("reconnect_timeout_wan", DEFAULT_RECONNECT_TIMEOUT_MS),

    retryJoin: r.strs("retry_join"),
    retryJoinWan: r.strs("retry_join_wan"),
    retryIntervalMs: r.ms("retry_interval"),
    retryIntervalWanMs: r.ms("retry_interval_wan"),
    retryMax: r.num("retry_max"),
    retryMaxWan: r.num("retry_max_wan"),
    rejoinAfterLeave: r.bool("rejoin_after_leave"),
    leaveOnTerminate,
    skipLeaveOnInterrupt,

    encrypt,
    encryptVerifyIncoming: r.bool("encrypt_verify_incoming"),
    encryptVerifyOutgoing: r.bool("encrypt_verify_outgoing"),
    disableKeyringFile: r.bool("disable_keyring_file"),

    checkUpdateIntervalMs: r.ms("check_update_interval"),
    checkOutputMaxSize: r.num("check_output_max_size"),
    enableScriptChecks: r.bool("enable_script_checks"),
    enableLocalScriptChecks: r.bool("enable_local_script_checks"),
    disableRemoteExec: r.bool("disable_remote_exec"),
    disableCoordinates: r.bool("disable_coordinates"),

    acl: {
      enabled: r.bool("acl.enabled"),
      defaultPolicy: defaultPolicy === "deny" ? "deny" : "allow",
      downPolicy,
      tokenTtlMs: r.ms("acl.token_ttl"),
      policyTtlMs: r.ms("acl.policy_ttl"),
      roleTtlMs: r.ms("acl.role_ttl"),
      enableKeyListPolicy: r.bool("acl.enable_key_list_policy"),
      enableTokenPersistence: r.bool("acl.enable_token_persistence"),
      enableTokenReplication: r.bool("acl.enable_token_replication"),
      tokens: {
        initialManagement: r.str("acl.tokens.initial_management"),
        agentRecovery: r.str("acl.tokens.agent_recovery"),
        agent: r.str("acl.tokens.agent"),
        default: r.str("acl.tokens.default"),
        replication: r.str("acl.tokens.replication"),
        configFileServiceRegistration: r.str("acl.tokens.config_file_service_registration"),
        dns: r.str("acl.tokens.dns"),
      },
    },
    connect: { enabled: r.bool("connect.enabled"), caProvider, caConfig: r.sub("connect.ca_config") },
    peering: { enabled: r.bool("peering.enabled") },

    services: r.trees("services"),
    checks: r.trees("checks"),
    watches: r.trees("watches"),
    configEntriesBootstrap: r.trees("config_entries.bootstrap"),

    version: CONSUL_API_VERSION,
    raw: input.tree,
    sources: input.sources,
    warnings,
  };
  if (errors.length > 0) return { ok: false, errors, warnings };
  return { ok: true, config, warnings };
}
