/**
 * agent/local/state: the agent's local state (Consul's agent/local.State), the source of
 * truth for its own services and checks. Every entry carries an in-sync flag for
 * anti-entropy; removed entries stay as "deleted" tombstones until the catalog forgot
 * them. A check update that only changes the output is deferred by
 * check_update_interval/2 + stagger(check_update_interval) (Consul's DeferCheck); a
 * status change is marked out of sync at once. Changes call `onChange` (Consul's
 * TriggerSyncChanges) and fire per-service watchers.
 *
 * Must never: talk to the catalog or the disk (sync.ts and persist.ts do), or read
 * clocks and timers except through deps.
 */

import type { CheckStatus } from "../../checks/index.ts";
import type { LocalCheck, LocalService } from "./types.ts";

export interface StateDeps {
  now(): number;
  random(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(h: unknown): void;
}

export interface ServiceState {
  service: LocalService;
  token: string;
  inSync: boolean;
  deleted: boolean;
}

export interface CheckState {
  check: LocalCheck;
  token: string;
  inSync: boolean;
  deleted: boolean;
  deferTimer: unknown;
  /** When the check last became critical (ms, deps.now), 0 when not critical. */
  criticalSince: number;
}

export interface LocalStateOptions {
  /** check_update_interval in ms (0 = sync output changes at once). */
  readonly checkUpdateIntervalMs: number;
  readonly deps: StateDeps;
  /** Called on every change that needs a sync (coalesced by the caller). */
  readonly onChange: () => void;
}

export class LocalState {
  readonly services = new Map<string, ServiceState>();
  readonly checks = new Map<string, CheckState>();
  nodeInfoInSync = false;
  private readonly opts: LocalStateOptions;
  private readonly serviceWatchers = new Map<string, Set<() => void>>();
  private readonly anyCheckWatchers = new Set<() => void>();

  constructor(opts: LocalStateOptions) {
    this.opts = opts;
  }

  // ---- reads ----------------------------------------------------------------------

  service(id: string): LocalService | undefined {
    const s = this.services.get(id);
    return s === undefined || s.deleted ? undefined : s.service;
  }

  allServices(): LocalService[] {
    const out: LocalService[] = [];
    for (const s of this.services.values()) if (!s.deleted) out.push(s.service);
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  check(id: string): LocalCheck | undefined {
    const c = this.checks.get(id);
    return c === undefined || c.deleted ? undefined : c.check;
  }

  checkState(id: string): CheckState | undefined {
    const c = this.checks.get(id);
    return c === undefined || c.deleted ? undefined : c;
  }

  allChecks(): LocalCheck[] {
    const out: LocalCheck[] = [];
    for (const c of this.checks.values()) if (!c.deleted) out.push(c.check);
    return out.sort((a, b) => (a.checkId < b.checkId ? -1 : a.checkId > b.checkId ? 1 : 0));
  }

  checksForService(serviceId: string, includeNodeChecks: boolean): LocalCheck[] {
    return this.allChecks().filter((c) => c.serviceId === serviceId || (includeNodeChecks && c.serviceId === ""));
  }

  liveServiceCount(): number {
    let n = 0;
    for (const s of this.services.values()) if (!s.deleted) n++;
    return n;
  }

  liveCheckCount(): number {
    let n = 0;
    for (const c of this.checks.values()) if (!c.deleted) n++;
    return n;
  }

  // ---- watches --------------------------------------------------------------------

  watchService(id: string, cb: () => void): () => void {
    let set = this.serviceWatchers.get(id);
    if (set === undefined) this.serviceWatchers.set(id, (set = new Set()));
    set.add(cb);
    return () => {
      const s = this.serviceWatchers.get(id);
      if (s === undefined) return;
      s.delete(cb);
      if (s.size === 0) this.serviceWatchers.delete(id);
    };
  }

  /** Fires on every check change (alias checks). Not one-shot. */
  onAnyCheck(cb: () => void): () => void {
    this.anyCheckWatchers.add(cb);
    return () => this.anyCheckWatchers.delete(cb);
  }

  private fireService(id: string): void {
    if (id === "") return;
    const set = this.serviceWatchers.get(id);
    if (set === undefined) return;
    this.serviceWatchers.delete(id);
    for (const cb of set) cb();
  }

  private fireChecks(): void {
    for (const cb of [...this.anyCheckWatchers]) cb();
  }

  private changed(): void {
    this.opts.onChange();
  }

  // ---- writes ---------------------------------------------------------------------

  addService(service: LocalService, token: string): void {
    this.services.set(service.id, { service, token, inSync: false, deleted: false });
    this.fireService(service.id);
    this.changed();
  }

  removeService(id: string): boolean {
    const s = this.services.get(id);
    if (s === undefined || s.deleted) return false;
    s.deleted = true;
    s.inSync = false;
    this.fireService(id);
    this.changed();
    return true;
  }

  addCheck(check: LocalCheck, token: string): void {
    const prev = this.checks.get(check.checkId);
    if (prev?.deferTimer !== undefined) this.opts.deps.clearTimer(prev.deferTimer);
    const criticalSince =
      check.status === "critical" ? (prev !== undefined && !prev.deleted && prev.criticalSince > 0 ? prev.criticalSince : this.opts.deps.now()) : 0;
    this.checks.set(check.checkId, { check, token, inSync: false, deleted: false, deferTimer: undefined, criticalSince });
    this.fireService(check.serviceId);
    this.fireChecks();
    this.changed();
  }

  removeCheck(id: string): boolean {
    const c = this.checks.get(id);
    if (c === undefined || c.deleted) return false;
    if (c.deferTimer !== undefined) this.opts.deps.clearTimer(c.deferTimer);
    c.deferTimer = undefined;
    c.deleted = true;
    c.inSync = false;
    this.fireService(c.check.serviceId);
    this.fireChecks();
    this.changed();
    return true;
  }

  /** Consul's UpdateCheck: status changes sync at once, output-only changes are deferred. */
  updateCheck(id: string, status: CheckStatus, output: string): void {
    const c = this.checks.get(id);
    if (c === undefined || c.deleted) return;
    if (status === "critical") {
      if (c.criticalSince === 0) c.criticalSince = this.opts.deps.now();
    } else c.criticalSince = 0;
    if (c.check.status === status && c.check.output === output) return;
    const interval = this.opts.checkUpdateIntervalMs;
    if (interval > 0 && c.check.status === status) {
      c.check = { ...c.check, output };
      this.fireService(c.check.serviceId);
      if (c.deferTimer === undefined) {
        const d = interval / 2 + Math.floor(this.opts.deps.random() * interval);
        c.deferTimer = this.opts.deps.setTimer(() => {
          const cur = this.checks.get(id);
          if (cur === undefined || cur !== c) return;
          c.deferTimer = undefined;
          if (c.deleted) return;
          c.inSync = false;
          this.changed();
        }, d);
      }
      return;
    }
    c.check = { ...c.check, status, output };
    c.inSync = false;
    this.fireService(c.check.serviceId);
    this.fireChecks();
    this.changed();
  }

  /** Drop a pending deferred output sync (the next write carries the output anyway). */
  cancelDefer(c: CheckState): void {
    if (c.deferTimer !== undefined) this.opts.deps.clearTimer(c.deferTimer);
    c.deferTimer = undefined;
  }

  /** How long the check has been critical (ms), 0 when it is not. */
  criticalFor(id: string): number {
    const c = this.checks.get(id);
    if (c === undefined || c.deleted || c.criticalSince === 0) return 0;
    return this.opts.deps.now() - c.criticalSince;
  }

  /** Stop every defer timer (shutdown). */
  close(): void {
    for (const c of this.checks.values()) {
      if (c.deferTimer !== undefined) this.opts.deps.clearTimer(c.deferTimer);
      c.deferTimer = undefined;
    }
  }
}
