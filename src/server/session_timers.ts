/**
 * server/session_timers: the leader's session TTL timers (Consul's session_ttl.go).
 *
 * A session with a TTL is invalidated through the log (a session-destroy command
 * stamped with the leader's clock) when it was not renewed for TTL x 2 (Consul's
 * grace). Renewals never touch the log: they only move the deadline here, so a new
 * leader re-arms every TTL session from the store at TTL x 2 from its start, and
 * an expired session, being destroyed through the log, never comes back.
 *
 * Cost: one min-heap entry per session and a single timer armed for the earliest
 * entry (rounded up to SESSION_TIMER_GRANULARITY_MS so expiries close together share
 * a wake-up). A renewal is a map write; a popped entry whose deadline moved is pushed
 * again, so nothing ever scans all sessions after start. Sessions the FSM destroyed
 * (check critical, node gone, explicit destroy) are dropped from the map at once and
 * their heap entries are skipped when they surface.
 *
 * The same module stamps lock-delays the FSM left pending (invalidations caused by
 * catalog writes carry no time) with a lock-delay-stamp command.
 *
 * Must never: apply anything on a follower; scan all sessions per tick; read a clock
 * or arm timers except through deps.
 */

import type { ApplyResult, CancelWatch, Command } from "../state/types.ts";
import type { SessionEvents, SessionRow } from "../state/session_types.ts";
import { SESSION_TIMER_GRANULARITY_MS, SESSION_TTL_MULTIPLIER } from "../shared/limits.ts";

export interface SessionTimerDeps {
  /** Leader wall clock, ms (it goes into commands). */
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
  /** Go duration text -> ms (undefined when invalid). */
  parseDuration(text: string): number | undefined;
  log(level: "info" | "warn" | "error" | "debug", msg: string): void;
}

/** What the timers need from the server: the store's session view and the write path. */
export interface SessionTimerBackend {
  readonly store: {
    sessionGet(id: string): { readonly value: SessionRow | undefined };
    sessionList(): { readonly value: readonly SessionRow[] };
    lockDelaysPending(): boolean;
    onSessionEvents(cb: (ev: SessionEvents) => void): CancelWatch;
  };
  apply(cmd: Command): Promise<ApplyResult>;
}

interface Entry {
  at: number;
  id: string;
}

/** TTL in ms of a session ("" or 0 = none). */
function ttlMs(s: SessionRow, parse: (t: string) => number | undefined): number {
  if (s.ttl === "" || s.ttl === "0" || s.ttl === "0s") return 0;
  const ms = parse(s.ttl);
  return ms === undefined || ms <= 0 ? 0 : ms;
}

export class SessionTimers {
  private readonly backend: SessionTimerBackend;
  private readonly deps: SessionTimerDeps;
  /** Session ID -> current deadline (ms); the source of truth. */
  private readonly deadlines = new Map<string, number>();
  /** Min-heap by `at`; entries may be stale (deadline moved or session gone). */
  private readonly heap: Entry[] = [];
  private timer: unknown = undefined;
  private timerAt = Infinity;
  private cancelEvents: CancelWatch | undefined;
  private running = false;
  private stamping = false;
  /** Expiries applied (for tests and metrics). */
  expired = 0;
  /** Timer wake-ups (for the benchmark). */
  wakeups = 0;

  constructor(backend: SessionTimerBackend, deps: SessionTimerDeps) {
    this.backend = backend;
    this.deps = deps;
  }

  /** Becoming leader: arm every TTL session at TTL x 2 from now, stamp pending lock-delays. */
  start(): void {
    if (this.running) return;
    this.running = true;
    const now = this.deps.now();
    for (const s of this.backend.store.sessionList().value) this.arm(s, now);
    this.cancelEvents = this.backend.store.onSessionEvents((ev) => this.onEvents(ev));
    this.maybeStamp();
    this.schedule();
  }

  /** Stepping down or shutting down: forget every timer. */
  stop(): void {
    this.running = false;
    this.cancelEvents?.();
    this.cancelEvents = undefined;
    if (this.timer !== undefined) this.deps.clearTimer(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
    this.deadlines.clear();
    this.heap.length = 0;
  }

  /** Session.Renew on the leader: the session's deadline moves to now + TTL x 2. */
  renew(id: string): SessionRow | undefined {
    const s = this.backend.store.sessionGet(id).value;
    if (s === undefined) return undefined;
    if (this.running) {
      this.arm(s, this.deps.now());
      this.schedule();
    }
    return s;
  }

  /** Sessions with a running TTL timer. */
  size(): number {
    return this.deadlines.size;
  }

  /** Heap entries (live and stale), for tests of the bound. */
  heapSize(): number {
    return this.heap.length;
  }

  /** Deadline (ms) of a session's timer, undefined when none. */
  deadlineOf(id: string): number | undefined {
    return this.deadlines.get(id);
  }

  private onEvents(ev: SessionEvents): void {
    for (const id of ev.destroyed) this.deadlines.delete(id);
    if (ev.created.length > 0) {
      const now = this.deps.now();
      for (const s of ev.created) this.arm(s, now);
      this.schedule();
    }
    if (ev.pendingLockDelays) this.maybeStamp();
  }

  private arm(s: SessionRow, now: number): void {
    const ttl = ttlMs(s, this.deps.parseDuration);
    if (ttl === 0) return;
    const at = now + ttl * SESSION_TTL_MULTIPLIER;
    const had = this.deadlines.has(s.id);
    this.deadlines.set(s.id, at);
    // An existing entry surfaces at its old (earlier) time and is pushed again then.
    if (!had) this.push({ at, id: s.id });
  }

  private schedule(): void {
    if (!this.running) return;
    const top = this.heap[0];
    if (top === undefined) return;
    const g = SESSION_TIMER_GRANULARITY_MS;
    const at = Math.ceil(top.at / g) * g;
    if (at >= this.timerAt) return;
    if (this.timer !== undefined) this.deps.clearTimer(this.timer);
    this.timerAt = at;
    this.timer = this.deps.setTimer(() => this.fire(), Math.max(0, at - this.deps.now()));
  }

  private fire(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    if (!this.running) return;
    this.wakeups++;
    const now = this.deps.now();
    const due: string[] = [];
    for (;;) {
      const top = this.heap[0];
      if (top === undefined || top.at > now) break;
      this.pop();
      const d = this.deadlines.get(top.id);
      if (d === undefined) continue; // destroyed meanwhile
      if (d > now) {
        this.push({ at: d, id: top.id });
        continue;
      }
      this.deadlines.delete(top.id);
      due.push(top.id);
    }
    for (const id of due) this.expire(id, now);
    this.schedule();
  }

  private expire(id: string, now: number): void {
    this.expired++;
    this.backend.apply({ type: "session-destroy", id, now }).then(
      () => undefined,
      (e: unknown) => {
        this.deps.log("error", `session: failed to invalidate session ${id}: ${String(e)}`);
        // Try again shortly while still leader (Consul retries invalidation too).
        if (!this.running || this.backend.store.sessionGet(id).value === undefined) return;
        this.deadlines.set(id, now + 1000);
        this.push({ at: now + 1000, id });
        this.schedule();
      },
    );
  }

  private maybeStamp(): void {
    if (!this.running || this.stamping || !this.backend.store.lockDelaysPending()) return;
    this.stamping = true;
    this.backend.apply({ type: "lock-delay-stamp", now: this.deps.now() }).then(
      () => {
        this.stamping = false;
        this.maybeStamp();
      },
      (e: unknown) => {
        this.stamping = false;
        this.deps.log("error", `session: failed to stamp lock-delays: ${String(e)}`);
      },
    );
  }

  // ---- binary min-heap on `at` ----

  private push(e: Entry): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p]!.at <= e.at) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = e;
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop();
    if (last === undefined || h.length === 0) return;
    let i = 0;
    const n = h.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && h[r]!.at < h[l]!.at ? r : l;
      if (h[c]!.at >= last.at) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
  }
}

/** Leader timers per store, so the renew endpoint finds the ones the agent started. */
const registry = new WeakMap<object, SessionTimers>();

export function registerSessionTimers(store: object, timers: SessionTimers | undefined): void {
  if (timers === undefined) registry.delete(store);
  else registry.set(store, timers);
}

export function sessionTimersOf(store: object): SessionTimers | undefined {
  return registry.get(store);
}
