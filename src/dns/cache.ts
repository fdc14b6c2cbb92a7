/**
 * dns/cache: prepared answers per (question name, type, class), built from the catalog
 * once and served from memory until a catalog watch says what they read has changed
 * (the service, the node, or the nodes/services table for misses and PTR). Shuffling
 * and truncation happen per query on the cached chunks (prepared.ts), so the cache key
 * needs neither the transport nor the EDNS size. Bounded by entries and bytes (CLOCK
 * eviction); evicted entries drop their watches.
 *
 * Must never: serve an answer after a watch it depends on fired, hold more than
 * DNS_CACHE_ENTRIES / DNS_CACHE_BYTES, or do network I/O.
 */

import type { CatalogReader } from "../state/catalog_types.ts";
import type { DnsConfig } from "../agent/config/types.ts";
import { DNS_CACHE_BYTES, DNS_CACHE_ENTRIES } from "../shared/limits.ts";
import { prepare, type Prepared } from "./prepared.ts";
import { build } from "./resolve.ts";
import { cacheKey, keyQuestion } from "./wire.ts";
import type { CatalogNames, Dep, DnsAgentInfo, ResolveContext } from "./types.ts";

export const RECURSE = "recurse" as const;
export type Cached = Prepared | typeof RECURSE;

interface CacheEntry {
  readonly key: string;
  readonly value: Cached;
  readonly bytes: number;
  unsubs: Array<() => void>;
  hot: boolean;
  dead: boolean;
}

export interface DnsCacheOptions {
  readonly catalog: CatalogReader;
  readonly agent: DnsAgentInfo;
  readonly config: DnsConfig;
  readonly recursors: readonly string[];
  /** Unix ms, for SOA serials of freshly built answers (the server restamps them per query). */
  readonly nowMs?: () => number;
  readonly maxEntries?: number;
  readonly maxBytes?: number;
}

export interface DnsCacheStats {
  hits: number;
  misses: number;
  invalidations: number;
  evictions: number;
}

/** Lower-case service and node names, rebuilt lazily after the table changes. */
class NameIndex implements CatalogNames {
  private readonly catalog: CatalogReader;
  private svc: Map<string, string[]> | null = null;
  private nodes: Map<string, string> | null = null;
  private svcUnsub: (() => void) | null = null;
  private nodeUnsub: (() => void) | null = null;
  constructor(catalog: CatalogReader) {
    this.catalog = catalog;
  }
  services(lower: string): readonly string[] {
    if (this.svc === null) {
      const m = new Map<string, string[]>();
      for (const name of this.catalog.catalogServices().value.keys()) {
        const l = name.toLowerCase();
        const list = m.get(l);
        if (list === undefined) m.set(l, [name]);
        else list.push(name);
      }
      this.svc = m;
      this.svcUnsub = this.catalog.watchTable("services", () => {
        this.svc = null;
        this.svcUnsub = null;
      });
    }
    return this.svc.get(lower) ?? [];
  }
  node(lower: string): string | undefined {
    if (this.nodes === null) {
      const m = new Map<string, string>();
      for (const n of this.catalog.catalogNodes().value) {
        const l = n.node.toLowerCase();
        if (!m.has(l)) m.set(l, n.node);
      }
      this.nodes = m;
      this.nodeUnsub = this.catalog.watchTable("nodes", () => {
        this.nodes = null;
        this.nodeUnsub = null;
      });
    }
    return this.nodes.get(lower);
  }
  close(): void {
    this.svcUnsub?.();
    this.nodeUnsub?.();
    this.svcUnsub = null;
    this.nodeUnsub = null;
    this.svc = null;
    this.nodes = null;
  }
}

export class DnsCache {
  private readonly map = new Map<string, CacheEntry>();
  private readonly ctx: ResolveContext;
  private readonly names: NameIndex;
  private readonly maxEntries: number;
  private readonly maxBytes: number;
  private readonly compress: boolean;
  private bytes = 0;
  readonly stats: DnsCacheStats = { hits: 0, misses: 0, invalidations: 0, evictions: 0 };

  constructor(o: DnsCacheOptions) {
    this.names = new NameIndex(o.catalog);
    this.ctx = {
      catalog: o.catalog, agent: o.agent, config: o.config, recursors: o.recursors,
      rng: () => 0, nowMs: o.nowMs ?? (() => Date.now()), names: this.names,
    };
    this.maxEntries = o.maxEntries ?? DNS_CACHE_ENTRIES;
    this.maxBytes = o.maxBytes ?? DNS_CACHE_BYTES;
    this.compress = !o.config.disableCompression;
  }

  get size(): number {
    return this.map.size;
  }

  get byteSize(): number {
    return this.bytes;
  }

  /** The prepared answer for a lower-cased question name (trailing dot) and type/class. */
  get(qname: string, qtype: number, qclass: number): Cached {
    return this.getKey(cacheKey(qname, qtype, qclass));
  }

  /** The prepared answer for a cache key (wire.ts cacheKey; a parsed query carries its own). */
  getKey(key: string): Cached {
    const hit = this.map.get(key);
    if (hit !== undefined) {
      this.stats.hits++;
      hit.hot = true;
      return hit.value;
    }
    this.stats.misses++;
    const { qname, qtype, qclass } = keyQuestion(key);
    const b = build(qname, qtype, this.ctx);
    const value: Cached = b.kind === "recurse" ? RECURSE : prepare(b, qname, qtype, qclass, this.compress);
    const bytes = value === RECURSE ? key.length + 64 : value.bytes + key.length;
    const entry: CacheEntry = { key, value, bytes, unsubs: [], hot: false, dead: false };
    if (b.kind === "records") this.subscribe(entry, b.deps);
    this.map.set(key, entry);
    this.bytes += bytes;
    this.evict();
    return value;
  }

  private subscribe(entry: CacheEntry, deps: readonly Dep[]): void {
    const drop = (): void => this.invalidate(entry);
    const cat = this.ctx.catalog;
    for (const d of deps) {
      switch (d.kind) {
        case "service":
          entry.unsubs.push(cat.watchService(d.name, drop));
          break;
        case "node":
          entry.unsubs.push(cat.watchNode(d.name, drop));
          break;
        case "table":
          entry.unsubs.push(cat.watchTable(d.table, drop));
          break;
      }
    }
  }

  private remove(entry: CacheEntry): void {
    if (entry.dead) return;
    entry.dead = true;
    for (const u of entry.unsubs) u();
    entry.unsubs = [];
    if (this.map.get(entry.key) === entry) {
      this.map.delete(entry.key);
      this.bytes -= entry.bytes;
    }
  }

  private invalidate(entry: CacheEntry): void {
    if (entry.dead) return;
    this.stats.invalidations++;
    this.remove(entry);
  }

  /** CLOCK: the oldest entry goes unless it was used since the last sweep (then it moves to the back). */
  private evict(): void {
    let spins = 0;
    while ((this.map.size > this.maxEntries || this.bytes > this.maxBytes) && this.map.size > 0) {
      const first = this.map.values().next().value as CacheEntry;
      if (first.hot && spins < this.map.size) {
        first.hot = false;
        spins++;
        this.map.delete(first.key);
        this.map.set(first.key, first);
        continue;
      }
      this.stats.evictions++;
      this.remove(first);
    }
  }

  /** Drop every entry and watch. */
  clear(): void {
    for (const e of [...this.map.values()]) this.remove(e);
    this.names.close();
  }
}
