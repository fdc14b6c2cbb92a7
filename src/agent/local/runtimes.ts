/**
 * agent/local/runtimes: what runs each local check — a TTL timer, an alias watcher (over the
 * local state or another node's catalog entry), or an interval runner whose runs go to the
 * worker pool — plus the per-check deregister_critical_service_after timeouts the reaper reads.
 * Results only ever reach the local state through updateCheck.
 *
 * Must never: run check I/O on the main thread, or report a result after close() or after
 * the check's runtime was stopped.
 */

import { TtlCheck, IntervalRunner, checkKind, type CheckSpec, type CheckStatus } from "../../checks/index.ts";
import type { StoreReader } from "../../state/types.ts";
import type { Persistence } from "./persist.ts";
import type { CheckPool } from "./pool.ts";
import type { LocalState, StateDeps } from "./state.ts";
import type { LocalCheck } from "./types.ts";

interface Runtime {
  readonly spec: CheckSpec;
  stop(): void;
  readonly ttl?: TtlCheck;
  readonly runner?: IntervalRunner;
}

export interface RuntimesOptions {
  readonly deps: StateDeps;
  readonly state: LocalState;
  /** The server's store, read by alias checks of other nodes. */
  readonly store: StoreReader;
  readonly pool: CheckPool;
  /** Where a TTL check's last status is kept across restarts; undefined in -dev. */
  readonly persist: Persistence | undefined;
  /** The agent's check_output_max_size (or the default). */
  readonly maxOutputDefault: number;
  /** Floor of deregister_critical_service_after. */
  readonly deregisterMinMs: number;
}

/**
 * The alias check's status (Consul's CheckAlias): the worst of the aliased service's (or
 * node's) checks, critical when the aliased service does not exist.
 */
export function aliasStatus(
  self: string,
  spec: CheckSpec,
  state: LocalState,
  store: StoreReader,
): { status: CheckStatus; output: string } {
  let checks: readonly { node: string; checkId: string; name: string; status: string; output: string; serviceId: string }[];
  let serviceExists: boolean;
  if (spec.aliasNode !== "") {
    checks = store.healthNode(spec.aliasNode).value;
    serviceExists = (store.catalogNode(spec.aliasNode).value?.services ?? []).some((s) => s.id === spec.aliasService);
  } else {
    checks = state.allChecks().filter((c) => c.checkId !== self);
    serviceExists = state.service(spec.aliasService) !== undefined;
  }
  let health: CheckStatus = "passing";
  let msg = "No checks found.";
  let found = false;
  for (const c of checks) {
    if (spec.aliasNode !== "" && c.node.toLowerCase() !== spec.aliasNode.toLowerCase()) continue;
    const match = c.serviceId === spec.aliasService;
    if (c.serviceId !== "" && !match) continue;
    if (match) found = true;
    const st = c.status === "maintenance" ? "critical" : c.status;
    if (st === "critical" || st === "warning") {
      health = st;
      msg = `Aliased check ${JSON.stringify(c.name)} failing: ${c.output}`;
      if (st === "critical") break;
    } else if (health === "passing") msg = "All checks passing.";
  }
  if (!found && spec.aliasService !== "" && !serviceExists) {
    msg = `Service ${spec.aliasService} could not be found on node ${spec.aliasNode}`;
    health = "critical";
  }
  return { status: health, output: msg };
}

export class CheckRuntimes {
  private readonly o: RuntimesOptions;
  private readonly runtimes = new Map<string, Runtime>();
  /** check id -> deregister_critical_service_after (ms), for the reaper. */
  readonly reapAfter = new Map<string, number>();
  private closed = false;

  constructor(o: RuntimesOptions) {
    this.o = o;
  }

  ids(): string[] {
    return [...this.runtimes.keys()];
  }

  /** A TTL check's timer and spec, undefined when `id` is not a running TTL check. */
  ttl(id: string): { readonly ttl: TtlCheck; readonly spec: CheckSpec } | undefined {
    const rt = this.runtimes.get(id);
    return rt?.ttl === undefined ? undefined : { ttl: rt.ttl, spec: rt.spec };
  }

  /** Completed runs of an interval check (tests). */
  runsOf(id: string): number {
    return this.runtimes.get(id)?.runner?.runs ?? 0;
  }

  stop(id: string): void {
    this.runtimes.get(id)?.stop();
    this.runtimes.delete(id);
    this.reapAfter.delete(id);
  }

  close(): void {
    this.closed = true;
    for (const id of this.ids()) this.stop(id);
  }

  /** Start the runtime of a check (the check is already in the state). */
  async start(check: LocalCheck, spec: CheckSpec | null): Promise<void> {
    const { deps, state, persist } = this.o;
    this.stop(check.checkId);
    if (spec === null) return;
    const id = check.checkId;
    const kind = checkKind(spec);
    const maxOut = spec.outputMaxSize > 0 && this.o.maxOutputDefault > spec.outputMaxSize ? spec.outputMaxSize : this.o.maxOutputDefault;
    if (spec.deregisterCriticalServiceAfterMs > 0) {
      this.reapAfter.set(id, Math.max(spec.deregisterCriticalServiceAfterMs, this.o.deregisterMinMs));
    }
    const update = (status: CheckStatus, output: string): void => {
      if (!this.closed) state.updateCheck(id, status, output);
    };
    if (kind === "ttl") {
      const ttl = new TtlCheck(spec.ttlMs, maxOut, deps, update);
      if (persist !== undefined) {
        const saved = await persist.loadCheckState(id);
        if (saved !== undefined && deps.now() / 1000 < saved.expires) state.updateCheck(id, saved.status, saved.output);
      }
      ttl.start();
      this.runtimes.set(id, { spec, ttl, stop: () => ttl.stop() });
    } else if (kind === "alias") {
      this.startAlias(id, spec);
    } else {
      const runner = new IntervalRunner(spec, maxOut, { ...deps, execute: (t, ms) => this.o.pool.execute(t, ms) }, update);
      this.runtimes.set(id, { spec, runner, stop: () => runner.stop() });
      runner.start();
    }
  }

  private startAlias(id: string, spec: CheckSpec): void {
    const { state, store } = this.o;
    let scheduled = false;
    const recompute = (): void => {
      if (scheduled || this.closed) return;
      scheduled = true;
      queueMicrotask(() => {
        scheduled = false;
        if (!this.runtimes.has(id) || this.closed) return;
        const r = aliasStatus(id, spec, state, store);
        state.updateCheck(id, r.status, r.output);
      });
    };
    let cancel: () => void;
    if (spec.aliasNode !== "") {
      let c: (() => void) | undefined;
      const rewatch = (): void => {
        c = store.watchNode(spec.aliasNode, () => {
          recompute();
          if (!this.closed && this.runtimes.has(id)) rewatch();
        });
      };
      rewatch();
      cancel = () => c?.();
    } else cancel = state.onAnyCheck(recompute);
    this.runtimes.set(id, { spec, stop: cancel });
    recompute();
  }
}
