/**
 * server/types: what the HTTP (and later DNS and RPC) layers may ask of the server.
 *
 * A Backend hides whether writes go through a single-voter log or a Raft
 * cluster: apply() resolves only once the command is durable on a quorum and
 * applied to the FSM. readBarrier() implements Consul's consistency modes.
 *
 * Must never: expose the log, the raft core or worker handles to callers.
 */

import type { ApplyResult, Command, StoreReader } from "../state/types.ts";

export type Consistency = "default" | "stale" | "consistent";

export interface LeaderView {
  /** X-Consul-KnownLeader */
  readonly knownLeader: boolean;
  /** X-Consul-LastContact in ms (0 on the leader). */
  readonly lastContactMs: number;
  /** "ip:port" of the leader's server RPC address, "" when none. */
  readonly leaderAddr: string;
}

export interface Backend {
  readonly store: StoreReader;
  /** Commit a command (durable on a quorum) and apply it; resolves with the FSM's result. */
  apply(cmd: Command): Promise<ApplyResult>;
  /**
   * Wait until a read in `mode` may be served from the local store.
   * Rejects with CairnError("no-leader") when it cannot be.
   */
  readBarrier(mode: Consistency): Promise<LeaderView>;
  /** Current leadership view, without waiting. */
  leader(): LeaderView;
  /** Raft voters as "ip:port". */
  peers(): string[];
}

/** A gossip member as /v1/agent/members shows it. */
export interface MemberView {
  readonly name: string;
  readonly addr: string;
  readonly port: number;
  readonly tags: Readonly<Record<string, string>>;
  readonly status: number; // 0 none, 1 alive, 2 leaving, 3 left, 4 failed
}

/** What the agent endpoints need to know about the agent itself. */
export interface AgentView {
  readonly nodeName: string;
  readonly nodeId: string;
  readonly datacenter: string;
  readonly primaryDatacenter: string;
  readonly server: boolean;
  /** The Consul version whose API cairn implements. */
  readonly version: string;
  readonly cairnVersion: string;
  readonly revision: string;
  readonly buildDate: string;
  /** Whether JSON is always pretty-printed (as in -dev). */
  readonly prettyByDefault: boolean;
  /** Effective config as /v1/agent/self DebugConfig shows it. */
  debugConfig(): Record<string, unknown>;
  members(wan: boolean): MemberView[];
}
