/**
 * gossip/driver_effects: how the gossip driver carries out what its two pure cores hand
 * out: SWIM effects (packets, push/pulls, TCP pings, member events into serf, state
 * listeners, user messages into serf, probe RTTs into the Vivaldi client, conflicts and
 * logs) and serf effects (broadcasts, direct sends, member and user event listeners,
 * incoming queries with their respond callback, our queries' acks, responses and end,
 * reconnects), plus serf's internal queries (`_serf_*-key` on this node's keyring).
 *
 * Must never: let a listener's exception escape (safe() logs it), answer a key query
 * that changed the keyring before the keyring file is written, or respond after close.
 */

import { SERF_QUERY_RESPONSE_SIZE_LIMIT } from "../shared/limits.ts";
import { decodeCoordinatePayload } from "./coordinate_payload.ts";
import type { Effect } from "./core_types.ts";
import { ipText } from "./driver_net.ts";
import { sendPacket } from "./driver_packets.ts";
import { toBytes } from "./driver_state.ts";
import type { DriverState } from "./driver_state.ts";
import { pushPull, tcpPing } from "./driver_streams.ts";
import type { IncomingQuery, SerfEffect } from "./serf/core_types.ts";
import { answerKeyQuery, encodeKeyResponse, INTERNAL_QUERY_PREFIX, keyOpOf } from "./serf/keys.ts";
import { encodeMessage } from "./wire.ts";

/** Bytes of a queryResponse around its payload (type, map keys, LTime, ID, Flags), name excluded. */
const KEY_RESPONSE_ENVELOPE_BYTES = 64;

export function apply(d: DriverState, effects: Effect[]): void {
  for (const e of effects) {
    switch (e.kind) {
      case "packet": sendPacket(d, e.to, e.parts, e.crc); break;
      case "push-pull":
        pushPull(d, e.to, e.join).catch((err: unknown) => d.log("warn", `push/pull with ${ipText(e.to.addr)}:${e.to.port} failed: ${String(err)}`));
        break;
      case "tcp-ping": tcpPing(d, e.to, e.ping, e.deadlineMs); break;
      case "member":
        applySerf(d, d.serf.handleMemberlistEvent(performance.now(), e.event, e.member));
        break;
      case "state":
        for (const cb of d.stateCbs) d.safe(() => cb({ node: e.node, from: e.from, to: e.to }));
        break;
      case "user": applySerf(d, d.serf.handleUserMessage(performance.now(), e.payload)); break;
      case "ping-complete": onPingComplete(d, e.node, e.rttMs, e.payload); break;
      case "conflict":
        d.log("warn", `conflicting address for ${e.existing.name}: ${ipText(e.existing.addr)}:${e.existing.port} vs ${ipText(e.other.addr)}:${e.other.port}`);
        break;
      case "log": d.log(e.level, e.message); break;
    }
  }
}

export function applySerf(d: DriverState, effects: SerfEffect[]): void {
  for (const e of effects) {
    switch (e.kind) {
      case "broadcast": d.core.queueUserBroadcast(e.payload); break;
      case "send": sendPacket(d, e.to, [encodeMessage({ type: "user", payload: e.payload })], false); break;
      case "member-event": for (const cb of d.memberCbs) d.safe(() => cb(e.event)); break;
      case "user-event": for (const cb of d.userCbs) d.safe(() => cb(e.event)); break;
      case "query": {
        const q = e.query;
        const respond = (p: Uint8Array | string): void => applySerf(d, d.serf.respond(performance.now(), q, toBytes(p)));
        if (q.name.startsWith(INTERNAL_QUERY_PREFIX)) {
          d.safe(() => internalQuery(d, q, respond));
          break;
        }
        for (const cb of d.queryCbs) d.safe(() => cb(q, respond));
        break;
      }
      case "query-ack": d.queries.get(e.id)?.result.acks.push(e.from); break;
      case "query-response": {
        const q = d.queries.get(e.id);
        if (q === undefined) break;
        q.result.responses.push({ from: e.from, payload: e.payload });
        if (q.expect > 0 && q.result.responses.length >= q.expect) {
          d.queries.delete(e.id);
          q.resolve(q.result);
        }
        break;
      }
      case "query-done": {
        const q = d.queries.get(e.id);
        d.queries.delete(e.id);
        q?.resolve(q.result);
        break;
      }
      case "reconnect":
        pushPull(d, e.to, true).then(
          () => d.log("info", `reconnected to ${e.node}`),
          (err: unknown) => d.log("debug", `reconnect to ${e.node} failed: ${String(err)}`),
        );
        break;
      case "log": d.log(e.level, e.message); break;
    }
  }
}

/** serf's internal queries: key operations are answered on this node's keyring; ping only acks. */
function internalQuery(d: DriverState, q: IncomingQuery, respond: (p: Uint8Array) => void): void {
  const op = keyOpOf(q.name);
  if (op === null) {
    if (q.name !== INTERNAL_QUERY_PREFIX + "ping") d.log("warn", `Unhandled internal query '${q.name.slice(INTERNAL_QUERY_PREFIX.length)}'`);
    return;
  }
  d.log("info", `Received ${q.name.slice(INTERNAL_QUERY_PREFIX.length)} query`);
  const keyring = d.config.encryptionEnabled ? d.keyring : null;
  // Room for the key response inside a queryResponse under the response size limit.
  const r = answerKeyQuery(op, q.payload, keyring, SERF_QUERY_RESPONSE_SIZE_LIMIT - KEY_RESPONSE_ENVELOPE_BYTES - d.serf.config.name.length);
  if (!r.result) d.log("warn", `${q.name}: ${r.message || "failed to decode key request"}`);
  if (!r.result || op === "list" || d.keyringFile === null) {
    respond(encodeKeyResponse(r));
    return;
  }
  // serf handleModifyKeyring: the changed keyring is written before the node answers; a
  // failed write is answered as a failure with its message.
  d.persistKeyring().then(
    () => undefined,
    (e: unknown) => {
      r.result = false;
      r.message = e instanceof Error ? e.message : String(e);
      d.log("warn", r.message);
    },
  ).then(() => {
    if (!d.closed) respond(encodeKeyResponse(r));
  }, () => undefined);
}

/** serf's ping delegate NotifyPingComplete: update our coordinate from the peer's and the RTT. */
function onPingComplete(d: DriverState, node: string, rttMs: number, payload: Uint8Array | null): void {
  const other = decodeCoordinatePayload(payload);
  if (other === undefined) return;
  try {
    d.vivaldi.update(node, other, Math.max(0, rttMs) / 1000);
    d.coordCache.set(node, other);
    d.refreshAck();
  } catch (err) {
    d.log("debug", `rejected coordinate from ${node}: ${err instanceof Error ? err.message : String(err)}`);
  }
}
