/**
 * agent/local/agent: the agent's own services and health checks (Consul's Agent.AddService,
 * AddCheck, RemoveService, RemoveCheck, updateTTLCheck, maintenance modes, the
 * critical-service reaper and loading from config files and the data dir). It owns the
 * local state, the check runtimes (TTL timers, alias watchers, interval runners whose
 * runs go to the worker pool), persistence and anti-entropy.
 *
 * Must never: run check I/O on the main thread, write the catalog except through
 * anti-entropy, or let a registration half-apply (validation happens before any change).
 */

import { checkKind, isScriptCheck, validateCheckSpec, type CheckSpec, type CheckStatus } from "../../checks/index.ts";
import type { Backend } from "../../server/types.ts";
import { CairnError } from "../../shared/errors.ts";
import {
  CHECK_DEFAULT_OUTPUT_MAX,
  CHECK_DEREGISTER_MIN_MS,
  CHECK_REAP_INTERVAL_MS,
  LOCAL_MAX_CHECKS,
  LOCAL_MAX_SERVICES,
} from "../../shared/limits.ts";
import type { ConfigTree } from "../config/tree.ts";
import { AntiEntropy } from "./ae.ts";
import { decodeCheck, decodeService, type CheckDefinition, type ServiceDefinition } from "./decode.ts";
import { Persistence } from "./persist.ts";
import { createCheckPool, type CheckPool } from "./pool.ts";
import { CheckRuntimes } from "./runtimes.ts";
import { LocalState, type StateDeps } from "./state.ts";
import { syncChanges, updateSyncState, type SyncTarget } from "./sync.ts";
import { defaultNodeTaggedAddresses, serviceTaggedAddresses } from "./validate.ts";
import {
  NODE_MAINT_CHECK_ID,
  SERVICE_MAINT_PREFIX,
  type ConfigSource,
  type LocalAgentApi,
  type LocalCheck,
  type LocalService,
} from "./types.ts";

export type LocalLogFn = (level: "trace" | "debug" | "info" | "warn" | "error", msg: string) => void;

/** The parts of RuntimeConfig the local agent uses. */
export interface LocalConfig {
  readonly services: readonly ConfigTree[];
  readonly checks: readonly ConfigTree[];
  readonly enableScriptChecks: boolean;
  readonly enableLocalScriptChecks: boolean;
  readonly checkOutputMaxSize: number;
  readonly checkUpdateIntervalMs: number;
  readonly nodeMeta?: Readonly<Record<string, string>>;
  readonly taggedAddresses?: Readonly<Record<string, string>>;
}

export interface LocalAgentOptions {
  readonly backend: Backend;
  readonly nodeName: string;
  readonly nodeId: string;
  readonly datacenter: string;
  /** The node's advertise address (catalog Address). */
  readonly address: string;
  /** undefined in -dev: nothing is persisted. */
  readonly dataDir: string | undefined;
  readonly config: LocalConfig;
  readonly logger: LocalLogFn;
  /** Nodes in the cluster, for anti-entropy scaling (1 until gossip exists). */
  readonly clusterSize?: () => number;
  readonly deps?: Partial<StateDeps>;
  /** A pool to use instead of starting one (tests). */
  readonly pool?: CheckPool;
  readonly aeIntervalMs?: number;
  readonly reapIntervalMs?: number;
  readonly deregisterMinMs?: number;
  /** Consul version stored as node meta consul-version. */
  readonly version?: string;
}

export interface LocalAgent extends LocalAgentApi {
  readonly state: LocalState;
  readonly ae: AntiEntropy;
  readonly pool: CheckPool;
  /** Run a partial sync now and wait for it. */
  syncNow(): Promise<void>;
  /** Completed runs of an interval check (tests). */
  runsOf(checkId: string): number;
  close(): Promise<void>;
}

const realDeps: StateDeps = {
  now: () => Date.now(),
  random: () => Math.random(),
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

const VALID_STATUS: ReadonlySet<string> = new Set(["passing", "warning", "critical"]);

export async function startLocalAgent(o: LocalAgentOptions): Promise<LocalAgent> {
  const deps: StateDeps = { ...realDeps, ...o.deps };
  const log = o.logger;
  const cfg = o.config;
  const persist = o.dataDir === undefined ? undefined : new Persistence(o.dataDir);
  const pool = o.pool ?? createCheckPool();
  const ownsPool = o.pool === undefined;
  const maxOutputDefault = cfg.checkOutputMaxSize > 0 ? cfg.checkOutputMaxSize : CHECK_DEFAULT_OUTPUT_MAX;
  const localScripts = cfg.enableLocalScriptChecks || cfg.enableScriptChecks;
  const remoteScripts = cfg.enableScriptChecks;
  const deregisterMin = o.deregisterMinMs ?? CHECK_DEREGISTER_MIN_MS;

  const target: SyncTarget = {
    backend: o.backend,
    nodeName: o.nodeName,
    nodeId: o.nodeId,
    datacenter: o.datacenter,
    address: o.address,
    taggedAddresses: o.config.taggedAddresses ?? defaultNodeTaggedAddresses(o.address),
    nodeMeta: {
      ...(o.config.nodeMeta ?? {}),
      "consul-network-segment": "",
      ...(o.version !== undefined ? { "consul-version": o.version } : {}),
    },
  };

  let ae: AntiEntropy | undefined;
  const state = new LocalState({
    checkUpdateIntervalMs: cfg.checkUpdateIntervalMs,
    deps,
    onChange: () => ae?.trigger(),
  });
  ae = new AntiEntropy({
    deps,
    clusterSize: o.clusterSize ?? (() => 1),
    intervalMs: o.aeIntervalMs,
    full: async () => {
      updateSyncState(state, target);
      await syncChanges(state, target);
    },
    partial: () => syncChanges(state, target),
    onError: (e, full) => log("warn", `${full ? "full" : "partial"} sync failed: ${e instanceof Error ? e.message : String(e)}`),
  });

  const runtimes = new CheckRuntimes({
    deps, state, store: o.backend.store, pool, persist, maxOutputDefault, deregisterMinMs: deregisterMin,
  });
  const sources = new Map<string, ConfigSource>(); // check id -> source (for re-persisting)
  let closed = false;

  const scriptGate = (spec: CheckSpec | null, source: ConfigSource): void => {
    if (spec === null || !isScriptCheck(spec)) return;
    if (source === "local" && !localScripts) {
      throw new CairnError(
        "internal",
        "Scripts are disabled on this agent; to enable, configure 'enable_script_checks' or 'enable_local_script_checks' to true",
      );
    }
    if (source === "remote" && !remoteScripts) {
      throw new CairnError("internal", "Scripts are disabled on this agent from remote calls; to enable, configure 'enable_script_checks' to true");
    }
  };

  const makeCheck = (
    spec: CheckSpec,
    id: string,
    name: string,
    service: LocalService | undefined,
    prev: LocalCheck | undefined,
  ): LocalCheck => {
    const kind = checkKind(spec);
    let status: CheckStatus = spec.status === "" ? "critical" : spec.status;
    let output = "";
    if (prev !== undefined) {
      status = prev.status;
      output = prev.output;
    }
    return {
      node: o.nodeName,
      checkId: id,
      name,
      status,
      notes: spec.notes,
      output,
      serviceId: service?.id ?? "",
      serviceName: service?.service ?? "",
      serviceTags: service?.tags ?? [],
      type: kind,
      intervalNs: Math.round(spec.intervalMs * 1e6),
      timeoutNs: Math.round(spec.timeoutMs * 1e6),
      exposedPort: 0,
    };
  };

  const persistCheck = (check: LocalCheck, spec: CheckSpec | null, token: string, source: ConfigSource): Promise<void> =>
    persist === undefined ? Promise.resolve() : persist.saveCheck({ check, spec, token, source });

  // ---- services ---------------------------------------------------------------------

  const addService = async (
    def: ServiceDefinition,
    opts: { replaceExistingChecks: boolean; token: string; persist: boolean; source: ConfigSource },
  ): Promise<void> => {
    const d = def.service;
    if (d.service === "") throw new CairnError("internal", "Service name missing");
    const id = d.id === "" ? d.service : d.id;
    for (const c of def.checks) {
      const err = validateCheckSpec(c.spec);
      if (err !== undefined) throw new CairnError("internal", `Check is not valid: ${err}`);
      scriptGate(c.spec, opts.source);
    }
    const existing = state.service(id);
    if (existing === undefined && state.liveServiceCount() >= LOCAL_MAX_SERVICES) {
      throw new CairnError("rate-limited", `too many services on this agent (limit ${LOCAL_MAX_SERVICES})`);
    }
    const ta = serviceTaggedAddresses(d.address, d.port, d.taggedAddresses);
    const service: LocalService = {
      ...d,
      id,
      taggedAddresses: ta,
      weights: d.weights ?? { passing: 1, warning: 1 },
    };
    const oldChecks = state.checksForService(id, false).map((c) => c.checkId);
    const checks: { check: LocalCheck; spec: CheckSpec }[] = [];
    def.checks.forEach((c, i) => {
      let cid = c.spec.checkId !== "" ? c.spec.checkId : c.id;
      if (cid === "") cid = `service:${id}` + (def.checks.length > 1 ? `:${i + 1}` : "");
      const name = c.spec.name !== "" ? c.spec.name : `Service '${service.service}' check`;
      checks.push({ check: makeCheck(c.spec, cid, name, service, state.check(cid)), spec: c.spec });
    });
    if (state.liveCheckCount() + checks.length > LOCAL_MAX_CHECKS) {
      throw new CairnError("rate-limited", `too many checks on this agent (limit ${LOCAL_MAX_CHECKS})`);
    }
    state.addService(service, opts.token);
    // Checks of this service that are kept get the (possibly new) service name and tags.
    for (const cid of oldChecks) {
      const cs = state.checkState(cid);
      if (cs !== undefined && !checks.some((c) => c.check.checkId === cid)) {
        state.addCheck({ ...cs.check, serviceName: service.service, serviceTags: service.tags }, cs.token);
      }
    }
    for (const c of checks) {
      state.addCheck(c.check, opts.token);
      sources.set(c.check.checkId, opts.source);
      await runtimes.start(c.check, c.spec);
    }
    if (opts.persist && persist !== undefined) {
      await persist.saveService({ service, token: opts.token, source: opts.source });
      for (const c of checks) await persistCheck(c.check, c.spec, opts.token, opts.source);
    }
    if (opts.replaceExistingChecks) {
      for (const cid of oldChecks) if (!checks.some((c) => c.check.checkId === cid)) await removeCheck(cid, opts.persist);
    }
  };

  const removeCheck = async (id: string, persistRemoval: boolean): Promise<void> => {
    runtimes.stop(id);
    state.removeCheck(id);
    sources.delete(id);
    if (persistRemoval && persist !== undefined) await persist.removeCheck(id);
  };

  const removeService = async (id: string, persistRemoval: boolean): Promise<void> => {
    if (id === "") throw new CairnError("internal", "ServiceID missing");
    const checks = state.checksForService(id, false);
    if (!state.removeService(id)) return;
    if (persistRemoval && persist !== undefined) await persist.removeService(id);
    for (const c of checks) await removeCheck(c.checkId, persistRemoval);
  };

  // ---- checks -----------------------------------------------------------------------

  const addCheck = async (
    def: CheckDefinition,
    opts: { token: string; persist: boolean; source: ConfigSource; restored?: boolean },
  ): Promise<void> => {
    const spec = def.spec;
    const id = def.id !== "" ? def.id : spec.name;
    if (id === "") throw new CairnError("internal", "CheckID missing");
    let service: LocalService | undefined;
    if (def.serviceId !== "") {
      service = state.service(def.serviceId);
      if (service === undefined) throw new CairnError("not-found", `ServiceID ${JSON.stringify(def.serviceId)} does not exist`);
    }
    const err = validateCheckSpec(spec);
    if (err !== undefined) throw new CairnError("internal", `Check is not valid: ${err}`);
    scriptGate(spec, opts.source);
    const prev = state.check(id);
    if (prev === undefined && state.liveCheckCount() >= LOCAL_MAX_CHECKS) {
      throw new CairnError("rate-limited", `too many checks on this agent (limit ${LOCAL_MAX_CHECKS})`);
    }
    const check = makeCheck(spec, id, spec.name, service, prev);
    state.addCheck(check, opts.token);
    sources.set(id, opts.source);
    await runtimes.start(check, spec);
    if (opts.persist) await persistCheck(check, spec, opts.token, opts.source);
  };

  /** A check without a runtime (maintenance). */
  const addPlainCheck = async (check: LocalCheck, token: string, persistIt: boolean): Promise<void> => {
    runtimes.stop(check.checkId);
    state.addCheck(check, token);
    sources.set(check.checkId, "local");
    if (persistIt) await persistCheck(check, null, token, "local");
  };

  const updateTtl = async (id: string, status: CheckStatus, output: string): Promise<void> => {
    const rt = runtimes.ttl(id);
    if (rt === undefined) throw new CairnError("internal", `CheckID ${JSON.stringify(id)} does not have associated TTL`);
    const out = rt.ttl.setStatus(status, output);
    if (persist !== undefined) {
      try {
        await persist.saveCheckState({
          checkId: id,
          status,
          output: out,
          expires: Math.floor((deps.now() + rt.spec.ttlMs) / 1000),
        });
      } catch (e) {
        throw new CairnError("internal", `failed persisting state for check ${JSON.stringify(id)}: ${String(e)}`);
      }
    }
  };

  // ---- maintenance ------------------------------------------------------------------

  const enableServiceMaintenance = async (id: string, reason: string, token: string): Promise<void> => {
    const svc = state.service(id);
    if (svc === undefined) throw new CairnError("not-found", `No service registered with ID ${JSON.stringify(id)}`);
    const cid = SERVICE_MAINT_PREFIX + id;
    if (state.check(cid) !== undefined) return;
    await addPlainCheck(
      {
        node: o.nodeName,
        checkId: cid,
        name: "Service Maintenance Mode",
        status: "critical",
        notes: reason !== "" ? reason : "Maintenance mode is enabled for this service, but no reason was provided. This is a default message.",
        output: "",
        serviceId: svc.id,
        serviceName: svc.service,
        serviceTags: svc.tags,
        type: "maintenance",
        intervalNs: 0,
        timeoutNs: 0,
        exposedPort: 0,
      },
      token,
      true,
    );
    log("info", `Service entered maintenance mode: service=${id}`);
  };

  const disableServiceMaintenance = async (id: string): Promise<void> => {
    if (state.service(id) === undefined) throw new CairnError("not-found", `No service registered with ID ${JSON.stringify(id)}`);
    const cid = SERVICE_MAINT_PREFIX + id;
    if (state.check(cid) === undefined) return;
    await removeCheck(cid, true);
    log("info", `Service left maintenance mode: service=${id}`);
  };

  const enableNodeMaintenance = async (reason: string, token: string): Promise<void> => {
    if (state.check(NODE_MAINT_CHECK_ID) !== undefined) return;
    await addPlainCheck(
      {
        node: o.nodeName,
        checkId: NODE_MAINT_CHECK_ID,
        name: "Node Maintenance Mode",
        status: "critical",
        notes: reason !== "" ? reason : "Maintenance mode is enabled for this node, but no reason was provided. This is a default message.",
        output: "",
        serviceId: "",
        serviceName: "",
        serviceTags: [],
        type: "maintenance",
        intervalNs: 0,
        timeoutNs: 0,
        exposedPort: 0,
      },
      token,
      true,
    );
    log("info", "Node entered maintenance mode");
  };

  const disableNodeMaintenance = async (): Promise<void> => {
    if (state.check(NODE_MAINT_CHECK_ID) === undefined) return;
    await removeCheck(NODE_MAINT_CHECK_ID, true);
    log("info", "Node left maintenance mode");
  };

  // ---- reaper -----------------------------------------------------------------------

  const reap = async (): Promise<void> => {
    const reaped = new Set<string>();
    for (const [cid, timeout] of [...runtimes.reapAfter]) {
      const c = state.check(cid);
      if (c === undefined || c.serviceId === "" || reaped.has(c.serviceId)) continue;
      if (c.status === "critical" && state.criticalFor(cid) > timeout) {
        reaped.add(c.serviceId);
        await removeService(c.serviceId, true);
        log(
          "info",
          `deregistered service with critical health due to exceeding health check's 'deregister_critical_service_after' timeout: service=${c.serviceId} check=${cid}`,
        );
      }
    }
  };
  let reapTimer: unknown;
  const scheduleReap = (): void => {
    reapTimer = deps.setTimer(() => {
      void reap()
        .catch((e: unknown) => log("error", `reaping critical services failed: ${String(e)}`))
        .finally(() => {
          if (!closed) scheduleReap();
        });
    }, o.reapIntervalMs ?? CHECK_REAP_INTERVAL_MS);
  };

  // ---- load config and persisted state ---------------------------------------------------

  const fail = (what: string, e: unknown): Error => new Error(`${what}: ${e instanceof Error ? e.message : String(e)}`);
  try {
    for (const tree of cfg.services) {
      let def: ServiceDefinition;
      try {
        def = decodeService(tree, true);
      } catch (e) {
        throw fail(`Failed to validate checks for service ${JSON.stringify(String(tree["name"] ?? ""))}`, e);
      }
      if (def.hadSidecar) log("warn", `service ${JSON.stringify(def.service.service)}: connect.sidecar_service is not supported yet; ignored`);
      try {
        await addService(def, { replaceExistingChecks: false, token: def.token, persist: false, source: "local" });
      } catch (e) {
        throw fail(`Failed to register service ${JSON.stringify(def.service.service)}`, e);
      }
    }
    if (persist !== undefined) {
      for (const p of await persist.loadServices((m) => log("error", m))) {
        if (state.service(p.service.id) !== undefined) {
          await persist.removeService(p.service.id);
          continue;
        }
        try {
          await addService(
            { service: p.service, checks: [], token: p.token, hadSidecar: false },
            { replaceExistingChecks: false, token: p.token, persist: false, source: p.source },
          );
          log("debug", `restored service definition from file: service=${p.service.id}`);
        } catch (e) {
          log("warn", `failed restoring service ${p.service.id}: ${String(e)}`);
        }
      }
    }
    for (const tree of cfg.checks) {
      let def: CheckDefinition;
      try {
        def = decodeCheck(tree, "CheckDefinition", true);
      } catch (e) {
        throw fail(`Failed to register check ${JSON.stringify(String(tree["name"] ?? ""))}`, e);
      }
      if (def.rawStatus !== "" && !VALID_STATUS.has(def.rawStatus)) {
        throw new Error(`Failed to register check ${JSON.stringify(def.spec.name)}: Bad check status`);
      }
      try {
        await addCheck(def, { token: def.token, persist: false, source: "local" });
      } catch (e) {
        throw fail(`Failed to register check ${JSON.stringify(def.spec.name)}`, e);
      }
    }
    if (persist !== undefined) {
      for (const p of await persist.loadChecks((m) => log("error", m))) {
        const id = p.check.checkId;
        if (state.check(id) !== undefined) {
          await persist.removeCheck(id);
          continue;
        }
        try {
          if (p.spec === null) {
            if (p.check.serviceId !== "" && state.service(p.check.serviceId) === undefined) throw new Error("service gone");
            await addPlainCheck(p.check, p.token, false);
          } else {
            await addCheck(
              { id, serviceId: p.check.serviceId, token: p.token, rawStatus: "critical", spec: { ...p.spec, checkId: id, name: p.check.name, status: "critical" } },
              { token: p.token, persist: false, source: p.source },
            );
          }
          log("debug", `restored health check from file: check=${id}`);
        } catch (e) {
          log("warn", `Failed to restore check ${id}: ${e instanceof Error ? e.message : String(e)}`);
          await persist.removeCheck(id);
        }
      }
    }
  } catch (e) {
    runtimes.close();
    state.close();
    if (ownsPool) await pool.close();
    throw e;
  }

  ae.start();
  scheduleReap();

  const syncAfter = async (): Promise<void> => {
    await ae?.syncNow();
  };

  const api: LocalAgent = {
    nodeName: o.nodeName,
    datacenter: o.datacenter,
    state,
    ae,
    pool,
    services: () => state.allServices(),
    service: (id) => state.service(id),
    servicesByName: (name) => state.allServices().filter((s) => s.service === name),
    checks: () => state.allChecks(),
    check: (id) => state.check(id),
    checksForService: (id, node) => state.checksForService(id, node),
    watchService: (id, cb) => state.watchService(id, cb),
    async registerService(def, opts) {
      await addService(def, { ...opts, persist: true, source: "remote" });
      await syncAfter();
    },
    async deregisterService(id) {
      await removeService(id, true);
      await syncAfter();
    },
    async registerCheck(def, token) {
      await addCheck(def, { token, persist: true, source: "remote" });
      await syncAfter();
    },
    async deregisterCheck(id) {
      await removeCheck(id, true);
      await syncAfter();
    },
    async updateTtl(id, status, output) {
      await updateTtl(id, status, output);
      await syncAfter();
    },
    async enableServiceMaintenance(id, reason, token) {
      await enableServiceMaintenance(id, reason, token);
      await syncAfter();
    },
    async disableServiceMaintenance(id) {
      await disableServiceMaintenance(id);
      await syncAfter();
    },
    async enableNodeMaintenance(reason, token) {
      await enableNodeMaintenance(reason, token);
      await syncAfter();
    },
    async disableNodeMaintenance() {
      await disableNodeMaintenance();
      await syncAfter();
    },
    syncNow: syncAfter,
    runsOf: (id) => runtimes.runsOf(id),
    async close() {
      if (closed) return;
      closed = true;
      if (reapTimer !== undefined) deps.clearTimer(reapTimer);
      runtimes.close();
      ae?.stop();
      state.close();
      if (persist !== undefined) await persist.flush();
      if (ownsPool) await pool.close();
    },
  };
  return api;
}
