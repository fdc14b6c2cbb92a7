/**
 * dns/responder: answers raw DNS query packets without a socket — a server uses it for the
 * queries client agents forward to it (Client.DNS), with the same resolver, cache and
 * recursors as its own DNS listeners.
 *
 * Must never: return a TCP length prefix (the caller frames the reply for its transport).
 */

import { DnsHandler, type DnsServerOptions } from "./server.ts";

export type DnsResponder = (msg: Buffer, tcp: boolean) => Promise<Buffer | null>;

export function dnsResponder(o: Omit<DnsServerOptions, "host" | "port" | "forward">): DnsResponder {
  const h = new DnsHandler({ ...o, host: "", port: 0 });
  return async (msg, tcp) => {
    const r = await h.handle(msg, tcp);
    if (r === null) return null;
    return tcp ? r.subarray(2) : r;
  };
}
