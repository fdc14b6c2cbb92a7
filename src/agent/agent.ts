/**
 * agent/agent: assembles one running agent from its parts and takes it apart again.
 *
 * startAgent() opens the log (WAL worker, or memory in dev mode), recovers the
 * state store, starts the single-voter server (or, on a server with bootstrap_expect > 1,
 * the Raft cluster server of agent/cluster.ts, whose leader-only duties — self-registration,
 * Connect CA, session timers, LAN reconcile — follow leadership) and the HTTP listener, and
 * returns a handle whose shutdown() stops accepting, finishes in-flight writes,
 * snapshots, flushes the log and closes everything, in that order.
 *
 * Must never: parse flags or config files (agent/config does), install signal
 * handlers (agent/lifecycle does), or call process.exit.
 */

import type { GossipConfig } from "./config/types.ts";
import { mkdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import path from "node:path";
import { randomUUID } from "node:crypto";
import type { Logger } from "./log.ts";
import type { AgentView, Backend, MemberView } from "../server/types.ts";
import { SingleServer } from "../server/single.ts";
import { ClusterServer } from "./cluster.ts";
import type { AutopilotConfig } from "../state/autopilot_table.ts";
import type { FsmStore } from "../server/fsm_store.ts";
import type { SessionRow } from "../state/index.ts";
import type { RaftOps } from "../http/agent_ops.ts";
import { CALeader, LeafCache, storeLeafSigner, systemCADeps } from "../connect/index.ts";
import { CairnError } from "../shared/errors.ts";
import { Store, encodeCommand, decodeCommand, type Command } from "../state/index.ts";
import { MemoryLog, WalLog } from "../wal/index.ts";
import { startHttpServer, type HttpServer } from "../http/index.ts";
import { versionInfo } from "../shared/version.ts";
import { applySocketPerms, type UnixSocketPerms } from "./unix_socket.ts";
import { metrics } from "../shared/metrics.ts";
import { startConnectAgent, type ConnectAgent } from "../connect/index.ts";
import { startLocalAgent, type LocalAgent, type LocalConfig } from "./local/index.ts";
import { isRegistered, selfRegistration, type SelfInfo } from "../server/self_register.ts";
import { registerSessionTimers, SessionTimers } from "../server/session_timers.ts";
import { parseGoDuration } from "./config/duration.ts";
// ---- events, remote exec, watches, reload, monitor (imports)
import type { ConfigTree } from "./config/tree.ts";
import type { LogLevel } from "./log.ts";
import { EventBus, REMOTE_EXEC_EVENT } from "./events.ts";
import { RemoteExec } from "./remote_exec.ts";
import { Reloader, type ReloadLoad } from "./reload.ts";
import type { MonitorHub } from "./monitor.ts";
import { AgentClient, parseConfigWatches, parseEndpoint, WatchManager, type AgentEndpoint } from "../watch/index.ts";
import type { AgentOps } from "../http/agent_ops.ts";
// ---- end events, remote exec, watches, reload, monitor (imports)
// ---- LAN gossip (imports)
import { startLan, type LanPool } from "./lan.ts";
// ---- end LAN gossip (imports)
// ---- client agent (imports)
import { ClientAgent, ClientBackend } from "./client.ts";
import { serveClients, type ClientService } from "./client_serve.ts";
// ---- end client agent (imports)
// ---- WAN gossip (imports)
import { SERF_WAN_SNAPSHOT, startWan, wanName, type WanPool } from "./wan.ts";
import { WanForwarder } from "./wan_forward.ts";
// ---- end WAN gossip (imports)

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
  /** Asked to stop the whole agent (PUT /v1/agent/leave after the leave); lifecycle exits. */
  readonly requestShutdown?: () => void;
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

/** The node ID: configured, else persisted in data_dir/node-id, else random (dev). */
export function resolveNodeId(opts: Pick<AgentOptions, "nodeId" | "dataDir">): string {
  if (opts.nodeId) return opts.nodeId;
  if (opts.dataDir === undefined) return randomUUID();
  mkdirSync(opts.dataDir, { recursive: true });
  const file = path.join(opts.dataDir, "node-id");
  if (existsSync(file)) {
    const id = readFileSync(file, "utf8").trim();
    if (id) return id;
  }
  const id = randomUUID();
  writeFileSync(file, id);
  return id;
}

export async function startAgent(opts: AgentOptions, logger: Logger): Promise<RunningAgent> {
  const log = logger.named("agent");
  // ---- watches are validated before anything starts (Consul refuses to start with a bad one)
  if ((opts.watches ?? []).length > 0) {
    const pw = parseConfigWatches(opts.watches ?? []);
    if (!pw.ok) throw new Error(pw.error);
    if (opts.httpListeners.length === 0) throw new Error("watch plans require an HTTP or HTTPS endpoint");
  }
  // ---- end watches validation
  if (opts.dataDir !== undefined) mkdirSync(opts.dataDir, { recursive: true });
  const nodeId = resolveNodeId(opts);
  const advertise = `${opts.advertiseAddr}:${opts.serverPort > 0 ? opts.serverPort : 8300}`;

  const store = new Store();
  // ---- client agent (agent/client.ts): without -server (and not -dev) the agent keeps no
  // store of its own; it finds servers in the LAN pool and forwards to them. With the LAN
  // pool disabled it could never find one, so it keeps running standalone (as before).
  const clientMode = !opts.server && !opts.dev && opts.serfLanPort !== -1;
  if (!opts.server && !opts.dev && !clientMode) log("warn", "client agent without a LAN pool (ports.serf_lan = -1): no servers can be found; running standalone with a store of its own");
  const client = clientMode
    ? new ClientAgent({ nodeName: opts.nodeName, datacenter: opts.datacenter, log: logger.named("agent.client"), responseHeaders: opts.responseHeaders })
    : undefined;
  // ---- end client agent
  // ---- Raft cluster (agent/cluster.ts): a server with bootstrap_expect > 1, or one that joins
  // others (-join/-retry-join) without any bootstrap setting — as in Consul, it waits to be added
  // to the running cluster instead of electing itself (never -dev).
  const joinsOthers = (opts.bootstrapExpect ?? 0) <= 1 && opts.bootstrap !== true && (opts.retryJoin ?? []).length > 0;
  const clustered = opts.server && !opts.dev && ((opts.bootstrapExpect ?? 0) > 1 || joinsOthers) && opts.dataDir !== undefined;
  let cluster: ClusterServer | undefined;
  let onLeadership: (leader: boolean) => void = () => {};
  let server: AgentServer;
  if (clustered && opts.dataDir !== undefined) {
    cluster = new ClusterServer(
      {
        nodeId,
        nodeName: opts.nodeName,
        datacenter: opts.datacenter,
        dataDir: opts.dataDir,
        bindAddr: opts.bindAddr,
        advertiseAddr: opts.advertiseAddr,
        serverPort: opts.serverPort > 0 ? opts.serverPort : 8300,
        bootstrapExpect: opts.bootstrapExpect ?? 0,
        raftMultiplier: opts.raftMultiplier ?? 5,
        snapshotThreshold: opts.snapshotThreshold,
        trailingLogs: opts.trailingLogs,
        ...(opts.autopilot === undefined ? {} : { autopilot: opts.autopilot }),
      },
      { store, log: logger.named("agent.server.raft"), onLeadership: (l) => onLeadership(l) },
    );
    await cluster.listen();
    if (opts.serfLanPort === -1) log("warn", "bootstrap_expect > 1 without a LAN pool (ports.serf_lan = -1): the cluster can only start from existing Raft state");
    server = cluster;
  } else if (client !== undefined) {
    server = new ClientBackend(client); // client agent
  } else {
    const wal =
      opts.dataDir === undefined ? new MemoryLog() : new WalLog(path.join(opts.dataDir, "raft"));
    const single = new SingleServer({
      log: wal,
      store,
      encode: encodeCommand,
      decode: decodeCommand,
      advertiseAddr: advertise,
      snapshotThreshold: opts.snapshotThreshold,
      trailingLogs: opts.trailingLogs,
      logger: logger.named("agent.server.raft"),
      now: () => performance.now(),
    });
    const t0 = performance.now();
    const rec = await single.start();
    for (const n of rec.notes) log("warn", `wal: ${n}`);
    log(
      "info",
      `state restored: snapshot index=${rec.snapshotIndex}, replayed ${rec.replayed} log entries, ` +
        `last index=${single.appliedIndex()} in ${(performance.now() - t0).toFixed(0)}ms`,
    );
    server = single;
  }
  // ---- end Raft cluster

  const vi = versionInfo(process.env);
  let lan: LanPool | undefined; // LAN gossip (started below when serfLanPort !== -1)
  let wanPool: WanPool | undefined; // WAN gossip (servers, started below when serfWanPort !== -1)
  // The leader (always this server, for now) registers its own node, serfHealth and `consul` service.
  const selfInfo: SelfInfo = {
    nodeName: opts.nodeName,
    nodeId,
    address: opts.advertiseAddr,
    datacenter: opts.datacenter,
    server: opts.server,
    serverPort: opts.serverPort > 0 ? opts.serverPort : 8300,
    version: vi.version,
    nodeMeta: opts.nodeMeta,
  };
  const registerSelf = async (): Promise<void> => {
    if (isRegistered(store, selfInfo)) return;
    const r = await server.apply({ type: "catalog-register", req: selfRegistration(selfInfo) });
    if (r.type === "error") log("error", `failed to register this node in the catalog: ${r.message}`);
  };
  if (cluster === undefined && client === undefined) await registerSelf(); // a cluster's leader does it (below); a client agent never
  const self: MemberView = {
    name: opts.nodeName,
    addr: opts.advertiseAddr,
    port: opts.serfLanPort > 0 ? opts.serfLanPort : 8301,
    tags: opts.server
      ? {
          role: "consul",
          dc: opts.datacenter,
          segment: "",
          id: nodeId,
          vsn: "2",
          vsn_min: "2",
          vsn_max: "3",
          raft_vsn: "3",
          build: `${vi.version}:${vi.revision}`,
          port: String(opts.serverPort > 0 ? opts.serverPort : 8300),
          bootstrap: "1",
        }
      : { role: "node", dc: opts.datacenter, segment: "", id: nodeId, vsn: "2", vsn_min: "2", vsn_max: "3", build: `${vi.version}:${vi.revision}` },
    status: 1,
  };
  const view: AgentView = {
    nodeName: opts.nodeName,
    nodeId,
    datacenter: opts.datacenter,
    primaryDatacenter: opts.primaryDatacenter,
    server: opts.server,
    version: vi.version,
    cairnVersion: vi.cairn,
    revision: vi.revision,
    buildDate: vi.buildDate,
    prettyByDefault: opts.dev,
    debugConfig: () => opts.debugConfig,
    members: (wan) => (wan ? (wanPool?.members() ?? []) : lan !== undefined ? lan.members() : [self]),
  };

  // ---- connect CA (src/connect): on a server with connect.enabled, initialise the CA
  // through the log (the single-voter server is always leader) and make the leaf cache.
  let connect: ConnectAgent | undefined;
  if (cluster !== undefined && opts.connect?.enabled === true) {
    // A cluster: the CA is initialised by whichever server leads (onLeadership below).
    const caLeader = new CALeader(
      { apply: (cmd) => server.apply(cmd), reader: store, ca: systemCADeps, newClusterId: randomUUID, log: logger.named("agent.connect") },
      { ca_provider: opts.connect.caProvider, ca_config: opts.connect.caConfig },
    );
    connect = { reader: store, leader: caLeader, leaves: new LeafCache(storeLeafSigner(store, opts.datacenter, systemCADeps)), stop: () => caLeader.stop() };
  } else if (opts.server && opts.connect?.enabled === true) {
    try {
      connect = await startConnectAgent({
        apply: (cmd) => server.apply(cmd),
        reader: store,
        datacenter: opts.datacenter,
        agentConnect: { ca_provider: opts.connect.caProvider, ca_config: opts.connect.caConfig },
        log: logger.named("agent.connect"),
        newClusterId: randomUUID,
      });
    } catch (e) {
      await server.close({ snapshot: false });
      throw e;
    }
  }
  // ---- end connect CA

  // ---- session TTL timers (server/session_timers): this server is the leader, so it arms a
  // timer per TTL session from the store (2 x TTL) and stamps pending lock-delays.
  const sessionTimers = new (cluster === undefined ? SessionTimers : ClusterSessionTimers)(
    { store, apply: (cmd) => server.apply(cmd) },
    {
      now: () => Date.now(),
      setTimer: (fn, ms) => setTimeout(fn, ms),
      clearTimer: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
      parseDuration: parseGoDuration,
      log: logger.named("agent.server.session"),
    },
  );
  registerSessionTimers(store, sessionTimers);
  if (sessionTimers instanceof ClusterSessionTimers && cluster !== undefined) {
    const c = cluster;
    sessionTimers.forward = (id) => c.forwardSessionRenew(id);
    c.onSessionRenew((id) => void sessionTimers.renew(id));
  }
  if (cluster === undefined) sessionTimers.start(); // a cluster's leader starts them (below)
  // ---- end session TTL timers

  // Consul's runtime gauges, from the process's own memory figures.
  metrics.gaugeFn("consul.runtime.alloc_bytes", () => process.memoryUsage().heapUsed);
  metrics.gaugeFn("consul.runtime.sys_bytes", () => process.memoryUsage.rss());
  metrics.gaugeFn("cairn.runtime.external_bytes", () => process.memoryUsage().external);
  metrics.gaugeFn("cairn.runtime.array_buffer_bytes", () => process.memoryUsage().arrayBuffers);
  metrics.gaugeFn("consul.kvs.entries", () => store.kvCount());

  // ---- local services and checks (src/agent/local): config and data-dir definitions,
  // check runtimes, anti-entropy to the catalog.
  let local: LocalAgent;
  try {
    local = await startLocalAgent({
      backend: server,
      nodeName: opts.nodeName,
      nodeId,
      datacenter: opts.datacenter,
      address: opts.advertiseAddr,
      dataDir: opts.dataDir,
      config: opts.local ?? { services: [], checks: [], enableScriptChecks: false, enableLocalScriptChecks: false, checkOutputMaxSize: 4096, checkUpdateIntervalMs: 300_000 },
      logger: logger.named("agent.local"),
      version: vi.version,
    });
  } catch (e) {
    await connect?.stop();
    await server.close({ snapshot: false });
    throw e;
  }
  // ---- end local services and checks

  // ---- events, remote exec, watches, reload, monitor (assembly)
  const events = new EventBus({
    nodeName: opts.nodeName,
    services: () => local.services(),
    newId: randomUUID,
    log: logger.named("agent"),
  });
  let selfEndpoint: AgentEndpoint | undefined;
  const selfClient = (): AgentClient | undefined => (selfEndpoint === undefined ? undefined : new AgentClient({ endpoint: selfEndpoint }));
  const rexec = new RemoteExec({ nodeName: opts.nodeName, client: selfClient, log: logger.named("agent") });
  if (opts.disableRemoteExec === false) events.onInternal(REMOTE_EXEC_EVENT, (e) => rexec.handle(e));
  const watchManager = new WatchManager({ endpoint: () => selfEndpoint, log: logger.named("agent.watch") });
  let reloader: Reloader | undefined;
  const ops: AgentOps = {
    events,
    monitor: opts.monitor,
    reload:
      opts.reloadLoad === undefined
        ? undefined
        : () => (reloader === undefined ? Promise.reject(new Error("agent is starting")) : reloader.reload()),
  };
  // ---- end events, remote exec, watches, reload, monitor (assembly)

  // ---- LAN gossip: Consul's serf LAN pool; members, join/leave, user events, and on a
  // server the reconciliation of members into the catalog (agent/lan.ts).
  let left: Promise<void> | undefined;
  const leaveLan = (): Promise<void> => {
    left ??= lan === undefined ? Promise.resolve() : lan.leave().catch((e: unknown) => log("error", `leave failed: ${String(e)}`));
    return left;
  };
  if (opts.serfLanPort !== -1) {
    try {
      lan = await startLan(
        {
          nodeName: opts.nodeName,
          nodeId,
          datacenter: opts.datacenter,
          server: opts.server,
          bootstrap: opts.bootstrap ?? false,
          bootstrapExpect: opts.bootstrapExpect ?? 0,
          serverPort: opts.serverPort > 0 ? opts.serverPort : 8300,
          build: `${vi.version}:${vi.revision}`,
          bindAddr: opts.bindAddr === "0.0.0.0" || opts.bindAddr === "" ? "0.0.0.0" : opts.bindAddr,
          advertiseAddr: opts.advertiseAddr,
          port: opts.serfLanPort,
          dev: opts.dev,
          encrypt: opts.encrypt ?? "",
          dataDir: opts.dataDir,
          disableKeyringFile: opts.disableKeyringFile ?? false,
          retryJoin: opts.retryJoin ?? [],
          wanJoinPort: opts.server && opts.serfWanPort !== undefined && opts.serfWanPort > 0 ? opts.serfWanPort : undefined, // WAN gossip
          retryIntervalMs: opts.retryIntervalMs ?? 30_000,
          retryMax: opts.retryMax ?? 0,
          tuning: opts.dev ? undefined : opts.gossipLan,
        },
        {
          events,
          catalog: opts.server
            ? { apply: (cmd) => server.apply(cmd), reader: store, ...(cluster === undefined ? {} : { isLeader: () => cluster.isLeader() }) }
            : undefined,
          // A server applies its own coordinate; a client agent forwards it (server = ClientBackend).
          ...(opts.server || client !== undefined ? { writeCoordinate: (cmd: Command) => server.apply(cmd) } : {}),
          log: logger.named("agent"),
          ...(cluster === undefined ? {} : { onMembers: (ms: readonly MemberView[]) => cluster.onMembers(ms) }),
          ...(client === undefined ? {} : { onMembers: (ms: readonly MemberView[]) => client.onMembers(ms) }), // client agent
        },
      );
    } catch (e) {
      stopExtrasEarly(events, watchManager, rexec);
      await local.close();
      await connect?.stop();
      sessionTimers.stop();
      await server.close({ snapshot: false });
      throw e;
    }
  }
  const lanOps: AgentOps["gossip"] = {
    join: async (addr, wan) => {
      if (wan) throw new Error(opts.server ? "WAN Federation is disabled" : "Must be a server to join WAN cluster");
      if (lan === undefined) throw new Error("LAN gossip is disabled (ports.serf_lan = -1)");
      return lan.join([addr]);
    },
    leave: async () => {
      await leaveLan();
      // As Consul: answer the request, then shut the agent down.
      setTimeout(() => opts.requestShutdown?.(), 50);
    },
    forceLeave: async (node, prune, wan) => {
      if (wan) throw new Error(opts.server ? "WAN Federation is disabled" : "Must be a server to force-leave a WAN member");
      if (lan === undefined) throw new Error(`agent: No node found with name '${node}'`);
      await lan.forceLeave(node, prune);
    },
    keyring: async (op, key, relayFactor, localOnly) => {
      if (lan === undefined) throw new Error("LAN gossip is disabled (ports.serf_lan = -1)");
      return lan.keyring(op, key, relayFactor, localOnly);
    },
  };
  const opsWithGossip: AgentOps = { ...ops, gossip: lanOps, raft: cluster ?? singleRaftOps(server, nodeId, opts.nodeName, advertise) };
  // ---- end LAN gossip

  // ---- WAN gossip: a server's serf WAN pool (agent/wan.ts): members `<node>.<dc>`, join
  // -wan, force-leave -wan, the datacenters seen in the pool; leaving leaves WAN, then LAN.
  if (opts.server && opts.serfWanPort !== undefined && opts.serfWanPort !== -1) {
    try {
      wanPool = await startWan(
        {
          nodeName: opts.nodeName,
          nodeId,
          datacenter: opts.datacenter,
          bootstrap: opts.bootstrap ?? false,
          bootstrapExpect: opts.bootstrapExpect ?? 0,
          serverPort: opts.serverPort > 0 ? opts.serverPort : 8300,
          build: `${vi.version}:${vi.revision}`,
          bindAddr: opts.serfWanBindAddr === undefined || opts.serfWanBindAddr === "" ? opts.bindAddr : opts.serfWanBindAddr,
          advertiseAddr: opts.advertiseAddrWan === undefined || opts.advertiseAddrWan === "" ? opts.advertiseAddr : opts.advertiseAddrWan,
          port: opts.serfWanPort,
          dev: opts.dev,
          encrypt: opts.encrypt ?? "",
          dataDir: opts.dataDir,
          disableKeyringFile: opts.disableKeyringFile ?? false,
          snapshotPath: opts.dataDir === undefined || opts.dev ? undefined : path.join(opts.dataDir, SERF_WAN_SNAPSHOT),
          rejoinAfterLeave: opts.rejoinAfterLeave ?? false,
          retryJoin: opts.retryJoinWan ?? [],
          retryIntervalMs: opts.retryIntervalWanMs ?? 30_000,
          retryMax: opts.retryMaxWan ?? 0,
          reconnectTimeoutMs: opts.reconnectTimeoutWanMs,
          tuning: opts.gossipWan,
        },
        { log: logger.named("agent") },
      );
    } catch (e) {
      await lan?.close();
      stopExtrasEarly(events, watchManager, rexec);
      await local.close();
      await connect?.stop();
      sessionTimers.stop();
      await server.close({ snapshot: false });
      throw e;
    }
    if (lan !== undefined) {
      const l = lan;
      wanPool.startFlood(() => l.members());
    }
  } else if (opts.server && (opts.retryJoinWan ?? []).length > 0) {
    log("warn", "-join-wan / retry_join_wan given but the WAN pool is disabled (ports.serf_wan = -1)");
  }
  let leftWan: Promise<void> | undefined;
  const leaveWan = (): Promise<void> => {
    leftWan ??= wanPool === undefined ? Promise.resolve() : wanPool.leave().catch((e: unknown) => log("error", `WAN leave failed: ${String(e)}`));
    return leftWan;
  };
  const leaveAll = async (): Promise<void> => {
    await leaveWan();
    await leaveLan();
  };
  const wanGossip: NonNullable<AgentOps["gossip"]> = {
    ...lanOps,
    join: async (addr, wan) => {
      if (!wan) return lanOps.join(addr, wan);
      if (!opts.server) throw new Error("Must be a server to join WAN cluster");
      if (wanPool === undefined) throw new Error("WAN Federation is disabled");
      return wanPool.join([addr]);
    },
    leave: async () => {
      await leaveWan();
      await lanOps.leave();
    },
    forceLeave: async (node, prune, wan) => {
      // Consul: a server's plain force-leave also removes <node>.<dc> from the WAN pool;
      // ?wan removes the WAN member named exactly.
      if (!opts.server || wanPool === undefined) return lanOps.forceLeave(node, prune, wan);
      const w = wanPool;
      if (wan) return w.forceLeave(node, prune);
      const wanNode = node.endsWith("." + opts.datacenter) ? node : wanName(node, opts.datacenter);
      const inWan = w.members().some((m) => m.name === wanNode);
      let lanErr: unknown;
      try {
        await lanOps.forceLeave(node, prune, false);
      } catch (e) {
        lanErr = e;
      }
      if (inWan) await w.forceLeave(wanNode, prune);
      else if (lanErr !== undefined) throw lanErr;
    },
    // Consul Internal.KeyringOperation: the WAN pool first, then this datacenter's LAN pool
    // (local-only stays on the LAN pool; no cross-datacenter forwarding here).
    keyring: async (op, key, relayFactor, localOnly) => {
      const lanKeyring = lanOps.keyring;
      if (lanKeyring === undefined) throw new Error("LAN gossip is disabled (ports.serf_lan = -1)");
      if (localOnly || wanPool === undefined) return lanKeyring(op, key, relayFactor, localOnly);
      const w = await wanPool.keyring(op, key, relayFactor);
      return [w, ...(await lanKeyring(op, key, relayFactor, localOnly))];
    },
  };
  // Requests with ?dc=<another datacenter> go to a server of it (Consul's forwardDC).
  const wanForward = wanPool === undefined ? undefined : new WanForwarder({ datacenter: opts.datacenter, members: () => wanPool?.members() ?? [], log: logger.named("agent") });
  const opsWithWan: AgentOps = {
    ...opsWithGossip,
    gossip: wanGossip,
    ...(wanPool === undefined ? {} : { wan: { datacenters: () => wanPool?.datacenters() ?? Promise.resolve([opts.datacenter]), coordinates: () => wanPool?.coordinates() ?? Promise.resolve([]) } }),
  };
  // ---- end WAN gossip

  // ---- Raft cluster: leader-only duties follow leadership (a read barrier first, so the
  // store has applied everything the previous leader committed).
  let leaderGen = 0;
  let shuttingDown = false;
  onLeadership = (leader) => {
    const gen = ++leaderGen;
    if (!leader) {
      sessionTimers.stop();
      void connect?.leader?.stop();
      return;
    }
    void (async () => {
      try {
        await server.readBarrier("consistent");
        if (gen !== leaderGen || shuttingDown) return;
        await registerSelf();
        sessionTimers.start();
        lan?.reconcileAll();
        if (connect?.leader !== undefined) {
          await connect.leader.initialize();
          connect.leader.startPruning();
        }
      } catch (e) {
        log("error", `leader duties failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    })();
  };
  if (cluster?.isLeader() === true) onLeadership(true);
  // ---- end Raft cluster

  const http: HttpServer[] = [];
  try {
    for (const l of opts.httpListeners) {
      const srv = await startHttpServer({
        backend: server,
        agent: view,
        host: l.kind === "tcp" ? l.host : "",
        port: l.kind === "tcp" ? l.port : 0,
        socketPath: l.kind === "unix" ? l.path : undefined,
        limits: { kvMaxValueSize: opts.kvMaxValueSize, txnMaxReqLen: opts.txnMaxReqLen },
        disableKvKeyValidation: opts.disableKvKeyValidation,
        responseHeaders: { ...opts.responseHeaders },
        log: logger.named("agent.http"),
        connect,
        local,
        ops: opsWithWan, // events, reload, monitor, LAN and WAN gossip
        intercept: client?.intercept ?? wanForward?.intercept, // client agent: forward what is not agent-local; server: other datacenters
        ui: opts.ui, // web UI (src/ui)
      });
      http.push(srv);
      if (l.kind === "unix" && l.perms !== undefined) applySocketPerms(l.path, l.perms);
      log("info", `Started HTTP server on ${srv.address()}`);
    }
  } catch (e) {
    for (const h of http) await h.close();
    wanForward?.close(); // WAN gossip
    await wanPool?.close(); // WAN gossip
    await lan?.close(); // LAN gossip
    await local.close();
    await connect?.stop();
    await server.close({ snapshot: false });
    throw e;
  }

  // ---- client agent: a client starts watching for servers and syncs its local state when
  // one shows up; a server answers client agents on its server port (agent/client_serve.ts).
  let clientService: ClientService | undefined;
  if (client !== undefined) {
    client.onServerUp = () => {
      if (!shuttingDown) local.ae.start();
    };
    client.start();
  } else if (opts.server && opts.serverPort > 0) {
    try {
      clientService = await serveClients({
        bindAddr: opts.bindAddr,
        port: opts.serverPort,
        clusterRpc: cluster?.rpc(),
        backend: server,
        catalog: store,
        http: {
          backend: server,
          agent: view,
          limits: { kvMaxValueSize: opts.kvMaxValueSize, txnMaxReqLen: opts.txnMaxReqLen },
          disableKvKeyValidation: opts.disableKvKeyValidation,
          responseHeaders: { ...opts.responseHeaders },
          log: logger.named("agent.http"),
          connect,
          local,
          ops: opsWithWan,
          intercept: wanForward?.intercept, // WAN gossip: a client's request for another datacenter
        },
        log: logger.named("agent.server.rpc"),
      });
    } catch (e) {
      log("error", `client RPC: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const cs = clientService;
  const clientDns: RunningAgent["clientDns"] =
    client !== undefined ? { forward: (m, tcp) => client.forwardDns(m, tcp) } : cs !== undefined ? { serve: (fn) => cs.setDns(fn) } : undefined;
  // ---- end client agent

  // ---- events, remote exec, watches, reload, monitor (start)
  const firstHttp = opts.httpListeners[0];
  if (firstHttp !== undefined && http[0] !== undefined) {
    if (firstHttp.kind === "unix") selfEndpoint = { kind: "unix", socketPath: firstHttp.path };
    else {
      const host = firstHttp.host === "0.0.0.0" || firstHttp.host === "" ? "127.0.0.1" : firstHttp.host === "::" ? "::1" : firstHttp.host;
      selfEndpoint = parseEndpoint(host.includes(":") ? `[${host}]:${http[0].port}` : `${host}:${http[0].port}`);
    }
  }
  watchManager.replace(opts.watches ?? []);
  if (opts.reloadLoad !== undefined) {
    reloader = new Reloader(
      {
        logLevel: opts.logLevel ?? "info",
        services: opts.local?.services ?? [],
        checks: opts.local?.checks ?? [],
        watches: opts.watches ?? [],
      },
      {
        load: opts.reloadLoad,
        setLogLevel: (level) => logger.setLevel(level),
        local,
        watches: watchManager,
        log: logger.named("agent"),
      },
    );
  }
  const stopExtras = (): void => {
    opts.monitor?.close();
    events.close();
    watchManager.stop();
    rexec.stop();
  };
  // ---- end events, remote exec, watches, reload, monitor (start)

  let stopping: Promise<void> | undefined;
  const shutdown = (): Promise<void> => {
    stopping ??= (async () => {
      log("info", "Requesting shutdown");
      shuttingDown = true;
      stopExtras(); // events, remote exec, watches, monitor
      client?.stopForwarding(); // client agent: answer forwarded requests in flight
      await Promise.all(http.map((h) => h.close()));
      wanForward?.close(); // WAN gossip
      await wanPool?.close(); // WAN gossip
      await lan?.close(); // LAN gossip
      await local.close();
      await connect?.stop();
      sessionTimers.stop(); // session TTL timers
      await clientService?.close(); // client agent
      await server.close({ snapshot: true });
      log("info", "shutdown complete");
    })();
    return stopping;
  };
  return { server, http, view, shutdown, events, reload: ops.reload, leave: leaveAll, clientDns, wanDns: wanForward?.dnsFor };
}

/** A cluster's session timers: they run on the leader; a renewal at a follower is passed on to it. */
class ClusterSessionTimers extends SessionTimers {
  forward: ((id: string) => void) | undefined;
  override renew(id: string): SessionRow | undefined {
    const s = super.renew(id);
    if (s !== undefined) this.forward?.(id);
    return s;
  }
}

/** The Raft operator views of a single-voter server: one voter, always the leader. */
function singleRaftOps(server: AgentServer, nodeId: string, nodeName: string, address: string): RaftOps {
  return {
    configuration: () =>
      Promise.resolve({
        servers: [{ id: nodeId, node: nodeName, address, leader: true, voter: true, lastIndex: server.appliedIndex() }],
        index: server.appliedIndex(),
      }),
    removePeer: (by) =>
      Promise.reject(
        new CairnError(
          "internal",
          by.id !== undefined ? `id "${by.id}" was not found in the Raft configuration` : `address "${by.address ?? ""}" was not found in the Raft configuration`,
        ),
      ),
    transferLeader: () => Promise.reject(new CairnError("internal", "cannot find peer")),
  };
}

/** LAN gossip: undo the extras started before the pool when it fails to start. */
function stopExtrasEarly(events: EventBus, watches: WatchManager, rexec: RemoteExec): void {
  events.close();
  watches.stop();
  rexec.stop();
}
