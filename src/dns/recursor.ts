/**
 * dns/recursor: forward a query for a name outside our domains to the configured
 * `recursors` over UDP (Consul's agent/dns/recursor.go): sequential or random order,
 * each with `recursor_timeout`; a SERVFAIL or a timeout moves on to the next; null when
 * every recursor failed (the caller answers SERVFAIL with RA set).
 *
 * Must never: wait past the per-recursor timeout, keep sockets open after an attempt,
 * or have more than DNS_RECURSOR_MAX_INFLIGHT forwards in flight.
 */

import dgram from "node:dgram";
import { DNS_RECURSOR_MAX_INFLIGHT } from "../shared/limits.ts";
import { RCODE_SERVFAIL, parseIp } from "./wire.ts";

export interface RecursorAddr {
  readonly host: string;
  readonly port: number;
  readonly family: 4 | 6;
}

/** "1.2.3.4", "1.2.3.4:5353", "::1", "[::1]:5353" -> address; null when not an IP. */
export function parseRecursor(s: string): RecursorAddr | null {
  let host = s.trim();
  let port = 53;
  const br = /^\[([^\]]+)\](?::(\d+))?$/.exec(host);
  if (br !== null) {
    host = br[1]!;
    if (br[2] !== undefined) port = Number(br[2]);
  } else if (host.split(":").length === 2) {
    const [h, p] = host.split(":");
    host = h!;
    port = Number(p);
  }
  const ip = parseIp(host);
  if (ip === null || !Number.isInteger(port) || port <= 0 || port > 65535) return null;
  return { host, port, family: ip.length === 4 ? 4 : 6 };
}

export interface ForwardOptions {
  readonly recursors: readonly RecursorAddr[];
  readonly strategy: "sequential" | "random";
  readonly timeoutMs: number;
  readonly rng: () => number;
}

let inflight = 0;

function attempt(query: Buffer, r: RecursorAddr, timeoutMs: number): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket(r.family === 4 ? "udp4" : "udp6");
    let done = false;
    const finish = (v: Buffer | null): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      try {
        sock.close();
      } catch {
        // already closed
      }
      resolve(v);
    };
    const timer = setTimeout(() => finish(null), timeoutMs);
    sock.on("error", () => finish(null));
    sock.on("message", (msg) => {
      if (msg.length < 12 || msg.readUInt16BE(0) !== query.readUInt16BE(0)) return;
      finish(msg);
    });
    sock.send(query, r.port, r.host, (err) => {
      if (err) finish(null);
    });
  });
}

/** Forward `query` (wire bytes); the first usable reply, or null when all recursors failed or too many are in flight. */
export async function forward(query: Buffer, o: ForwardOptions): Promise<Buffer | null> {
  if (o.recursors.length === 0 || inflight >= DNS_RECURSOR_MAX_INFLIGHT) return null;
  const order = [...o.recursors];
  if (o.strategy === "random") {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(o.rng() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
  }
  inflight++;
  try {
    for (const r of order) {
      const reply = await attempt(query, r, o.timeoutMs);
      if (reply !== null && (reply.readUInt16BE(2) & 0xf) !== RCODE_SERVFAIL) return reply;
    }
    return null;
  } finally {
    inflight--;
  }
}
