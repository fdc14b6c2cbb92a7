/**
 * dns/types: the shapes shared by the DNS modules — what resolve() is asked and gives
 * back, the resolver's context, and the built (unencoded) answer.
 *
 * Must never: contain logic or import runtime modules.
 */

import type { CatalogReader } from "../state/catalog_types.ts";
import type { DnsConfig } from "../agent/config/types.ts";
import type { Rr } from "./records.ts";

export interface DnsServerInfo {
  readonly node: string;
  readonly address: string;
}

/** What the resolver knows about the agent answering. */
export interface DnsAgentInfo {
  readonly nodeName: string;
  readonly datacenter: string;
  /** FQDN, e.g. "consul." (lower-cased by the resolver). */
  readonly domain: string;
  /** FQDN or "". */
  readonly altDomain: string;
  /** Consul servers named in NS/SOA answers (at most 3 are used). */
  readonly servers: readonly DnsServerInfo[];
  /** Datacenters a name may ask for; the agent's own is always known. Others give NXDOMAIN. */
  readonly datacenters?: readonly string[];
}

/** Lower-case name lookups; the cache supplies a memoized one, the default scans. */
export interface CatalogNames {
  services(lower: string): readonly string[];
  node(lower: string): string | undefined;
}

export interface ResolveContext {
  readonly catalog: CatalogReader;
  readonly agent: DnsAgentInfo;
  readonly config: DnsConfig;
  readonly recursors: readonly string[];
  /** Uniform in [0, 1). */
  readonly rng: () => number;
  /** Unix time in ms (SOA serial). */
  readonly nowMs: () => number;
  readonly names?: CatalogNames;
}

export interface Question {
  /** Any case; with or without the trailing dot. */
  readonly name: string;
  readonly type: number;
  readonly class?: number;
  readonly transport: "udp" | "tcp";
  /** EDNS0 UDP payload size, or null without EDNS. */
  readonly udpSize?: number | null;
  /** Length of the client-subnet option echoed in OPT (0 when none). */
  readonly ecsLen?: number;
}

/** A catalog read a built answer depends on; the cache drops the answer when it changes. */
export type Dep =
  | { readonly kind: "service"; readonly name: string }
  | { readonly kind: "node"; readonly name: string }
  | { readonly kind: "table"; readonly table: "nodes" | "services" };

/** One answer record and the additional records that go with it (extras shared by `group` are sent once). */
export interface Entry {
  readonly rr: Rr;
  readonly extra: readonly Rr[];
  readonly group: string | null;
}

export interface Built {
  readonly kind: "records";
  readonly rcode: number;
  readonly aa: boolean;
  readonly ra: boolean;
  readonly entries: readonly Entry[];
  /** Service results: shuffled per query. */
  readonly shuffle: boolean;
  /** a_record_limit applies (service A/AAAA/ANY answers). */
  readonly aLimit: boolean;
  readonly srv: boolean;
  readonly authority: readonly Rr[];
  readonly additional: readonly Rr[];
  readonly deps: readonly Dep[];
}

export type BuildResult = Built | { readonly kind: "recurse" };

export type Answer =
  | {
    readonly kind: "response";
    readonly rcode: number;
    readonly aa: boolean;
    readonly ra: boolean;
    readonly tc: boolean;
    readonly answer: readonly Rr[];
    readonly authority: readonly Rr[];
    readonly additional: readonly Rr[];
  }
  | { readonly kind: "recurse" };

