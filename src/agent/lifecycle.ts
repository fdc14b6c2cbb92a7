/**
 * agent/lifecycle: run the agent process from a RuntimeConfig until a signal stops it.
 *
 * Maps the validated config onto the agent's parts, prints Consul's start-up
 * banner, installs SIGINT/SIGTERM handlers (graceful: stop accepting, finish
 * in-flight writes, snapshot, flush the log, exit 0; a second signal forces
 * exit 1), and writes/removes the pid file.
 *
 * Must never: parse flags or files (agent/config did), or hold protocol logic.
 */

import os from "node:os";
import { existsSync, writeFileSync, rmSync } from "node:fs";
import path from "node:path";
import type { RuntimeConfig } from "./config/types.ts";
import { createLogger, type Logger } from "./log.ts";
import { SERF_LAN_KEYRING } from "./keyring_file.ts";
import { startAgent, resolveNodeId, type AgentOptions, type HttpListener, type RunningAgent } from "./agent.ts";
import { versionInfo } from "../shared/version.ts";
import { isDeno } from "../platform/runtime.ts";
import { tuneGcForLatency } from "../platform/gc.ts";
import { dnsResponderFromConfig, startDnsFromConfig, type DnsServer } from "../dns/index.ts";
// ---- reload and monitor (imports)
import { MonitorHub, monitoredLogger } from "./monitor.ts";
import type { ReloadLoad } from "./reload.ts";
// ---- end reload and monitor (imports)

/** The address to advertise: configured, else the bind address, else the first private IPv4. */
export function pickAdvertiseAddr(cfg: RuntimeConfig): string {
  const candidates = [cfg.advertiseAddr, cfg.bindAddr];
  for (const c of candidates) {
    if (c && c !== "0.0.0.0" && c !== "::" && c !== "[::]") return c;
  }
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.family === "IPv4" && !a.internal) return a.address;
    }
  }
  return "127.0.0.1";
}

export function httpListeners(cfg: RuntimeConfig): HttpListener[] {
  const out: HttpListener[] = [];
  const addrs = cfg.addresses.http.length > 0 ? cfg.addresses.http : cfg.clientAddrs;
  for (const a of addrs) {
    if (a.startsWith("unix://")) {
      out.push({ kind: "unix", path: a.slice("unix://".length), perms: cfg.unixSockets });
    } else if (cfg.ports.http !== -1) {
      out.push({ kind: "tcp", host: a, port: cfg.ports.http });
    }
  }
  return out;
}

export function agentOptions(cfg: RuntimeConfig): AgentOptions {
  return {
    nodeName: cfg.nodeName,
    nodeId: cfg.nodeId ?? undefined,
    datacenter: cfg.datacenter,
    primaryDatacenter: cfg.primaryDatacenter || cfg.datacenter,
    nodeMeta: cfg.nodeMeta,
    server: cfg.server,
    dev: cfg.devMode,
    dataDir: cfg.dataDir ?? undefined,
    bindAddr: cfg.bindAddr,
    advertiseAddr: pickAdvertiseAddr(cfg),
    httpListeners: httpListeners(cfg),
    serverPort: cfg.ports.server,
    serfLanPort: cfg.ports.serfLan,
    kvMaxValueSize: cfg.limits.kvMaxValueSize,
    txnMaxReqLen: cfg.limits.txnMaxReqLen,
    snapshotThreshold: cfg.raft.snapshotThreshold,
    trailingLogs: cfg.raft.trailingLogs,
    raftMultiplier: cfg.raft.multiplier,
    autopilot: cfg.autopilot,
    disableKvKeyValidation: cfg.disableKvKeyValidation,
    responseHeaders: cfg.http.responseHeaders,
    ui: { enabled: cfg.ui.enabled, contentPath: cfg.ui.contentPath },
    debugConfig: debugConfig(cfg),
    connect: cfg.connect,
    local: {
      services: cfg.services,
      checks: cfg.checks,
      enableScriptChecks: cfg.enableScriptChecks,
      enableLocalScriptChecks: cfg.enableLocalScriptChecks,
      checkOutputMaxSize: cfg.checkOutputMaxSize,
      checkUpdateIntervalMs: cfg.checkUpdateIntervalMs,
      nodeMeta: cfg.nodeMeta,
    },
    // ---- events, remote exec, watches, reload
    disableRemoteExec: cfg.disableRemoteExec,
    watches: cfg.watches,
    logLevel: cfg.logLevel,
    // ---- end events, remote exec, watches, reload
    // ---- LAN gossip
    bootstrap: cfg.bootstrap,
    bootstrapExpect: cfg.bootstrapExpect,
    retryJoin: cfg.retryJoin,
    retryIntervalMs: cfg.retryIntervalMs,
    retryMax: cfg.retryMax,
    encrypt: cfg.encrypt,
    disableKeyringFile: cfg.disableKeyringFile,
    gossipLan: cfg.gossipLan,
    // ---- end LAN gossip
    // ---- WAN gossip
    serfWanPort: cfg.ports.serfWan,
    serfWanBindAddr: cfg.serfBindAddrWan,
    advertiseAddrWan: cfg.advertiseAddrWan === "" || cfg.advertiseAddrWan === cfg.advertiseAddr ? pickAdvertiseAddr(cfg) : cfg.advertiseAddrWan,
    retryJoinWan: cfg.retryJoinWan,
    retryIntervalWanMs: cfg.retryIntervalWanMs,
    retryMaxWan: cfg.retryMaxWan,
    reconnectTimeoutWanMs: cfg.reconnectTimeoutWanMs,
    rejoinAfterLeave: cfg.rejoinAfterLeave,
    gossipWan: cfg.gossipWan,
    // ---- end WAN gossip
  };
}

/**
 * Whether a signal makes the agent leave the LAN pool before it stops (Consul
 * command/agent: SIGINT leaves unless skip_leave_on_interrupt, SIGTERM only with
 * leave_on_terminate; servers default to neither, clients to both).
 */
export function leavesOnSignal(cfg: Pick<RuntimeConfig, "skipLeaveOnInterrupt" | "leaveOnTerminate">, signal: "interrupt" | "terminated"): boolean {
  return signal === "interrupt" ? !cfg.skipLeaveOnInterrupt : cfg.leaveOnTerminate;
}

/** /v1/agent/self DebugConfig: the runtime config without secrets. */
function debugConfig(cfg: RuntimeConfig): Record<string, unknown> {
  const hidden = "hidden";
  return {
    Datacenter: cfg.datacenter,
    PrimaryDatacenter: cfg.primaryDatacenter || cfg.datacenter,
    NodeName: cfg.nodeName,
    NodeID: cfg.nodeId ?? "",
    ServerMode: cfg.server,
    Bootstrap: cfg.bootstrap,
    BootstrapExpect: cfg.bootstrapExpect,
    DevMode: cfg.devMode,
    DataDir: cfg.dataDir ?? "",
    BindAddr: cfg.bindAddr,
    ClientAddrs: cfg.clientAddrs,
    HTTPPort: cfg.ports.http,
    HTTPSPort: cfg.ports.https,
    DNSPort: cfg.ports.dns,
    GRPCPort: cfg.ports.grpc,
    GRPCTLSPort: cfg.ports.grpcTls,
    ServerPort: cfg.ports.server,
    SerfPortLAN: cfg.ports.serfLan,
    SerfPortWAN: cfg.ports.serfWan,
    DNSDomain: cfg.domain,
    DNSAltDomain: cfg.altDomain,
    LogLevel: cfg.logLevel.toUpperCase(),
    KVMaxValueSize: cfg.limits.kvMaxValueSize,
    TxnMaxReqLen: cfg.limits.txnMaxReqLen,
    RaftSnapshotThreshold: cfg.raft.snapshotThreshold,
    RaftTrailingLogs: cfg.raft.trailingLogs,
    RaftProtocol: cfg.raft.protocol,
    ConnectEnabled: cfg.connect.enabled,
    ACLsEnabled: cfg.acl.enabled,
    ACLInitialManagementToken: cfg.acl.tokens.initialManagement ? hidden : "",
    EncryptKey: cfg.encrypt ? hidden : "",
    Version: cfg.version,
  };
}

/** Whether the LAN pool will encrypt: -encrypt, or a keyring file that wins over it (agent/keyring_file). */
function gossipEncrypted(cfg: RuntimeConfig): boolean {
  if (cfg.encrypt !== "") return true;
  return !cfg.disableKeyringFile && cfg.dataDir !== null && !cfg.devMode && existsSync(path.join(cfg.dataDir, SERF_LAN_KEYRING));
}

function banner(cfg: RuntimeConfig, nodeId: string, advertise: string): string {
  const vi = versionInfo(process.env);
  const p = cfg.ports;
  const lines: Array<[string, string]> = [
    ["Version", `'${vi.human}'`],
    ["Build Date", `'${vi.buildDate}'`],
    ["Node ID", `'${nodeId}'`],
    ["Node name", `'${cfg.nodeName}'`],
    ["Datacenter", `'${cfg.datacenter}' (Segment: '${cfg.server ? "<all>" : ""}')`],
    ["Server", `${cfg.server} (Bootstrap: ${cfg.bootstrap || cfg.devMode || cfg.bootstrapExpect === 1})`],
    [
      "Client Addr",
      `[${cfg.clientAddrs.join(" ")}] (HTTP: ${p.http}, HTTPS: ${p.https}, gRPC: ${p.grpc}, gRPC-TLS: ${p.grpcTls}, DNS: ${p.dns})`,
    ],
    ["Cluster Addr", `${advertise} (LAN: ${p.serfLan}, WAN: ${p.serfWan})`],
    ["Gossip Encryption", String(gossipEncrypted(cfg))],
    ["ACL Enabled", String(cfg.acl.enabled)],
    ["ACL Default Policy", cfg.acl.defaultPolicy],
    ["Runtime", `cairn ${vi.cairn} on ${isDeno ? "deno" : `node ${process.versions.node}`}`],
  ];
  const w = Math.max(...lines.map(([k]) => k.length)) + 4;
  return (
    "==> Starting Consul agent...\n" +
    lines.map(([k, v]) => `${k.padStart(w)}: ${v}`).join("\n") +
    "\n\n==> Log data will now stream in as it occurs:\n\n"
  );
}

/**
 * Runs the agent until a signal stops it. `reloadLoad` re-reads the config the agent was
 * started with (the same flags, files and directories); without it reload is refused.
 */
export async function runAgent(cfg: RuntimeConfig, reloadLoad?: ReloadLoad): Promise<number> {
  // ---- reload and monitor: the logger feeds /v1/agent/monitor readers too
  const monitor = new MonitorHub();
  const logger: Logger = monitoredLogger(createLogger({ level: cfg.logLevel, json: cfg.logJson }), monitor);
  // ---- end reload and monitor
  const log = logger.named("agent");
  for (const w of cfg.warnings) log("warn", w);
  const gcFlags = tuneGcForLatency();
  if (gcFlags.length > 0) log("debug", `V8 flags: ${gcFlags.join(" ")}`);
  // LAN gossip: PUT /v1/agent/leave asks the process to stop after its leave.
  let requestStop: ((exitCode: number) => void) | undefined;
  let opts = { ...agentOptions(cfg), monitor, reloadLoad, requestShutdown: (exitCode = 0) => requestStop?.(exitCode) };
  let agent: RunningAgent;
  try {
    opts = { ...opts, nodeId: resolveNodeId(opts) };
    process.stdout.write(banner(cfg, opts.nodeId ?? "", opts.advertiseAddr));
    agent = await startAgent(opts, logger);
  } catch (e) {
    process.stderr.write(`==> Error starting agent: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  let dns: DnsServer[] = [];
  try {
    const dnsLog = logger.named("agent.dns");
    dns = await startDnsFromConfig(cfg, agent.server.store, {
      log: (level, msg) => dnsLog(level, msg),
      servers: cfg.server ? [{ node: cfg.nodeName, address: opts.advertiseAddr }] : [],
      forward: agent.clientDns?.forward, // client agent: a server answers
      forwardRemote: agent.wanDns, // WAN gossip: other datacenters' servers answer for them
    });
    // client agent: a server answers the queries its client agents forward
    agent.clientDns?.serve?.(dnsResponderFromConfig(cfg, agent.server.store, { log: (level, msg) => dnsLog(level, msg), servers: cfg.server ? [{ node: cfg.nodeName, address: opts.advertiseAddr }] : [], forwardRemote: agent.wanDns }));
    for (const d of dns) {
      const a = d.address();
      log("info", `Started DNS server ${a.udp.address}:${a.udp.port} (udp), ${a.tcp.address}:${a.tcp.port} (tcp)`);
    }
  } catch (e) {
    process.stderr.write(`==> Error starting DNS server: ${e instanceof Error ? e.message : String(e)}\n`);
    await agent.shutdown();
    return 1;
  }
  log("info", "Consul agent running!");
  if (cfg.pidFile) {
    try {
      writeFileSync(cfg.pidFile, String(process.pid));
    } catch (e) {
      log("error", `failed to write pid file: ${String(e)}`);
    }
  }

  return await new Promise<number>((resolve) => {
    let signals = 0;
    const onSignal = (name: string, leave = false, exitCode = 0): void => {
      signals++;
      if (signals > 1) {
        log("warn", `Caught second signal ${name}. Exiting immediately`);
        resolve(1);
        return;
      }
      log("info", name === "leave" ? "Left the LAN pool (PUT /v1/agent/leave)" : name === "join-failed" ? "Failed to join the cluster: retry attempts exhausted" : `Caught signal: ${name}`);
      log("info", "Gracefully shutting down agent...");
      const force = setTimeout(() => {
        log("error", "graceful shutdown timed out; exiting");
        resolve(1);
      }, 30_000);
      const leaving = leave && agent.leave !== undefined ? agent.leave() : Promise.resolve();
      leaving
        .then(() => Promise.all(dns.map((d) => d.close())))
        .then(() => agent.shutdown())
        .then(
        () => {
          clearTimeout(force);
          if (cfg.pidFile) rmSync(cfg.pidFile, { force: true });
          log("info", "Graceful shutdown complete");
          resolve(exitCode);
        },
        (e: unknown) => {
          clearTimeout(force);
          log("error", `shutdown failed: ${String(e)}`);
          resolve(1);
        },
      );
    };
    process.on("SIGINT", () => onSignal("interrupt", leavesOnSignal(cfg, "interrupt")));
    process.on("SIGTERM", () => onSignal("terminated", leavesOnSignal(cfg, "terminated")));
    // LAN gossip: after PUT /v1/agent/leave the agent has left; stop as on a signal. When
    // retry_max join attempts are exhausted, stop without leaving and exit 1 (Consul's retryJoinCh).
    requestStop = (exitCode) => {
      if (signals === 0) onSignal(exitCode === 0 ? "leave" : "join-failed", false, exitCode);
    };
    // ---- reload: SIGHUP re-reads the config (errors are logged; the running config stays)
    const onHup = (): void => {
      log("info", "Caught signal: hangup");
      if (agent.reload === undefined) {
        log("warn", "config reload is not available");
        return;
      }
      agent.reload().catch(() => undefined); // the reloader logs the reason
    };
    try {
      process.on("SIGHUP", onHup);
    } catch {
      // SIGHUP is not available on this platform
    }
    // ---- end reload
  });
}
