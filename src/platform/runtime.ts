/**
 * platform/runtime: the only place that asks which runtime we are on.
 *
 * Must never: hold product logic; everything here is a thin shim.
 */

import { pathToFileURL } from "node:url";
import { Worker, type WorkerOptions } from "node:worker_threads";
import { isSea, seaWorkerFile } from "./sea.ts";

export { isSea };

interface DenoLike {
  version: { deno: string };
}

const g = globalThis as unknown as { Deno?: DenoLike };

export const isDeno: boolean = typeof g.Deno !== "undefined";

export function runtimeName(): string {
  return isDeno ? `deno ${g.Deno?.version.deno ?? "?"}` : `node ${process.versions.node}`;
}

/**
 * Start a worker from a .ts entry relative to `base` (import.meta.url of the caller).
 * Node 20 under tsx cannot start a .ts worker directly, so a JS bootstrap
 * registers tsx's hooks first; Deno (and Node with native TS) run it as is.
 * In the Node single-executable build entries are embedded .cjs files (see workerUrl).
 */
/** True inside the esbuild bundle that bin/cairn.mjs runs (scripts/bundle.mjs defines it). */
export const isBundled: boolean = (globalThis as unknown as { __CAIRN_BUNDLED__?: boolean }).__CAIRN_BUNDLED__ === true;

/**
 * The URL of a worker entry given as a path relative to the caller's source file
 * (e.g. "../workers/wal_worker.ts"). In the bundle every worker entry is built
 * to dist/run/workers/<name>.mjs, next to the bundled main. In the Node single
 * executable it is <private temp dir>/<name>.cjs, extracted from the embedded assets.
 */
export function workerUrl(rel: string, base: string): URL {
  // Node single executable: worker bundles are embedded (CommonJS) and extracted once
  // to a private temp dir (platform/sea.ts); `base` means nothing there.
  if (isSea) return pathToFileURL(seaWorkerFile(rel.slice(rel.lastIndexOf("/") + 1).replace(/\.ts$/, ".cjs")));
  if (!isBundled) return new URL(rel, base);
  const name = rel.slice(rel.lastIndexOf("/") + 1).replace(/\.ts$/, ".mjs");
  return new URL(`./workers/${name}`, import.meta.url);
}

export function spawnWorker(rel: string, base: string, opts: WorkerOptions = {}): Worker {
  const url = workerUrl(rel, base);
  const features = process.features as unknown as { typescript?: unknown };
  if (isDeno || !url.pathname.endsWith(".ts") || features.typescript) return new Worker(url, opts);
  return new Worker(new URL("./boot.mjs", import.meta.url), {
    ...opts,
    argv: [url.href, ...(opts.argv ?? [])],
  });
}
