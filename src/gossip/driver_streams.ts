/**
 * gossip/driver_streams: the gossip driver's TCP side (memberlist's stream handling):
 * dialing with the label header and one sealed message (and reading one reply under
 * tcpTimeoutMs), our push/pulls (join or periodic; serf's user state rides along), TCP
 * fallback pings, and inbound streams: push/pull (local state first, then merge, at most
 * GOSSIP_MAX_CONCURRENT_PUSH_PULLS at once), pings, user messages. A join push/pull is
 * refused as a whole when the pool's merge policy refuses any member of it.
 *
 * Must never: keep more than GOSSIP_MAX_INBOUND_STREAMS inbound streams, leave a socket
 * open after its exchange, wait without a deadline, or throw out of a socket callback.
 */

import { randomBytes } from "node:crypto";
import net from "node:net";
import type { Socket } from "node:net";
import { CairnError } from "../shared/errors.ts";
import { GOSSIP_MAX_CONCURRENT_PUSH_PULLS, GOSSIP_MAX_INBOUND_STREAMS } from "../shared/limits.ts";
import type { Address } from "./core_types.ts";
import { ipText, readStreamMessage, StreamParser } from "./driver_net.ts";
import type { StreamOpenOptions } from "./driver_net.ts";
import { sealKey } from "./driver_packets.ts";
import type { DriverState } from "./driver_state.ts";
import { mergeRejection } from "./merge.ts";
import { sealStream } from "./packet.ts";
import type { StreamMessage } from "./packet.ts";
import { labelHeader } from "./wire.ts";

function streamOpts(d: DriverState, inbound: boolean): StreamOpenOptions {
  return { keys: d.keyring.keys(), verifyIncoming: d.verifyIncoming, label: d.label, expectLabelHeader: inbound };
}

function seal(d: DriverState, m: StreamMessage): Uint8Array {
  const key = sealKey(d);
  return sealStream(m, { label: d.label, key, nonce: key ? randomBytes(12) : undefined, compress: d.config.enableCompression });
}

/** memberlist's MergeDelegate on a join push/pull (serf -> the pool's merge policy): the first refusal, or null. */
function mergeRejected(d: DriverState, nodes: readonly { readonly name: string; readonly meta: Uint8Array | null }[]): string | null {
  const policy = d.opts.mergePolicy;
  if (policy === undefined) return null;
  const seen = new Map<string, string>();
  for (const n of nodes) {
    if (n.name === d.opts.name) continue; // this node's own entry in the remote state
    const why = mergeRejection(policy, n.name, n.meta, seen);
    if (why !== null) return why;
  }
  return null;
}

/** Dials, sends the label header + one message, and (if wanted) reads one reply. */
async function exchange(d: DriverState, to: Address, m: StreamMessage, timeoutMs: number, wantReply: boolean): Promise<StreamMessage | null> {
  const sock = net.connect({ host: ipText(to.addr), port: to.port });
  d.streams.add(sock);
  const deadline = Date.now() + timeoutMs;
  try {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new CairnError("unavailable", "dial i/o timeout")), timeoutMs);
      sock.once("connect", () => (clearTimeout(t), resolve()));
      sock.once("error", (e) => (clearTimeout(t), reject(e)));
    });
    const head = labelHeader(d.label);
    const body = seal(d, m);
    const out = new Uint8Array(head.length + body.length);
    out.set(head);
    out.set(body, head.length);
    sock.write(out);
    if (!wantReply) {
      await new Promise<void>((r) => sock.end(() => r()));
      return null;
    }
    return await readStreamMessage(sock, streamOpts(d, false), deadline - Date.now());
  } finally {
    d.streams.delete(sock);
    sock.destroy();
  }
}

export async function pushPull(d: DriverState, to: Address, join: boolean): Promise<void> {
  const msg: StreamMessage = { type: "pushPull", join, nodes: d.core.localState(), userState: d.serf.localState() };
  const reply = await exchange(d, to, msg, d.config.tcpTimeoutMs, true);
  if (reply === null || d.closed) return;
  if (reply.type === "err") throw new CairnError("unavailable", `remote error: ${reply.error}`);
  if (reply.type !== "pushPull") throw new CairnError("bad-request", `unexpected reply ${reply.type} to push/pull`);
  const rejected = join ? mergeRejected(d, reply.nodes) : null;
  if (rejected !== null) throw new CairnError("bad-request", rejected);
  const now = performance.now();
  d.sink.apply(d.core.mergeRemoteState(now, reply.nodes));
  d.sink.applySerf(d.serf.mergeRemoteState(now, reply.userState, join));
}

export function tcpPing(d: DriverState, to: Address, ping: StreamMessage & { type: "ping" }, deadlineMs: number): void {
  const timeout = Math.max(1, Math.min(d.config.tcpTimeoutMs, deadlineMs - performance.now()));
  exchange(d, to, ping, timeout, true).then(
    (r) => {
      const ok = r !== null && r.type === "ack" && r.seqNo === ping.seqNo;
      if (!d.closed) d.sink.apply(d.core.tcpPingResult(performance.now(), ping.seqNo, ok));
    },
    () => {
      if (!d.closed) d.sink.apply(d.core.tcpPingResult(performance.now(), ping.seqNo, false));
    },
  );
}

export function onConnection(d: DriverState, sock: Socket): void {
  if (d.closed || d.streams.size >= GOSSIP_MAX_INBOUND_STREAMS) {
    sock.destroy();
    return;
  }
  d.streams.add(sock);
  const parser = new StreamParser(streamOpts(d, true));
  let handled = false;
  const finish = (): void => {
    d.streams.delete(sock);
    sock.destroy();
  };
  sock.setTimeout(d.config.tcpTimeoutMs, finish);
  sock.on("error", () => finish());
  sock.on("close", () => d.streams.delete(sock));
  sock.on("data", (chunk: Uint8Array) => {
    if (handled) return;
    let r;
    try {
      r = parser.push(chunk);
    } catch (e) {
      handled = true;
      const msg = e instanceof Error ? e.message : String(e);
      d.log("warn", `failed to receive stream from ${sock.remoteAddress}: ${msg}`);
      // memberlist answers a stream it cannot read with an err message (label errors just close).
      if (/label/.test(msg)) finish();
      else reply(d, sock, { type: "err", error: msg }, finish);
      return;
    }
    if (r === null) return;
    handled = true;
    handleStream(d, sock, r.msg, finish);
  });
}

function reply(d: DriverState, sock: Socket, m: StreamMessage, done: () => void): void {
  try {
    sock.end(seal(d, m), done);
  } catch (e) {
    d.log("warn", `stream reply failed: ${String(e)}`);
    done();
  }
}

function handleStream(d: DriverState, sock: Socket, m: StreamMessage, finish: () => void): void {
  switch (m.type) {
    case "pushPull": {
      if (d.inboundPushPulls >= GOSSIP_MAX_CONCURRENT_PUSH_PULLS) {
        reply(d, sock, { type: "err", error: "Too many pending push/pull requests" }, finish);
        return;
      }
      d.inboundPushPulls++;
      // memberlist answers with its local state first, then merges the remote one.
      const local: StreamMessage = { type: "pushPull", join: m.join, nodes: d.core.localState(), userState: d.serf.localState() };
      reply(d, sock, local, () => {
        d.inboundPushPulls--;
        finish();
      });
      const rejected = m.join ? mergeRejected(d, m.nodes) : null;
      if (rejected !== null) {
        d.log("warn", `Failed push/pull merge: ${rejected}`);
        return;
      }
      const now = performance.now();
      d.sink.apply(d.core.mergeRemoteState(now, m.nodes));
      d.sink.applySerf(d.serf.mergeRemoteState(now, m.userState, m.join));
      return;
    }
    case "ping": {
      const ack = d.core.answerStreamPing(m);
      if (ack === null) {
        d.log("warn", `got ping for unexpected node ${m.node}`);
        finish();
        return;
      }
      reply(d, sock, ack, finish);
      return;
    }
    case "user":
      d.sink.applySerf(d.serf.handleUserMessage(performance.now(), m.payload));
      finish();
      return;
    case "ack":
    case "err":
      d.log("debug", `unexpected ${m.type} stream message`);
      finish();
      return;
  }
}
