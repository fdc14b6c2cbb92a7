/**
 * session_types: the rows and inputs of Consul sessions (structs.Session) as the
 * state store keeps them, and the few constants the FSM applies to them.
 *
 * A session is created through the log with an ID the leader generated; its
 * LockDelay is kept in nanoseconds exactly as requested (the 60 s cap applies
 * when it is used, as Consul's deleteSessionTxn does); TTL is kept as the Go
 * duration text the client sent (timers live outside the FSM).
 *
 * Must never: import I/O modules or HTTP types.
 */

import type { CancelWatch, Indexed, WatchCallback } from "./types.ts";

export type SessionBehavior = "release" | "delete";

/** structs.ServiceCheck (a service check linked to a session). */
export interface SessionServiceCheck {
  readonly id: string;
  readonly namespace: string;
}

/** What session-create carries (already validated by the HTTP/RPC layer, except for the state checks). */
export interface SessionInput {
  readonly id: string;
  readonly name: string;
  readonly node: string;
  /** Nanoseconds. */
  readonly lockDelayNs: number;
  readonly behavior: SessionBehavior;
  /** Go duration text, "" = none. */
  readonly ttl: string;
  /** null = JSON null (Go nil slice). */
  readonly nodeChecks: readonly string[] | null;
  readonly serviceChecks: readonly SessionServiceCheck[] | null;
  /** Deprecated `Checks`; rendered only when non-empty. */
  readonly checks: readonly string[] | null;
}

export interface SessionRow extends SessionInput {
  readonly createIndex: number;
  readonly modifyIndex: number;
}

/** structs.MaxLockDelay: the longest lock-delay applied on invalidation (ms). */
export const MAX_LOCK_DELAY_MS = 60_000;

/** Session.CheckIDs(): Checks, then NodeChecks, then ServiceChecks IDs. */
export function sessionCheckIds(s: SessionInput): string[] {
  const out: string[] = [];
  for (const c of s.checks ?? []) out.push(c);
  for (const c of s.nodeChecks ?? []) out.push(c);
  for (const c of s.serviceChecks ?? []) out.push(c.id);
  return out;
}

/** The read side of sessions, as the HTTP layer and the leader's timers see it. */
export interface SessionReader {
  /** Consul's SessionGet: the session (or undefined) and the sessions table index. */
  sessionGet(id: string): Indexed<SessionRow | undefined>;
  /** Consul's SessionList: every session in ID order. */
  sessionList(): Indexed<SessionRow[]>;
  /** Consul's NodeSessions: the sessions of one node in ID order. */
  sessionsOfNode(node: string): Indexed<SessionRow[]>;
  /** Number of sessions. */
  sessionCount(): number;
  /** Fire cb once when any session is created or destroyed. */
  watchSessions(cb: WatchCallback): CancelWatch;
  /** Fire cb once when this session is created or destroyed. */
  watchSession(id: string, cb: WatchCallback): CancelWatch;
  /** Fire cb once when a session of this node is created or destroyed. */
  watchNodeSessions(node: string, cb: WatchCallback): CancelWatch;
}

/** What one apply did to sessions (for the leader's TTL timers). */
export interface SessionEvents {
  readonly created: readonly SessionRow[];
  readonly destroyed: readonly string[];
  /** Lock-delays recorded without a leader timestamp wait for a lock-delay-stamp command. */
  readonly pendingLockDelays: boolean;
}
