/**
 * agent/agent_wan: a server's WAN pool wiring (agent/wan.ts) — starting serf's WAN pool
 * (members `<node>.<dc>`, Consul's flood join from the LAN pool, serf/remote.snapshot), the
 * gossip operations with `?wan` (join -wan, force-leave -wan, a server's plain force-leave
 * also removing `<node>.<dc>`, the keyring over WAN then LAN), leaving WAN before LAN, the
 * datacenter views, and the forwarder of `?dc=<other>` requests (agent/wan_forward.ts).
 *
 * Must never: run a WAN pool on a client agent, or forward a request of this datacenter.
 */

import path from "node:path";
import type { AgentOps, GossipOps, KeyringPoolResult } from "../http/agent_ops.ts";
import { poolIdentity } from "./agent_identity.ts";
import type { AgentOptions } from "./agent_types.ts";
import type { LanGossip } from "./agent_lan.ts";
import type { LanPool } from "./lan.ts";
import type { Logger } from "./log.ts";
import { SERF_WAN_SNAPSHOT, startWan, wanName, type WanPool } from "./wan.ts";
import { WanForwarder } from "./wan_forward.ts";

export interface WanDeps {
  readonly nodeId: string;
  /** The serf `build` tag. */
  readonly build: string;
  /** The LAN pool, whose servers the WAN pool flood-joins. */
  readonly lan: LanPool | undefined;
  readonly logger: Logger;
}

/** Starts a server's WAN pool; undefined on a client or when it is disabled (ports.serf_wan = -1). */
export async function startWanPool(opts: AgentOptions, deps: WanDeps): Promise<WanPool | undefined> {
  if (!opts.server || opts.serfWanPort === undefined || opts.serfWanPort === -1) {
    if (opts.server && (opts.retryJoinWan ?? []).length > 0) {
      deps.logger.named("agent")("warn", "-join-wan / retry_join_wan given but the WAN pool is disabled (ports.serf_wan = -1)");
    }
    return undefined;
  }
  const wanPool = await startWan(
    {
      ...poolIdentity(opts, deps.nodeId, deps.build),
      bindAddr: opts.serfWanBindAddr === undefined || opts.serfWanBindAddr === "" ? opts.bindAddr : opts.serfWanBindAddr,
      advertiseAddr: opts.advertiseAddrWan === undefined || opts.advertiseAddrWan === "" ? opts.advertiseAddr : opts.advertiseAddrWan,
      port: opts.serfWanPort,
      snapshotPath: opts.dataDir === undefined || opts.dev ? undefined : path.join(opts.dataDir, SERF_WAN_SNAPSHOT),
      rejoinAfterLeave: opts.rejoinAfterLeave ?? false,
      retryJoin: opts.retryJoinWan ?? [],
      retryIntervalMs: opts.retryIntervalWanMs ?? 30_000,
      retryMax: opts.retryMaxWan ?? 0,
      reconnectTimeoutMs: opts.reconnectTimeoutWanMs,
      tuning: opts.gossipWan,
    },
    { log: deps.logger.named("agent"), onRetryExhausted: () => opts.requestShutdown?.(1) },
  );
  const lan = deps.lan;
  if (lan !== undefined) wanPool.startFlood(() => lan.members());
  return wanPool;
}

export interface WanGossip {
  /** LAN and WAN gossip operations for the HTTP layer. */
  readonly ops: GossipOps;
  /** Graceful leave of the WAN pool, then the LAN pool (no agent shutdown). */
  leaveAll(): Promise<void>;
  /** /v1/catalog/datacenters and /v1/coordinate/datacenters; absent without a WAN pool. */
  readonly wan: AgentOps["wan"];
  /** Requests and DNS questions for another datacenter; absent without a WAN pool. */
  readonly forwarder: WanForwarder | undefined;
}

/** A datacenter whose LAN keyring could not be reached, as a pool result with its error (a 500 names it). */
function remoteKeyringFailure(dc: string, e: unknown): KeyringPoolResult {
  const msg = e instanceof Error ? e.message : String(e);
  return { wan: false, datacenter: dc, segment: "", messages: {}, keys: {}, primaryKeys: {}, numNodes: 0, error: msg };
}

export function wanGossip(opts: AgentOptions, wanPool: WanPool | undefined, lan: LanGossip, logger: Logger): WanGossip {
  const log = logger.named("agent");
  const lanOps = lan.ops;
  let forwarder: WanForwarder | undefined;
  let leftWan: Promise<void> | undefined;
  const leaveWan = (): Promise<void> => {
    leftWan ??= wanPool === undefined ? Promise.resolve() : wanPool.leave().catch((e: unknown) => log("error", `WAN leave failed: ${String(e)}`));
    return leftWan;
  };
  const ops: GossipOps = {
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
    // Consul Internal.KeyringOperation: the WAN pool first, then this datacenter's LAN pool,
    // then every other datacenter's LAN pool through one of its servers (globalRPC with
    // Forwarded set); local-only stays on the LAN pool.
    keyring: async (op, key, relayFactor, localOnly) => {
      const lanKeyring = lanOps.keyring;
      if (lanKeyring === undefined) throw new Error("LAN gossip is disabled (ports.serf_lan = -1)");
      if (localOnly || wanPool === undefined) return lanKeyring(op, key, relayFactor, localOnly);
      const w = await wanPool.keyring(op, key, relayFactor);
      const out = [w, ...(await lanKeyring(op, key, relayFactor, localOnly))];
      const fwd = forwarder;
      if (fwd === undefined) return out;
      const remote = await Promise.all(fwd.otherDatacenters().map(async (dc) => {
        try {
          return await fwd.keyringIn(dc, { op, key, relayFactor });
        } catch (e) {
          return [remoteKeyringFailure(dc, e)];
        }
      }));
      return [...out, ...remote.flat()];
    },
  };
  const leaveAll = async (): Promise<void> => {
    await leaveWan();
    await lan.leave();
  };
  if (wanPool === undefined) return { ops, leaveAll, wan: undefined, forwarder: undefined };
  // Requests with ?dc=<another datacenter> go to a server of it (Consul's forwardDC).
  forwarder = new WanForwarder({ datacenter: opts.datacenter, members: () => wanPool.members(), log });
  const wan = { datacenters: () => wanPool.datacenters(), coordinates: () => wanPool.coordinates() };
  return { ops, leaveAll, wan, forwarder };
}
