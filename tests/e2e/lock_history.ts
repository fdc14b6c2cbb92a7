/**
 * tests/e2e/lock_history: lock traffic against real servers over plain HTTP, recorded as a
 * history for the linearizability checker (tests/sim/linearizability.ts with
 * tests/sim/lock_model.ts): KV `?acquire=` / `?release=` and `?consistent` reads, each with
 * its invocation and completion time (one strictly increasing clock) and its result, or an
 * unknown outcome (timeout, connection refused or reset, any non-200 answer) recorded as
 * "may or may not have taken effect" (no output, completion at Infinity). Contenders also log
 * their hold intervals (acquire returned true → release invoked) for a direct overlap check.
 *
 * Must never: treat a failed or timed-out write as not applied; wait without a bound; start
 * or stop server processes (the test owns them).
 */

import { performance } from "node:perf_hooks";
import type { Operation } from "../sim/linearizability.ts";
import type { LockInput, LockOutput, LockRead } from "../sim/lock_model.ts";
import type { RaftNode } from "./raft_helpers.ts";

export type Outcome<T> = { readonly kind: "ok"; readonly value: T } | { readonly kind: "unknown"; readonly why: string };

export interface Hold {
  readonly client: number;
  readonly key: string;
  readonly session: string;
  /** When the acquire returned true. */
  readonly start: number;
  /** When the release was invoked (Infinity when it never was). */
  end: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function why(e: unknown): string {
  if (e instanceof Error) {
    const cause = (e as { cause?: unknown }).cause;
    const c = cause instanceof Error ? ` (${(cause as { code?: string }).code ?? cause.message})` : "";
    return `${e.name}: ${e.message}${c}`;
  }
  return String(e);
}

/** PUT /v1/kv/<key>?acquire|release=<session>: true/false when answered 200, else unknown. */
export async function lockVerb(n: RaftNode, verb: "acquire" | "release", key: string, session: string, timeoutMs: number): Promise<Outcome<boolean>> {
  try {
    const r = await fetch(`${n.base}/v1/kv/${key}?${verb}=${session}`, { method: "PUT", body: `held-by-${session}`, signal: AbortSignal.timeout(timeoutMs) });
    const body = (await r.text()).trim();
    if (r.status === 200 && (body === "true" || body === "false")) return { kind: "ok", value: body === "true" };
    return { kind: "unknown", why: `${r.status} ${body.slice(0, 120)}` };
  } catch (e) {
    return { kind: "unknown", why: why(e) };
  }
}

/** GET /v1/kv/<key>?consistent: the holder session and LockIndex (404: free, index 0). */
export async function lockRead(n: RaftNode, key: string, timeoutMs: number): Promise<Outcome<LockRead>> {
  try {
    const r = await fetch(`${n.base}/v1/kv/${key}?consistent`, { signal: AbortSignal.timeout(timeoutMs) });
    const body = await r.text();
    if (r.status === 404) return { kind: "ok", value: { session: null, lockIndex: 0 } };
    if (r.status !== 200) return { kind: "unknown", why: `${r.status} ${body.slice(0, 120)}` };
    const pair = (JSON.parse(body) as Array<{ Session?: string; LockIndex: number }>)[0];
    if (pair === undefined) return { kind: "unknown", why: "empty answer" };
    return { kind: "ok", value: { session: pair.Session ?? null, lockIndex: pair.LockIndex } };
  } catch (e) {
    return { kind: "unknown", why: why(e) };
  }
}

export class LockHistory {
  readonly ops: Operation<LockInput, LockOutput>[] = [];
  readonly holds: Hold[] = [];
  readonly unknown: Array<{ op: string; why: string; server: string }> = [];
  private last = 0;

  /** A strictly increasing clock (ms): the checker needs distinct event times. */
  now(): number {
    const t = performance.now();
    this.last = t > this.last ? t : this.last + 1e-6;
    return this.last;
  }

  /** Runs one operation against `n` and records it. */
  async run<O extends LockOutput>(client: number, n: RaftNode, input: LockInput, exec: () => Promise<Outcome<O>>): Promise<{ outcome: Outcome<O>; call: number; ret: number }> {
    const call = this.now();
    const outcome = await exec();
    const ret = this.now();
    if (outcome.kind === "ok") this.ops.push({ client, input, output: outcome.value, call, ret });
    else if (input.op === "read") {
      // A read that failed changed nothing: it is left out.
    } else {
      this.ops.push({ client, input, output: undefined, call, ret: Infinity });
      this.unknown.push({ op: `${input.op} ${input.session}`, why: outcome.why, server: n.name });
    }
    return { outcome, call, ret };
  }
}

/** Pairs of holds on the same key by different sessions that overlap in time. */
export function overlappingHolds(holds: readonly Hold[]): Array<[Hold, Hold]> {
  const bad: Array<[Hold, Hold]> = [];
  const byKey = new Map<string, Hold[]>();
  for (const h of holds) {
    const l = byKey.get(h.key) ?? [];
    l.push(h);
    byKey.set(h.key, l);
  }
  for (const list of byKey.values()) {
    const sorted = [...list].sort((a, b) => a.start - b.start);
    for (let i = 0; i < sorted.length; i++) {
      for (let j = i + 1; j < sorted.length; j++) {
        const a = sorted[i]!;
        const b = sorted[j]!;
        if (b.start >= a.end) break; // sorted by start: no later hold overlaps a either
        if (a.session !== b.session) bad.push([a, b]);
      }
    }
  }
  return bad;
}

export interface ContenderOpts {
  readonly client: number;
  readonly key: string;
  readonly session: string;
  /** Servers to use, preferred first; the list is re-read on every operation. */
  readonly servers: () => readonly RaftNode[];
  readonly history: LockHistory;
  readonly stopped: () => boolean;
  readonly timeoutMs: number;
  /** Bound on release retries after an unknown outcome (ms). */
  readonly releaseDeadlineMs: number;
  /** Random source (tests pass a seeded one). */
  readonly random: () => number;
}

/**
 * One contender: acquire; when it returned true, hold briefly and release; when its outcome
 * is unknown, release without having held (it may hold). A release of unknown outcome is
 * retried (switching servers) until it is answered or the deadline passes. Unknown outcomes
 * move the contender to the next server.
 */
export async function contend(o: ContenderOpts): Promise<{ acquired: number; refused: number }> {
  let rr = 0;
  let acquired = 0;
  let refused = 0;
  const server = (): RaftNode | undefined => {
    const s = o.servers();
    return s.length === 0 ? undefined : s[rr % s.length];
  };
  const releaseUntilAnswered = async (): Promise<void> => {
    const deadline = Date.now() + o.releaseDeadlineMs;
    while (Date.now() < deadline) {
      const n = server();
      if (n === undefined) return;
      const r = await o.history.run(o.client, n, { op: "release", key: o.key, session: o.session }, () => lockVerb(n, "release", o.key, o.session, o.timeoutMs));
      if (r.outcome.kind === "ok") return;
      rr++;
      await sleep(100);
    }
  };
  while (!o.stopped()) {
    const n = server();
    if (n === undefined) {
      await sleep(50);
      continue;
    }
    const r = await o.history.run(o.client, n, { op: "acquire", key: o.key, session: o.session }, () => lockVerb(n, "acquire", o.key, o.session, o.timeoutMs));
    if (r.outcome.kind === "unknown") {
      rr++;
      await releaseUntilAnswered();
    } else if (r.outcome.value) {
      acquired++;
      const hold: Hold = { client: o.client, key: o.key, session: o.session, start: r.ret, end: Infinity };
      o.history.holds.push(hold);
      await sleep(20 + Math.floor(o.random() * 60));
      hold.end = o.history.now();
      await releaseUntilAnswered();
    } else {
      refused++;
      await sleep(10 + Math.floor(o.random() * 40));
    }
  }
  return { acquired, refused };
}
