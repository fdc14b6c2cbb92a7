/**
 * platform/gc: V8 garbage-collector settings for the agent's latency.
 *
 * Under DNS load the main thread allocates ~1.7 KB per UDP query (most of it in Node's
 * dgram receive and send paths) and V8 scavenges its young generation ~10 times a second,
 * with almost nothing surviving. A parallel scavenge then waits for helper threads that a
 * 2-core machine has to schedule next to the load, and its pause grows from ~0.3 ms to
 * 1-2.5 ms whenever one is descheduled. One thread scavenging a near-empty young
 * generation is cheaper than that hand-off, so the agent turns parallel scavenging off:
 * in alternating whole-agent runs at 36k qps, UDP p99 median 2.46 ms (15 runs) -> 1.32 ms
 * (15 runs) and mean scavenge pause 0.62 -> 0.37 ms.
 * CAIRN_GC_PARALLEL_SCAVENGE=1 keeps V8's default (for comparisons).
 *
 * Must never: change heap or semi-space sizes (a larger young generation measured worse:
 * fewer scavenges, each longer by the ArrayBuffers it has to sweep), or run outside the
 * agent command.
 */

import v8 from "node:v8";

/** Applies the agent's GC flags; returns the flags set (empty when kept at V8's defaults). */
export function tuneGcForLatency(env: Record<string, string | undefined> = process.env): string[] {
  if (env["CAIRN_GC_PARALLEL_SCAVENGE"] === "1") return [];
  const flags = ["--no-parallel-scavenge"];
  for (const f of flags) v8.setFlagsFromString(f);
  return flags;
}
