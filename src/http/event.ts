/**
 * http/event: Consul's user-event endpoints (agent/event_endpoint.go).
 *
 *   PUT /v1/event/fire/<name>?node=&service=&tag=   body = payload (read when Content-Length > 0)
 *   GET /v1/event/list?name=&index=&wait=           the agent's last 256 events, oldest first
 *
 * The list index is derived from the newest matching event's UUID (its two 64-bit halves
 * XORed; 1 when there is none), so it is not monotonic: a blocking list waits while the
 * index equals ?index and answers on any change or when the wait runs out.
 *
 * Must never: let a client fire a reserved ("_") event other than remote exec's, or keep
 * a waiter after its client left.
 */

import { CairnError } from "../shared/errors.ts";
import { EVENT_LIST_MAX_WAIT_MS, EVENT_MAX_SIZE_BYTES } from "../shared/limits.ts";
import { type EventBus, eventIndex, eventJson, REMOTE_EXEC_EVENT, type UserEvent } from "../agent/events.ts";
import type { Env, RequestCtx } from "./context.ts";
import { checkDatacenter, parseGoDuration, parseUint64 } from "./query.ts";
import { jsonReply, type Reply, textReply } from "./respond.ts";

const FIRE_PREFIX = "/v1/event/fire/";

function bus(env: Env): EventBus {
  const b = env.ops?.events;
  if (b === undefined) throw new CairnError("internal", "user events are not available on this agent");
  return b;
}

export async function eventFire(ctx: RequestCtx, env: Env): Promise<Reply> {
  checkDatacenter(ctx.query, env.agent.datacenter);
  const name = ctx.path.startsWith(FIRE_PREFIX) ? ctx.path.slice(FIRE_PREFIX.length) : "";
  if (name === "") return textReply(400, "Missing name");
  if (name.startsWith("_") && name !== REMOTE_EXEC_EVENT) {
    return textReply(400, `Event names starting with '_' are reserved for internal use: ${name}`);
  }
  let payload: Uint8Array | null = null;
  if (ctx.contentLength > 0) {
    const body = await ctx.readBody(EVENT_MAX_SIZE_BYTES);
    if (!body.ok) {
      throw new CairnError("internal", `user event exceeds configured limit of ${EVENT_MAX_SIZE_BYTES} bytes before encoding`);
    }
    payload = body.data;
  }
  const e = bus(env).fire({
    name,
    payload,
    nodeFilter: ctx.query.get("node"),
    serviceFilter: ctx.query.get("service"),
    tagFilter: ctx.query.get("tag"),
  });
  return jsonReply(JSON.stringify(eventJson(e)));
}

interface ListResult {
  readonly events: UserEvent[];
  readonly index: bigint;
}

function runList(b: EventBus, name: string): ListResult {
  let events = b.list();
  if (name !== "") events = events.filter((e) => e.name === name);
  const last = events[events.length - 1];
  // A non-zero index when nothing matches, so watches do not spin.
  return { events, index: last === undefined ? 1n : eventIndex(last.id) };
}

/** Wait for the next event, the deadline or the client leaving; true when an event came. */
function waitOnce(b: EventBus, ctx: RequestCtx, ms: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    let done = false;
    let cancel: () => void = () => undefined;
    const finish = (v: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      cancel();
      resolve(v);
    };
    const timer = setTimeout(() => finish(false), ms);
    cancel = b.waitForChange(() => finish(true));
    if (done) cancel();
    ctx.onAbort(() => finish(false));
  });
}

export async function eventList(ctx: RequestCtx, env: Env): Promise<Reply | undefined> {
  const q = ctx.query;
  let waitMs = 0;
  const w = q.get("wait");
  if (w !== "") {
    const d = parseGoDuration(w);
    if (d === undefined) return textReply(400, "Invalid wait time");
    waitMs = d;
  }
  let minIndex = 0n;
  const idx = q.get("index");
  if (idx !== "") {
    const p = parseUint64(idx);
    if (!p.ok) return textReply(400, "Invalid index");
    minIndex = p.v;
  }
  const b = bus(env);
  const name = q.get("name");
  let r = runList(b, name);
  if (minIndex > 0n && r.index === minIndex) {
    const wait = waitMs <= 0 || waitMs > EVENT_LIST_MAX_WAIT_MS ? EVENT_LIST_MAX_WAIT_MS : waitMs;
    const deadline = env.now() + wait;
    while (r.index === minIndex) {
      const left = deadline - env.now();
      if (left <= 0) break;
      const woke = await waitOnce(b, ctx, left);
      if (ctx.isAborted()) return undefined;
      r = runList(b, name);
      if (!woke) break;
    }
  }
  return jsonReply(JSON.stringify(r.events.map(eventJson)), 200, { "X-Consul-Index": r.index.toString() });
}
