/**
 * gossip/serf/core_types: the shapes of serf's pure core (core.ts) as the driver and the
 * agent see them: members and their events, user events, incoming queries, the effects
 * the core hands out, its configuration (with serf's defaults) and query parameters.
 *
 * Must never: hold logic beyond the defaults.
 */

import { SERF_USER_EVENT_SIZE_LIMIT } from "../../shared/limits.ts";
import type { Address } from "../core_types.ts";
import type { QueryFilter } from "./messages.ts";

export type MemberStatus = "alive" | "leaving" | "left" | "failed";
export type MemberEventType = "member-join" | "member-leave" | "member-failed" | "member-update" | "member-reap";

/** A serf member as the API shows it. */
export interface SerfMember {
  name: string;
  addr: string;
  port: number;
  tags: Record<string, string>;
  status: MemberStatus;
  /** [pmin, pmax, pcur, dmin, dmax, dcur] */
  vsn: number[];
}

export interface MemberEvent { type: MemberEventType; member: SerfMember }
export interface UserEvent { name: string; payload: Uint8Array; ltime: number; coalesce: boolean }
export interface IncomingQuery {
  id: number;
  ltime: number;
  name: string;
  payload: Uint8Array;
  sourceNode: string;
  /** Where the response goes. */
  addr: Address;
  deadlineMs: number;
  /** serf RelayFactor: the response also goes through this many other members. */
  relayFactor: number;
}

export type SerfEffect =
  /** Gossip this serf message (memberlist user broadcast). */
  | { kind: "broadcast"; payload: Uint8Array }
  /** Send this serf message straight to one address (memberlist SendToAddress over UDP). */
  | { kind: "send"; to: Address; payload: Uint8Array }
  | { kind: "member-event"; event: MemberEvent }
  | { kind: "user-event"; event: UserEvent }
  | { kind: "query"; query: IncomingQuery }
  | { kind: "query-ack"; id: number; from: string }
  | { kind: "query-response"; id: number; from: string; payload: Uint8Array }
  | { kind: "query-done"; id: number }
  /** Try to join a failed member again (serf's reconnector). */
  | { kind: "reconnect"; node: string; to: Address }
  | { kind: "log"; level: "debug" | "info" | "warn"; message: string };

export interface SerfConfig {
  name: string;
  tags: Record<string, string>;
  /** Tried to reconnect to one failed member this often (serf ReconnectInterval 30 s). */
  reconnectIntervalMs: number;
  /** Failed members are reaped after this long (Consul reconnect_timeout 72 h, serf default 24 h). */
  reconnectTimeoutMs: number;
  /** Left members are kept as tombstones this long (serf TombstoneTimeout 24 h). */
  tombstoneTimeoutMs: number;
  /** Reaper period (serf ReapInterval 15 s). */
  reapIntervalMs: number;
  /** Coalesce user events marked coalescable for this long (0: deliver at once). */
  userCoalescePeriodMs: number;
  userEventSizeLimit: number;
  /** Default query timeout = gossipInterval × queryTimeoutMult × ceil(log10(n + 1)). */
  gossipIntervalMs: number;
  queryTimeoutMult: number;
}

export function defaultSerfConfig(name: string): SerfConfig {
  return {
    name,
    tags: {},
    reconnectIntervalMs: 30_000,
    reconnectTimeoutMs: 24 * 3600_000,
    tombstoneTimeoutMs: 24 * 3600_000,
    reapIntervalMs: 15_000,
    userCoalescePeriodMs: 0,
    userEventSizeLimit: SERF_USER_EVENT_SIZE_LIMIT,
    gossipIntervalMs: 200,
    queryTimeoutMult: 16,
  };
}

export interface QueryParams {
  filters?: QueryFilter[];
  requestAck?: boolean;
  timeoutMs?: number;
  /** serf RelayFactor (0-5): responders also send their ack/response through this many other members. */
  relayFactor?: number;
}
