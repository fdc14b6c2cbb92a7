/**
 * dns: the public face of cairn's DNS interface. Start listeners with
 * `startDnsServer` (one host) or `startDnsFromConfig` (every `addresses.dns` address of a
 * RuntimeConfig); answer questions without sockets with `resolve`.
 *
 * Must never: be imported by src/state (DNS reads the catalog, never the reverse).
 */

import type { RuntimeConfig } from "../agent/config/types.ts";
import type { CatalogReader } from "../state/catalog_types.ts";
import { startDnsServer, type DnsLog, type DnsServer, type DnsServerOptions } from "./server.ts";
import type { DnsAgentInfo, DnsServerInfo } from "./types.ts";
import { dnsResponder, type DnsResponder } from "./responder.ts";

/** Extra options of the config helpers: log, the servers DNS names, and (client agents) a forwarder. */
export interface DnsExtra {
  readonly log?: DnsLog;
  readonly servers?: readonly DnsServerInfo[];
  /** Client agents: answer every query through a server (DnsServerOptions.forward). */
  readonly forward?: ((msg: Buffer, tcp: boolean) => Promise<Buffer | null>) | undefined;
  /** Servers with a WAN pool: questions for another datacenter go to a server of it (DnsServerOptions.forwardRemote). */
  readonly forwardRemote?: DnsServerOptions["forwardRemote"];
}

export { resolve, build, serviceTtl, metaTxt } from "./resolve.ts";
export { DnsCache, RECURSE } from "./cache.ts";
export type { Cached, DnsCacheOptions, DnsCacheStats } from "./cache.ts";
export { startDnsServer } from "./server.ts";
export { dnsResponder, type DnsResponder } from "./responder.ts";
export type { DnsLog, DnsLogLevel, DnsServer, DnsServerOptions, DnsServerStats } from "./server.ts";
export { UdpQueue } from "./udp_queue.ts";
export type { Rr } from "./records.ts";
export type {
  Answer, BuildResult, Built, CatalogNames, Dep, DnsAgentInfo, DnsServerInfo, Entry, Question, ResolveContext,
} from "./types.ts";

/** Agent facts for DNS from a RuntimeConfig; `servers` defaults to this agent when it is a server. */
export function dnsAgentInfo(rc: RuntimeConfig, servers?: readonly DnsServerInfo[]): DnsAgentInfo {
  const self = rc.advertiseAddr !== "" ? rc.advertiseAddr : rc.bindAddr;
  return {
    nodeName: rc.nodeName,
    datacenter: rc.datacenter,
    domain: rc.domain,
    altDomain: rc.altDomain,
    servers: servers ?? (rc.server ? [{ node: rc.nodeName, address: self }] : []),
  };
}

/** One DnsServerOptions per `addresses.dns` address (unix sockets skipped); [] when ports.dns is -1. */
export function dnsServerOptions(
  rc: RuntimeConfig, catalog: CatalogReader, extra: DnsExtra = {},
): DnsServerOptions[] {
  if (rc.ports.dns < 0) return [];
  const agent = dnsAgentInfo(rc, extra.servers);
  const hosts = rc.addresses.dns.length > 0 ? rc.addresses.dns : rc.clientAddrs;
  return hosts
    .filter((h) => !h.startsWith("unix://"))
    .map((host) => ({
      catalog, agent, config: rc.dns, recursors: rc.recursors, host, port: rc.ports.dns,
      ...(extra.log !== undefined ? { log: extra.log } : {}),
      ...(extra.forward !== undefined ? { forward: extra.forward } : {}),
      ...(extra.forwardRemote !== undefined ? { forwardRemote: extra.forwardRemote } : {}),
    }));
}

/** A server's answerer for the DNS queries client agents forward (even with its own DNS port off). */
export function dnsResponderFromConfig(rc: RuntimeConfig, catalog: CatalogReader, extra: DnsExtra = {}): DnsResponder {
  return dnsResponder({
    catalog, agent: dnsAgentInfo(rc, extra.servers), config: rc.dns, recursors: rc.recursors,
    ...(extra.log !== undefined ? { log: extra.log } : {}),
    ...(extra.forwardRemote !== undefined ? { forwardRemote: extra.forwardRemote } : {}),
  });
}

/** Start DNS on every configured address; closes what started if one fails. */
export async function startDnsFromConfig(
  rc: RuntimeConfig, catalog: CatalogReader, extra: DnsExtra = {},
): Promise<DnsServer[]> {
  const started: DnsServer[] = [];
  try {
    for (const o of dnsServerOptions(rc, catalog, extra)) started.push(await startDnsServer(o));
  } catch (e) {
    await Promise.all(started.map((s) => s.close()));
    throw e;
  }
  return started;
}
