/**
 * gossip/serf/core: serf's member layer on top of the SWIM core, as a pure state machine
 * (serf.go, delegate.go, merge of messages.go): members with tags and status
 * (alive/leaving/left/failed), Lamport clocks for member intents, user events and
 * queries, join/leave intents, user events with an optional coalescing window and a
 * 512-slot de-duplication ring, queries with acks and responses, reconnect attempts to
 * failed members and reaping of failed members (reconnect timeout) and left tombstones.
 * Inputs carry the time; outputs are effects (broadcasts, direct packets, events) for
 * the driver.
 *
 * Must never: touch sockets, timers, the clock or Math.random (time is an argument,
 * randomness comes through deps.rng), or throw on bad peer input (it is dropped).
 */

import {
  SERF_EVENT_BUFFER_SLOTS,
  SERF_MAX_COALESCED_EVENTS,
  SERF_MAX_PENDING_QUERIES,
  SERF_MAX_RECENT_INTENTS,
  SERF_MAX_USER_EVENT_BYTES,
  SERF_QUERY_RESPONSE_SIZE_LIMIT,
  SERF_QUERY_SIZE_LIMIT,
  SERF_RECENT_INTENT_TIMEOUT_MS,
  SERF_USER_EVENT_SIZE_LIMIT,
} from "../../shared/limits.ts";
import { CairnError } from "../../shared/errors.ts";
import type { Address, Member } from "../core.ts";
import { LamportClock } from "./clock.ts";
import {
  decodeFilter,
  decodePushPull,
  decodeSerfMessage,
  decodeTags,
  encodeFilter,
  encodePushPull,
  encodeSerfMessage,
  QUERY_FLAG_ACK,
  QUERY_FLAG_NO_BROADCAST,
  SERF_MSG,
} from "./messages.ts";
import { decodeRelayMessage, encodeRelayMessage } from "./relay.ts";
import type { RelayTarget } from "./relay.ts";
import type { BufferedEvents, JoinMsg, LeaveMsg, QueryFilter, QueryMsg, QueryResponseMsg, UserEventMsg } from "./messages.ts";

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

interface MemberState {
  member: SerfMember;
  addr: Uint8Array;
  statusLTime: number;
  leaveTimeMs: number;
}

interface Intent { type: "join" | "leave"; ltime: number; atMs: number }

interface PendingQuery { ltime: number; deadlineMs: number; acks: Set<string>; responses: Set<string> }

export interface QueryParams {
  filters?: QueryFilter[];
  requestAck?: boolean;
  timeoutMs?: number;
  /** serf RelayFactor (0-5): responders also send their ack/response through this many other members. */
  relayFactor?: number;
}

function ipString(a: Uint8Array): string {
  if (a.length === 4) return a.join(".");
  const parts: string[] = [];
  for (let i = 0; i + 1 < a.length; i += 2) parts.push((((a[i] ?? 0) << 8) | (a[i + 1] ?? 0)).toString(16));
  return parts.join(":");
}

function sameEvent(a: { name: string; payload: Uint8Array | null }, b: { name: string; payload: Uint8Array | null }): boolean {
  if (a.name !== b.name) return false;
  const x = a.payload ?? new Uint8Array(0);
  const y = b.payload ?? new Uint8Array(0);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

export class SerfCore {
  readonly config: SerfConfig;
  readonly clock = new LamportClock();
  readonly eventClock = new LamportClock();
  readonly queryClock = new LamportClock();
  readonly #rng: () => number;
  readonly #members = new Map<string, MemberState>();
  readonly #intents = new Map<string, Intent>();
  readonly #eventBuffer: (BufferedEvents | null)[] = new Array<BufferedEvents | null>(SERF_EVENT_BUFFER_SLOTS).fill(null);
  readonly #queryBuffer: ({ ltime: number; ids: number[] } | null)[] =
    new Array<{ ltime: number; ids: number[] } | null>(SERF_EVENT_BUFFER_SLOTS).fill(null);
  readonly #pending = new Map<number, PendingQuery>();
  readonly #coalesce = new Map<string, { event: UserEvent; flushAtMs: number }>();
  #eventMinTime = 0;
  #state: "alive" | "leaving" | "left" = "alive";
  #nextReapMs: number;
  #nextReconnectMs: number;
  #effects: SerfEffect[] = [];

  constructor(config: SerfConfig, deps: { rng: () => number }, nowMs: number) {
    this.config = config;
    this.#rng = deps.rng;
    // serf.Create increments every clock once, so the first messages carry LTime 1.
    this.clock.increment();
    this.eventClock.increment();
    this.queryClock.increment();
    this.#nextReapMs = nowMs + config.reapIntervalMs;
    this.#nextReconnectMs = nowMs + config.reconnectIntervalMs;
  }

  // ------------------------------------------------------------ queries

  members(): SerfMember[] {
    return [...this.#members.values()].map((m) => ({ ...m.member, tags: { ...m.member.tags }, vsn: [...m.member.vsn] }));
  }

  member(name: string): SerfMember | undefined {
    const m = this.#members.get(name);
    return m ? { ...m.member, tags: { ...m.member.tags } } : undefined;
  }

  state(): "alive" | "leaving" | "left" {
    return this.#state;
  }

  /** Alive members other than us (leave waits for broadcasts only when there are some). */
  hasAliveMembers(): boolean {
    for (const m of this.#members.values()) if (m.member.name !== this.config.name && m.member.status === "alive") return true;
    return false;
  }

  /** Default query timeout for the current cluster size. */
  defaultQueryTimeoutMs(): number {
    const n = this.#members.size;
    return this.config.gossipIntervalMs * this.config.queryTimeoutMult * Math.ceil(Math.log10(n + 1));
  }

  // ------------------------------------------------------------ memberlist delegate

  /** memberlist NotifyJoin / NotifyLeave / NotifyUpdate. `m.state` tells a leave from a failure. */
  handleMemberlistEvent(nowMs: number, event: "join" | "leave" | "update", m: Member): SerfEffect[] {
    switch (event) {
      case "join": this.#nodeJoin(nowMs, m); break;
      case "leave": this.#nodeLeave(nowMs, m); break;
      case "update": this.#nodeUpdate(m); break;
    }
    return this.#drain();
  }

  /** memberlist NotifyMsg: a user message (UDP or TCP). */
  handleUserMessage(nowMs: number, buf: Uint8Array): SerfEffect[] {
    if (buf[0] === SERF_MSG.relay) {
      try {
        const { dest, inner } = decodeRelayMessage(buf);
        this.#effects.push({ kind: "send", to: { addr: dest.addr, port: dest.port }, payload: inner });
      } catch (e) {
        this.#log("warn", `dropping bad relay message: ${String(e)}`);
      }
      return this.#drain();
    }
    let msg;
    try {
      msg = decodeSerfMessage(buf);
    } catch (e) {
      this.#log("warn", `dropping bad serf message: ${String(e)}`);
      return this.#drain();
    }
    if (msg === null) {
      this.#log("debug", `ignoring serf message type ${buf[0] ?? -1}`);
      return this.#drain();
    }
    let rebroadcast = false;
    switch (msg.type) {
      case "join": rebroadcast = this.#joinIntent(nowMs, msg); break;
      case "leave": rebroadcast = this.#leaveIntent(nowMs, msg); break;
      case "userEvent": rebroadcast = this.#userEvent(nowMs, msg); break;
      case "query": rebroadcast = this.#query(nowMs, msg); break;
      case "queryResponse": this.#queryResponse(msg); break;
    }
    if (rebroadcast) this.#effects.push({ kind: "broadcast", payload: buf.slice() });
    return this.#drain();
  }

  /** memberlist LocalState: our serf push/pull. */
  localState(): Uint8Array {
    const statusLTimes = new Map<string, number>();
    const leftMembers: string[] = [];
    for (const m of this.#members.values()) {
      statusLTimes.set(m.member.name, m.statusLTime);
      if (m.member.status === "left") leftMembers.push(m.member.name);
    }
    return encodePushPull({
      ltime: this.clock.time(), statusLTimes, leftMembers, eventLTime: this.eventClock.time(),
      events: this.#eventBuffer, queryLTime: this.queryClock.time(),
    });
  }

  /** memberlist MergeRemoteState. */
  mergeRemoteState(nowMs: number, buf: Uint8Array, _join: boolean): SerfEffect[] {
    if (buf.length === 0) return this.#drain();
    let pp;
    try {
      pp = decodePushPull(buf);
    } catch (e) {
      this.#log("warn", `dropping bad serf push/pull: ${String(e)}`);
      return this.#drain();
    }
    if (pp === null) return this.#drain();
    // No message with the remote clock value was sent yet, hence the − 1.
    if (pp.ltime > 0) this.clock.witness(pp.ltime - 1);
    if (pp.eventLTime > 0) this.eventClock.witness(pp.eventLTime - 1);
    if (pp.queryLTime > 0) this.queryClock.witness(pp.queryLTime - 1);
    const left = new Set(pp.leftMembers);
    for (const name of pp.leftMembers) {
      this.#leaveIntent(nowMs, { type: "leave", ltime: pp.statusLTimes.get(name) ?? 0, node: name, prune: false });
    }
    for (const [name, lt] of pp.statusLTimes) {
      if (!left.has(name)) this.#joinIntent(nowMs, { type: "join", ltime: lt, node: name });
    }
    for (const e of pp.events) {
      if (e === null) continue;
      for (const ev of e.events) this.#userEvent(nowMs, { type: "userEvent", ltime: e.ltime, name: ev.name, payload: ev.payload, cc: false });
    }
    return this.#drain();
  }

  // ------------------------------------------------------------ local actions

  /** After a successful memberlist join: announce our join intent. */
  broadcastJoin(nowMs: number): SerfEffect[] {
    this.#broadcastJoin(nowMs);
    return this.#drain();
  }

  #broadcastJoin(nowMs: number): void {
    const msg: JoinMsg = { type: "join", ltime: this.clock.time(), node: this.config.name };
    this.clock.witness(msg.ltime);
    this.#joinIntent(nowMs, msg);
    this.#effects.push({ kind: "broadcast", payload: encodeSerfMessage(msg) });
  }

  /** First step of a graceful leave: our leave intent (the driver then waits and leaves memberlist). */
  leave(nowMs: number): SerfEffect[] {
    if (this.#state !== "alive") return this.#drain();
    this.#state = "leaving";
    const msg: LeaveMsg = { type: "leave", ltime: this.clock.time(), node: this.config.name, prune: false };
    this.clock.increment();
    this.#leaveIntent(nowMs, msg);
    this.#effects.push({ kind: "broadcast", payload: encodeSerfMessage(msg) });
    return this.#drain();
  }

  /** The leave finished (memberlist left and the propagation delay passed). */
  markLeft(): void {
    this.#state = "left";
  }

  /** serf RemoveFailedNode: a leave intent on behalf of a failed node (force-leave). */
  forceLeave(nowMs: number, node: string, prune = false): SerfEffect[] {
    const msg: LeaveMsg = { type: "leave", ltime: this.clock.time(), node, prune };
    this.clock.increment();
    this.#leaveIntent(nowMs, msg);
    this.#effects.push({ kind: "broadcast", payload: encodeSerfMessage(msg) });
    return this.#drain();
  }

  /** Fire a user event (delivered locally too, as serf does). Throws when it is too large. */
  userEvent(nowMs: number, name: string, payload: Uint8Array, coalesce: boolean): SerfEffect[] {
    if (name.length + payload.length > this.config.userEventSizeLimit) {
      throw new CairnError("too-large", `user event exceeds configured limit of ${this.config.userEventSizeLimit} bytes before encoding`);
    }
    const msg: UserEventMsg = { type: "userEvent", ltime: this.eventClock.time(), name, payload, cc: coalesce };
    const raw = encodeSerfMessage(msg);
    if (raw.length > SERF_MAX_USER_EVENT_BYTES) throw new CairnError("too-large", "user event exceeds sane limit after encoding");
    this.eventClock.increment();
    this.#userEvent(nowMs, msg);
    this.#effects.push({ kind: "broadcast", payload: raw });
    return this.#drain();
  }

  /** Start a query; responses come back as query-ack/query-response effects, then query-done. */
  query(nowMs: number, self: Address, name: string, payload: Uint8Array, params: QueryParams = {}): { id: number; effects: SerfEffect[] } {
    if (this.#pending.size >= SERF_MAX_PENDING_QUERIES) throw new CairnError("rate-limited", "too many outstanding queries");
    const timeoutMs = params.timeoutMs ?? this.defaultQueryTimeoutMs();
    const q: QueryMsg = {
      type: "query", ltime: this.queryClock.time(), id: Math.floor(this.#rng() * 0x7fffffff) >>> 0,
      addr: self.addr, port: self.port, sourceNode: this.config.name,
      filters: params.filters && params.filters.length > 0 ? params.filters.map(encodeFilter) : null,
      flags: params.requestAck ? QUERY_FLAG_ACK : 0, relayFactor: params.relayFactor ?? 0, timeoutNs: timeoutMs * 1_000_000, name, payload,
    };
    const raw = encodeSerfMessage(q);
    if (raw.length > SERF_QUERY_SIZE_LIMIT) throw new CairnError("too-large", `query exceeds limit of ${SERF_QUERY_SIZE_LIMIT} bytes`);
    this.#pending.set(q.id, { ltime: q.ltime, deadlineMs: nowMs + timeoutMs, acks: new Set(), responses: new Set() });
    this.queryClock.increment();
    this.#query(nowMs, q);
    this.#effects.push({ kind: "broadcast", payload: raw });
    return { id: q.id, effects: this.#drain() };
  }

  /** Answer an incoming query (sent straight back to the asker). */
  respond(nowMs: number, q: IncomingQuery, payload: Uint8Array): SerfEffect[] {
    if (nowMs > q.deadlineMs) throw new CairnError("bad-request", "response is past the deadline");
    const msg: QueryResponseMsg = { type: "queryResponse", ltime: q.ltime, id: q.id, from: this.config.name, flags: 0, payload };
    const raw = encodeSerfMessage(msg);
    if (raw.length > SERF_QUERY_RESPONSE_SIZE_LIMIT) throw new CairnError("too-large", "response exceeds limit");
    this.#effects.push({ kind: "send", to: q.addr, payload: raw });
    this.#relay(q.relayFactor, { addr: q.addr.addr, port: q.addr.port, name: q.sourceNode }, raw);
    return this.#drain();
  }

  /** serf relayResponse: a copy through up to `factor` random other alive members (protocol max >= 5). */
  #relay(factor: number, dest: RelayTarget, raw: Uint8Array): void {
    if (factor <= 0 || this.#members.size < factor + 1) return;
    const msg = encodeRelayMessage(dest, raw);
    if (msg.length > SERF_QUERY_RESPONSE_SIZE_LIMIT) {
      this.#log("warn", `relayed response exceeds limit of ${SERF_QUERY_RESPONSE_SIZE_LIMIT} bytes`);
      return;
    }
    const pool = [...this.#members.values()].filter((m) =>
      m.member.status === "alive" && (m.member.vsn[1] ?? 0) >= 5 && m.member.name !== this.config.name);
    for (let i = 0; i < factor && pool.length > 0; i++) {
      const [m] = pool.splice(Math.floor(this.#rng() * pool.length), 1);
      if (m) this.#effects.push({ kind: "send", to: { addr: m.addr, port: m.member.port }, payload: msg });
    }
  }

  /** Reaper, reconnector, coalescer flush and query deadlines. */
  tick(nowMs: number): SerfEffect[] {
    for (const [name, c] of this.#coalesce) {
      if (nowMs < c.flushAtMs) continue;
      this.#coalesce.delete(name);
      this.#effects.push({ kind: "user-event", event: c.event });
    }
    for (const [id, p] of this.#pending) {
      if (nowMs < p.deadlineMs) continue;
      this.#pending.delete(id);
      this.#effects.push({ kind: "query-done", id });
    }
    if (nowMs >= this.#nextReapMs) {
      this.#nextReapMs = nowMs + this.config.reapIntervalMs;
      this.#reap(nowMs);
    }
    if (nowMs >= this.#nextReconnectMs) {
      this.#nextReconnectMs = nowMs + this.config.reconnectIntervalMs;
      this.#reconnect();
    }
    return this.#drain();
  }

  // ------------------------------------------------------------ member handling

  #toMember(m: Member, status: MemberStatus): SerfMember {
    return {
      name: m.name, addr: ipString(m.addr), port: m.port, tags: decodeTags(m.meta), status, vsn: [...m.vsn],
    };
  }

  #emit(type: MemberEventType, s: MemberState): void {
    this.#effects.push({ kind: "member-event", event: { type, member: { ...s.member, tags: { ...s.member.tags } } } });
  }

  #takeIntent(name: string, nowMs: number): Intent | undefined {
    const i = this.#intents.get(name);
    if (i === undefined) return undefined;
    this.#intents.delete(name);
    return nowMs - i.atMs <= SERF_RECENT_INTENT_TIMEOUT_MS ? i : undefined;
  }

  #recordIntent(nowMs: number, name: string, type: "join" | "leave", ltime: number): boolean {
    const old = this.#intents.get(name);
    if (old !== undefined && old.ltime >= ltime) return false;
    if (old === undefined && this.#intents.size >= SERF_MAX_RECENT_INTENTS) {
      const first = this.#intents.keys().next();
      if (!first.done) this.#intents.delete(first.value);
    }
    this.#intents.set(name, { type, ltime, atMs: nowMs });
    return true;
  }

  #nodeJoin(nowMs: number, m: Member): void {
    let s = this.#members.get(m.name);
    if (s === undefined) {
      s = { member: this.#toMember(m, "alive"), addr: m.addr, statusLTime: 0, leaveTimeMs: 0 };
      const intent = this.#takeIntent(m.name, nowMs);
      if (intent !== undefined) {
        s.statusLTime = intent.ltime;
        if (intent.type === "leave") s.member.status = "leaving";
      }
      if (m.name === this.config.name && this.#state !== "alive") s.member.status = "leaving";
      this.#members.set(m.name, s);
    } else {
      s.member = { ...this.#toMember(m, "alive") };
      s.addr = m.addr;
      s.leaveTimeMs = 0;
    }
    this.#emit("member-join", s);
  }

  #nodeLeave(nowMs: number, m: Member): void {
    const s = this.#members.get(m.name);
    if (s === undefined) return;
    const st = s.member.status;
    // memberlist >= 0.3 tells a graceful leave by state; 0.2.2 peers rely on the intent (leaving).
    if (st === "leaving" || (st === "alive" && m.state === "left")) {
      s.member.status = "left";
      s.leaveTimeMs = nowMs;
      this.#emit("member-leave", s);
    } else if (st === "alive") {
      s.member.status = "failed";
      s.leaveTimeMs = nowMs;
      this.#emit("member-failed", s);
    }
  }

  #nodeUpdate(m: Member): void {
    const s = this.#members.get(m.name);
    if (s === undefined) return;
    s.member = { ...this.#toMember(m, s.member.status) };
    s.addr = m.addr;
    this.#emit("member-update", s);
  }

  #joinIntent(nowMs: number, j: JoinMsg): boolean {
    this.clock.witness(j.ltime);
    const s = this.#members.get(j.node);
    if (s === undefined) return this.#recordIntent(nowMs, j.node, "join", j.ltime);
    if (j.ltime <= s.statusLTime) return false;
    s.statusLTime = j.ltime;
    if (s.member.status === "leaving") s.member.status = "alive";
    return true;
  }

  #leaveIntent(nowMs: number, l: LeaveMsg): boolean {
    this.clock.witness(l.ltime);
    if (l.node === this.config.name && this.#state === "alive") {
      // Someone believes we left, but we did not: refute with a newer join intent.
      this.#log("info", "refuting an older leave intent");
      this.#broadcastJoin(nowMs);
      return false;
    }
    const s = this.#members.get(l.node);
    if (s === undefined) return this.#recordIntent(nowMs, l.node, "leave", l.ltime);
    if (l.ltime <= s.statusLTime) return false;
    switch (s.member.status) {
      case "alive":
        s.member.status = "leaving";
        s.statusLTime = l.ltime;
        if (l.prune) this.#prune(s);
        return true;
      case "failed":
        s.member.status = "left";
        s.statusLTime = l.ltime;
        this.#emit("member-leave", s);
        if (l.prune) this.#prune(s);
        return true;
      case "leaving":
      case "left":
        if (l.prune && s.member.status === "left") this.#prune(s);
        return false;
    }
  }

  #prune(s: MemberState): void {
    if (s.member.status !== "left") return;
    this.#members.delete(s.member.name);
    this.#emit("member-reap", s);
  }

  #reap(nowMs: number): void {
    for (const s of [...this.#members.values()]) {
      if (s.member.name === this.config.name) continue;
      const limit = s.member.status === "failed" ? this.config.reconnectTimeoutMs
        : s.member.status === "left" ? this.config.tombstoneTimeoutMs : -1;
      if (limit < 0 || nowMs - s.leaveTimeMs <= limit) continue;
      this.#members.delete(s.member.name);
      this.#log("info", `EventMemberReap: ${s.member.name}`);
      this.#emit("member-reap", s);
    }
  }

  #reconnect(): void {
    const failed = [...this.#members.values()].filter((s) => s.member.status === "failed");
    if (failed.length === 0) return;
    const alive = this.#members.size - failed.length - [...this.#members.values()].filter((s) => s.member.status === "left").length;
    const prob = alive <= 0 ? 1 : failed.length / alive;
    if (this.#rng() > prob) return;
    const pick = failed[Math.floor(this.#rng() * failed.length)]!;
    this.#effects.push({ kind: "reconnect", node: pick.member.name, to: { addr: pick.addr, port: pick.member.port } });
  }

  // ------------------------------------------------------------ events and queries

  #userEvent(nowMs: number, e: UserEventMsg): boolean {
    this.eventClock.witness(e.ltime);
    if (e.ltime < this.#eventMinTime) return false;
    const cur = this.eventClock.time();
    const slots = SERF_EVENT_BUFFER_SLOTS;
    if (cur > slots && e.ltime < cur - slots) return false;
    const idx = e.ltime % slots;
    let seen = this.#eventBuffer[idx] ?? null;
    const ev = { name: e.name, payload: e.payload };
    if (seen !== null && seen.ltime === e.ltime) {
      if (seen.events.some((p) => sameEvent(p, ev))) return false;
    } else {
      seen = { ltime: e.ltime, events: [] };
      this.#eventBuffer[idx] = seen;
    }
    seen.events.push(ev);
    const out: UserEvent = { name: e.name, payload: e.payload ?? new Uint8Array(0), ltime: e.ltime, coalesce: e.cc };
    if (e.cc && this.config.userCoalescePeriodMs > 0) {
      const held = this.#coalesce.get(e.name);
      if (held !== undefined) {
        if (held.event.ltime < e.ltime) held.event = out;
      } else if (this.#coalesce.size < SERF_MAX_COALESCED_EVENTS) {
        this.#coalesce.set(e.name, { event: out, flushAtMs: nowMs + this.config.userCoalescePeriodMs });
      } else {
        this.#effects.push({ kind: "user-event", event: out });
      }
    } else {
      this.#effects.push({ kind: "user-event", event: out });
    }
    return true;
  }

  #shouldProcess(filters: Uint8Array[] | null): boolean {
    if (filters === null) return true;
    for (const raw of filters) {
      let f: QueryFilter | null;
      try {
        f = decodeFilter(raw);
      } catch {
        return false;
      }
      if (f === null) return false;
      if (f.kind === "node") {
        if (!f.nodes.includes(this.config.name)) return false;
      } else {
        const v = this.config.tags[f.tag];
        if (v === undefined) return false;
        try {
          if (!new RegExp(f.expr).test(v)) return false;
        } catch {
          return false;
        }
      }
    }
    return true;
  }

  #query(nowMs: number, q: QueryMsg): boolean {
    this.queryClock.witness(q.ltime);
    const cur = this.queryClock.time();
    const slots = SERF_EVENT_BUFFER_SLOTS;
    if (cur > slots && q.ltime < cur - slots) return false;
    const idx = q.ltime % slots;
    let seen = this.#queryBuffer[idx] ?? null;
    if (seen !== null && seen.ltime === q.ltime) {
      if (seen.ids.includes(q.id)) return false;
    } else {
      seen = { ltime: q.ltime, ids: [] };
      this.#queryBuffer[idx] = seen;
    }
    seen.ids.push(q.id);
    const rebroadcast = (q.flags & QUERY_FLAG_NO_BROADCAST) === 0;
    if (!this.#shouldProcess(q.filters)) return rebroadcast;
    const to = { addr: q.addr, port: q.port };
    if ((q.flags & QUERY_FLAG_ACK) !== 0) {
      const ack: QueryResponseMsg = { type: "queryResponse", ltime: q.ltime, id: q.id, from: this.config.name, flags: QUERY_FLAG_ACK, payload: null };
      const rawAck = encodeSerfMessage(ack);
      this.#effects.push({ kind: "send", to, payload: rawAck });
      this.#relay(q.relayFactor, { addr: q.addr, port: q.port, name: q.sourceNode }, rawAck);
    }
    this.#effects.push({
      kind: "query",
      query: {
        id: q.id, ltime: q.ltime, name: q.name, payload: q.payload ?? new Uint8Array(0), sourceNode: q.sourceNode, addr: to,
        deadlineMs: nowMs + Math.floor(q.timeoutNs / 1_000_000), relayFactor: q.relayFactor,
      },
    });
    return rebroadcast;
  }

  #queryResponse(r: QueryResponseMsg): void {
    const p = this.#pending.get(r.id);
    if (p === undefined || p.ltime !== r.ltime) return;
    if ((r.flags & QUERY_FLAG_ACK) !== 0) {
      if (p.acks.has(r.from)) return;
      p.acks.add(r.from);
      this.#effects.push({ kind: "query-ack", id: r.id, from: r.from });
      return;
    }
    if (p.responses.has(r.from)) return;
    p.responses.add(r.from);
    this.#effects.push({ kind: "query-response", id: r.id, from: r.from, payload: r.payload ?? new Uint8Array(0) });
  }

  #log(level: "debug" | "info" | "warn", message: string): void {
    this.#effects.push({ kind: "log", level, message });
  }

  #drain(): SerfEffect[] {
    const out = this.#effects;
    this.#effects = [];
    return out;
  }
}
