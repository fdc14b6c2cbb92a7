/**
 * agent/agent_types: the shapes of an assembled agent — what startAgent() is given
 * (AgentOptions, built from the RuntimeConfig by agent/lifecycle.ts), the server it runs
 * (single-voter, Raft cluster or a client agent's forwarding backend) and the handle it
 * returns (RunningAgent).
 *
 * Must never: hold code that runs (types only), or import a module that starts anything.
 */

import type { GossipConfig } from "./config/types.ts";
import type { ConfigTree } from "./config/tree.ts";
import type { LogLevel } from "./log.ts";
import type { EventBus } from "./events.ts";
import type { MonitorHub } from "./monitor.ts";
import type { ReloadLoad } from "./reload.ts";
import type { LocalConfig } from "./local/index.ts";
import type { UnixSocketPerms } from "./unix_socket.ts";
import type { AgentView, Backend } from "../server/types.ts";
import type { FsmStore } from "../server/fsm_store.ts";
import type { AutopilotConfig } from "../state/autopilot_table.ts";
import type { HttpServer } from "../http/index.ts";

export interface AgentOptions {
  readonly nodeName: string;
  readonly nodeId: string | undefined;
  readonly datacenter: string;
  readonly primaryDatacenter: string;
  readonly nodeMeta: Readonly<Record<string, string>>;
  readonly server: boolean;
  readonly dev: boolean;
  /** undefined in dev mode (in-memory). */
  readonly dataDir: string | undefined;
  readonly bindAddr: string;
  readonly advertiseAddr: string;
  /** HTTP listeners: TCP host+port, or a unix socket path; empty = HTTP disabled. */
  readonly httpListeners: readonly HttpListener[];
  readonly serverPort: number;
  readonly serfLanPort: number;
  readonly kvMaxValueSize: number;
  readonly txnMaxReqLen: number;
  readonly snapshotThreshold: number;
  readonly trailingLogs: number;
  /** performance.raft_multiplier (Raft timing of a multi-server cluster; default 5). */
  readonly raftMultiplier?: number;
  /** The config file's `autopilot` block (a cluster's leader stores it when the state has none). */
  readonly autopilot?: AutopilotConfig;
  readonly disableKvKeyValidation: boolean;
  readonly responseHeaders: Readonly<Record<string, string>>;
  /** RuntimeConfig.ui: the built-in web UI on the HTTP listeners (absent: off). */
  readonly ui?: { readonly enabled: boolean; readonly contentPath: string };
  readonly debugConfig: Record<string, unknown>;
  /** RuntimeConfig.connect; absent or disabled = no Connect CA. */
  readonly connect?: { readonly enabled: boolean; readonly caProvider: string; readonly caConfig: Readonly<Record<string, unknown>> };
  /** Service/check definitions and check settings for the local agent (src/agent/local); absent = none. */
  readonly local?: LocalConfig;
  // ---- events, remote exec, watches, reload, monitor (options)
  /** Consul's disable_remote_exec (default true). */
  readonly disableRemoteExec?: boolean;
  /** Config `watches` entries. */
  readonly watches?: readonly ConfigTree[];
  /** The running log level (what reload compares against). */
  readonly logLevel?: LogLevel;
  /** Re-reads the config the agent was started with (reload). */
  readonly reloadLoad?: ReloadLoad;
  /** Log fan-out for /v1/agent/monitor. */
  readonly monitor?: MonitorHub;
  // ---- end events, remote exec, watches, reload, monitor (options)
  // ---- LAN gossip (options); the pool runs when serfLanPort !== -1
  readonly bootstrap?: boolean;
  readonly bootstrapExpect?: number;
  /** -join / -retry-join addresses, joined in the background at start. */
  readonly retryJoin?: readonly string[];
  readonly retryIntervalMs?: number;
  /** 0 = unbounded. */
  readonly retryMax?: number;
  /** base64 gossip key ("" or absent: plaintext). */
  readonly encrypt?: string;
  /** Keep the gossip keyring in memory only (Consul disable_keyring_file); else <data_dir>/serf/local.keyring. */
  readonly disableKeyringFile?: boolean;
  readonly gossipLan?: GossipConfig;
  /**
   * Asked to stop the whole agent; lifecycle exits with `exitCode` (default 0): PUT
   * /v1/agent/leave after the leave (0), retry_max / retry_max_wan join attempts exhausted (1).
   */
  readonly requestShutdown?: (exitCode?: number) => void;
  // ---- end LAN gossip (options)
  // ---- WAN gossip (options); a server runs the pool when serfWanPort is set and not -1
  readonly serfWanPort?: number;
  /** serf_wan bind address (default: bindAddr). */
  readonly serfWanBindAddr?: string;
  /** advertise_addr_wan (default: advertiseAddr). */
  readonly advertiseAddrWan?: string;
  /** -join-wan / -retry-join-wan addresses, joined in the background at start. */
  readonly retryJoinWan?: readonly string[];
  readonly retryIntervalWanMs?: number;
  /** 0 = unbounded. */
  readonly retryMaxWan?: number;
  readonly reconnectTimeoutWanMs?: number;
  /** rejoin_after_leave: re-join the WAN snapshot's members even after a graceful leave. */
  readonly rejoinAfterLeave?: boolean;
  readonly gossipWan?: GossipConfig;
  // ---- end WAN gossip (options)
}

export type HttpListener =
  | { readonly kind: "tcp"; readonly host: string; readonly port: number }
  | { readonly kind: "unix"; readonly path: string; readonly perms?: UnixSocketPerms };

/** What the agent needs of its server: the single-voter server or the Raft cluster server. */
export interface AgentServer extends Backend {
  readonly store: FsmStore;
  appliedIndex(): number;
  close(opts: { snapshot: boolean }): Promise<void>;
}

export interface RunningAgent {
  readonly server: AgentServer;
  readonly http: readonly HttpServer[];
  readonly view: AgentView;
  shutdown(): Promise<void>;
  // ---- events, remote exec, watches, reload, monitor (handle)
  /** Re-read and apply the config (SIGHUP); rejects with the reason, changing nothing. */
  reload?(): Promise<void>;
  readonly events?: EventBus;
  // ---- end events, remote exec, watches, reload, monitor (handle)
  // ---- LAN gossip (handle)
  /** Graceful leave of the LAN pool (no-op without gossip); call before shutdown(). */
  leave?(): Promise<void>;
  // ---- end LAN gossip (handle)
  // ---- client agent (handle)
  /** DNS in client-agent mode: a client forwards every query to a server; a server answers them with `serve`'s resolver. */
  readonly clientDns?: {
    readonly forward?: (msg: Buffer, tcp: boolean) => Promise<Buffer | null>;
    readonly serve?: (answer: (msg: Buffer, tcp: boolean) => Promise<Buffer | null>) => void;
  };
  // ---- end client agent (handle)
  // ---- WAN gossip (handle)
  /** A server with a WAN pool: DNS questions for another datacenter go to a server of it. */
  readonly wanDns?: (dc: string) => ((msg: Buffer, tcp: boolean) => Promise<Buffer | null>) | undefined;
  // ---- end WAN gossip (handle)
}
