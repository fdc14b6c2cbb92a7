/**
 * agent/agent: assembles one running agent from its parts and takes it apart again.
 *
 * startAgent() opens the log (WAL worker, or memory in dev mode), recovers the state store
 * and starts the server (agent/agent_server.ts: single-voter, the Raft cluster server of
 * agent/cluster.ts — whose leader-only duties, agent/agent_leader.ts, follow leadership — or
 * a client agent's forwarding backend), then the Connect CA, session timers, local services
 * and checks, events/exec/watches/reload, the LAN and WAN pools, the HTTP listeners and
 * client-agent mode, each wired in its own agent_*.ts file. If a part fails to start, the
 * parts already started are closed again, last first. The handle's shutdown() stops
 * accepting, finishes in-flight writes, snapshots, flushes the log and closes everything,
 * in that order.
 *
 * Must never: parse flags or config files (agent/config does), install signal
 * handlers (agent/lifecycle does), or call process.exit.
 */

import { mkdirSync } from "node:fs";
import type { Logger } from "./log.ts";
import type { AgentOps } from "../http/agent_ops.ts";
import type { HttpServer } from "../http/index.ts";
import type { ConnectAgent } from "../connect/index.ts";
import { isRegistered, selfRegistration } from "../server/self_register.ts";
import { metrics } from "../shared/metrics.ts";
import { versionInfo } from "../shared/version.ts";
import { Store } from "../state/index.ts";
import type { AgentOptions, RunningAgent } from "./agent_types.ts";
import { agentView, buildTag, resolveNodeId, selfInfoOf, selfMember, serverPortOf } from "./agent_identity.ts";
import { singleRaftOps, startServer } from "./agent_server.ts";
import { startConnect } from "./agent_connect.ts";
import { startSessionTimers } from "./agent_sessions.ts";
import { startLocalAgent, type LocalAgent } from "./local/index.ts";
import { AgentExtras, validateWatches } from "./agent_extras.ts";
import { lanGossip, lanKeyringOf, startLanPool } from "./agent_lan.ts";
import { startWanPool, wanGossip } from "./agent_wan.ts";
import { leaderDuties } from "./agent_leader.ts";
import { handlerOptions, startClientSide, startListeners } from "./agent_http.ts";
import type { LanPool } from "./lan.ts";
import type { WanPool } from "./wan.ts";

export type { AgentOptions, AgentServer, HttpListener, RunningAgent } from "./agent_types.ts";
export { resolveNodeId } from "./agent_identity.ts";

/** The local agent's settings when the config gives none. */
const NO_LOCAL_CONFIG = { services: [], checks: [], enableScriptChecks: false, enableLocalScriptChecks: false, checkOutputMaxSize: 4096, checkUpdateIntervalMs: 300_000 };

/** What to close if a later part fails to start, in start order (closed last first). */
class StartedParts {
  private readonly closers: Array<() => unknown> = [];
  add(close: () => unknown): void {
    this.closers.push(close);
  }
  async closeAll(): Promise<void> {
    for (const close of this.closers.reverse()) await close();
  }
}

/** Runs `start`; if it throws, closes every part started before it and rethrows. */
async function orUnwind<T>(parts: StartedParts, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (e) {
    await parts.closeAll();
    throw e;
  }
}

export async function startAgent(opts: AgentOptions, logger: Logger): Promise<RunningAgent> {
  const log = logger.named("agent");
  validateWatches(opts); // Consul refuses to start with a bad watch
  if (opts.dataDir !== undefined) mkdirSync(opts.dataDir, { recursive: true });
  const nodeId = resolveNodeId(opts);
  const vi = versionInfo(process.env);
  const store = new Store();
  const parts = new StartedParts();

  // ---- the server: single-voter, Raft cluster, or a client agent's forwarding backend
  let onLeadership: (leader: boolean) => void = () => {};
  const { server, cluster, client } = await startServer(opts, { nodeId, store, logger, onLeadership: (l) => onLeadership(l) });
  parts.add(() => server.close({ snapshot: false }));
  // The leader registers its own node, serfHealth and `consul` service.
  const selfInfo = selfInfoOf(opts, nodeId, vi);
  const registerSelf = async (): Promise<void> => {
    if (isRegistered(store, selfInfo)) return;
    const r = await server.apply({ type: "catalog-register", req: selfRegistration(selfInfo) });
    if (r.type === "error") log("error", `failed to register this node in the catalog: ${r.message}`);
  };
  if (cluster === undefined && client === undefined) await registerSelf(); // a cluster's leader does it (below); a client agent never
  let lan: LanPool | undefined; // started below when serfLanPort !== -1
  let wanPool: WanPool | undefined; // servers, started below when serfWanPort !== -1
  const self = selfMember(opts, nodeId, vi);
  const view = agentView(opts, nodeId, vi, (wan) => (wan ? (wanPool?.members() ?? []) : lan !== undefined ? lan.members() : [self]));

  // ---- Connect CA, session TTL timers, runtime gauges
  const connect: ConnectAgent | undefined = await orUnwind(parts, () => startConnect(opts, { server, cluster, store, logger }));
  if (connect !== undefined) parts.add(() => connect.stop());
  const sessionTimers = startSessionTimers(store, server, cluster, logger);
  parts.add(() => sessionTimers.stop());
  // Consul's runtime gauges, from the process's own memory figures.
  metrics.gaugeFn("consul.runtime.alloc_bytes", () => process.memoryUsage().heapUsed);
  metrics.gaugeFn("consul.runtime.sys_bytes", () => process.memoryUsage.rss());
  metrics.gaugeFn("cairn.runtime.external_bytes", () => process.memoryUsage().external);
  metrics.gaugeFn("cairn.runtime.array_buffer_bytes", () => process.memoryUsage().arrayBuffers);
  metrics.gaugeFn("consul.kvs.entries", () => store.kvCount());

  // ---- local services and checks (src/agent/local): config and data-dir definitions,
  // check runtimes, anti-entropy to the catalog.
  const local: LocalAgent = await orUnwind(parts, () =>
    startLocalAgent({
      backend: server,
      nodeName: opts.nodeName,
      nodeId,
      datacenter: opts.datacenter,
      address: opts.advertiseAddr,
      dataDir: opts.dataDir,
      config: opts.local ?? NO_LOCAL_CONFIG,
      logger: logger.named("agent.local"),
      version: vi.version,
    }),
  );
  parts.add(() => local.close());

  // ---- events, remote exec, watches, reload, monitor
  const extras = new AgentExtras(opts, local, logger);
  parts.add(() => extras.stopEarly());

  // ---- LAN and WAN gossip; leaving leaves WAN, then LAN
  lan = await orUnwind(parts, () => startLanPool(opts, { nodeId, build: buildTag(vi), events: extras.events, server, store, cluster, client, logger }));
  const lanPool = lan;
  if (lanPool !== undefined) parts.add(() => lanPool.close());
  const lanOps = lanGossip(opts, lan, log);
  wanPool = await orUnwind(parts, () => startWanPool(opts, { nodeId, build: buildTag(vi), lan, logger }));
  const pool = wanPool;
  if (pool !== undefined) parts.add(() => pool.close());
  const wan = wanGossip(opts, wanPool, lanOps, logger);
  const wanForward = wan.forwarder;
  if (wanForward !== undefined) parts.add(() => wanForward.close());
  const ops: AgentOps = {
    ...extras.ops,
    gossip: wan.ops,
    raft: cluster ?? singleRaftOps(server, nodeId, opts.nodeName, `${opts.advertiseAddr}:${serverPortOf(opts)}`),
    ...(wan.wan === undefined ? {} : { wan: wan.wan }),
  };

  // ---- Raft cluster: leader-only duties follow leadership
  let shuttingDown = false;
  onLeadership = leaderDuties({ server, registerSelf, sessionTimers, lan, connect, shuttingDown: () => shuttingDown, log });
  if (cluster?.isLeader() === true) onLeadership(true);

  // ---- HTTP listeners, then client-agent mode (forwarding on a client, serving clients on a server)
  const handler = () => handlerOptions(opts, { server, view, logger, connect, local, ops });
  const http: HttpServer[] = await orUnwind(parts, () => startListeners(opts, handler, client?.intercept ?? wanForward?.intercept, log));
  const clientSide = await startClientSide(opts, {
    client,
    cluster,
    server,
    store,
    local,
    handler,
    wanIntercept: wanForward?.intercept,
    ...(lanOps.ops.keyring === undefined ? {} : { lanKeyring: lanKeyringOf(lanOps.ops.keyring) }),
    shuttingDown: () => shuttingDown,
    logger,
  });
  extras.start(http, local);

  let stopping: Promise<void> | undefined;
  const shutdown = (): Promise<void> => {
    stopping ??= (async () => {
      log("info", "Requesting shutdown");
      shuttingDown = true;
      extras.stop(); // events, remote exec, watches, monitor
      client?.stopForwarding(); // client agent: answer forwarded requests in flight
      await Promise.all(http.map((h) => h.close()));
      wanForward?.close(); // WAN gossip
      await wanPool?.close(); // WAN gossip
      await lan?.close(); // LAN gossip
      await local.close();
      await connect?.stop();
      sessionTimers.stop(); // session TTL timers
      await clientSide.service?.close(); // client agent
      await server.close({ snapshot: true });
      log("info", "shutdown complete");
    })();
    return stopping;
  };
  return { server, http, view, shutdown, events: extras.events, reload: extras.ops.reload, leave: () => wan.leaveAll(), clientDns: clientSide.dns, wanDns: wanForward?.dnsFor };
}
