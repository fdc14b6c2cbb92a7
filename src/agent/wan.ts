/**
 * agent/wan: a server's WAN gossip pool, as Consul's server runs its serf WAN pool.
 *
 * startWan() starts a second gossip pool (src/gossip startGossip, its own supervised
 * worker) with memberlist's WAN preset (Consul gossip_wan: 5 s probes, 3 s probe
 * timeout, suspicion mult 6, gossip_nodes 3, ...), the member name `<node>.<dc>` and
 * Consul's server tags (role=consul, dc, port, id, vsn, raft_vsn, build, bootstrap,
 * expect), refuses members that are not Consul servers (Consul's wanMergeDelegate), joins -join-wan/-retry-join-wan in the background (every retry_interval_wan,
 * at most retry_max_wan attempts when set) and answers the WAN views:
 * /v1/agent/members?wan=1, /v1/catalog/datacenters (every datacenter with a server in
 * the pool, sorted by the median estimated RTT from this server, Consul's router
 * GetDatacentersByDistance) and /v1/coordinate/datacenters (the servers' cached WAN
 * coordinates by datacenter, node names without the `.<dc>` suffix).
 *
 * With a data dir (not -dev) the pool keeps serf's snapshot of it in
 * <data_dir>/serf/remote.snapshot (serf's `alive: <name> <addr>` / `leave` lines) and, on
 * start, re-joins the members it knew, as serf does, unless it had left (and
 * rejoin_after_leave is off).
 *
 * The pure helpers (wanName, datacentersByDistance, datacenterMaps, floodTargets, snapshot
 * parse/format) hold the logic and are tested without sockets.
 *
 * Must never: run on a client agent, write to the catalog (WAN members are not
 * catalog nodes), or let a gossip error escape as an unhandled rejection.
 */

import type { GossipConfig } from "./config/types.ts";
import { keyOperation, startGossip, type GossipHandle, type KeyOp, type MemberEvent, type SerfMember } from "../gossip/index.ts";
import { distanceSeconds, isCompatible, type Coordinate } from "../coordinate/index.ts";
import type { KeyringPoolResult } from "../http/agent_ops.ts";
import type { MemberView } from "../server/types.ts";
import { lanTags, memberView, type LanLog } from "./lan.ts";
import { SERF_WAN_KEYRING, setupKeyring } from "./keyring_file.ts";
import { WAN_FLOOD_POLL_MS, WAN_FLOOD_RETRY_MS } from "../shared/limits.ts";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";

export interface WanOptions {
  readonly nodeName: string;
  readonly nodeId: string;
  readonly datacenter: string;
  readonly bootstrap: boolean;
  readonly bootstrapExpect: number;
  readonly serverPort: number;
  readonly build: string;
  readonly bindAddr: string;
  readonly advertiseAddr: string;
  /** serf_wan port (0 picks a free one). */
  readonly port: number;
  readonly dev: boolean;
  /** base64 gossip key ("" = plaintext); the WAN pool starts from the same key as the LAN pool. */
  readonly encrypt: string;
  /** The WAN keyring lives in <dataDir>/serf/remote.keyring unless disableKeyringFile (Consul SerfWANKeyring). */
  readonly dataDir?: string;
  readonly disableKeyringFile?: boolean;
  readonly retryJoin: readonly string[];
  readonly retryIntervalMs: number;
  /** 0 = retry until it works. */
  readonly retryMax: number;
  /** serf's snapshot of the pool (Consul <data_dir>/serf/remote.snapshot); absent: none (-dev). */
  readonly snapshotPath?: string;
  /** rejoin_after_leave: re-join the snapshot's members even after a graceful leave. */
  readonly rejoinAfterLeave?: boolean;
  /** reconnect_timeout_wan (serf reaps failed members after it; Consul default 72 h). */
  readonly reconnectTimeoutMs?: number;
  /** Consul gossip_wan tuning (RuntimeConfig.gossipWan); overrides the WAN preset's values. */
  readonly tuning?: GossipConfig;
}

export interface WanDeps {
  readonly log: LanLog;
  /** retry_max_wan attempts of -retry-join-wan all failed (Consul then stops the agent with exit code 1). */
  readonly onRetryExhausted?: () => void;
}

/** One datacenter of /v1/coordinate/datacenters (Consul structs.DatacenterMap, area "WAN"). */
export interface DatacenterMap {
  readonly datacenter: string;
  readonly areaId: string;
  readonly coordinates: readonly { readonly node: string; readonly coord: Coordinate }[];
}

export interface WanPool {
  readonly port: number;
  /** This server's WAN member name, `<node>.<dc>`. */
  readonly name: string;
  members(): MemberView[];
  /** Datacenters of the servers in the pool, nearest first (name order on ties). */
  datacenters(): Promise<string[]>;
  /** The servers' WAN coordinates by datacenter (datacenters in name order). */
  coordinates(): Promise<DatacenterMap[]>;
  join(addrs: string[]): Promise<number>;
  /** Graceful leave of the WAN pool (peers see `left`); the pool keeps running until close(). */
  leave(): Promise<void>;
  /** Consul RemoveFailedNodeWAN: `node` is taken as given (`<node>.<dc>`). */
  forceLeave(node: string, prune: boolean): Promise<void>;
  /** A keyring operation across the WAN pool (serf's _serf_*-key queries): Consul's WAN KeyringResponse. */
  keyring(op: KeyOp, key: string, relayFactor: number): Promise<KeyringPoolResult>;
  /**
   * Consul's flood joiner (router FloodJoins): every WAN_FLOOD_POLL_MS, join the WAN pool of
   * each server of this datacenter alive in the LAN pool (its wan_join_port tag) that is not
   * in the WAN pool yet; the same address again only after WAN_FLOOD_RETRY_MS. Stops on close().
   */
  startFlood(lanMembers: () => readonly MemberView[]): void;
  close(): Promise<void>;
}

/** Consul's WAN member name for a server. */
export function wanName(node: string, dc: string): string {
  return `${node}.${dc}`;
}

/** metadata.IsConsulServer, as far as the WAN views need it: role=consul with a datacenter. */
function serverDc(m: { readonly tags: Readonly<Record<string, string>> }): string | undefined {
  if (m.tags.role !== "consul") return undefined;
  const dc = m.tags.dc;
  return dc === undefined || dc === "" ? undefined : dc;
}

/**
 * Consul router.GetDatacentersByDistance for one area: every datacenter with a server
 * among `members` (whatever its status), the local one at RTT 0, others at the median
 * of this server's estimated RTT to their servers (unknown coordinate: +Inf); sorted by
 * name, then stably by that median.
 */
export function datacentersByDistance(
  members: readonly { readonly name: string; readonly tags: Readonly<Record<string, string>> }[],
  localDc: string,
  self: Coordinate | undefined,
  coords: Readonly<Record<string, Coordinate>>,
): string[] {
  const index = new Map<string, number[]>();
  for (const m of members) {
    const dc = serverDc(m);
    if (dc === undefined) continue;
    let rtt = 0;
    if (dc !== localDc) {
      const other = coords[m.name];
      rtt = self === undefined || other === undefined || !isCompatible(self, other) ? Number.POSITIVE_INFINITY : distanceSeconds(self, other);
    }
    const list = index.get(dc);
    if (list === undefined) index.set(dc, [rtt]);
    else list.push(rtt);
  }
  const median = new Map<string, number>();
  for (const [dc, rtts] of index) {
    rtts.sort((a, b) => a - b);
    median.set(dc, rtts[Math.floor(rtts.length / 2)] ?? Number.POSITIVE_INFINITY);
  }
  const names = [...median.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const rank = new Map(names.map((n, i) => [n, i]));
  return names.sort((a, b) => {
    const da = median.get(a) ?? Number.POSITIVE_INFINITY, db = median.get(b) ?? Number.POSITIVE_INFINITY;
    if (da === db || (Number.isNaN(da) && Number.isNaN(db))) return (rank.get(a) ?? 0) - (rank.get(b) ?? 0);
    return da < db ? -1 : 1;
  });
}

/**
 * Consul router.GetDatacenterMaps + Coordinate.ListDatacenters: per datacenter, the
 * servers that have a cached coordinate, with the `.<dc>` suffix cut from their names.
 * Datacenters in name order, servers in name order.
 */
export function datacenterMaps(
  members: readonly { readonly name: string; readonly tags: Readonly<Record<string, string>> }[],
  coords: Readonly<Record<string, Coordinate>>,
): DatacenterMap[] {
  const index = new Map<string, { node: string; coord: Coordinate }[]>();
  const sorted = [...members].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const m of sorted) {
    const dc = serverDc(m);
    if (dc === undefined) continue;
    const coord = coords[m.name];
    if (coord === undefined) continue;
    const suffix = "." + dc;
    const node = m.name.endsWith(suffix) ? m.name.slice(0, -suffix.length) : m.name;
    const list = index.get(dc);
    if (list === undefined) index.set(dc, [{ node, coord }]);
    else list.push({ node, coord });
  }
  return [...index.keys()]
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((dc) => ({ datacenter: dc, areaId: "WAN", coordinates: index.get(dc) ?? [] }));
}

/**
 * Consul router FloodJoins for one LAN pool: the servers among `lan` (role=consul, this
 * datacenter, a wan_join_port tag, not this node) whose `<node>.<dc>` is not among the WAN
 * members (any status), with the address to join: their LAN address and wan_join_port.
 */
export function floodTargets(
  lan: readonly MemberView[],
  wan: readonly { readonly name: string }[],
  self: string,
  dc: string,
): { name: string; addr: string }[] {
  const known = new Set(wan.map((m) => m.name));
  const out: { name: string; addr: string }[] = [];
  for (const m of lan) {
    if (m.name === self || m.status !== 1 || m.tags.role !== "consul" || m.tags.dc !== dc) continue;
    const port = Number(m.tags.wan_join_port ?? "");
    if (!Number.isInteger(port) || port <= 0 || port > 65535) continue;
    if (known.has(wanName(m.name, dc))) continue;
    out.push({ name: m.name, addr: m.addr.includes(":") ? `[${m.addr}]:${port}` : `${m.addr}:${port}` });
  }
  return out;
}

/** Consul's SerfWANSnapshot, relative to the data dir. */
export const SERF_WAN_SNAPSHOT = "serf/remote.snapshot";

/**
 * serf's snapshot replay, as far as re-joining needs it: the `alive: <name> <addr>` members
 * still alive at the end (`not-alive: <name>` drops one; `leave` drops all unless
 * rejoinAfterLeave), and whether the last word was a leave. Other lines (clocks,
 * coordinate, comments) are skipped.
 */
export function parseSnapshot(text: string, rejoinAfterLeave: boolean): { alive: Map<string, string>; left: boolean } {
  const alive = new Map<string, string>();
  let left = false;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("alive: ")) {
      const rest = line.slice("alive: ".length);
      const i = rest.lastIndexOf(" ");
      if (i <= 0) continue;
      alive.set(rest.slice(0, i), rest.slice(i + 1));
      left = false;
    } else if (line.startsWith("not-alive: ")) {
      alive.delete(line.slice("not-alive: ".length));
    } else if (line === "leave") {
      if (rejoinAfterLeave) continue;
      alive.clear();
      left = true;
    }
  }
  return { alive, left };
}

/** The snapshot text for these alive members (name -> "ip:port"), or a leave. */
export function formatSnapshot(alive: ReadonlyMap<string, string>, left: boolean): string {
  if (left) return "leave\n";
  let s = "";
  for (const [name, addr] of [...alive].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) s += `alive: ${name} ${addr}\n`;
  return s;
}

export async function startWan(opts: WanOptions, deps: WanDeps): Promise<WanPool> {
  const log = deps.log;
  const name = wanName(opts.nodeName, opts.datacenter);
  // The WAN keyring file wins over -encrypt once it exists (Consul setupBaseKeyrings).
  const keyring = await setupKeyring({
    dataDir: opts.dataDir, file: SERF_WAN_KEYRING, encrypt: opts.encrypt, disableKeyringFile: opts.disableKeyringFile ?? false,
    pool: "WAN", log,
  });
  const handle: GossipHandle = await startGossip({
    name,
    bindAddr: opts.bindAddr,
    bindPort: opts.port,
    advertiseAddr: opts.advertiseAddr,
    advertisePort: opts.port === 0 ? undefined : opts.port,
    profile: "wan",
    config: opts.tuning === undefined ? undefined : { ...opts.tuning },
    encryptKeys: keyring.keys.length === 0 ? undefined : keyring.keys,
    keyringFile: keyring.keyringFile,
    tags: lanTags({ ...opts, server: true }),
    mergePolicy: "consul-wan", // Consul's wanMergeDelegate: servers only
    serf: { reconnectTimeoutMs: opts.reconnectTimeoutMs ?? 72 * 3600_000 },
    log: (level, message) => log(level, `serf.wan: ${message}`),
    logLevel: "info",
  });
  log("info", `serf: WAN pool started on ${opts.bindAddr}:${handle.port} as ${name}`);

  // ---- serf's snapshot: what we knew last time, and its upkeep
  let previous: [string, string][] = [];
  const snapPath = opts.snapshotPath;
  if (snapPath !== undefined) {
    try {
      const snap = parseSnapshot(await readFile(snapPath, "utf8"), opts.rejoinAfterLeave ?? false);
      previous = [...snap.alive].filter(([n]) => n !== name);
    } catch (e) {
      if ((e as { code?: string }).code !== "ENOENT") log("warn", `serf: failed to read the WAN snapshot ${snapPath}: ${String(e)}`);
    }
  }
  let snapLeft = false;
  let snapChain: Promise<void> = Promise.resolve();
  let snapDirty = false;
  const saveSnapshot = (): void => {
    if (snapPath === undefined || snapDirty) return;
    snapDirty = true;
    snapChain = snapChain.then(async () => {
      snapDirty = false;
      const alive = new Map<string, string>();
      for (const m of members.values()) {
        if (m.name !== name && m.status === "alive") alive.set(m.name, m.addr.includes(":") ? `[${m.addr}]:${m.port}` : `${m.addr}:${m.port}`);
      }
      const tmp = `${snapPath}.tmp`;
      await mkdir(path.dirname(snapPath), { recursive: true });
      await writeFile(tmp, formatSnapshot(alive, snapLeft), { mode: 0o600 });
      await rename(tmp, snapPath);
    }).catch((e: unknown) => log("warn", `serf: failed to write the WAN snapshot: ${String(e)}`));
  };

  const members = new Map<string, SerfMember>();
  let closed = false;
  const offMember = handle.onMemberEvent((e: MemberEvent) => {
    if (e.type === "member-reap") members.delete(e.member.name);
    else members.set(e.member.name, e.member);
    if (!snapLeft) saveSnapshot();
    if (e.type === "member-join" && serverDc(e.member) !== undefined) log("info", `consul: Handled event for server in area: event=member-join server=${e.member.name} area=wan`);
  });
  for (const m of await handle.members()) if (!members.has(m.name)) members.set(m.name, m);

  // ---- serf handleRejoin: the snapshot's members, one at a time in random order, until one answers
  if (previous.length > 0) {
    const order = previous.map((p) => ({ p, k: Math.random() })).sort((a, b) => a.k - b.k).map((x) => x.p);
    void (async () => {
      for (const [n, addr] of order) {
        if (closed) return;
        log("info", `serf: Attempting re-join to previously known node: ${n}: ${addr}`);
        try {
          await handle.join([addr]);
          log("info", `serf: Re-joined to previously known node: ${n}: ${addr}`);
          return;
        } catch {
          // try the next one
        }
      }
      log("warn", "serf: Failed to re-join any previously known node");
    })();
  }

  // ---- -join-wan / -retry-join-wan in the background
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  if (opts.retryJoin.length > 0) {
    let attempt = 0;
    const tryJoin = (): void => {
      if (closed) return;
      attempt++;
      log("info", `agent: (WAN) joining: wan_addresses=${JSON.stringify(opts.retryJoin)} (attempt ${attempt})`);
      handle.join([...opts.retryJoin]).then(
        (n) => log("info", `agent: Join cluster completed. Synced with ${n} initial agents: cluster=WAN`),
        (err: unknown) => {
          const msg = err instanceof Error ? err.message : String(err);
          if (opts.retryMax > 0 && attempt >= opts.retryMax) {
            log("error", `agent: max join -wan retry exhausted, exiting: ${msg}`);
            deps.onRetryExhausted?.();
            return;
          }
          log("warn", `agent: (WAN) couldn't join: retry_interval=${opts.retryIntervalMs}ms error=${msg}`);
          if (!closed) retryTimer = setTimeout(tryJoin, opts.retryIntervalMs);
        },
      );
    };
    tryJoin();
  }

  const list = (): SerfMember[] => [...members.values()];
  const tried = new Map<string, number>();
  let floodTimer: ReturnType<typeof setInterval> | undefined;
  return {
    port: handle.port,
    name,
    members: () => list().map(memberView).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    datacenters: async () => {
      const coords = await handle.cachedCoordinates();
      return datacentersByDistance(list(), opts.datacenter, coords[name], coords);
    },
    coordinates: async () => datacenterMaps(list(), await handle.cachedCoordinates()),
    join: (addrs) => handle.join(addrs),
    leave: async () => {
      log("info", "agent: Requesting graceful leave from serf: cluster=WAN");
      await handle.leave();
      snapLeft = true;
      saveSnapshot();
      await snapChain;
    },
    forceLeave: async (node, prune) => {
      if (!members.has(node)) throw new Error(`agent: No node found with name '${node}'`);
      log("info", `agent: Force leaving WAN node: node=${node}`);
      await handle.forceLeave(node, prune);
    },
    keyring: async (op, key, relayFactor) => {
      log("info", `serf: Requesting ${op} of gossip keys across the WAN pool`);
      const r = await keyOperation(handle, op, key, relayFactor);
      return {
        wan: true, datacenter: opts.datacenter, segment: "", messages: r.response.messages, keys: r.response.keys,
        primaryKeys: r.response.primaryKeys, numNodes: r.response.numNodes, error: r.error ?? "",
      };
    },
    startFlood: (lanMembers) => {
      if (closed || floodTimer !== undefined) return;
      const flood = (): void => {
        if (closed) return;
        const now = Date.now();
        for (const target of floodTargets(lanMembers(), list(), opts.nodeName, opts.datacenter)) {
          const last = tried.get(target.addr);
          if (last !== undefined && now - last < WAN_FLOOD_RETRY_MS) continue;
          tried.set(target.addr, now);
          handle.join([target.addr]).then(
            () => log("info", `consul: Successfully performed flood-join for server at address: server=${target.name} address=${target.addr}`),
            (err: unknown) => log("debug", `consul: Failed to flood-join server at address: server=${target.name} address=${target.addr} error=${err instanceof Error ? err.message : String(err)}`),
          );
        }
      };
      floodTimer = setInterval(flood, WAN_FLOOD_POLL_MS);
      flood();
    },
    close: async () => {
      if (closed) return;
      closed = true;
      if (retryTimer !== undefined) clearTimeout(retryTimer);
      if (floodTimer !== undefined) clearInterval(floodTimer);
      offMember();
      await snapChain;
      await handle.close();
    },
  };
}
