/**
 * agent/lan: the agent's LAN gossip pool, as Consul wires serf into its agent.
 *
 * startLan() starts the pool (src/gossip startGossip, in its supervised worker) with
 * Consul's serf tags for a server or a client, keeps a main-thread copy of the member
 * list for /v1/agent/members, joins the -join/-retry-join addresses in the background
 * (every retry_interval, at most retry_max attempts when set), carries user events
 * (Consul's msgpack UserEvent under the serf event name "consul:event:<name>") between
 * the EventBus and gossip, and on a server reconciles members of its datacenter into the
 * catalog as Consul's leader does: alive → node + serfHealth passing, failed → serfHealth
 * critical, left/reaped → node deregistered. In a
 * Raft cluster only the leader reconciles (catalog.isLeader) and reconcileAll() runs when a
 * server gains leadership; onMembers feeds the cluster's address book and bootstrap.
 *
 * Must never: write to the catalog on a client, touch this agent's own node (the
 * self-registration owns it), or let a gossip error escape as an unhandled rejection.
 */

import type { GossipConfig } from "./config/types.ts";
import { keyOperation, type KeyOp } from "../gossip/index.ts";
import type { KeyringPoolResult } from "../http/agent_ops.ts";
import { startGossip, type GossipHandle, type MemberEvent, type SerfMember, type UserEvent as SerfUserEvent } from "../gossip/index.ts";
import { ByteWriter, asMap, decodeValue, fieldBytes, fieldStr, fieldUint, writeMapHeader, writeStr, writeBytesOrNil, writeInt } from "../gossip/index.ts";
import type { MemberView } from "../server/types.ts";
import type { ApplyResult, Command } from "../state/types.ts";
import { EMPTY_CHECK_DEFINITION, type CatalogReader, type CheckInput } from "../state/catalog_types.ts";
import { SERF_CHECK_ID, SERF_CHECK_NAME, SERF_ALIVE_OUTPUT } from "../server/self_register.ts";
import type { EventBus, UserEvent } from "./events.ts";
import { COORDINATE_SYNC_MIN_MS, COORDINATE_SYNC_RATE_TARGET } from "../shared/limits.ts";
import { SERF_LAN_KEYRING, setupKeyring } from "./keyring_file.ts";

/** Consul's serf event name prefix for user events (agent/consul/server_serf.go userEventName). */
export const USER_EVENT_PREFIX = "consul:event:";
export const SERF_FAILED_OUTPUT = "Agent not live or unreachable";

export type LanLog = (level: "debug" | "info" | "warn" | "error", msg: string) => void;

export interface LanOptions {
  readonly nodeName: string;
  readonly nodeId: string;
  readonly datacenter: string;
  readonly server: boolean;
  readonly bootstrap: boolean;
  readonly bootstrapExpect: number;
  readonly serverPort: number;
  readonly build: string;
  readonly bindAddr: string;
  readonly advertiseAddr: string;
  readonly port: number;
  readonly dev: boolean;
  /** base64 gossip key ("" = plaintext). */
  readonly encrypt: string;
  /** The data dir: the keyring lives in <dataDir>/serf/local.keyring unless disableKeyringFile (agent/keyring_file.ts). */
  readonly dataDir?: string;
  readonly disableKeyringFile?: boolean;
  readonly retryJoin: readonly string[];
  /** WAN gossip: a server's serf_wan port, announced as the LAN tag wan_join_port (Consul's flood join). */
  readonly wanJoinPort?: number;
  readonly retryIntervalMs: number;
  /** 0 = retry until it works. */
  readonly retryMax: number;
  /**
   * A server writes its own coordinate to the coordinates table every this many ms plus a
   * random stagger of up to as much again (Consul's sync_coordinate_interval_min; default 15 s).
   */
  readonly coordinateSyncMs?: number;
  /** Consul gossip_lan tuning (RuntimeConfig.gossipLan); overrides the profile's values. */
  readonly tuning?: GossipConfig;
}

export interface LanDeps {
  readonly events: EventBus;
  /** Server only: the write path and the catalog to reconcile members into. */
  readonly catalog?: {
    readonly apply: (cmd: Command) => Promise<ApplyResult>;
    readonly reader: CatalogReader;
    /** Reconcile only while this returns true (a Raft cluster: the leader); absent = always. */
    readonly isLeader?: () => boolean;
  };
  /**
   * Where this agent's own coordinate is written (Consul's sendCoordinate): a server's own
   * apply, or a client agent's apply forwarded to a server. Absent: not sent.
   */
  readonly writeCoordinate?: (cmd: Command) => Promise<ApplyResult>;
  readonly log: LanLog;
  /** Called with the whole member list after every membership change (a Raft cluster's address book and bootstrap). */
  readonly onMembers?: (members: readonly MemberView[]) => void;
  /** retry_max attempts of -retry-join all failed (Consul then stops the agent with exit code 1). */
  readonly onRetryExhausted?: () => void;
}

/** Consul's serf tags for this agent (agent/consul/server.go setupSerf, client.go). */
export function lanTags(o: Pick<LanOptions, "server" | "datacenter" | "nodeId" | "build" | "serverPort" | "bootstrap" | "bootstrapExpect" | "dev" | "wanJoinPort">): Record<string, string> {
  const t: Record<string, string> = {
    role: o.server ? "consul" : "node",
    dc: o.datacenter,
    segment: "",
    id: o.nodeId,
    vsn: "2",
    vsn_min: "2",
    vsn_max: "3",
    build: o.build,
  };
  if (o.server) {
    t.raft_vsn = "3";
    t.port = String(o.serverPort);
    if (o.bootstrap || o.dev) t.bootstrap = "1";
    if (o.bootstrapExpect > 0) t.expect = String(o.bootstrapExpect);
    if (o.wanJoinPort !== undefined && o.wanJoinPort > 0) t.wan_join_port = String(o.wanJoinPort); // WAN gossip: flood join
  }
  return t;
}

const STATUS_CODE: Record<SerfMember["status"], number> = { alive: 1, leaving: 2, left: 3, failed: 4 };

export function memberView(m: SerfMember): MemberView {
  return { name: m.name, addr: m.addr, port: m.port, tags: { ...m.tags }, status: STATUS_CODE[m.status] };
}

/** Consul's UserEvent as msgpack: ID, n, p/nf/sf/tf (omitempty), v. */
export function encodeUserEvent(e: UserEvent): Uint8Array {
  const fields: Array<[string, (w: ByteWriter) => void]> = [
    ["ID", (w) => writeStr(w, e.id)],
    ["n", (w) => writeStr(w, e.name)],
  ];
  if (e.payload !== null && e.payload.length > 0) {
    const p = e.payload;
    fields.push(["p", (w) => writeBytesOrNil(w, p)]);
  }
  if (e.nodeFilter !== "") fields.push(["nf", (w) => writeStr(w, e.nodeFilter)]);
  if (e.serviceFilter !== "") fields.push(["sf", (w) => writeStr(w, e.serviceFilter)]);
  if (e.tagFilter !== "") fields.push(["tf", (w) => writeStr(w, e.tagFilter)]);
  fields.push(["v", (w) => writeInt(w, e.version)]);
  const w = new ByteWriter(64 + (e.payload?.length ?? 0));
  writeMapHeader(w, fields.length);
  for (const [k, f] of fields) {
    writeStr(w, k);
    f(w);
  }
  return w.finish();
}

/** Decodes a Consul UserEvent payload (throws CairnError on garbage). */
export function decodeUserEvent(b: Uint8Array): UserEvent {
  const m = asMap(decodeValue(b), "user event");
  const p = fieldBytes(m, "p");
  return {
    id: fieldStr(m, "ID"),
    name: fieldStr(m, "n"),
    payload: p === undefined || p === null || p.length === 0 ? null : new Uint8Array(p),
    nodeFilter: fieldStr(m, "nf"),
    serviceFilter: fieldStr(m, "sf"),
    tagFilter: fieldStr(m, "tf"),
    version: fieldUint(m, "v"),
    ltime: 0,
  };
}

function serfCheck(node: string, alive: boolean): CheckInput {
  return {
    node,
    checkId: SERF_CHECK_ID,
    name: SERF_CHECK_NAME,
    status: alive ? "passing" : "critical",
    notes: "",
    output: alive ? SERF_ALIVE_OUTPUT : SERF_FAILED_OUTPUT,
    serviceId: "",
    serviceName: "",
    serviceTags: [],
    type: "",
    intervalNs: 0,
    timeoutNs: 0,
    exposedPort: 0,
    definition: EMPTY_CHECK_DEFINITION,
  };
}

/** What the leader must write for a member (Consul leader.go handleAlive/Failed/Left/ReapMember), or null. */
export function reconcileCommand(m: SerfMember, reader: CatalogReader, self: string, dc: string, reaped: boolean): Command | null {
  if (m.name === self) return null;
  if (m.tags.dc !== dc) return null;
  if (m.tags.role !== "consul" && m.tags.role !== "node") return null;
  const existing = reader.catalogNode(m.name).value;
  if (reaped || m.status === "left") {
    return existing === undefined ? null : { type: "catalog-deregister", node: m.name, serviceId: "", checkId: "" };
  }
  if (m.status === "leaving") return null;
  const alive = m.status === "alive";
  const want = alive ? "passing" : "critical";
  const check = reader.healthNode(m.name).value.find((c) => c.checkId === SERF_CHECK_ID && c.serviceId === "");
  if (existing !== undefined && check !== undefined && check.status === want && (!alive || existing.node.address === m.addr)) return null;
  const sameNode = existing !== undefined && existing.node.address === m.addr;
  return {
    type: "catalog-register",
    req: {
      node: {
        id: existing?.node.id ?? m.tags.id ?? "",
        node: m.name,
        address: alive || existing === undefined ? m.addr : existing.node.address,
        datacenter: dc,
        taggedAddresses: existing?.node.taggedAddresses ?? {},
        meta: existing?.node.meta ?? { "consul-network-segment": "" },
      },
      skipNodeUpdate: !alive ? existing !== undefined : sameNode,
      service: null,
      checks: [serfCheck(m.name, alive)],
    },
  };
}

export interface LanPool {
  readonly port: number;
  members(): MemberView[];
  /** Reconcile every known member into the catalog again (a server that just became leader). */
  reconcileAll(): void;
  join(addrs: string[]): Promise<number>;
  /** Graceful leave (peers see `left`); the pool keeps running until close(). */
  leave(): Promise<void>;
  forceLeave(node: string, prune: boolean): Promise<void>;
  /** Cluster-wide keyring operation over serf's internal key queries (local-only: this node's keyring). */
  keyring(op: KeyOp, key: string, relayFactor: number, localOnly: boolean): Promise<KeyringPoolResult[]>;
  close(): Promise<void>;
}

export async function startLan(opts: LanOptions, deps: LanDeps): Promise<LanPool> {
  const log = deps.log;
  // The keyring file wins over -encrypt once it exists (Consul setupBaseKeyrings).
  const keyring = await setupKeyring({
    dataDir: opts.dataDir, file: SERF_LAN_KEYRING, encrypt: opts.encrypt, disableKeyringFile: opts.disableKeyringFile ?? false,
    pool: "LAN", log,
  });
  const handle: GossipHandle = await startGossip({
    name: opts.nodeName,
    bindAddr: opts.bindAddr,
    bindPort: opts.port,
    advertiseAddr: opts.advertiseAddr,
    advertisePort: opts.port,
    profile: opts.dev ? "dev" : "lan",
    config: opts.tuning === undefined ? undefined : { ...opts.tuning },
    encryptKeys: keyring.keys.length === 0 ? undefined : keyring.keys,
    keyringFile: keyring.keyringFile,
    tags: lanTags(opts),
    // Consul's lanMergeDelegate: this datacenter and segment only, no node-ID conflicts
    mergePolicy: { kind: "consul-lan", datacenter: opts.datacenter, segment: "", nodeId: opts.nodeId, nodeName: opts.nodeName },
    serf: { reconnectTimeoutMs: 72 * 3600_000 },
    log: (level, message) => log(level, `serf: ${message}`),
    logLevel: "info",
  });
  log("info", `serf: LAN pool started on ${opts.bindAddr}:${handle.port}`);

  const members = new Map<string, SerfMember>();
  let closed = false;
  const notifyMembers = (): void => {
    if (deps.onMembers === undefined || closed) return;
    try {
      deps.onMembers([...members.values()].map(memberView));
    } catch (e) {
      log("error", `agent: member callback failed: ${String(e)}`);
    }
  };

  // ---- catalog reconciliation (server only), one write at a time in event order
  let chain: Promise<void> = Promise.resolve();
  const reconcile = (m: SerfMember, reaped: boolean): void => {
    const cat = deps.catalog;
    if (cat === undefined) return;
    chain = chain.then(async () => {
      if (closed) return;
      if (cat.isLeader !== undefined && !cat.isLeader()) return;
      const cmd = reconcileCommand(m, cat.reader, opts.nodeName, opts.datacenter, reaped);
      if (cmd === null) return;
      const r = await cat.apply(cmd);
      if (r.type === "error") log("error", `leader: failed to reconcile member ${m.name}: ${r.message}`);
      else log("info", `leader: member ${m.name} is ${reaped ? "reaped" : m.status}; catalog updated`);
    }).catch((e: unknown) => log("error", `leader: reconcile ${m.name}: ${String(e)}`));
  };

  const offMember = handle.onMemberEvent((e: MemberEvent) => {
    if (e.type === "member-reap") members.delete(e.member.name);
    else members.set(e.member.name, e.member);
    reconcile(e.member, e.type === "member-reap");
    notifyMembers();
  });
  for (const m of await handle.members()) {
    if (!members.has(m.name)) members.set(m.name, m);
    reconcile(m, false);
  }
  notifyMembers();

  // ---- user events both ways
  deps.events.setTransport((e) => {
    handle.fireEvent(USER_EVENT_PREFIX + e.name, encodeUserEvent(e), false).catch((err: unknown) => {
      log("error", `agent: failed to fire user event ${e.name}: ${err instanceof Error ? err.message : String(err)}`);
    });
  });
  const offUser = handle.onUserEvent((ue: SerfUserEvent) => {
    if (!ue.name.startsWith(USER_EVENT_PREFIX)) return;
    let ev: UserEvent;
    try {
      ev = decodeUserEvent(ue.payload);
    } catch (err) {
      log("error", `agent: Failed to decode event: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    deps.events.receive(ev, ue.ltime);
  });

  // ---- this agent's own coordinate into the coordinates table (Consul's agent
  // sendCoordinate): a server applies it, a client forwards it to a server.
  let coordTimer: ReturnType<typeof setTimeout> | undefined;
  const syncCoordinate = (): void => {
    const write = deps.writeCoordinate;
    if (write === undefined || closed) return;
    // Consul's lib.RateScaledInterval: at least the minimum, longer once the pool is big
    // enough that all agents together would send more than the rate target.
    const base = Math.max(opts.coordinateSyncMs ?? COORDINATE_SYNC_MIN_MS, (1000 * members.size) / COORDINATE_SYNC_RATE_TARGET);
    coordTimer = setTimeout(() => {
      chain = chain.then(async () => {
        if (closed) return;
        const coord = await handle.coordinate();
        const r = await write({ type: "coordinate-batch-update", updates: [{ node: opts.nodeName, segment: "", coord }] });
        if (r.type === "error") log("warn", `agent: coordinate update failed: ${r.message}`);
      }).catch((e: unknown) => log("warn", `agent: coordinate update failed: ${String(e)}`));
      void chain.then(syncCoordinate);
    }, base + Math.floor(Math.random() * base));
  };
  syncCoordinate();

  // ---- -join / -retry-join in the background
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  if (opts.retryJoin.length > 0) {
    let attempt = 0;
    const tryJoin = (): void => {
      if (closed) return;
      attempt++;
      log("info", `agent: Joining cluster... (attempt ${attempt}) ${JSON.stringify(opts.retryJoin)}`);
      handle.join([...opts.retryJoin]).then(
        (n) => log("info", `agent: Join cluster completed. Synced with ${n} initial agents`),
        (err: unknown) => {
          const msg = err instanceof Error ? err.message : String(err);
          if (opts.retryMax > 0 && attempt >= opts.retryMax) {
            log("error", `agent: max join retry exhausted, exiting: ${msg}`);
            deps.onRetryExhausted?.();
            return;
          }
          log("warn", `agent: Join cluster failed, will retry: retry_interval=${opts.retryIntervalMs}ms error=${msg}`);
          if (!closed) retryTimer = setTimeout(tryJoin, opts.retryIntervalMs);
        },
      );
    };
    tryJoin();
  }

  return {
    port: handle.port,
    members: () => [...members.values()].map(memberView).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    reconcileAll: () => {
      for (const m of members.values()) reconcile(m, false);
    },
    join: (addrs) => handle.join(addrs),
    leave: async () => {
      log("info", "agent: Requesting graceful leave from serf");
      await handle.leave();
    },
    forceLeave: async (node, prune) => {
      if (!members.has(node)) throw new Error(`agent: No node found with name '${node}'`);
      log("info", `agent: Force leaving node: node=${node}`);
      await handle.forceLeave(node, prune);
    },
    keyring: async (op, key, relayFactor, localOnly) => {
      const pool = { wan: false, datacenter: opts.datacenter, segment: "" };
      if (localOnly) {
        if (keyring.keys.length === 0) {
          return [{ ...pool, messages: {}, keys: {}, primaryKeys: {}, numNodes: 1, error: "Keyring is empty (encryption not enabled)" }];
        }
        const keys = await handle.listKeys();
        const primary = keys[0];
        return [{
          ...pool, messages: {}, numNodes: 1, error: "",
          keys: Object.fromEntries(keys.map((k) => [k, 1])),
          primaryKeys: primary === undefined ? {} : { [primary]: 1 },
        }];
      }
      log("info", `serf: Requesting ${op} of gossip keys across the LAN pool`);
      const r = await keyOperation(handle, op, key, relayFactor);
      return [{
        ...pool, messages: r.response.messages, keys: r.response.keys, primaryKeys: r.response.primaryKeys,
        numNodes: r.response.numNodes, error: r.error ?? "",
      }];
    },
    close: async () => {
      if (closed) return;
      closed = true;
      if (retryTimer !== undefined) clearTimeout(retryTimer);
      if (coordTimer !== undefined) clearTimeout(coordTimer);
      deps.events.setTransport(undefined);
      offMember();
      offUser();
      await chain;
      await handle.close();
    },
  };
}
