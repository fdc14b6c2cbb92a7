/**
 * agent/config/types: RuntimeConfig, the fully-defaulted, validated configuration
 * the agent runs with (Consul's agent/config/runtime.go, camelCase, durations in ms).
 *
 * A port of -1 means "this listener is disabled". Address lists are the
 * addresses a listener binds ("unix:///path" for a unix socket).
 *
 * Must never: import runtime code; this file is types only.
 */

import type { ConfigTree, ConfigValue } from "./tree.ts";

export type LogLevel = "trace" | "debug" | "info" | "warn" | "error";

export interface PortsConfig {
  /** -1 = disabled, for every port below. */
  readonly http: number;
  readonly https: number;
  readonly dns: number;
  readonly grpc: number;
  readonly grpcTls: number;
  readonly server: number;
  readonly serfLan: number;
  readonly serfWan: number;
  readonly sidecarMinPort: number;
  readonly sidecarMaxPort: number;
  readonly exposeMinPort: number;
  readonly exposeMaxPort: number;
}

export interface ListenAddresses {
  readonly http: readonly string[];
  readonly https: readonly string[];
  readonly dns: readonly string[];
  readonly grpc: readonly string[];
  readonly grpcTls: readonly string[];
}

export interface GossipConfig {
  readonly gossipNodes: number;
  readonly gossipIntervalMs: number;
  readonly probeIntervalMs: number;
  readonly probeTimeoutMs: number;
  readonly suspicionMult: number;
  readonly retransmitMult: number;
}

export interface AclTokens {
  readonly initialManagement: string;
  readonly agentRecovery: string;
  readonly agent: string;
  readonly default: string;
  readonly replication: string;
  readonly configFileServiceRegistration: string;
  readonly dns: string;
}

export interface AclConfig {
  readonly enabled: boolean;
  readonly defaultPolicy: "allow" | "deny";
  readonly downPolicy: string;
  readonly tokenTtlMs: number;
  readonly policyTtlMs: number;
  readonly roleTtlMs: number;
  readonly enableKeyListPolicy: boolean;
  readonly enableTokenPersistence: boolean;
  readonly enableTokenReplication: boolean;
  readonly tokens: AclTokens;
}

export interface DnsConfig {
  readonly allowStale: boolean;
  readonly maxStaleMs: number;
  readonly nodeTtlMs: number;
  readonly serviceTtlMs: Readonly<Record<string, number>>;
  readonly onlyPassing: boolean;
  readonly enableTruncate: boolean;
  readonly udpAnswerLimit: number;
  readonly aRecordLimit: number;
  readonly disableCompression: boolean;
  readonly recursorTimeoutMs: number;
  readonly recursorStrategy: "sequential" | "random";
  readonly enableAdditionalNodeMetaTxt: boolean;
  readonly soa: { readonly refresh: number; readonly retry: number; readonly expire: number; readonly minTtl: number };
  readonly useCache: boolean;
  readonly cacheMaxAgeMs: number;
}

export interface LimitsConfig {
  readonly kvMaxValueSize: number;
  readonly txnMaxReqLen: number;
  readonly httpMaxConnsPerClient: number;
  readonly rpcMaxConnsPerClient: number;
  /** Requests per second; Infinity when unlimited (Consul's -1). */
  readonly rpcRate: number;
  readonly rpcMaxBurst: number;
}

export interface RaftConfig {
  readonly protocol: number;
  readonly snapshotThreshold: number;
  readonly snapshotIntervalMs: number;
  readonly trailingLogs: number;
  /** performance.raft_multiplier (1 in -dev, 5 by default). */
  readonly multiplier: number;
  /** Base timings before the multiplier is applied (Consul's raft defaults). */
  readonly electionTimeoutMs: number;
  readonly heartbeatTimeoutMs: number;
  readonly leaderLeaseTimeoutMs: number;
}

/** The config file's `autopilot` block: the leader stores it when the replicated state has none. */
export interface AutopilotRuntimeConfig {
  readonly cleanupDeadServers: boolean;
  readonly lastContactThresholdMs: number;
  readonly maxTrailingLogs: number;
  readonly minQuorum: number;
  readonly serverStabilizationTimeMs: number;
  readonly redundancyZoneTag: string;
  readonly disableUpgradeMigration: boolean;
  readonly upgradeVersionTag: string;
}

export interface RuntimeConfig {
  // identity and role
  readonly datacenter: string;
  readonly primaryDatacenter: string;
  readonly nodeName: string;
  /** Lower-case UUID from node_id, or null: the agent derives or persists one. */
  readonly nodeId: string | null;
  readonly nodeMeta: Readonly<Record<string, string>>;
  readonly server: boolean;
  readonly bootstrap: boolean;
  readonly bootstrapExpect: number;
  readonly devMode: boolean;
  /** null in -dev: everything is kept in memory. */
  readonly dataDir: string | null;
  readonly disableHostNodeId: boolean;

  // network
  readonly bindAddr: string;
  readonly advertiseAddr: string;
  readonly advertiseAddrWan: string;
  readonly clientAddrs: readonly string[];
  readonly serfBindAddrLan: string;
  readonly serfBindAddrWan: string;
  readonly addresses: ListenAddresses;
  readonly ports: PortsConfig;
  readonly unixSockets: { readonly user: string; readonly group: string; readonly mode: string };
  readonly taggedAddresses: Readonly<Record<string, string>>;
  readonly translateWanAddrs: boolean;

  // logging and process
  readonly logLevel: LogLevel;
  readonly logJson: boolean;
  readonly logFile: string;
  readonly pidFile: string;
  readonly enableDebug: boolean;
  readonly disableUpdateCheck: boolean;

  // UI
  readonly ui: { readonly enabled: boolean; readonly dir: string; readonly contentPath: string };

  // DNS
  /** Fully qualified, lower case, e.g. "consul.". */
  readonly domain: string;
  /** Fully qualified or "" when unset. */
  readonly altDomain: string;
  readonly recursors: readonly string[];
  readonly dns: DnsConfig;

  // HTTP API
  readonly http: {
    readonly responseHeaders: Readonly<Record<string, string>>;
    readonly blockEndpoints: readonly string[];
    readonly allowWriteHttpFrom: readonly string[];
    readonly useCache: boolean;
    readonly maxHeaderBytes: number;
  };
  readonly defaultQueryTimeMs: number;
  readonly maxQueryTimeMs: number;
  readonly disableKvKeyValidation: boolean;
  readonly limits: LimitsConfig;

  // consensus and gossip
  readonly raft: RaftConfig;
  readonly autopilot: AutopilotRuntimeConfig;
  readonly gossipLan: GossipConfig;
  readonly gossipWan: GossipConfig;
  readonly sessionTtlMinMs: number;
  readonly reconnectTimeoutMs: number;
  readonly reconnectTimeoutWanMs: number;

  // joining and leaving (stored; the runtime decides when to use them)
  readonly retryJoin: readonly string[];
  readonly retryJoinWan: readonly string[];
  readonly retryIntervalMs: number;
  readonly retryIntervalWanMs: number;
  readonly retryMax: number;
  readonly retryMaxWan: number;
  readonly rejoinAfterLeave: boolean;
  readonly leaveOnTerminate: boolean;
  readonly skipLeaveOnInterrupt: boolean;

  // gossip encryption (stored)
  readonly encrypt: string;
  readonly encryptVerifyIncoming: boolean;
  readonly encryptVerifyOutgoing: boolean;
  readonly disableKeyringFile: boolean;

  // checks and exec
  readonly checkUpdateIntervalMs: number;
  readonly checkOutputMaxSize: number;
  readonly enableScriptChecks: boolean;
  readonly enableLocalScriptChecks: boolean;
  readonly disableRemoteExec: boolean;
  readonly disableCoordinates: boolean;

  // ACL, connect, peering
  readonly acl: AclConfig;
  readonly connect: {
    readonly enabled: boolean;
    readonly caProvider: string;
    readonly caConfig: Readonly<Record<string, ConfigValue>>;
  };
  readonly peering: { readonly enabled: boolean };

  // definitions kept as normalized snake_case trees for later issues
  readonly services: readonly ConfigTree[];
  readonly checks: readonly ConfigTree[];
  readonly watches: readonly ConfigTree[];
  readonly configEntriesBootstrap: readonly ConfigTree[];

  /** Consul version this agent reports (the `version` key or CONSUL_API_VERSION). */
  readonly version: string;
  /** The merged, normalized config tree (snake_case keys), defaults included. */
  readonly raw: ConfigTree;
  /** Config files read, in merge order. */
  readonly sources: readonly string[];
  /** Deprecation and no-effect warnings, to be logged at start. */
  readonly warnings: readonly string[];
}
