/**
 * agent/agent_server: picks and starts the server an agent runs — the Raft cluster server
 * of agent/cluster.ts (a server with bootstrap_expect > 1, or one that joins others without
 * any bootstrap setting: as in Consul it waits to be added instead of electing itself), a
 * client agent's forwarding backend (agent/client.ts: no -server, not -dev, LAN pool on), or
 * the single-voter server over the WAL (memory in dev mode), recovered before it returns.
 * Also the Raft operator views of a single-voter server.
 *
 * Must never: start the cluster server in dev mode or without a data dir, or give a client
 * agent a store of its own while its LAN pool is on.
 */

import path from "node:path";
import type { RaftOps } from "../http/agent_ops.ts";
import { SingleServer } from "../server/single.ts";
import { CairnError } from "../shared/errors.ts";
import { decodeCommand, encodeCommand, type Store } from "../state/index.ts";
import { MemoryLog, WalLog } from "../wal/index.ts";
import type { AgentOptions, AgentServer } from "./agent_types.ts";
import { serverPortOf } from "./agent_identity.ts";
import { ClientAgent, ClientBackend } from "./client.ts";
import { ClusterServer } from "./cluster.ts";
import type { Logger } from "./log.ts";

export interface StartedServer {
  readonly server: AgentServer;
  /** Set on a Raft cluster server. */
  readonly cluster: ClusterServer | undefined;
  /** Set on a client agent (then `server` forwards to it). */
  readonly client: ClientAgent | undefined;
}

export interface StartServerDeps {
  readonly nodeId: string;
  readonly store: Store;
  readonly logger: Logger;
  /** A cluster server gained (true) or lost (false) leadership. */
  readonly onLeadership: (leader: boolean) => void;
}

export async function startServer(opts: AgentOptions, deps: StartServerDeps): Promise<StartedServer> {
  const { nodeId, store, logger } = deps;
  const log = logger.named("agent");
  // Client agent: without -server (and not -dev) the agent keeps no store of its own; it finds
  // servers in the LAN pool and forwards to them. With the LAN pool disabled it could never
  // find one, so it keeps running standalone (as before).
  const clientMode = !opts.server && !opts.dev && opts.serfLanPort !== -1;
  if (!opts.server && !opts.dev && !clientMode) log("warn", "client agent without a LAN pool (ports.serf_lan = -1): no servers can be found; running standalone with a store of its own");
  const client = clientMode
    ? new ClientAgent({ nodeName: opts.nodeName, datacenter: opts.datacenter, log: logger.named("agent.client"), responseHeaders: opts.responseHeaders })
    : undefined;
  const joinsOthers = (opts.bootstrapExpect ?? 0) <= 1 && opts.bootstrap !== true && (opts.retryJoin ?? []).length > 0;
  const clustered = opts.server && !opts.dev && ((opts.bootstrapExpect ?? 0) > 1 || joinsOthers) && opts.dataDir !== undefined;
  if (clustered && opts.dataDir !== undefined) {
    const cluster = new ClusterServer(
      {
        nodeId,
        nodeName: opts.nodeName,
        datacenter: opts.datacenter,
        dataDir: opts.dataDir,
        bindAddr: opts.bindAddr,
        advertiseAddr: opts.advertiseAddr,
        serverPort: serverPortOf(opts),
        bootstrapExpect: opts.bootstrapExpect ?? 0,
        raftMultiplier: opts.raftMultiplier ?? 5,
        snapshotThreshold: opts.snapshotThreshold,
        trailingLogs: opts.trailingLogs,
        ...(opts.autopilot === undefined ? {} : { autopilot: opts.autopilot }),
      },
      { store, log: logger.named("agent.server.raft"), onLeadership: deps.onLeadership },
    );
    await cluster.listen();
    if (opts.serfLanPort === -1) log("warn", "bootstrap_expect > 1 without a LAN pool (ports.serf_lan = -1): the cluster can only start from existing Raft state");
    return { server: cluster, cluster, client };
  }
  if (client !== undefined) return { server: new ClientBackend(client), cluster: undefined, client };
  const wal = opts.dataDir === undefined ? new MemoryLog() : new WalLog(path.join(opts.dataDir, "raft"));
  const single = new SingleServer({
    log: wal,
    store,
    encode: encodeCommand,
    decode: decodeCommand,
    advertiseAddr: `${opts.advertiseAddr}:${serverPortOf(opts)}`,
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
  return { server: single, cluster: undefined, client };
}

/** The Raft operator views of a single-voter server: one voter, always the leader. */
export function singleRaftOps(server: AgentServer, nodeId: string, nodeName: string, address: string): RaftOps {
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
