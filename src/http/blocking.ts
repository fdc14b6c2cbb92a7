/**
 * http/blocking: Consul blocking queries (long polling on ?index=N&wait=D).
 *
 * index 0/absent answers at once. Otherwise the query runs; when its index is above the
 * client's it answers, else the request parks on the watch the query names (store
 * watchKey/watchPrefix) with a timer of min(wait or default, max) plus jitter in
 * [0, wait/16). A fired watch re-runs the query and keeps waiting while the index has not
 * moved (as Consul does); the timer answers with the current result.
 *
 * Fan-out: wakes go through one queue drained a chunk at a time (setImmediate between
 * chunks) so thousands of woken requests never hold the event loop, a query re-run is
 * shared by every request of the same query within a chunk, and each (query, index) is
 * rendered once into a shared immutable body (a bounded cache).
 *
 * A query that names a generation (the catalog's, which moves on every catalog write) is not
 * run again while the generation stands still and its cached body is there: a read then
 * costs a map lookup, however large the catalog.
 *
 * Must never: loop over all parked requests on a write, keep a request parked after its
 * client left, or report an index of 0.
 */

import type { CancelWatch, Indexed } from "../state/types.ts";
import { CairnError } from "../shared/errors.ts";
import {
  BLOCKING_DEFAULT_WAIT_MS,
  BLOCKING_JITTER_FRACTION,
  BLOCKING_MAX_WAIT_MS,
  BLOCKING_WAKE_CHUNK,
  HTTP_RENDER_CACHE_BYTES,
  HTTP_RENDER_CACHE_ENTRIES,
  MAX_PARKED_WATCHERS,
} from "../shared/limits.ts";

export interface BlockingDeps {
  now(): number;
  /** Uniform in [0, 1). */
  random(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
  /** Run fn after pending I/O (setImmediate). */
  defer(fn: () => void): void;
}

export const realBlockingDeps: BlockingDeps = {
  now: () => Date.now(),
  random: () => Math.random(),
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
  defer: (fn) => void setImmediate(fn),
};

/** A query as the blocking engine sees it. `R` is what one render produces (a response body). */
export interface BlockingQuery<T, R> {
  /** Identifies the query (not the index): equal keys render equal results for equal indexes. */
  readonly key: string;
  run(): Indexed<T>;
  watch(cb: () => void): CancelWatch;
  render(value: T, index: number): R;
  /** Byte size of a rendered result, for the cache bound. */
  sizeOf(r: R): number;
  /**
   * When set: a number that moves whenever run() could return something else. While it stands
   * still the cached body answers without a run. Only for queries that read nothing else.
   */
  readonly generation?: () => number;
}

export interface BlockingResult<R> {
  /** Index to report: never 0. */
  readonly index: number;
  readonly rendered: R;
}

/** A request waiting for its query's index to move. */
interface Parked {
  readonly q: BlockingQuery<unknown, unknown>;
  readonly minIndex: number;
  readonly resolve: (r: BlockingResult<unknown> | undefined) => void;
  cancelWatch: CancelWatch | undefined;
  timer: unknown;
  done: boolean;
}

/** Timer for a blocking query: min(wait or default, max) + jitter in [0, wait/16). */
export function blockingTimeout(waitMs: number, random: () => number): number {
  let wait = waitMs > 0 ? waitMs : BLOCKING_DEFAULT_WAIT_MS;
  if (wait > BLOCKING_MAX_WAIT_MS) wait = BLOCKING_MAX_WAIT_MS;
  const jitter = Math.floor(random() * (wait / BLOCKING_JITTER_FRACTION));
  return wait + jitter;
}

interface CacheEntry {
  readonly index: number;
  readonly rendered: unknown;
  readonly size: number;
  /** The query's generation when a run last returned this index (undefined: the query has none). */
  gen: number | undefined;
}

/** A query's current index, with the run's value, or without it when the cached body is current. */
interface Current<T> {
  readonly index: number;
  readonly run: Indexed<T> | undefined;
  readonly gen: number | undefined;
}

export class BlockingEngine {
  private readonly deps: BlockingDeps;
  private readonly maxParked: number;
  private readonly parked = new Set<Parked>();
  private queue: Parked[] = [];
  private head = 0;
  private draining = false;
  private readonly cache = new Map<string, CacheEntry>();
  private cacheBytes = 0;
  /** The cache key touched last (already the most recent). */
  private lastKey: string | undefined;
  /** Number of renders performed (a cache miss each); for tests and metrics. */
  renders = 0;
  /** Number of query runs (a generation hit skips one); for tests. */
  runs = 0;

  constructor(deps: BlockingDeps = realBlockingDeps, maxParked: number = MAX_PARKED_WATCHERS) {
    this.deps = deps;
    this.maxParked = maxParked;
  }

  get parkedCount(): number {
    return this.parked.size;
  }

  /**
   * Answer a query, blocking when minIndex > 0. `onAbort` registers the client-gone hook.
   * Resolves undefined only when the client left while parked.
   */
  serve<T, R>(
    q: BlockingQuery<T, R>,
    minIndex: number,
    waitMs: number,
    onAbort: (cancel: () => void) => void,
  ): Promise<BlockingResult<R> | undefined> {
    const first = this.current(q);
    if (minIndex <= 0 || first.index > minIndex) return Promise.resolve(this.result(q, first));
    if (this.parked.size >= this.maxParked) {
      throw new CairnError("rate-limited", `Too many blocking queries (limit ${this.maxParked})`);
    }
    return new Promise<BlockingResult<R> | undefined>((resolve) => {
      const p: Parked = {
        q: q as BlockingQuery<unknown, unknown>,
        minIndex,
        resolve: resolve as (r: BlockingResult<unknown> | undefined) => void,
        cancelWatch: undefined,
        timer: undefined,
        done: false,
      };
      this.parked.add(p);
      p.cancelWatch = q.watch(() => this.enqueue(p));
      p.timer = this.deps.setTimer(() => {
        p.timer = undefined;
        if (!p.done) this.finish(p, this.current(p.q));
      }, blockingTimeout(waitMs, this.deps.random));
      onAbort(() => this.abort(p));
    });
  }

  /** End every parked query now with its current result (server shutdown). */
  shutdown(): void {
    for (const p of [...this.parked]) if (!p.done) this.finish(p, this.current(p.q));
  }

  private abort(p: Parked): void {
    if (p.done) return;
    this.release(p);
    p.resolve(undefined);
  }

  private release(p: Parked): void {
    p.done = true;
    this.parked.delete(p);
    if (p.cancelWatch) {
      p.cancelWatch();
      p.cancelWatch = undefined;
    }
    if (p.timer !== undefined) {
      this.deps.clearTimer(p.timer);
      p.timer = undefined;
    }
  }

  private finish(p: Parked, r: Current<unknown>): void {
    if (p.done) return;
    this.release(p);
    p.resolve(this.result(p.q, r));
  }

  private enqueue(p: Parked): void {
    // The store fired this watch once; it is no longer registered.
    p.cancelWatch = undefined;
    if (p.done) return;
    this.queue.push(p);
    if (!this.draining) {
      this.draining = true;
      this.deps.defer(() => this.drain());
    }
  }

  private drain(): void {
    const memo = new Map<string, Current<unknown>>();
    const end = Math.min(this.queue.length, this.head + BLOCKING_WAKE_CHUNK);
    for (; this.head < end; this.head++) {
      const p = this.queue[this.head];
      if (p === undefined || p.done) continue;
      let r = memo.get(p.q.key);
      if (r === undefined) {
        r = this.current(p.q);
        memo.set(p.q.key, r);
      }
      if (r.index > p.minIndex) this.finish(p, r);
      else p.cancelWatch = p.q.watch(() => this.enqueue(p)); // index did not move: keep waiting
    }
    if (this.head >= this.queue.length) {
      this.queue = [];
      this.head = 0;
      this.draining = false;
    } else {
      if (this.head > 4096) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      this.deps.defer(() => this.drain());
    }
  }

  /** The cached body's index when the query's generation has not moved since, else a run. */
  private current<T, R>(q: BlockingQuery<T, R>): Current<T> {
    const gen = q.generation?.();
    if (gen !== undefined) {
      const hit = this.cache.get(q.key);
      if (hit !== undefined && hit.gen === gen) return { index: hit.index, run: undefined, gen };
    }
    this.runs++;
    const run = q.run();
    return { index: run.index, run, gen };
  }

  private result<T, R>(q: BlockingQuery<T, R>, r: Current<T>): BlockingResult<R> {
    const index = r.index < 1 ? 1 : r.index;
    const hit = this.cache.get(q.key);
    if (hit !== undefined && hit.index === r.index) {
      if (r.run !== undefined) hit.gen = r.gen; // this run confirmed the body at this generation
      // Refresh recency (not again for the entry refreshed last: a fan-out hits one key
      // thousands of times in a row).
      if (this.lastKey !== q.key) {
        this.cache.delete(q.key);
        this.cache.set(q.key, hit);
        this.lastKey = q.key;
      }
      return { index, rendered: hit.rendered as R };
    }
    // No run (its body was current) but the body has since left the cache: run after all.
    if (r.run === undefined) {
      this.runs++;
      return this.result(q, { ...r, run: q.run() });
    }
    const rendered = q.render(r.run.value, index);
    this.renders++;
    const size = q.sizeOf(rendered);
    if (hit !== undefined) {
      this.cache.delete(q.key);
      this.cacheBytes -= hit.size;
    }
    if (size <= HTTP_RENDER_CACHE_BYTES / 8) {
      this.cache.set(q.key, { index: r.index, rendered, size, gen: r.gen });
      this.lastKey = q.key;
      this.cacheBytes += size;
      while (this.cache.size > HTTP_RENDER_CACHE_ENTRIES || this.cacheBytes > HTTP_RENDER_CACHE_BYTES) {
        const oldest = this.cache.keys().next();
        if (oldest.done) break;
        const e = this.cache.get(oldest.value);
        this.cache.delete(oldest.value);
        if (e) this.cacheBytes -= e.size;
      }
    }
    return { index, rendered };
  }
}
