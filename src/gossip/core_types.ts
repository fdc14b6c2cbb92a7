/**
 * gossip/core_types: the shapes the SWIM core (core.ts) shares with its driver and the
 * serf layer: addresses, members as the core knows them, the effects it hands out, its
 * deps and the local node it starts from.
 *
 * Must never: hold runtime code (types only).
 */

import type { NodeStateName, PushNodeState } from "./packet.ts";
import type { Ping } from "./wire.ts";

/** A UDP/TCP endpoint: raw IP bytes (4 or 16) and port. */
export interface Address {
  addr: Uint8Array;
  port: number;
}

/** One member as the core knows it. */
export interface Member {
  name: string;
  addr: Uint8Array;
  port: number;
  meta: Uint8Array | null;
  /** [pmin, pmax, pcur, dmin, dmax, dcur] */
  vsn: Uint8Array;
  incarnation: number;
  state: NodeStateName;
  stateChangeMs: number;
}

export type Effect =
  /** Send one UDP payload: parts are encoded messages (more than one = compound). */
  | { kind: "packet"; to: Address; parts: Uint8Array[]; crc: boolean }
  /** Open a stream, send our state, read theirs, then call mergeRemoteState. */
  | { kind: "push-pull"; to: Address; join: boolean; nodes: PushNodeState[] }
  /** TCP fallback ping; report with tcpPingResult before deadlineMs. */
  | { kind: "tcp-ping"; to: Address; ping: Ping; deadlineMs: number }
  | { kind: "member"; event: "join" | "leave" | "update"; member: Member }
  /** Any change of a node's state (alive/suspect/dead/left), for observers and tests. */
  | { kind: "state"; node: string; from: NodeStateName; to: NodeStateName; incarnation: number }
  /** A user message arrived over UDP (serf's messages). */
  | { kind: "user"; payload: Uint8Array }
  /** A direct probe was answered: RTT and the ack payload (serf coordinates). */
  | { kind: "ping-complete"; node: string; rttMs: number; payload: Uint8Array | null }
  /** An alive message for a known name came from another address. */
  | { kind: "conflict"; existing: Member; other: Address }
  | { kind: "log"; level: "debug" | "info" | "warn"; message: string };

export interface CoreDeps {
  /** Uniform in [0, 1); seeded in tests and simulations. */
  rng: () => number;
  /** Payload attached to acks (serf: `[1]` + coordinate). */
  ackPayload?: () => Uint8Array | null;
  /**
   * memberlist's AliveDelegate (serf: the merge delegate on one member): a reason to ignore
   * an alive message about another node, or null to accept it. Absent: accept all.
   */
  rejectAlive?: (node: string, meta: Uint8Array | null) => string | null;
}

export interface LocalNode {
  name: string;
  addr: Uint8Array;
  port: number;
  meta?: Uint8Array | null;
}
