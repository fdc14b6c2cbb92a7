/**
 * http/agent_ops: what the agent lends the HTTP layer beyond state: its user-event bus
 * (/v1/event/*), config reload (/v1/agent/reload), log monitor (/v1/agent/monitor) and
 * LAN gossip membership (/v1/agent/join, leave, force-leave), its keyring
 * (/v1/operator/keyring) and the Raft operator views (/v1/operator/raft/*).
 *
 * Must never: hold logic; types only.
 */

import type { EventBus } from "../agent/events.ts";
import type { MonitorHub } from "../agent/monitor.ts";
import type { Coordinate } from "../coordinate/index.ts";

export interface AgentOps {
  readonly events?: EventBus | undefined;
  /** Re-read and apply the config; rejects with the reason (the running config stays). */
  readonly reload?: (() => Promise<void>) | undefined;
  readonly monitor?: MonitorHub | undefined;
  /** LAN gossip: /v1/agent/join, /v1/agent/leave, /v1/agent/force-leave (errors become 500 with their text). */
  readonly gossip?: GossipOps | undefined;
  /** Raft operator views: /v1/operator/raft/configuration, peer, transfer-leader. */
  readonly raft?: RaftOps | undefined;
  /** A server's WAN pool: /v1/catalog/datacenters and /v1/coordinate/datacenters (absent: this datacenter only). */
  readonly wan?: WanOps | undefined;
}

/** The WAN views a server lends the HTTP layer (agent/wan.ts). */
export interface WanOps {
  /** Datacenters nearest first (Consul GetDatacentersByDistance). */
  datacenters(): Promise<string[]>;
  /** structs.DatacenterMap per datacenter: node names without the `.<dc>` suffix. */
  coordinates(): Promise<readonly {
    readonly datacenter: string;
    readonly areaId: string;
    readonly coordinates: readonly { readonly node: string; readonly coord: Coordinate }[];
  }[]>;
}

/** One server of /v1/operator/raft/configuration. */
export interface RaftServerView {
  readonly id: string;
  readonly node: string;
  readonly address: string;
  readonly leader: boolean;
  readonly voter: boolean;
  readonly lastIndex: number;
}

export interface RaftConfigurationView {
  readonly servers: readonly RaftServerView[];
  readonly index: number;
}

export interface RaftOps {
  /** The leader's view (forwarded from a follower) unless stale. */
  configuration(stale: boolean): Promise<RaftConfigurationView>;
  removePeer(by: { readonly id?: string; readonly address?: string }): Promise<void>;
  /** "" = the most up-to-date other voter. */
  transferLeader(id: string): Promise<void>;
}

export interface GossipOps {
  /** Resolves with the number of nodes contacted. */
  join(addr: string, wan: boolean): Promise<number>;
  /** Graceful leave, then the agent shuts down. */
  leave(): Promise<void>;
  forceLeave(node: string, prune: boolean, wan: boolean): Promise<void>;
  /** /v1/operator/keyring: one result per gossip pool (cairn runs the LAN pool only). */
  keyring?(op: KeyringOp, key: string, relayFactor: number, localOnly: boolean): Promise<KeyringPoolResult[]>;
}

export type KeyringOp = "install" | "use" | "remove" | "list";

/** Consul's structs.KeyringResponse for one pool; `error` is "" when every node succeeded. */
export interface KeyringPoolResult {
  readonly wan: boolean;
  readonly datacenter: string;
  readonly segment: string;
  readonly messages: Readonly<Record<string, string>>;
  readonly keys: Readonly<Record<string, number>>;
  readonly primaryKeys: Readonly<Record<string, number>>;
  readonly numNodes: number;
  readonly error: string;
}
