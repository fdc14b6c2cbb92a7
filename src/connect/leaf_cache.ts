/**
 * connect/leaf_cache: the agent's per-service leaf certificate cache (Consul's leafcert
 * manager): sign on the first request, serve the same certificate afterwards, re-sign once
 * past its soft expiry (a random point in [60 %, 90 %] of its lifetime, leafSoftExpiry) or
 * as soon as the active root changes, and block ?index=N requests until the cached leaf's
 * ModifyIndex moves past N (renewal or rotation) or the wait ends.
 *
 * Signing happens at most once at a time per service; concurrent requests share it. Every
 * new leaf gets a ModifyIndex above the previous one (and at least the roots index).
 *
 * Must never: hand out a leaf signed by a root that is no longer active, keep a timer or
 * watch for a request that finished, or hold more than CA_LEAF_CACHE_MAX_ENTRIES services.
 */

import type { CancelWatch } from "../state/types.ts";
import type { CAReader } from "../state/ca_types.ts";
import { CairnError } from "../shared/errors.ts";
import { CA_LEAF_CACHE_MAX_ENTRIES } from "../shared/limits.ts";
import type { CADeps, LeafCert } from "./ca.ts";
import { leafAuthorityKeyID, leafSoftExpiry, signLeaf } from "./ca.ts";
import { parseProviderSettings } from "./config.ts";
import { trustDomainFor } from "./spiffe.ts";

/** Where leaves come from. */
export interface LeafSigner {
  /** SigningKeyID of the active root ("" when there is none yet). */
  activeSigningKeyID(): string;
  /** Lowest index a new leaf may carry (the roots index). */
  baseIndex(): number;
  sign(service: string, index: number): Promise<LeafCert>;
  /** Fires once when the roots change. */
  watchRoots(cb: () => void): CancelWatch;
}

export interface LeafCacheDeps {
  now(): number;
  /** Uniform in [0, 1). */
  random(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(h: unknown): void;
}

export const realLeafCacheDeps: LeafCacheDeps = {
  now: () => Date.now(),
  random: () => Math.random(),
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export interface LeafQuery {
  /** ?index: block while the leaf's ModifyIndex is at or below it (0 = answer at once). */
  readonly minIndex: number;
  /** How long to block at most (ms), already capped and jittered by the caller. */
  readonly waitMs: number;
  /** Registers the client-gone hook. */
  readonly onAbort: (cancel: () => void) => void;
}

export interface LeafResult {
  readonly leaf: LeafCert;
  /** Served from the cache (X-Cache: HIT) rather than freshly signed. */
  readonly hit: boolean;
  /** Time since the leaf was signed (the Age header), ms. */
  readonly ageMs: number;
}

interface Entry {
  readonly leaf: LeafCert;
  readonly keyId: string;
  readonly fetchedAt: number;
  readonly renewAt: number;
  readonly expiresAt: number;
  /** Called (once each) when this entry is replaced. */
  readonly replaced: Set<() => void>;
}

/** A LeafSigner over the state store's CA tables (a server signs with the stored root key). */
export function storeLeafSigner(reader: CAReader, datacenter: string, ca: CADeps): LeafSigner {
  return {
    activeSigningKeyID: () => reader.caRoots().value.find((r) => r.Active)?.SigningKeyID ?? "",
    baseIndex: () => reader.caRoots().index,
    watchRoots: (cb) => reader.watchCARoots(cb),
    sign: async (service, index) => {
      const active = reader.caRoots().value.find((r) => r.Active);
      const cfg = reader.caConfig().value;
      if (active === undefined || cfg === undefined) {
        throw new CairnError("internal", "CA has not finished initializing");
      }
      const settings = parseProviderSettings({ ...cfg.config });
      return signLeaf(
        { ...active, IntermediateCerts: [...active.IntermediateCerts] },
        { service, datacenter, trustDomain: trustDomainFor(cfg.clusterId), ttlMs: settings.leafCertTTLMs, index },
        ca,
      );
    },
  };
}

export class LeafCache {
  private readonly signer: LeafSigner;
  private readonly deps: LeafCacheDeps;
  private readonly maxEntries: number;
  private readonly entries = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<Entry>>();
  /** Leaves signed so far (for tests and metrics). */
  signs = 0;

  constructor(signer: LeafSigner, deps: LeafCacheDeps = realLeafCacheDeps, maxEntries = CA_LEAF_CACHE_MAX_ENTRIES) {
    this.signer = signer;
    this.deps = deps;
    this.maxEntries = maxEntries;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The leaf for `service`; undefined only when the client left while blocked. */
  async get(service: string, q: LeafQuery): Promise<LeafResult | undefined> {
    let hit = true;
    let e = this.entries.get(service);
    if (e === undefined || this.stale(e)) {
      e = await this.refresh(service);
      hit = false;
    }
    if (q.minIndex <= 0 || e.leaf.ModifyIndex > q.minIndex) return this.result(e, hit);
    const deadline = this.deps.now() + Math.max(0, q.waitMs);
    let aborted = false;
    let wake: (() => void) | undefined;
    q.onAbort(() => {
      aborted = true;
      wake?.();
    });
    for (;;) {
      const why = await this.waitChange(e, deadline, (w) => (wake = w));
      wake = undefined;
      if (aborted) return undefined;
      let cur = this.entries.get(service);
      if (cur === undefined || this.stale(cur)) {
        cur = await this.refresh(service);
        hit = false;
      }
      if (cur.leaf.ModifyIndex > q.minIndex || why === "timeout") return this.result(cur, hit);
      e = cur;
    }
  }

  private result(e: Entry, hit: boolean): LeafResult {
    return { leaf: e.leaf, hit, ageMs: Math.max(0, this.deps.now() - e.fetchedAt) };
  }

  private stale(e: Entry): boolean {
    const now = this.deps.now();
    return now >= e.renewAt || now >= e.expiresAt || this.signer.activeSigningKeyID() !== e.keyId;
  }

  /** Waits until the entry's renewal time, a roots change, its replacement, the deadline or an abort. */
  private waitChange(e: Entry, deadline: number, setWake: (w: () => void) => void): Promise<"change" | "timeout"> {
    return new Promise((resolve) => {
      let done = false;
      const now = this.deps.now();
      const timeout = deadline <= e.renewAt;
      const finish = (why: "change" | "timeout"): void => {
        if (done) return;
        done = true;
        this.deps.clearTimer(timer);
        cancelRoots();
        e.replaced.delete(onReplaced);
        resolve(why);
      };
      const timer = this.deps.setTimer(() => finish(timeout ? "timeout" : "change"), Math.max(0, Math.min(deadline, e.renewAt) - now));
      const cancelRoots = this.signer.watchRoots(() => finish("change"));
      const onReplaced = (): void => finish("change");
      e.replaced.add(onReplaced);
      setWake(() => finish("change"));
    });
  }

  private refresh(service: string): Promise<Entry> {
    const running = this.inflight.get(service);
    if (running !== undefined) return running;
    const p = this.signNew(service).finally(() => this.inflight.delete(service));
    this.inflight.set(service, p);
    return p;
  }

  private async signNew(service: string): Promise<Entry> {
    const prev = this.entries.get(service);
    const index = Math.max(this.signer.baseIndex(), (prev?.leaf.ModifyIndex ?? 0) + 1);
    const leaf = await this.signer.sign(service, index);
    this.signs++;
    const now = this.deps.now();
    const soft = leafSoftExpiry(leaf, new Date(now));
    const min = soft.min.getTime();
    const renewAt = min + Math.floor(this.deps.random() * (soft.max.getTime() - min));
    const e: Entry = {
      leaf,
      keyId: leafAuthorityKeyID(leaf.CertPEM),
      fetchedAt: now,
      renewAt,
      expiresAt: Date.parse(leaf.ValidBefore),
      replaced: new Set(),
    };
    const old = this.entries.get(service);
    this.entries.delete(service);
    this.entries.set(service, e);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
    }
    if (old !== undefined) for (const f of [...old.replaced]) f();
    return e;
  }
}
