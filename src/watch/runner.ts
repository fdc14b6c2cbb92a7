/**
 * watch/runner: runs one watch plan as Consul's Plan.Run does: a blocking query at the
 * last index, the handler called when the index moved and the data changed (always on
 * the first answer), exponential back-off on errors (base x failures^2, capped), and
 * Consul's index rules: an unchanged index is no change; a monotonic index that went
 * backwards starts over from 0 (one non-blocking query). Busy loops are refused: after
 * two resets in a row, or when an answer at an unchanged index came back without
 * blocking, or when resets follow each other within 10 reset intervals, the runner waits
 * before asking again.
 *
 * Must never: read clocks, sleep or do I/O except through `deps`; loop without a wait
 * when the agent misbehaves.
 */

import {
  WATCH_RESET_MIN_INTERVAL_MS,
  WATCH_RETRY_BASE_MS,
  WATCH_RETRY_MAX_MS,
} from "../shared/limits.ts";
import type { WatchPlan, WatchQuery } from "./plan.ts";

export interface QueryAnswer {
  readonly status: number;
  readonly body: string;
  readonly index: bigint;
}

export interface RunnerDeps {
  /** The blocking query at `index` (0n: do not block). Rejects on transport errors. */
  query(q: WatchQuery, index: bigint, signal: AbortSignal): Promise<QueryAnswer>;
  /** Resolves after ms, or early when signal aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  now(): number;
  log(level: "debug" | "info" | "warn" | "error", msg: string): void;
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
  readonly resetMinIntervalMs?: number;
}

/** What the handler says: "stop" ends the watch. */
export type HandlerOutcome = "continue" | "stop";
export type WatchHandler = (index: bigint, data: unknown) => Promise<HandlerOutcome> | HandlerOutcome;

/** Consul's back-off: base x failures^2, at most max. */
export function retryDelay(failures: number, baseMs = WATCH_RETRY_BASE_MS, maxMs = WATCH_RETRY_MAX_MS): number {
  return Math.min(maxMs, baseMs * failures * failures);
}

export interface RunStats {
  queries: number;
  errors: number;
  handlerCalls: number;
  resets: number;
}

/** Runs until the handler says stop or `signal` aborts; resolves with counters. */
export async function runPlan(plan: WatchPlan, deps: RunnerDeps, handler: WatchHandler, signal: AbortSignal): Promise<RunStats> {
  const stats: RunStats = { queries: 0, errors: 0, handlerCalls: 0, resets: 0 };
  const resetMin = deps.resetMinIntervalMs ?? WATCH_RESET_MIN_INTERVAL_MS;
  let last: bigint | undefined;
  let lastData: string | undefined;
  let failures = 0;
  let resetsInRow = 0;
  let lastResetAt: number | undefined;
  while (!signal.aborted) {
    const asked = last ?? 0n;
    const started = deps.now();
    let answer: QueryAnswer;
    let error: string | undefined;
    stats.queries++;
    try {
      answer = await deps.query(plan.query, asked, signal);
    } catch (e) {
      if (signal.aborted) break;
      answer = { status: 0, body: "", index: 0n };
      error = e instanceof Error ? e.message : String(e);
    }
    if (signal.aborted) break;
    const shaped = error === undefined ? plan.shape(answer.status, answer.body, last) : undefined;
    if (shaped === undefined || !shaped.ok) {
      failures++;
      stats.errors++;
      last = undefined;
      const retry = retryDelay(failures, deps.retryBaseMs, deps.retryMaxMs);
      deps.log("error", `Watch (type: ${plan.type}) errored: ${error ?? (shaped !== undefined && !shaped.ok ? shaped.error : "")}, retry in ${retry}ms`);
      await deps.sleep(retry, signal);
      continue;
    }
    failures = 0;
    const index = answer.index === 0n ? 1n : answer.index;
    if (last !== undefined && index === last) {
      // Timed out with no change. An agent that answered at once did not block: slow down.
      if (deps.now() - started < resetMin / 10) await deps.sleep(resetMin, signal);
      continue;
    }
    const previous = last;
    if (previous !== undefined && plan.monotonic && index < previous) {
      // The index went backwards (e.g. a snapshot restore): start over without blocking.
      stats.resets++;
      resetsInRow++;
      last = 0n;
      const t = deps.now();
      // A second reset soon after the first means the agent keeps going backwards: wait.
      if (resetsInRow >= 2 || (lastResetAt !== undefined && t - lastResetAt < 10 * resetMin)) await deps.sleep(resetMin, signal);
      lastResetAt = deps.now();
    } else {
      resetsInRow = 0;
      last = index;
    }
    const text = JSON.stringify(shaped.data);
    if (previous !== undefined && text === lastData) continue;
    lastData = text;
    stats.handlerCalls++;
    let outcome: HandlerOutcome;
    try {
      outcome = await handler(index, shaped.data);
    } catch (e) {
      deps.log("error", `Watch (type: ${plan.type}) handler failed: ${e instanceof Error ? e.message : String(e)}`);
      outcome = "continue";
    }
    if (outcome === "stop") break;
  }
  return stats;
}

/** Timers and the clock of this process. */
export const realRunnerTime: Pick<RunnerDeps, "sleep" | "now"> = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal.aborted) {
        resolve();
        return;
      }
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        signal.removeEventListener("abort", done);
        resolve();
      }
      signal.addEventListener("abort", done, { once: true });
    }),
};
