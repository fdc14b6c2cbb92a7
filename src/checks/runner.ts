/**
 * checks/runner: drives one interval check (HTTP, TCP, UDP, gRPC, script): the first run
 * after a random stagger within one interval, then one run per interval after the
 * previous one finished (never two at once), results through the StatusHandler, and
 * only reported changes to `notify`. The run itself happens elsewhere (`deps.execute`,
 * the worker pool); a run that fails to come back is reported critical.
 *
 * Must never: read clocks, randomness or sockets except through deps.
 */

import type { CheckSpec, CheckStatus, CheckTask, CheckResult } from "./types.ts";
import { checkKind } from "./types.ts";
import { StatusHandler } from "./status.ts";
import { goDurationMs } from "./output.ts";
import { CHECK_DEFAULT_TIMEOUT_MS, CHECK_MIN_INTERVAL_MS, CHECK_SCRIPT_DEFAULT_TIMEOUT_MS } from "../shared/limits.ts";

export interface RunnerDeps {
  /** Uniform in [0, 1). */
  random(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(h: unknown): void;
  /** Runs the task (in the worker pool); rejects when the worker crashed, hung or the queue is full. */
  execute(task: CheckTask, timeoutMs: number): Promise<CheckResult>;
}

/** The effective timeout of an interval check (Consul's per-type defaults). */
export function effectiveTimeoutMs(spec: CheckSpec): number {
  if (spec.timeoutMs > 0) return spec.timeoutMs;
  return checkKind(spec) === "script" ? CHECK_SCRIPT_DEFAULT_TIMEOUT_MS : CHECK_DEFAULT_TIMEOUT_MS;
}

/** The interval actually used: below 1 s is raised to 1 s (Consul's MinInterval). */
export function effectiveIntervalMs(spec: CheckSpec): number {
  return Math.max(spec.intervalMs, CHECK_MIN_INTERVAL_MS);
}

/** The worker task for one run of `spec`; undefined for kinds that do not run in the pool. */
export function taskFor(spec: CheckSpec, maxOutput: number, prevKey: string): CheckTask | undefined {
  const timeoutMs = effectiveTimeoutMs(spec);
  const tls = { tlsSkipVerify: spec.tlsSkipVerify, tlsServerName: spec.tlsServerName };
  switch (checkKind(spec)) {
    case "http":
      return {
        kind: "http",
        url: spec.http,
        method: spec.method === "" ? "GET" : spec.method,
        header: spec.header,
        body: spec.body,
        disableRedirects: spec.disableRedirects,
        timeoutMs,
        maxOutput,
        prevKey,
        ...tls,
      };
    case "tcp":
      return { kind: "tcp", address: spec.tcp, useTls: spec.tcpUseTls, timeoutMs, prevKey, ...tls };
    case "udp":
      return { kind: "udp", address: spec.udp, timeoutMs, prevKey };
    case "grpc":
      return { kind: "grpc", target: spec.grpc, useTls: spec.grpcUseTls, timeoutMs, prevKey, ...tls };
    case "script":
      return { kind: "script", args: spec.scriptArgs, timeoutMs, maxOutput, prevKey };
    default:
      return undefined;
  }
}

/** Output for a run that the main thread had to give up on. */
export function failedRunOutput(spec: CheckSpec, err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  if (err instanceof Error && err.name === "AbortError") {
    return `Timed out (${goDurationMs(effectiveTimeoutMs(spec))}) running check`;
  }
  return `check worker failed: ${msg}`;
}

export class IntervalRunner {
  private readonly spec: CheckSpec;
  private readonly maxOutput: number;
  private readonly deps: RunnerDeps;
  private readonly notify: (status: CheckStatus, output: string) => void;
  private readonly handler: StatusHandler;
  private readonly intervalMs: number;
  private timer: unknown;
  private stopped = true;
  private running = false;
  private last: { status: CheckStatus; output: string; key: string } | undefined;
  /** Completed runs (tests and metrics). */
  runs = 0;

  constructor(spec: CheckSpec, maxOutput: number, deps: RunnerDeps, notify: (status: CheckStatus, output: string) => void) {
    this.spec = spec;
    this.maxOutput = maxOutput;
    this.deps = deps;
    this.notify = notify;
    this.intervalMs = effectiveIntervalMs(spec);
    this.handler = new StatusHandler(spec);
  }

  start(): void {
    this.stopped = false;
    this.schedule(Math.floor(this.deps.random() * this.intervalMs));
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.deps.clearTimer(this.timer);
    this.timer = undefined;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = this.deps.setTimer(() => {
      this.timer = undefined;
      void this.runOnce();
    }, ms);
  }

  /** One run now (exposed for tests); resolves when its result was handled. */
  async runOnce(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const task = taskFor(this.spec, this.maxOutput, this.last?.key ?? "");
      let status: CheckStatus;
      let output: string;
      if (task === undefined) {
        status = "critical";
        output = `check type ${JSON.stringify(checkKind(this.spec))} is not supported by this agent`;
      } else {
        try {
          const r = await this.deps.execute(task, effectiveTimeoutMs(this.spec));
          if (r.same && this.last !== undefined) {
            status = this.last.status;
            output = this.last.output;
          } else if (!r.same) {
            status = r.status;
            output = r.output;
            this.last = { status, output, key: r.key };
          } else {
            status = "critical";
            output = "check worker answered 'same' without a previous result";
          }
        } catch (e) {
          status = "critical";
          output = failedRunOutput(this.spec, e);
          this.last = undefined;
        }
      }
      this.runs++;
      if (this.stopped) return;
      const rep = this.handler.observe(status, output);
      if (rep !== undefined) this.notify(rep.status, rep.output);
    } finally {
      this.running = false;
      this.schedule(this.intervalMs);
    }
  }
}
