/**
 * checks: the pure core of cairn's health checks — check definitions and their
 * validation, the status counter machine, TTL timers, the interval runner, and the
 * protocol to the check worker (src/workers/checks_worker.ts), which does the I/O.
 *
 * Must never: open sockets, spawn processes, or read clocks except through deps.
 */

export type { CheckSpec, CheckStatus, CheckKind, CheckTask, CheckResult } from "./types.ts";
export { EMPTY_SPEC, checkKind, isEmptySpec, isScriptCheck, resultKey, validateCheckSpec } from "./types.ts";
export { StatusHandler, type Report, type StatusThresholds } from "./status.ts";
export { TtlCheck, type TimerDeps } from "./ttl.ts";
export { TailBuffer, goDurationMs, scriptOutput, truncateHead } from "./output.ts";
export {
  IntervalRunner,
  effectiveIntervalMs,
  effectiveTimeoutMs,
  failedRunOutput,
  taskFor,
  type RunnerDeps,
} from "./runner.ts";
