/**
 * agent/events: Consul user events on this agent (agent/user_event.go). fire() validates
 * and stamps an event (ID, Version 1) and hands it to the transport; receive() is where
 * every delivered event arrives (from the transport, or directly while gossip does not
 * exist): the node/service/tag filters run against this agent, internal events (names
 * starting with "_", e.g. "_rexec") go to their registered handler, the rest enter a ring
 * of the last EVENT_BUFFER_SIZE events and wake /v1/event/list waiters.
 *
 * Gossip will carry events later through setTransport(): fire() then broadcasts, and
 * the gossip layer calls receive() with the serf Lamport time on every member.
 *
 * Must never: do I/O, block, or keep more than EVENT_BUFFER_SIZE events or EVENT_MAX_WAITERS waiters.
 */

import { CairnError } from "../shared/errors.ts";
import { EVENT_BUFFER_SIZE, EVENT_MAX_SIZE_BYTES, EVENT_MAX_WAITERS } from "../shared/limits.ts";

/** The highest user-event version this agent understands (userEventMaxVersion). */
export const USER_EVENT_VERSION = 1;
/** The internal event name of remote execution. */
export const REMOTE_EXEC_EVENT = "_rexec";

export interface UserEvent {
  readonly id: string;
  readonly name: string;
  readonly payload: Uint8Array | null;
  readonly nodeFilter: string;
  readonly serviceFilter: string;
  readonly tagFilter: string;
  readonly version: number;
  /** Lamport time (0 in the answer of fire; set on receipt). */
  readonly ltime: number;
}

export interface FireParams {
  readonly name: string;
  readonly payload: Uint8Array | null;
  readonly nodeFilter: string;
  readonly serviceFilter: string;
  readonly tagFilter: string;
}

export type EventLogFn = (level: "debug" | "info" | "warn" | "error", msg: string) => void;

export interface EventBusDeps {
  readonly nodeName: string;
  /** This agent's services (name and tags) for the service/tag filters. */
  services(): ReadonlyArray<{ readonly service: string; readonly tags: readonly string[] }>;
  newId(): string;
  readonly log: EventLogFn;
}

/**
 * Consul's uuidToUint64: the UUID's first 16 hex digits XOR its last 16, as an unsigned
 * 64-bit index (a bigint: it does not fit a double).
 */
export function eventIndex(id: string): bigint {
  const hex = id.replaceAll("-", "");
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) return 0n;
  return BigInt("0x" + hex.slice(0, 16)) ^ BigInt("0x" + hex.slice(16));
}

/** An event as Consul's JSON shows it (Payload base64 or null). */
export function eventJson(e: UserEvent): Record<string, unknown> {
  return {
    ID: e.id,
    Name: e.name,
    Payload: e.payload === null || e.payload.length === 0 ? null : Buffer.from(e.payload).toString("base64"),
    NodeFilter: e.nodeFilter,
    ServiceFilter: e.serviceFilter,
    TagFilter: e.tagFilter,
    Version: e.version,
    LTime: e.ltime,
  };
}

function compile(pattern: string, what: string): RegExp {
  try {
    return new RegExp(pattern);
  } catch (e) {
    throw new CairnError("internal", `Invalid ${what} filter: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** validateUserEventParams, plus serf's size limit. Errors are CairnErrors (HTTP 500 as Consul). */
export function validateFire(p: FireParams): void {
  if (p.name === "") throw new CairnError("internal", "User event missing name");
  if (p.tagFilter !== "" && p.serviceFilter === "") {
    throw new CairnError("internal", "Cannot provide tag filter without service filter");
  }
  if (p.nodeFilter !== "") compile(p.nodeFilter, "node");
  if (p.serviceFilter !== "") compile(p.serviceFilter, "service");
  if (p.tagFilter !== "") compile(p.tagFilter, "tag");
  const size = Buffer.byteLength(p.name) + (p.payload?.length ?? 0);
  if (size > EVENT_MAX_SIZE_BYTES) {
    throw new CairnError("internal", `user event exceeds configured limit of ${EVENT_MAX_SIZE_BYTES} bytes before encoding`);
  }
}

export type EventTransport = (e: UserEvent) => void;
export type InternalHandler = (e: UserEvent) => void;

export class EventBus {
  private readonly deps: EventBusDeps;
  private readonly ring: (UserEvent | undefined)[] = new Array<UserEvent | undefined>(EVENT_BUFFER_SIZE);
  private next = 0;
  private count = 0;
  private clock = 0;
  private waiters = new Set<() => void>();
  private transport: EventTransport | undefined;
  private readonly internal = new Map<string, InternalHandler>();
  private closed = false;

  constructor(deps: EventBusDeps) {
    this.deps = deps;
  }

  /** Gossip plugs in here; until then events are delivered to this agent only. */
  setTransport(t: EventTransport | undefined): void {
    this.transport = t;
  }

  /** Handle internal events of `name` (e.g. "_rexec"); undefined removes the handler. */
  onInternal(name: string, h: InternalHandler | undefined): void {
    if (h === undefined) this.internal.delete(name);
    else this.internal.set(name, h);
  }

  /** Validates, stamps and sends an event; returns it as the HTTP API answers (LTime 0). */
  fire(p: FireParams): UserEvent {
    validateFire(p);
    const e: UserEvent = {
      id: this.deps.newId(),
      name: p.name,
      payload: p.payload !== null && p.payload.length > 0 ? new Uint8Array(p.payload) : null,
      nodeFilter: p.nodeFilter,
      serviceFilter: p.serviceFilter,
      tagFilter: p.tagFilter,
      version: USER_EVENT_VERSION,
      ltime: 0,
    };
    if (this.transport !== undefined) this.transport(e);
    else this.receive(e, ++this.clock);
    return e;
  }

  /** An event delivered to this agent (with its Lamport time). */
  receive(e: UserEvent, ltime: number): void {
    if (ltime > this.clock) this.clock = ltime;
    const ev: UserEvent = { ...e, ltime };
    if (!this.shouldProcess(ev)) return;
    if (ev.name.startsWith("_")) {
      const h = this.internal.get(ev.name);
      if (h !== undefined) h(ev);
      else if (ev.name === REMOTE_EXEC_EVENT) this.deps.log("info", `ignoring remote exec event (${ev.id}), disabled.`);
      else this.deps.log("debug", `ignoring internal event ${ev.name} (${ev.id})`);
      return;
    }
    this.deps.log("debug", `new event: ${ev.name} (${ev.id})`);
    this.ring[this.next] = ev;
    this.next = (this.next + 1) % EVENT_BUFFER_SIZE;
    if (this.count < EVENT_BUFFER_SIZE) this.count++;
    const ws = this.waiters;
    this.waiters = new Set();
    for (const w of ws) w();
  }

  private shouldProcess(e: UserEvent): boolean {
    if (e.version > USER_EVENT_VERSION) {
      this.deps.log("warn", `Event version ${e.version} may have unsupported features (${e.name})`);
    }
    const re = (pattern: string, what: string): RegExp | undefined => {
      try {
        return new RegExp(pattern);
      } catch (err) {
        this.deps.log("error", `Failed to parse ${what} filter '${pattern}' for event '${e.name}': ${String(err)}`);
        return undefined;
      }
    };
    if (e.nodeFilter !== "") {
      const r = re(e.nodeFilter, "node");
      if (r === undefined || !r.test(this.deps.nodeName)) return false;
    }
    if (e.serviceFilter !== "") {
      const sr = re(e.serviceFilter, "service");
      if (sr === undefined) return false;
      let tr: RegExp | undefined;
      if (e.tagFilter !== "") {
        tr = re(e.tagFilter, "tag");
        if (tr === undefined) return false;
      }
      const found = this.deps.services().some((s) => sr.test(s.service) && (tr === undefined || s.tags.some((t) => tr.test(t))));
      if (!found) return false;
    }
    return true;
  }

  /** The events kept, oldest first. */
  list(): UserEvent[] {
    const out: UserEvent[] = [];
    const start = this.count < EVENT_BUFFER_SIZE ? 0 : this.next;
    for (let i = 0; i < this.count; i++) {
      const e = this.ring[(start + i) % EVENT_BUFFER_SIZE];
      if (e !== undefined) out.push(e);
    }
    return out;
  }

  /** Run cb once on the next received event (or close); returns a cancel function. */
  waitForChange(cb: () => void): () => void {
    if (this.closed) {
      cb();
      return () => undefined;
    }
    if (this.waiters.size >= EVENT_MAX_WAITERS) throw new CairnError("rate-limited", "too many event waiters");
    let fired = false;
    const w = (): void => {
      if (fired) return;
      fired = true;
      cb();
    };
    this.waiters.add(w);
    return () => {
      fired = true;
      this.waiters.delete(w);
    };
  }

  get waiting(): number {
    return this.waiters.size;
  }

  /** Wake every waiter; later waits return at once. */
  close(): void {
    this.closed = true;
    const ws = this.waiters;
    this.waiters = new Set();
    for (const w of ws) w();
  }
}
