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
 * Layout: SerfCore (this file) is the public face: the memberlist delegate (member
 * events, user messages, push/pull state), local actions (join, leave, force-leave, user
 * events, queries and responses), the tick, views. Its state is a SerfState
 * (core_state.ts); core_members.ts (members, intents, reap, reconnect) and
 * core_events.ts (incoming user events and queries, relays, responses to our queries)
 * are functions over it. The shared shapes and defaults live in core_types.ts.
 *
 * Must never: touch sockets, timers, the clock or Math.random (time is an argument,
 * randomness comes through deps.rng), or throw on bad peer input (it is dropped).
 */

import {
  SERF_MAX_PENDING_QUERIES,
  SERF_MAX_USER_EVENT_BYTES,
  SERF_QUERY_RESPONSE_SIZE_LIMIT,
  SERF_QUERY_SIZE_LIMIT,
} from "../../shared/limits.ts";
import { CairnError } from "../../shared/errors.ts";
import type { Address, Member } from "../core_types.ts";
import type { LamportClock } from "./clock.ts";
import {
  decodePushPull,
  decodeSerfMessage,
  encodeFilter,
  encodePushPull,
  encodeSerfMessage,
  QUERY_FLAG_ACK,
  SERF_MSG,
} from "./messages.ts";
import { decodeRelayMessage } from "./relay.ts";
import type { LeaveMsg, QueryMsg, QueryResponseMsg, UserEventMsg } from "./messages.ts";
import { query, queryResponse, relay, userEvent } from "./core_events.ts";
import { broadcastJoin, joinIntent, leaveIntent, nodeJoin, nodeLeave, nodeUpdate, reap, reconnect } from "./core_members.ts";
import { SerfState } from "./core_state.ts";
import type { IncomingQuery, QueryParams, SerfConfig, SerfEffect, SerfMember } from "./core_types.ts";

export class SerfCore {
  readonly config: SerfConfig;
  readonly clock: LamportClock;
  readonly eventClock: LamportClock;
  readonly queryClock: LamportClock;
  readonly #s: SerfState;

  constructor(config: SerfConfig, deps: { rng: () => number }, nowMs: number) {
    const core = new SerfState(config, deps.rng, nowMs);
    this.#s = core;
    this.config = config;
    this.clock = core.clock;
    this.eventClock = core.eventClock;
    this.queryClock = core.queryClock;
    // serf.Create increments every clock once, so the first messages carry LTime 1.
    this.clock.increment();
    this.eventClock.increment();
    this.queryClock.increment();
  }

  // ------------------------------------------------------------ queries

  members(): SerfMember[] {
    return [...this.#s.members.values()].map((m) => ({ ...m.member, tags: { ...m.member.tags }, vsn: [...m.member.vsn] }));
  }

  member(name: string): SerfMember | undefined {
    const m = this.#s.members.get(name);
    return m ? { ...m.member, tags: { ...m.member.tags } } : undefined;
  }

  state(): "alive" | "leaving" | "left" {
    return this.#s.state;
  }

  /** Alive members other than us (leave waits for broadcasts only when there are some). */
  hasAliveMembers(): boolean {
    for (const m of this.#s.members.values()) if (m.member.name !== this.config.name && m.member.status === "alive") return true;
    return false;
  }

  /** Default query timeout for the current cluster size. */
  defaultQueryTimeoutMs(): number {
    const n = this.#s.members.size;
    return this.config.gossipIntervalMs * this.config.queryTimeoutMult * Math.ceil(Math.log10(n + 1));
  }

  // ------------------------------------------------------------ memberlist delegate

  /** memberlist NotifyJoin / NotifyLeave / NotifyUpdate. `m.state` tells a leave from a failure. */
  handleMemberlistEvent(nowMs: number, event: "join" | "leave" | "update", m: Member): SerfEffect[] {
    const core = this.#s;
    switch (event) {
      case "join": nodeJoin(core, nowMs, m); break;
      case "leave": nodeLeave(core, nowMs, m); break;
      case "update": nodeUpdate(core, m); break;
    }
    return core.drain();
  }

  /** memberlist NotifyMsg: a user message (UDP or TCP). */
  handleUserMessage(nowMs: number, buf: Uint8Array): SerfEffect[] {
    const core = this.#s;
    if (buf[0] === SERF_MSG.relay) {
      try {
        const { dest, inner } = decodeRelayMessage(buf);
        core.effects.push({ kind: "send", to: { addr: dest.addr, port: dest.port }, payload: inner });
      } catch (e) {
        core.log("warn", `dropping bad relay message: ${String(e)}`);
      }
      return core.drain();
    }
    let msg;
    try {
      msg = decodeSerfMessage(buf);
    } catch (e) {
      core.log("warn", `dropping bad serf message: ${String(e)}`);
      return core.drain();
    }
    if (msg === null) {
      core.log("debug", `ignoring serf message type ${buf[0] ?? -1}`);
      return core.drain();
    }
    let rebroadcast = false;
    switch (msg.type) {
      case "join": rebroadcast = joinIntent(core, nowMs, msg); break;
      case "leave": rebroadcast = leaveIntent(core, nowMs, msg); break;
      case "userEvent": rebroadcast = userEvent(core, nowMs, msg); break;
      case "query": rebroadcast = query(core, nowMs, msg); break;
      case "queryResponse": queryResponse(core, msg); break;
    }
    if (rebroadcast) core.effects.push({ kind: "broadcast", payload: buf.slice() });
    return core.drain();
  }

  /** memberlist LocalState: our serf push/pull. */
  localState(): Uint8Array {
    const core = this.#s;
    const statusLTimes = new Map<string, number>();
    const leftMembers: string[] = [];
    for (const m of core.members.values()) {
      statusLTimes.set(m.member.name, m.statusLTime);
      if (m.member.status === "left") leftMembers.push(m.member.name);
    }
    return encodePushPull({
      ltime: this.clock.time(), statusLTimes, leftMembers, eventLTime: this.eventClock.time(),
      events: core.eventBuffer, queryLTime: this.queryClock.time(),
    });
  }

  /** memberlist MergeRemoteState. */
  mergeRemoteState(nowMs: number, buf: Uint8Array, _join: boolean): SerfEffect[] {
    const core = this.#s;
    if (buf.length === 0) return core.drain();
    let pp;
    try {
      pp = decodePushPull(buf);
    } catch (e) {
      core.log("warn", `dropping bad serf push/pull: ${String(e)}`);
      return core.drain();
    }
    if (pp === null) return core.drain();
    // No message with the remote clock value was sent yet, hence the − 1.
    if (pp.ltime > 0) this.clock.witness(pp.ltime - 1);
    if (pp.eventLTime > 0) this.eventClock.witness(pp.eventLTime - 1);
    if (pp.queryLTime > 0) this.queryClock.witness(pp.queryLTime - 1);
    const left = new Set(pp.leftMembers);
    for (const name of pp.leftMembers) {
      leaveIntent(core, nowMs, { type: "leave", ltime: pp.statusLTimes.get(name) ?? 0, node: name, prune: false });
    }
    for (const [name, lt] of pp.statusLTimes) {
      if (!left.has(name)) joinIntent(core, nowMs, { type: "join", ltime: lt, node: name });
    }
    for (const e of pp.events) {
      if (e === null) continue;
      for (const ev of e.events) userEvent(core, nowMs, { type: "userEvent", ltime: e.ltime, name: ev.name, payload: ev.payload, cc: false });
    }
    return core.drain();
  }

  // ------------------------------------------------------------ local actions

  /** After a successful memberlist join: announce our join intent. */
  broadcastJoin(nowMs: number): SerfEffect[] {
    broadcastJoin(this.#s, nowMs);
    return this.#s.drain();
  }

  /** First step of a graceful leave: our leave intent (the driver then waits and leaves memberlist). */
  leave(nowMs: number): SerfEffect[] {
    const core = this.#s;
    if (core.state !== "alive") return core.drain();
    core.state = "leaving";
    const msg: LeaveMsg = { type: "leave", ltime: this.clock.time(), node: this.config.name, prune: false };
    this.clock.increment();
    leaveIntent(core, nowMs, msg);
    core.effects.push({ kind: "broadcast", payload: encodeSerfMessage(msg) });
    return core.drain();
  }

  /** The leave finished (memberlist left and the propagation delay passed). */
  markLeft(): void {
    this.#s.state = "left";
  }

  /** serf RemoveFailedNode: a leave intent on behalf of a failed node (force-leave). */
  forceLeave(nowMs: number, node: string, prune = false): SerfEffect[] {
    const core = this.#s;
    const msg: LeaveMsg = { type: "leave", ltime: this.clock.time(), node, prune };
    this.clock.increment();
    leaveIntent(core, nowMs, msg);
    core.effects.push({ kind: "broadcast", payload: encodeSerfMessage(msg) });
    return core.drain();
  }

  /** Fire a user event (delivered locally too, as serf does). Throws when it is too large. */
  userEvent(nowMs: number, name: string, payload: Uint8Array, coalesce: boolean): SerfEffect[] {
    const core = this.#s;
    if (name.length + payload.length > this.config.userEventSizeLimit) {
      throw new CairnError("too-large", `user event exceeds configured limit of ${this.config.userEventSizeLimit} bytes before encoding`);
    }
    const msg: UserEventMsg = { type: "userEvent", ltime: this.eventClock.time(), name, payload, cc: coalesce };
    const raw = encodeSerfMessage(msg);
    if (raw.length > SERF_MAX_USER_EVENT_BYTES) throw new CairnError("too-large", "user event exceeds sane limit after encoding");
    this.eventClock.increment();
    userEvent(core, nowMs, msg);
    core.effects.push({ kind: "broadcast", payload: raw });
    return core.drain();
  }

  /** Start a query; responses come back as query-ack/query-response effects, then query-done. */
  query(nowMs: number, self: Address, name: string, payload: Uint8Array, params: QueryParams = {}): { id: number; effects: SerfEffect[] } {
    const core = this.#s;
    if (core.pending.size >= SERF_MAX_PENDING_QUERIES) throw new CairnError("rate-limited", "too many outstanding queries");
    const timeoutMs = params.timeoutMs ?? this.defaultQueryTimeoutMs();
    const q: QueryMsg = {
      type: "query", ltime: this.queryClock.time(), id: Math.floor(core.rng() * 0x7fffffff) >>> 0,
      addr: self.addr, port: self.port, sourceNode: this.config.name,
      filters: params.filters && params.filters.length > 0 ? params.filters.map(encodeFilter) : null,
      flags: params.requestAck ? QUERY_FLAG_ACK : 0, relayFactor: params.relayFactor ?? 0, timeoutNs: timeoutMs * 1_000_000, name, payload,
    };
    const raw = encodeSerfMessage(q);
    if (raw.length > SERF_QUERY_SIZE_LIMIT) throw new CairnError("too-large", `query exceeds limit of ${SERF_QUERY_SIZE_LIMIT} bytes`);
    core.pending.set(q.id, { ltime: q.ltime, deadlineMs: nowMs + timeoutMs, acks: new Set(), responses: new Set() });
    this.queryClock.increment();
    query(core, nowMs, q);
    core.effects.push({ kind: "broadcast", payload: raw });
    return { id: q.id, effects: core.drain() };
  }

  /** Answer an incoming query (sent straight back to the asker). */
  respond(nowMs: number, q: IncomingQuery, payload: Uint8Array): SerfEffect[] {
    const core = this.#s;
    if (nowMs > q.deadlineMs) throw new CairnError("bad-request", "response is past the deadline");
    const msg: QueryResponseMsg = { type: "queryResponse", ltime: q.ltime, id: q.id, from: this.config.name, flags: 0, payload };
    const raw = encodeSerfMessage(msg);
    if (raw.length > SERF_QUERY_RESPONSE_SIZE_LIMIT) throw new CairnError("too-large", "response exceeds limit");
    core.effects.push({ kind: "send", to: q.addr, payload: raw });
    relay(core, q.relayFactor, { addr: q.addr.addr, port: q.addr.port, name: q.sourceNode }, raw);
    return core.drain();
  }

  /** Reaper, reconnector, coalescer flush and query deadlines. */
  tick(nowMs: number): SerfEffect[] {
    const core = this.#s;
    for (const [name, c] of core.coalesce) {
      if (nowMs < c.flushAtMs) continue;
      core.coalesce.delete(name);
      core.effects.push({ kind: "user-event", event: c.event });
    }
    for (const [id, p] of core.pending) {
      if (nowMs < p.deadlineMs) continue;
      core.pending.delete(id);
      core.effects.push({ kind: "query-done", id });
    }
    if (nowMs >= core.nextReapMs) {
      core.nextReapMs = nowMs + this.config.reapIntervalMs;
      reap(core, nowMs);
    }
    if (nowMs >= core.nextReconnectMs) {
      core.nextReconnectMs = nowMs + this.config.reconnectIntervalMs;
      reconnect(core);
    }
    return core.drain();
  }
}
