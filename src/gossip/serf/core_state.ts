/**
 * gossip/serf/core_state: the serf core's state (members with their status Lamport
 * times, recent intents about unknown members, the three Lamport clocks, the event and
 * query de-duplication rings, our pending queries, coalesced events, this node's own
 * alive/leaving/left state, reaper and reconnector clocks, the effects gathered for the
 * next drain) and logging/draining. The other serf core_* modules are functions over
 * this object; SerfCore (core.ts) owns it and is the only public face.
 *
 * Must never: be handed out of the core, read a clock or draw randomness other than
 * rng, or do I/O.
 */

import { SERF_EVENT_BUFFER_SLOTS } from "../../shared/limits.ts";
import { LamportClock } from "./clock.ts";
import type { BufferedEvents } from "./messages.ts";
import type { SerfConfig, SerfEffect, SerfMember, UserEvent } from "./core_types.ts";

export interface MemberState {
  member: SerfMember;
  addr: Uint8Array;
  statusLTime: number;
  leaveTimeMs: number;
}

export interface Intent { type: "join" | "leave"; ltime: number; atMs: number }

export interface PendingQuery { ltime: number; deadlineMs: number; acks: Set<string>; responses: Set<string> }

export class SerfState {
  readonly config: SerfConfig;
  readonly clock = new LamportClock();
  readonly eventClock = new LamportClock();
  readonly queryClock = new LamportClock();
  readonly rng: () => number;
  readonly members = new Map<string, MemberState>();
  readonly intents = new Map<string, Intent>();
  readonly eventBuffer: (BufferedEvents | null)[] = new Array<BufferedEvents | null>(SERF_EVENT_BUFFER_SLOTS).fill(null);
  readonly queryBuffer: ({ ltime: number; ids: number[] } | null)[] =
    new Array<{ ltime: number; ids: number[] } | null>(SERF_EVENT_BUFFER_SLOTS).fill(null);
  readonly pending = new Map<number, PendingQuery>();
  readonly coalesce = new Map<string, { event: UserEvent; flushAtMs: number }>();
  eventMinTime = 0;
  state: "alive" | "leaving" | "left" = "alive";
  nextReapMs: number;
  nextReconnectMs: number;
  effects: SerfEffect[] = [];

  constructor(config: SerfConfig, rng: () => number, nowMs: number) {
    this.config = config;
    this.rng = rng;
    this.nextReapMs = nowMs + config.reapIntervalMs;
    this.nextReconnectMs = nowMs + config.reconnectIntervalMs;
  }

  log(level: "debug" | "info" | "warn", message: string): void {
    this.effects.push({ kind: "log", level, message });
  }

  drain(): SerfEffect[] {
    const out = this.effects;
    this.effects = [];
    return out;
  }
}
