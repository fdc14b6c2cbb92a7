/**
 * gossip/serf/core_events: serf's user events and queries as they arrive (serf.go
 * handleUserEvent, handleQuery, handleQueryResponse, relayResponse): de-duplication in
 * 512-slot rings keyed by Lamport time, the coalescing window, query filters (node names,
 * tag regexps), acks and relayed copies of responses, and matching acks and responses to
 * our pending queries.
 *
 * Must never: deliver an event or query twice, deliver one older than the ring holds,
 * count a responder twice, relay a response larger than SERF_QUERY_RESPONSE_SIZE_LIMIT,
 * or throw on bad peer input (a filter it cannot read means "not for us").
 */

import { SERF_EVENT_BUFFER_SLOTS, SERF_MAX_COALESCED_EVENTS, SERF_QUERY_RESPONSE_SIZE_LIMIT } from "../../shared/limits.ts";
import { decodeFilter, encodeSerfMessage, QUERY_FLAG_ACK, QUERY_FLAG_NO_BROADCAST } from "./messages.ts";
import type { QueryFilter, QueryMsg, QueryResponseMsg, UserEventMsg } from "./messages.ts";
import { encodeRelayMessage } from "./relay.ts";
import type { RelayTarget } from "./relay.ts";
import type { SerfState } from "./core_state.ts";
import type { UserEvent } from "./core_types.ts";

function sameEvent(a: { name: string; payload: Uint8Array | null }, b: { name: string; payload: Uint8Array | null }): boolean {
  if (a.name !== b.name) return false;
  const x = a.payload ?? new Uint8Array(0);
  const y = b.payload ?? new Uint8Array(0);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

export function userEvent(core: SerfState, nowMs: number, e: UserEventMsg): boolean {
  core.eventClock.witness(e.ltime);
  if (e.ltime < core.eventMinTime) return false;
  const cur = core.eventClock.time();
  const slots = SERF_EVENT_BUFFER_SLOTS;
  if (cur > slots && e.ltime < cur - slots) return false;
  const idx = e.ltime % slots;
  let seen = core.eventBuffer[idx] ?? null;
  const ev = { name: e.name, payload: e.payload };
  if (seen !== null && seen.ltime === e.ltime) {
    if (seen.events.some((p) => sameEvent(p, ev))) return false;
  } else {
    seen = { ltime: e.ltime, events: [] };
    core.eventBuffer[idx] = seen;
  }
  seen.events.push(ev);
  const out: UserEvent = { name: e.name, payload: e.payload ?? new Uint8Array(0), ltime: e.ltime, coalesce: e.cc };
  if (e.cc && core.config.userCoalescePeriodMs > 0) {
    const held = core.coalesce.get(e.name);
    if (held !== undefined) {
      if (held.event.ltime < e.ltime) held.event = out;
    } else if (core.coalesce.size < SERF_MAX_COALESCED_EVENTS) {
      core.coalesce.set(e.name, { event: out, flushAtMs: nowMs + core.config.userCoalescePeriodMs });
    } else {
      core.effects.push({ kind: "user-event", event: out });
    }
  } else {
    core.effects.push({ kind: "user-event", event: out });
  }
  return true;
}

/** serf relayResponse: a copy through up to `factor` random other alive members (protocol max >= 5). */
export function relay(core: SerfState, factor: number, dest: RelayTarget, raw: Uint8Array): void {
  if (factor <= 0 || core.members.size < factor + 1) return;
  const msg = encodeRelayMessage(dest, raw);
  if (msg.length > SERF_QUERY_RESPONSE_SIZE_LIMIT) {
    core.log("warn", `relayed response exceeds limit of ${SERF_QUERY_RESPONSE_SIZE_LIMIT} bytes`);
    return;
  }
  const pool = [...core.members.values()].filter((m) =>
    m.member.status === "alive" && (m.member.vsn[1] ?? 0) >= 5 && m.member.name !== core.config.name);
  for (let i = 0; i < factor && pool.length > 0; i++) {
    const [m] = pool.splice(Math.floor(core.rng() * pool.length), 1);
    if (m) core.effects.push({ kind: "send", to: { addr: m.addr, port: m.member.port }, payload: msg });
  }
}

function shouldProcess(core: SerfState, filters: Uint8Array[] | null): boolean {
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
      if (!f.nodes.includes(core.config.name)) return false;
    } else {
      const v = core.config.tags[f.tag];
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

export function query(core: SerfState, nowMs: number, q: QueryMsg): boolean {
  core.queryClock.witness(q.ltime);
  const cur = core.queryClock.time();
  const slots = SERF_EVENT_BUFFER_SLOTS;
  if (cur > slots && q.ltime < cur - slots) return false;
  const idx = q.ltime % slots;
  let seen = core.queryBuffer[idx] ?? null;
  if (seen !== null && seen.ltime === q.ltime) {
    if (seen.ids.includes(q.id)) return false;
  } else {
    seen = { ltime: q.ltime, ids: [] };
    core.queryBuffer[idx] = seen;
  }
  seen.ids.push(q.id);
  const rebroadcast = (q.flags & QUERY_FLAG_NO_BROADCAST) === 0;
  if (!shouldProcess(core, q.filters)) return rebroadcast;
  const to = { addr: q.addr, port: q.port };
  if ((q.flags & QUERY_FLAG_ACK) !== 0) {
    const ack: QueryResponseMsg = { type: "queryResponse", ltime: q.ltime, id: q.id, from: core.config.name, flags: QUERY_FLAG_ACK, payload: null };
    const rawAck = encodeSerfMessage(ack);
    core.effects.push({ kind: "send", to, payload: rawAck });
    relay(core, q.relayFactor, { addr: q.addr, port: q.port, name: q.sourceNode }, rawAck);
  }
  core.effects.push({
    kind: "query",
    query: {
      id: q.id, ltime: q.ltime, name: q.name, payload: q.payload ?? new Uint8Array(0), sourceNode: q.sourceNode, addr: to,
      deadlineMs: nowMs + Math.floor(q.timeoutNs / 1_000_000), relayFactor: q.relayFactor,
    },
  });
  return rebroadcast;
}

export function queryResponse(core: SerfState, r: QueryResponseMsg): void {
  const p = core.pending.get(r.id);
  if (p === undefined || p.ltime !== r.ltime) return;
  if ((r.flags & QUERY_FLAG_ACK) !== 0) {
    if (p.acks.has(r.from)) return;
    p.acks.add(r.from);
    core.effects.push({ kind: "query-ack", id: r.id, from: r.from });
    return;
  }
  if (p.responses.has(r.from)) return;
  p.responses.add(r.from);
  core.effects.push({ kind: "query-response", id: r.id, from: r.from, payload: r.payload ?? new Uint8Array(0) });
}
