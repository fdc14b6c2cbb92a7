/**
 * agent/agent_lan: the agent's LAN pool wiring (agent/lan.ts) — starting Consul's serf LAN
 * pool with this agent's tags (on a server with the catalog to reconcile members into, only
 * on the leader of a cluster; the cluster's and a client agent's member feeds), and the
 * gossip operations the HTTP layer gets: join, leave (then the agent shuts down), force-leave
 * and keyring, with Consul's errors for `?wan` on the LAN pool.
 *
 * Must never: reconcile members into the catalog on a client agent, or leave the pool more
 * than once.
 */

import type { GossipOps, KeyringOp, KeyringPoolResult } from "../http/agent_ops.ts";
import type { MemberView } from "../server/types.ts";
import type { Command, Store } from "../state/index.ts";
import { poolIdentity } from "./agent_identity.ts";
import type { AgentOptions, AgentServer } from "./agent_types.ts";
import type { ClientAgent } from "./client.ts";
import type { ClusterServer } from "./cluster.ts";
import type { EventBus } from "./events.ts";
import { startLan, type LanPool } from "./lan.ts";
import type { Logger } from "./log.ts";

export interface LanDeps {
  readonly nodeId: string;
  /** The serf `build` tag. */
  readonly build: string;
  readonly events: EventBus;
  readonly server: AgentServer;
  readonly store: Store;
  readonly cluster: ClusterServer | undefined;
  readonly client: ClientAgent | undefined;
  readonly logger: Logger;
}

/** Starts the LAN pool; undefined when it is disabled (ports.serf_lan = -1). */
export async function startLanPool(opts: AgentOptions, deps: LanDeps): Promise<LanPool | undefined> {
  if (opts.serfLanPort === -1) return undefined;
  const { server, cluster, client } = deps;
  return startLan(
    {
      ...poolIdentity(opts, deps.nodeId, deps.build),
      server: opts.server,
      bindAddr: opts.bindAddr === "0.0.0.0" || opts.bindAddr === "" ? "0.0.0.0" : opts.bindAddr,
      advertiseAddr: opts.advertiseAddr,
      port: opts.serfLanPort,
      retryJoin: opts.retryJoin ?? [],
      wanJoinPort: opts.server && opts.serfWanPort !== undefined && opts.serfWanPort > 0 ? opts.serfWanPort : undefined, // WAN gossip
      retryIntervalMs: opts.retryIntervalMs ?? 30_000,
      retryMax: opts.retryMax ?? 0,
      tuning: opts.dev ? undefined : opts.gossipLan,
    },
    {
      events: deps.events,
      catalog: opts.server
        ? { apply: (cmd) => server.apply(cmd), reader: deps.store, ...(cluster === undefined ? {} : { isLeader: () => cluster.isLeader() }) }
        : undefined,
      // A server applies its own coordinate; a client agent forwards it (server = ClientBackend).
      ...(opts.server || client !== undefined ? { writeCoordinate: (cmd: Command) => server.apply(cmd) } : {}),
      log: deps.logger.named("agent"),
      onRetryExhausted: () => opts.requestShutdown?.(1),
      ...(cluster === undefined ? {} : { onMembers: (ms: readonly MemberView[]) => cluster.onMembers(ms) }),
      ...(client === undefined ? {} : { onMembers: (ms: readonly MemberView[]) => client.onMembers(ms) }), // client agent
    },
  );
}

export interface LanGossip {
  readonly ops: GossipOps;
  /** Graceful leave of the pool (once; later calls get the same promise). */
  leave(): Promise<void>;
}

/** The LAN pool's gossip operations for the HTTP layer. */
export function lanGossip(opts: AgentOptions, lan: LanPool | undefined, log: (level: "error", msg: string) => void): LanGossip {
  let left: Promise<void> | undefined;
  const leave = (): Promise<void> => {
    left ??= lan === undefined ? Promise.resolve() : lan.leave().catch((e: unknown) => log("error", `leave failed: ${String(e)}`));
    return left;
  };
  const ops: GossipOps = {
    join: async (addr, wan) => {
      if (wan) throw new Error(opts.server ? "WAN Federation is disabled" : "Must be a server to join WAN cluster");
      if (lan === undefined) throw new Error("LAN gossip is disabled (ports.serf_lan = -1)");
      return lan.join([addr]);
    },
    leave: async () => {
      await leave();
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
  return { ops, leave };
}

/** The LAN pool's keyring operation as other datacenters' servers ask for it (never local-only). */
export function lanKeyringOf(run: NonNullable<GossipOps["keyring"]>): (op: KeyringOp, key: string, relayFactor: number) => Promise<KeyringPoolResult[]> {
  return (op, key, relayFactor) => run(op, key, relayFactor, false);
}
