/**
 * bench/lib: what benches may use — server lifecycle, load in a separate process, blocking-query
 * helpers, progress and Markdown output.
 *
 * Must never: contain logic of its own; it only re-exports.
 */

export * from "./config.ts";
export { baseUrl, consulIndex, forEachLimited, httpRequest, monoMs, sleep } from "./http.ts";
export type { Endpoint, HttpReply } from "./http.ts";
export { HelperProcess, repoRoot } from "./ipc.ts";
export {
  cairnSpec, cpuMsOf, fanoutFloorSpec, freePort, helloSpec, isReady, nodeKvPath, nodeKvSpec, rssOf, startServer, stopServer, target, waitFor, waitReady,
} from "./agent.ts";
export type { ProcRss, Rss, RunningServer, ServerSpec, StopInfo, Target, TargetCaps, TargetName } from "./agent.ts";
export { fmtMs, runLoad } from "./load.ts";
export { note, phase } from "./progress.ts";
export type { Phase } from "./progress.ts";
export { environment, fmtBytes, fmtInt, fmtOk, fmtRatio, headerLine, markdownTable } from "./table.ts";
export type { Environment } from "./table.ts";
export { makeValue } from "./values.ts";
export type * from "./protocol.ts";
export { fanout, median, percentile, withParkedWatchers } from "./bq.ts";
export type { FanoutResult, FanoutRound, ParkedAround } from "./bq.ts";
export { seedKeys } from "./seed.ts";
export type { SeedOptions, SeedResult } from "./seed.ts";
export { fdLimit } from "./limits.ts";
export { dnsperf } from "./dnsperf.ts";
export type { DnsperfOpts, DnsperfResult } from "./dnsperf.ts";
export { discoveryScale, TARGET_DNS_P99_MS, TARGET_SCALE_RATIO } from "./discovery.ts";
export type { DiscoveryOpts } from "./discovery.ts";
