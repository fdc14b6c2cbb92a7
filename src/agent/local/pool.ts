/**
 * agent/local/pool: the worker pool that runs HTTP, TCP, UDP, gRPC and script checks
 * (piscina over src/workers/checks_worker.ts). Every run is aborted at its timeout plus
 * a grace period, so a wedged worker is terminated and replaced by piscina; a worker
 * that crashes is replaced the same way. The queue is bounded.
 *
 * Must never: run a check on the main thread, or let a run live past its timeout + grace.
 */

import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { Piscina } from "piscina";
import { isDeno, isBundled, workerUrl } from "../../platform/runtime.ts";
import type { CheckResult, CheckTask } from "../../checks/index.ts";
import {
  CHECK_POOL_MAX_QUEUE,
  CHECK_POOL_MAX_THREADS,
  CHECK_POOL_TASKS_PER_WORKER,
  CHECK_WORKER_GRACE_MS,
} from "../../shared/limits.ts";

export interface CheckPool {
  execute(task: CheckTask, timeoutMs: number): Promise<CheckResult>;
  /** Worker threads alive now. */
  threads(): number;
  close(): Promise<void>;
}

export interface PoolOptions {
  readonly maxThreads?: number;
  readonly graceMs?: number;
}

/**
 * Node without native TypeScript loads the .ts task file through piscina's JS worker
 * entry, so the worker needs tsx's hooks registered first (`--import tsx`); under the
 * tsx CLI they are inherited, under `node -r tsx` (tests) they are not.
 */
function workerExecArgv(): string[] | undefined {
  const features = process.features as unknown as { typescript?: unknown };
  if (isDeno || isBundled || features.typescript) return undefined;
  const argv = [...process.execArgv];
  const has = argv.some((a, i) => (a === "--import" || a === "--loader") && /tsx/.test(argv[i + 1] ?? "")) ||
    argv.some((a) => /^--(import|loader)=.*tsx/.test(a));
  if (!has) {
    // tsx's "." export is its ESM loader; resolve the package from here, whatever the cwd.
    const pkg = createRequire(import.meta.url).resolve("tsx/package.json");
    argv.push("--import", pathToFileURL(path.join(path.dirname(pkg), "dist", "loader.mjs")).href);
  }
  return argv;
}

export function createCheckPool(o: PoolOptions = {}): CheckPool {
  const execArgv = workerExecArgv();
  const pool = new Piscina({
    ...(execArgv !== undefined ? { execArgv } : {}),
    filename: workerUrl("../../workers/checks_worker.ts", import.meta.url).href,
    minThreads: 1,
    maxThreads: o.maxThreads ?? CHECK_POOL_MAX_THREADS,
    concurrentTasksPerWorker: CHECK_POOL_TASKS_PER_WORKER,
    maxQueue: CHECK_POOL_MAX_QUEUE,
    idleTimeout: 60_000,
  });
  const grace = o.graceMs ?? CHECK_WORKER_GRACE_MS;
  let closed = false;
  return {
    async execute(task, timeoutMs) {
      if (closed) throw new Error("check pool closed");
      const ac = new AbortController();
      const t = setTimeout(() => ac.abort(), timeoutMs + grace);
      try {
        return (await pool.run(task, { signal: ac.signal })) as CheckResult;
      } finally {
        clearTimeout(t);
      }
    },
    threads: () => pool.threads.length,
    async close() {
      if (closed) return;
      closed = true;
      await pool.destroy();
    },
  };
}
