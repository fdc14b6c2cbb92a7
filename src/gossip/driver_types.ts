/**
 * gossip/driver_types: the options and the handle of a running gossip pool (LAN or WAN),
 * shared by the in-thread driver, the gossip worker and the main-thread supervisor.
 * Options are plain data (they cross into the worker by structured clone).
 *
 * Must never: import runtime code (types and small pure helpers only).
 */

import type { Coordinate } from "../coordinate/index.ts";
import type { GossipConfig } from "./config.ts";
import type { MemberEvent, SerfConfig, SerfMember, UserEvent } from "./serf/core_types.ts";
import type { QueryFilter } from "./serf/messages.ts";
import type { MergePolicy } from "./merge.ts";

export type GossipProfile = "lan" | "wan" | "local" | "dev";

export interface GossipOptions {
  /** Node name (WAN pools use `<node>.<dc>`). */
  name: string;
  /** Address the UDP and TCP sockets bind (default 127.0.0.1). */
  bindAddr?: string;
  /** Port for both sockets (default 8301; 0 picks a free port, reported by the handle). */
  bindPort?: number;
  /** Address and port told to peers (default: the bound ones). */
  advertiseAddr?: string;
  advertisePort?: number;
  /** Timing preset (default lan) and overrides of single values. */
  profile?: GossipProfile;
  config?: Partial<GossipConfig>;
  /** Gossip keys in base64, primary first (Consul `encrypt` / keyring file). None: plaintext. */
  encryptKeys?: string[];
  /**
   * serf's KeyringFile (Consul `<data_dir>/serf/local.keyring`): when set, every keyring change
   * (local install/use/remove and the `_serf_*-key` queries) is written to it atomically before
   * it is acknowledged, and at start an existing file's keys replace encryptKeys (a restarted
   * worker comes back with the rotated keyring).
   */
  keyringFile?: string;
  /** encrypt_verify_incoming / encrypt_verify_outgoing (both default true). */
  verifyIncoming?: boolean;
  verifyOutgoing?: boolean;
  /** memberlist label on every packet and stream ("" or absent: none). */
  label?: string;
  /** serf tags (Consul's role, dc, port, vsn, ...). */
  tags?: Record<string, string>;
  /**
   * serf's merge delegate (gossip/merge.ts): "consul-wan" is Consul's wanMergeDelegate (every
   * member must be a Consul server), a ConsulLanMerge its lanMergeDelegate (this datacenter and
   * segment, no node-ID conflicts): a join whose remote state holds a refused member fails, and
   * alive messages about one are ignored. Absent: no checks.
   */
  mergePolicy?: MergePolicy;
  /** serf timers (reconnect, reap, tombstones, coalescing). */
  serf?: Partial<Omit<SerfConfig, "name" | "tags">>;
  /** After the memberlist leave went out, wait this long before reporting the leave done (Consul 3 s). */
  leavePropagateDelayMs?: number;
  /** How long a leave waits for its broadcasts (serf BroadcastTimeout 5 s). */
  broadcastTimeoutMs?: number;
}

export interface QueryOptions {
  filters?: QueryFilter[];
  requestAck?: boolean;
  timeoutMs?: number;
  /** serf RelayFactor (0-5): responses also come back through this many other members. */
  relayFactor?: number;
  /** Resolve as soon as this many responses arrived (serf's key manager stops at NumNodes). */
  expectResponses?: number;
}

export interface QueryResult {
  acks: string[];
  responses: { from: string; payload: Uint8Array }[];
}

export type LogLevel = "debug" | "info" | "warn";

/** A running gossip pool. Every call is async because the pool normally lives in a worker. */
export interface GossipHandle {
  /** The bound address and port (useful with bindPort 0). */
  readonly addr: string;
  readonly port: number;
  /** serf's member list, this node included. */
  members(): Promise<SerfMember[]>;
  /** Join through these "host:port" addresses; resolves with how many answered (throws if none did). */
  join(addrs: string[]): Promise<number>;
  /** Graceful leave: serf leave intent, memberlist leave, propagation delay. Peers see `left`. */
  leave(): Promise<void>;
  /** Mark a failed member as left (serf RemoveFailedNode). */
  forceLeave(node: string, prune?: boolean): Promise<void>;
  /** Fire a serf user event (delivered locally too). */
  fireEvent(name: string, payload: Uint8Array | string, coalesce?: boolean): Promise<void>;
  /** Send a serf query and collect acks and responses until its timeout. */
  query(name: string, payload: Uint8Array | string, opts?: QueryOptions): Promise<QueryResult>;
  /** Local keyring operations (base64 keys). */
  installKey(key: string): Promise<void>;
  useKey(key: string): Promise<void>;
  removeKey(key: string): Promise<void>;
  listKeys(): Promise<string[]>;
  /** This node's Vivaldi coordinate (serf's GetCoordinate), updated from probe RTTs. */
  coordinate(): Promise<Coordinate>;
  /** serf's cached coordinates by member name (peers' from their acks, this node's own). */
  cachedCoordinates(): Promise<Record<string, Coordinate>>;
  onMemberEvent(cb: (e: MemberEvent) => void): () => void;
  onUserEvent(cb: (e: UserEvent) => void): () => void;
  /** Stops the pool without leaving (peers will see it fail). */
  close(): Promise<void>;
}

/** "host:port" (or [v6]:port, or a bare host with defaultPort) -> parts. */
export function splitHostPort(s: string, defaultPort: number): { host: string; port: number } {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (v6) return { host: v6[1] ?? "", port: v6[2] !== undefined ? Number(v6[2]) : defaultPort };
  const i = s.lastIndexOf(":");
  if (i > 0 && s.indexOf(":") === i) return { host: s.slice(0, i), port: Number(s.slice(i + 1)) };
  return { host: s, port: defaultPort };
}
