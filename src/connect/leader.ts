/**
 * connect/leader: the leader side of the built-in Connect CA (Consul's CAManager for a
 * primary datacenter): initialisation on leadership, configuration updates with rotation,
 * and periodic root pruning. Every change goes through the log as one `ca-set` command, so
 * all servers serve the same roots and a restart keeps them.
 *
 * - initialize(): when no configuration is stored, the agent's `connect` block seeds it
 *   (cluster ID from ca_config.cluster_id, else a new UUID); when no active root is stored,
 *   a root is generated from the settings; both are committed together (CAS: config index).
 * - updateConfiguration(body): PUT /v1/connect/ca/configuration; Consul's checks and texts
 *   (parseCAConfigPut), a config-only commit when the key identity is unchanged, else a
 *   rotation: new active root (cross-signed by the old one unless forced), old root kept
 *   inactive with RotatedOutAt until pruned.
 * - prune(): drops roots rotated out more than 2 x LeafCertTTL ago (Consul's pruneCARoots).
 *
 * Operations run one at a time (a queue), so a rotation never races a prune on this server;
 * the CAS on the config index guards against anything else.
 *
 * Must never: hand a signing key to a client-facing shape, or change state except through
 * `apply` (the log).
 */

import type { ApplyResult, Command } from "../state/types.ts";
import type { CAConfigInput, CAConfigRow, CAReader, CARootRow } from "../state/ca_types.ts";
import { CairnError } from "../shared/errors.ts";
import { CA_ROOT_PRUNE_INTERVAL_MS } from "../shared/limits.ts";
import type { CADeps, CARootRecord } from "./ca.ts";
import { generateRoot, pruneRoots, rotate, systemCADeps } from "./ca.ts";
import { LeafCache, storeLeafSigner } from "./leaf_cache.ts";
import type { AgentConnectCA, CAConfig } from "./config.ts";
import {
  CONSUL_CA_PROVIDER,
  DEFAULT_INTERMEDIATE_CERT_TTL,
  caConfigFromAgent,
  parseCAConfigPut,
  parseProviderSettings,
  providerState,
} from "./config.ts";
import { trustDomainFor } from "./spiffe.ts";

export interface CALeaderDeps {
  /** Commits a command through the log and applies it (Backend.apply). */
  readonly apply: (cmd: Command) => Promise<ApplyResult>;
  readonly reader: CAReader;
  readonly ca: CADeps;
  /** A new random cluster ID (UUID) when the config names none. */
  readonly newClusterId: () => string;
  readonly log: (level: "info" | "warn" | "error" | "debug", msg: string) => void;
  readonly setInterval?: (fn: () => void, ms: number) => unknown;
  readonly clearInterval?: (h: unknown) => void;
}

/** A stored root as the CA core's record (a mutable copy). */
export function rootRecord(r: CARootRow): CARootRecord {
  return { ...r, IntermediateCerts: [...r.IntermediateCerts] };
}

/** The stored configuration in Consul's CAConfiguration JSON shape (ClusterID is not part of it). */
export function caConfigJSON(c: CAConfigRow): CAConfig {
  return {
    Provider: c.provider,
    Config: { ...c.config },
    State: c.state === null ? null : { ...c.state },
    ForceWithoutCrossSigning: c.forceWithoutCrossSigning,
    CreateIndex: c.createIndex,
    ModifyIndex: c.modifyIndex,
  };
}

/** The trust domain of the stored configuration ("" before initialisation). */
export function storedTrustDomain(reader: CAReader): string {
  const c = reader.caConfig().value;
  return c === undefined || c.clusterId === "" ? "" : trustDomainFor(c.clusterId);
}

export class CALeader {
  private readonly deps: CALeaderDeps;
  private readonly agent: AgentConnectCA;
  private queue: Promise<unknown> = Promise.resolve();
  private timer: unknown;

  constructor(deps: CALeaderDeps, agentConnect: AgentConnectCA) {
    this.deps = deps;
    this.agent = agentConnect;
  }

  /** Runs `fn` after every earlier operation finished (whatever their outcome). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async commit(roots: readonly CARootRow[] | null, config: CAConfigInput | null, cas: number): Promise<void> {
    const r = await this.deps.apply({ type: "ca-set", roots, config, cas });
    if (r.type === "bool" && r.ok) return;
    if (r.type === "error") throw new CairnError("internal", r.message);
    throw new CairnError("internal", "CA configuration was changed concurrently; please retry");
  }

  /** Consul's initializeCAConfig + initializeRootCA for a primary datacenter. */
  initialize(): Promise<void> {
    return this.serial(() => this.initializeNow());
  }

  private async initializeNow(): Promise<void> {
    const { reader } = this.deps;
    const stored = reader.caConfig().value;
    let config: CAConfigInput | null = null;
    if (stored === undefined) {
      const seed = caConfigFromAgent(this.agent);
      config = {
        clusterId: seed.clusterId ?? this.deps.newClusterId().toLowerCase(),
        provider: seed.config.Provider === "" ? CONSUL_CA_PROVIDER : seed.config.Provider,
        config: seed.config.Config,
        state: providerState(seed.config.Config, null),
        forceWithoutCrossSigning: false,
      };
    } else if (!Object.hasOwn(stored.config, "IntermediateCertTTL")) {
      // Consul fills in the intermediate TTL of configs stored before it existed.
      config = { ...stored, config: { ...stored.config, IntermediateCertTTL: DEFAULT_INTERMEDIATE_CERT_TTL } };
    }
    const effective = config ?? stored;
    if (effective === undefined) throw new Error("assertion failed: no CA configuration");
    const roots = reader.caRoots().value;
    let newRoots: CARootRow[] | null = null;
    if (!roots.some((r) => r.Active)) {
      const settings = parseProviderSettings({ ...effective.config });
      const root = await generateRoot(settings, effective.clusterId, this.deps.ca);
      newRoots = [...roots, root];
      this.deps.log("info", `generated CA root ${root.ID} (${settings.privateKeyType} ${settings.privateKeyBits})`);
    }
    if (config === null && newRoots === null) return;
    await this.commit(newRoots, config, stored?.modifyIndex ?? 0);
    this.deps.log("info", `CA initialized, trust domain ${trustDomainFor(effective.clusterId)}`);
  }

  /**
   * PUT /v1/connect/ca/configuration (Consul's CAManager.UpdateConfiguration). Errors are
   * CairnError("bad-request") with Consul's texts.
   */
  updateConfiguration(body: unknown): Promise<void> {
    return this.serial(async () => {
      if (this.deps.reader.caConfig().value === undefined) await this.initializeNow();
      const stored = this.deps.reader.caConfig().value;
      if (stored === undefined) throw new Error("assertion failed: CA config missing after initialisation");
      const r = parseCAConfigPut(normalizeProvider(body), caConfigJSON(stored));
      if (r.noop) return;
      const config: CAConfigInput = {
        clusterId: stored.clusterId,
        provider: r.config.Provider,
        config: r.config.Config,
        state: r.config.State,
        forceWithoutCrossSigning: r.config.ForceWithoutCrossSigning,
      };
      if (!r.rotate) {
        await this.commit(null, config, stored.modifyIndex);
        this.deps.log("info", "CA configuration updated");
        return;
      }
      const roots = this.deps.reader.caRoots().value.map(rootRecord);
      const out = await rotate(roots, r.settings, stored.clusterId, this.deps.ca, {
        forceWithoutCrossSigning: r.config.ForceWithoutCrossSigning,
      });
      await this.commit(out.roots, config, stored.modifyIndex);
      this.deps.log("info", `CA rotated to new root ${out.active.ID}`);
    });
  }

  /** Drops roots whose leaves have all expired; true when something was dropped. */
  prune(): Promise<boolean> {
    return this.serial(async () => {
      const stored = this.deps.reader.caConfig().value;
      if (stored === undefined) return false;
      const roots = this.deps.reader.caRoots().value;
      const settings = parseProviderSettings({ ...stored.config });
      const kept = pruneRoots(roots.map(rootRecord), settings.leafCertTTLMs, this.deps.ca.now());
      if (kept.length === roots.length) return false;
      await this.commit(kept, null, stored.modifyIndex);
      this.deps.log("info", `pruned ${roots.length - kept.length} old CA root(s)`);
      return true;
    });
  }

  /** Starts the periodic prune (Consul: hourly). */
  startPruning(intervalMs: number = CA_ROOT_PRUNE_INTERVAL_MS): void {
    if (this.timer !== undefined) return;
    const set = this.deps.setInterval ?? ((fn: () => void, ms: number) => {
      const h = setInterval(fn, ms);
      (h as { unref?: () => void }).unref?.();
      return h;
    });
    this.timer = set(() => {
      this.prune().catch((e: unknown) => this.deps.log("warn", `root pruning failed: ${String(e)}`));
    }, intervalMs);
  }

  /** Stops the prune timer and waits for the running operation. */
  async stop(): Promise<void> {
    if (this.timer !== undefined) {
      const clear = this.deps.clearInterval ?? ((h: unknown) => clearInterval(h as ReturnType<typeof setInterval>));
      clear(this.timer);
      this.timer = undefined;
    }
    await this.queue;
  }
}

/** An absent or empty Provider means the built-in one (cairn has no other). */
function normalizeProvider(body: unknown): unknown {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return body;
  const b = body as Record<string, unknown>;
  if (b["Provider"] === undefined || b["Provider"] === null || b["Provider"] === "") {
    return { ...b, Provider: CONSUL_CA_PROVIDER };
  }
  return body;
}

export interface ConnectAgentOptions {
  readonly apply: (cmd: Command) => Promise<ApplyResult>;
  readonly reader: CAReader;
  readonly datacenter: string;
  readonly agentConnect: AgentConnectCA;
  readonly log: (level: "info" | "warn" | "error" | "debug", msg: string) => void;
  readonly newClusterId: () => string;
  readonly ca?: CADeps;
}

export interface ConnectAgent {
  readonly reader: CAReader;
  readonly leader: CALeader;
  readonly leaves: LeafCache;
  stop(): Promise<void>;
}

/**
 * Starts the CA on a server that leads (the single-voter server always does): initialises
 * config and root through the log when missing, starts pruning, and makes the leaf cache.
 */
export async function startConnectAgent(o: ConnectAgentOptions): Promise<ConnectAgent> {
  const ca = o.ca ?? systemCADeps;
  const leader = new CALeader({ apply: o.apply, reader: o.reader, ca, newClusterId: o.newClusterId, log: o.log }, o.agentConnect);
  await leader.initialize();
  leader.startPruning();
  const leaves = new LeafCache(storeLeafSigner(o.reader, o.datacenter, ca));
  return { reader: o.reader, leader, leaves, stop: () => leader.stop() };
}
