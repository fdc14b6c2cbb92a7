/**
 * bench/lib/bq: blocking-query scenarios built from helper processes — park watchers on distinct
 * keys around a caller-supplied measurement, and the one-key fan-out (PUT -> wake all) with a
 * low-rate probe measuring other GETs' latency during the wake-up.
 *
 * Must never: run watchers, probe or load in the orchestrating process.
 */

import { HelperProcess } from "./ipc.ts";
import { sleep, type Endpoint } from "./http.ts";
import {
  BQ_PARK_WINDOW, BQ_SETTLE_BASE_MS, BQ_SETTLE_PER_WATCHER_MS, BQ_WAIT, BQ_WAKE_TIMEOUT_MS, PROBE_INTERVAL_MS, PROBE_MARGIN_MS,
} from "./config.ts";
import type { FiredMsg, ParkedMsg, ProbeSamplesMsg, ProbeSpec, ReleasedMsg, WatchersSpec } from "./protocol.ts";
import { phase } from "./progress.ts";

const PARK_TIMEOUT_MS = 180_000;

function watchersSpec(ep: Endpoint, mode: WatchersSpec["mode"], n: number, keyPrefix: string): WatchersSpec {
  return {
    host: ep.host,
    port: ep.port,
    mode,
    n,
    keyPrefix,
    wait: BQ_WAIT,
    settleMs: BQ_SETTLE_BASE_MS + Math.round(n * BQ_SETTLE_PER_WATCHER_MS),
    window: BQ_PARK_WINDOW,
    wakeTimeoutMs: BQ_WAKE_TIMEOUT_MS,
  };
}

export interface ParkedAround<T> {
  readonly parked: ParkedMsg;
  readonly result: T;
  /** watchers answered before they should have been (while the measurement ran) */
  readonly early: number;
}

/** Park `n` watchers on keys `${prefix}0..n-1` (which must exist), run `during`, then release them. */
export async function withParkedWatchers<T>(ep: Endpoint, n: number, prefix: string, during: () => Promise<T>): Promise<ParkedAround<T>> {
  const w = new HelperProcess("bench/lib/watchers-child.ts", watchersSpec(ep, "distinct", n, prefix), "watchers");
  try {
    const p = phase(`park ${n} watchers (distinct keys)`, 1, "");
    w.send({ type: "park" });
    const parked = (await w.next("parked", PARK_TIMEOUT_MS)) as ParkedMsg;
    p.done(`${Math.round(parked.parkMs)} ms, errors ${parked.errors}, early ${parked.early}${parked.firstError ? ` (${parked.firstError})` : ""}`);
    const result = await during();
    w.send({ type: "release" });
    const released = (await w.next("released", 30_000)) as ReleasedMsg;
    return { parked, result, early: released.early };
  } finally {
    await w.close();
  }
}

export interface FanoutRound {
  readonly parked: ParkedMsg;
  readonly fired: FiredMsg;
  /** probe latencies (ms) of GETs in flight at any time during the wake-up */
  readonly probeDuring: number[];
  /** probe latencies before the PUT */
  readonly probeBefore: number[];
  readonly probeErrors: number;
}

export interface FanoutResult {
  readonly rounds: FanoutRound[];
  readonly wakeAllMedianMs: number;
  readonly probeDuringP99Ms: number;
  readonly probeDuringSamples: number;
  readonly probeBeforeP99Ms: number;
  readonly allWoken: boolean;
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))] ?? Number.NaN;
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** `rounds` x (park n watchers on `key`, PUT it, time until all are answered), with a probe on `probePrefix`. */
export async function fanout(label: string, ep: Endpoint, n: number, key: string, rounds: number, probe: { prefix: string; keys: number }): Promise<FanoutResult> {
  const w = new HelperProcess("bench/lib/watchers-child.ts", watchersSpec(ep, "one", n, key), "watchers");
  const probeSpec: ProbeSpec = { host: ep.host, port: ep.port, keyPrefix: probe.prefix, keys: probe.keys, intervalMs: PROBE_INTERVAL_MS };
  const pr = new HelperProcess("bench/lib/probe-child.ts", probeSpec, "probe");
  const out: FanoutRound[] = [];
  const p = phase(`${label}: fan-out ${n} on 1 key`, rounds, "rounds");
  try {
    for (let r = 1; r <= rounds; r++) {
      w.send({ type: "park" });
      const parked = (await w.next("parked", PARK_TIMEOUT_MS)) as ParkedMsg;
      if (parked.errors > 0) throw new Error(`parking: ${parked.errors} errors (${parked.firstError})`);
      pr.send({ type: "start" });
      await sleep(PROBE_MARGIN_MS);
      w.send({ type: "fire", value: `round-${r}` });
      const fired = (await w.next("fired", BQ_WAKE_TIMEOUT_MS + 30_000)) as FiredMsg;
      await sleep(PROBE_MARGIN_MS);
      pr.send({ type: "stop" });
      const s = (await pr.next("samples", 30_000)) as ProbeSamplesMsg;
      const during: number[] = [];
      const before: number[] = [];
      for (const [t, lat] of s.samples) {
        if (lat < 0) continue;
        if (t <= fired.tEndMs && t + lat >= fired.tPutMs) during.push(lat);
        else if (t + lat < fired.tPutMs) before.push(lat);
      }
      out.push({ parked, fired, probeDuring: during, probeBefore: before, probeErrors: s.errors });
      p.update(r, `wake-all ${Math.round(fired.wakeAllMs)} ms, woken ${fired.woken}/${n}`);
    }
  } finally {
    await Promise.all([w.close(), pr.close()]);
  }
  const res: FanoutResult = {
    rounds: out,
    wakeAllMedianMs: median(out.map((o) => o.fired.wakeAllMs)),
    probeDuringP99Ms: percentile(out.flatMap((o) => o.probeDuring), 99),
    probeDuringSamples: out.reduce((a, o) => a + o.probeDuring.length, 0),
    probeBeforeP99Ms: percentile(out.flatMap((o) => o.probeBefore), 99),
    allWoken: out.every((o) => !o.fired.timedOut && o.fired.ok === n - o.parked.early),
  };
  p.done(`wake-all median ${Math.round(res.wakeAllMedianMs)} ms (${out.map((o) => Math.round(o.fired.wakeAllMs)).join("/")}), probe p99 during wake ${res.probeDuringP99Ms.toFixed(1)} ms over ${res.probeDuringSamples} samples`);
  return res;
}
