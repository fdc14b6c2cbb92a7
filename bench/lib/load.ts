/**
 * bench/lib/load: run one autocannon load in a separate process (load-child.ts) and return its result,
 * updating a progress phase while it runs.
 *
 * Must never: generate load in this process (load and server must not share an event loop,
 * and the orchestrator's own work must not steal from the load generator).
 */

import { HelperProcess } from "./ipc.ts";
import { LOAD_CHILD_SLACK_MS } from "./config.ts";
import type { LoadDoneMsg, LoadProgressMsg, LoadResult, LoadSpec } from "./protocol.ts";
import { phase } from "./progress.ts";

export async function runLoad(label: string, spec: LoadSpec): Promise<LoadResult> {
  const totalMs = spec.durationS * 1000;
  const p = phase(label, Math.round(totalMs / 100) / 10, "s");
  const child = new HelperProcess("bench/lib/load-child.ts", spec, `load ${label}`);
  child.onMessage((m) => {
    if (m.type !== "progress") return;
    const pm = m as LoadProgressMsg;
    const s = Math.min(pm.elapsedMs, totalMs) / 1000;
    p.update(Math.round(s * 10) / 10, `${Math.round(pm.responses / Math.max(0.1, pm.elapsedMs / 1000))} req/s`);
  });
  try {
    const done = (await child.next("done", totalMs + LOAD_CHILD_SLACK_MS)) as LoadDoneMsg;
    const r = done.result;
    const bad = r.non2xx + r.errors > 0 ? `  non2xx=${r.non2xx} errors=${r.errors}` : "";
    p.done(`${Math.round(r.reqPerSec)} req/s  p50 ${fmtMs(r.p50Ms)} ms  p99 ${fmtMs(r.p99Ms)} ms${bad}`);
    return r;
  } catch (e) {
    p.done(`failed: ${e instanceof Error ? e.message : String(e)}`);
    throw e;
  } finally {
    await child.close();
  }
}

export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return "—";
  if (ms < 1) return ms.toFixed(3);
  if (ms < 10) return ms.toFixed(2);
  if (ms < 100) return ms.toFixed(1);
  return Math.round(ms).toString();
}
