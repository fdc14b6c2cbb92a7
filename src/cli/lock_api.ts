/**
 * cli/lock_api: Consul's api.Lock and api.Semaphore (api/lock.go, api/semaphore.go) over
 * HTTP, for `lock`: the same keys, flags, session settings and JSON, so cairn and consul
 * clients can share a lock or a semaphore.
 *
 * Lock: session (TTL 15s, renewed every TTL/2), key <prefix>/.lock with flags
 * 0x2ddccbc058a50c18, blocking reads until the key is free, ?acquire=, then a consistent
 * blocking watch until the key's Session changes. A failed acquire on a free key means a
 * lock-delay: cairn waits until the previous holder's lock-delay has run out (read from its
 * session while it held the key) instead of Consul's fixed 5 s, so hand-over comes right
 * after the delay.
 * Semaphore: session (TTL 15s, behavior delete), contender key <prefix>/<session>, and the
 * coordination key <prefix>/.lock holding {"Limit":N,"Holders":{...}} (flags
 * 0xe0f69a2baa414de0) updated with CAS; dead holders are pruned.
 *
 * Must never: print; wait on a request after stop() (every request takes the abort signal).
 */

import * as http from "node:http";
import { escapePath, parseAddress, type ClientOptions, type Endpoint } from "./http_client.ts";

export const LOCK_FLAG_VALUE = 0x2ddccbc058a50c18n;
export const SEMAPHORE_FLAG_VALUE = 0xe0f69a2baa414de0n;
export const DEFAULT_SEMAPHORE_KEY = ".lock";
export const LOCK_SESSION_TTL = "15s";
const LOCK_SESSION_TTL_MS = 15_000;
const LOCK_WAIT = "15s";
/** api.DefaultLockRetryTime when the holder's lock-delay is unknown (cairn: shorter than Consul's 5 s). */
const LOCK_RETRY_MS = 1000;
/** After the holder's lock-delay should have run out, retry this often (ms) for a little while. */
const LOCK_DELAY_POLL_MS = 5;
const LOCK_DELAY_POLL_TRIES = 200;

export const ERR_LOCK_CONFLICT = "Existing key does not match lock use";
export const ERR_LOCK_IN_USE = "Lock in use";
export const ERR_SEMAPHORE_CONFLICT = "Existing key does not match semaphore use";
export const ERR_SEMAPHORE_IN_USE = "Semaphore in use";

export class LockError extends Error {}

interface Pair {
  Key: string;
  Flags: number | bigint;
  Value: string | null;
  Session?: string;
  LockIndex: number;
  ModifyIndex: number;
}

interface Res {
  status: number;
  text: string;
  index: number;
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done);
  });

/** Flags exactly as uint64 (JSON numbers above 2^53 lose precision in JSON.parse). */
function parsePairs(text: string): Pair[] {
  const fixed = text.replace(/"Flags":\s*(\d+)/g, (_m, d: string) => `"Flags":"${d}"`);
  const arr = JSON.parse(fixed) as Array<Pair & { Flags: string }>;
  return arr.map((p) => ({ ...p, Flags: BigInt(p.Flags) }));
}

/** A small HTTP client whose requests all stop when `signal` aborts. */
export class LockHttp {
  private readonly ep: Endpoint;
  private readonly opts: ClientOptions;
  constructor(opts: ClientOptions) {
    this.opts = opts;
    this.ep = parseAddress(opts.address, opts.ssl);
  }

  request(method: string, path: string, params: Array<[string, string]>, body: string | undefined, signal: AbortSignal): Promise<Res> {
    const all = [...params];
    if (this.opts.datacenter) all.push(["dc", this.opts.datacenter]);
    const q = all.map(([k, v]) => (v === "" ? encodeURIComponent(k) : `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)).join("&");
    const full = escapePath(path) + (q ? "?" + q : "");
    const headers: Record<string, string> = {};
    if (this.opts.token) headers["X-Consul-Token"] = this.opts.token;
    const ep = this.ep;
    const base: http.RequestOptions = { method, path: full, headers, signal };
    const ro: http.RequestOptions = ep.kind === "unix" ? { ...base, socketPath: ep.socketPath } : { ...base, host: ep.host, port: ep.port };
    return new Promise<Res>((resolve, reject) => {
      const req = http.request(ro, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            text: Buffer.concat(chunks).toString("utf8"),
            index: Number(res.headers["x-consul-index"] ?? 0),
          }),
        );
        res.on("error", reject);
      });
      req.on("error", (e: Error & { code?: string }) => {
        reject(new LockError(e.code === "ECONNREFUSED" ? `${method} ${path}: connection refused` : e.message));
      });
      req.end(body);
    });
  }

  async ok(method: string, path: string, params: Array<[string, string]>, body: string | undefined, signal: AbortSignal): Promise<Res> {
    const r = await this.request(method, path, params, body, signal);
    if (r.status !== 200) throw new LockError(`Unexpected response code: ${r.status} (${r.text.trim()})`);
    return r;
  }

  async createSession(name: string, behavior: "release" | "delete", signal: AbortSignal): Promise<string> {
    const r = await this.ok("PUT", "/v1/session/create", [], JSON.stringify({ Name: name, TTL: LOCK_SESSION_TTL, Behavior: behavior }), signal);
    return (JSON.parse(r.text) as { ID: string }).ID;
  }

  async destroySession(id: string, signal: AbortSignal): Promise<void> {
    await this.ok("PUT", "/v1/session/destroy/" + id, [], undefined, signal);
  }

  /** GET one key; undefined when absent. */
  async get(key: string, params: Array<[string, string]>, signal: AbortSignal): Promise<{ pair: Pair | undefined; index: number }> {
    const r = await this.request("GET", "/v1/kv/" + key, params, undefined, signal);
    if (r.status === 404) return { pair: undefined, index: r.index };
    if (r.status !== 200) throw new LockError(`Unexpected response code: ${r.status} (${r.text.trim()})`);
    return { pair: parsePairs(r.text)[0], index: r.index };
  }

  async list(prefix: string, params: Array<[string, string]>, signal: AbortSignal): Promise<{ pairs: Pair[]; index: number }> {
    const r = await this.request("GET", "/v1/kv/" + prefix, [["recurse", ""], ...params], undefined, signal);
    if (r.status === 404) return { pairs: [], index: r.index };
    if (r.status !== 200) throw new LockError(`Unexpected response code: ${r.status} (${r.text.trim()})`);
    return { pairs: parsePairs(r.text), index: r.index };
  }

  async put(key: string, params: Array<[string, string]>, body: string, signal: AbortSignal): Promise<boolean> {
    const r = await this.ok("PUT", "/v1/kv/" + key, params, body, signal);
    return r.text.trim() === "true";
  }

  async del(key: string, params: Array<[string, string]>, signal: AbortSignal): Promise<boolean> {
    const r = await this.ok("DELETE", "/v1/kv/" + key, params, undefined, signal);
    return r.text.trim() === "true";
  }
}

export interface LockOptions {
  readonly limit: number;
  readonly prefix: string;
  readonly sessionName: string;
  /** 0 = wait forever; else give up after this many ms (LockTryOnce). */
  readonly waitMs: number;
  readonly monitorRetries: number;
  readonly monitorRetryMs: number;
}

/**
 * One lock or semaphore slot. acquire() resolves true when held (false on timeout or
 * stop); `lost` resolves when a held lock is lost; release() gives it back; cleanup()
 * removes the coordination key when nobody uses it (Lock.Destroy / Semaphore.Destroy).
 */
export class Locker {
  private readonly http: LockHttp;
  private readonly o: LockOptions;
  private session = "";
  private held = false;
  private readonly stopCtl = new AbortController();
  private monitorCtl = new AbortController();
  private renewTimer: ReturnType<typeof setInterval> | undefined;
  private lostResolve: (() => void) | undefined;
  readonly lost: Promise<void>;
  /** Lock-delay (ms) of holders seen, by session. */
  private readonly holderDelay = new Map<string, number>();

  constructor(http: LockHttp, o: LockOptions) {
    this.http = http;
    this.o = o;
    this.lost = new Promise((r) => (this.lostResolve = r));
  }

  get key(): string {
    return joinPath(this.o.prefix, DEFAULT_SEMAPHORE_KEY);
  }

  /** Stop waiting (shutdown): pending requests are aborted. */
  stop(): void {
    this.stopCtl.abort();
  }

  private get signal(): AbortSignal {
    return this.stopCtl.signal;
  }

  private markLost(): void {
    if (!this.held) return;
    this.held = false;
    this.lostResolve?.();
  }

  private startRenew(): void {
    this.renewTimer = setInterval(() => {
      this.http.request("PUT", "/v1/session/renew/" + this.session, [], undefined, this.monitorCtl.signal).then(
        (r) => {
          if (r.status === 404) this.markLost();
        },
        () => undefined,
      );
    }, LOCK_SESSION_TTL_MS / 2);
  }

  async acquire(): Promise<boolean> {
    const deadline = this.o.waitMs > 0 ? Date.now() + this.o.waitMs : Infinity;
    const timeout = this.o.waitMs > 0 ? setTimeout(() => this.stopCtl.abort(), this.o.waitMs) : undefined;
    try {
      this.session = await this.http.createSession(this.o.sessionName, this.o.limit === 1 ? "release" : "delete", this.signal);
      this.startRenew();
      const ok = this.o.limit === 1 ? await this.acquireLock(deadline) : await this.acquireSemaphore(deadline);
      if (!ok) return false;
      this.held = true;
      void this.monitor();
      return true;
    } catch (e) {
      if (this.signal.aborted) return false;
      throw e;
    } finally {
      if (timeout !== undefined) clearTimeout(timeout);
    }
  }

  private async learnDelay(holder: string): Promise<void> {
    if (this.holderDelay.has(holder)) return;
    const r = await this.http.request("GET", "/v1/session/info/" + holder, [], undefined, this.signal);
    if (r.status !== 200) return;
    const s = (JSON.parse(r.text) as Array<{ LockDelay: number }>)[0];
    if (s !== undefined) this.holderDelay.set(holder, Math.min(s.LockDelay / 1e6, 60_000));
  }

  private async acquireLock(deadline: number): Promise<boolean> {
    let index = 0;
    let lastHolder = "";
    let freedAt = 0;
    while (!this.signal.aborted && Date.now() < deadline) {
      const params: Array<[string, string]> = index > 0 ? [["index", String(index)], ["wait", LOCK_WAIT]] : [];
      const { pair, index: idx } = await this.http.get(this.key, params, this.signal);
      if (pair !== undefined && pair.Flags !== LOCK_FLAG_VALUE) throw new LockError(ERR_LOCK_CONFLICT);
      if (pair !== undefined && pair.Session !== undefined && pair.Session !== "" && pair.Session !== this.session) {
        lastHolder = pair.Session;
        await this.learnDelay(lastHolder);
        index = idx;
        freedAt = 0;
        continue;
      }
      if (freedAt === 0) freedAt = Date.now();
      const ok = await this.http.put(this.key, [["acquire", this.session], ["flags", String(LOCK_FLAG_VALUE)]], "", this.signal);
      if (ok) return true;
      // Refused on a free key: a lock-delay is running. Wait until the last holder's delay is over.
      const again = await this.http.get(this.key, [], this.signal);
      if (again.pair?.Session) {
        index = again.index;
        continue;
      }
      const delay = this.holderDelay.get(lastHolder);
      if (delay === undefined) {
        await sleep(LOCK_RETRY_MS, this.signal);
        index = 0;
        continue;
      }
      await sleep(Math.max(0, freedAt + delay - Date.now()), this.signal);
      for (let i = 0; i < LOCK_DELAY_POLL_TRIES && !this.signal.aborted; i++) {
        if (await this.http.put(this.key, [["acquire", this.session], ["flags", String(LOCK_FLAG_VALUE)]], "", this.signal)) return true;
        const cur = await this.http.get(this.key, [], this.signal);
        if (cur.pair?.Session) break;
        await sleep(LOCK_DELAY_POLL_MS, this.signal);
      }
      index = 0;
    }
    return false;
  }

  private contenderKey(): string {
    return joinPath(this.o.prefix, this.session);
  }

  private async acquireSemaphore(deadline: number): Promise<boolean> {
    const made = await this.http.put(this.contenderKey(), [["acquire", this.session], ["flags", String(SEMAPHORE_FLAG_VALUE)]], "", this.signal);
    if (!made) throw new LockError("failed to make contender entry");
    let index = 0;
    while (!this.signal.aborted && Date.now() < deadline) {
      const params: Array<[string, string]> = index > 0 ? [["index", String(index)], ["wait", LOCK_WAIT]] : [];
      const { pairs, index: idx } = await this.http.list(this.o.prefix, params, this.signal);
      const st = this.decodeLock(pairs);
      pruneDeadHolders(st.holders, pairs);
      if (st.holders.size >= this.o.limit) {
        index = idx;
        continue;
      }
      st.holders.add(this.session);
      const ok = await this.http.put(
        this.key,
        [["cas", String(st.modifyIndex)], ["flags", String(SEMAPHORE_FLAG_VALUE)]],
        encodeSemaphore(this.o.limit, st.holders),
        this.signal,
      );
      if (ok) return true;
      index = 0;
    }
    return false;
  }

  private decodeLock(pairs: Pair[]): { holders: Set<string>; modifyIndex: number } {
    const p = pairs.find((x) => x.Key === this.key);
    if (p === undefined) return { holders: new Set(), modifyIndex: 0 };
    if (p.Flags !== SEMAPHORE_FLAG_VALUE) throw new LockError(ERR_SEMAPHORE_CONFLICT);
    let v: { Limit?: number; Holders?: Record<string, boolean> | null };
    try {
      v = JSON.parse(Buffer.from(p.Value ?? "", "base64").toString("utf8")) as typeof v;
    } catch (e) {
      throw new LockError(`lock decoding failed: ${(e as Error).message}`);
    }
    if (v.Limit !== this.o.limit) throw new LockError(`semaphore limit conflict (lock: ${v.Limit ?? 0}, local: ${this.o.limit})`);
    return { holders: new Set(Object.keys(v.Holders ?? {})), modifyIndex: p.ModifyIndex };
  }

  /** Watches the key (lock) or the prefix (semaphore) with consistent reads until the hold is gone. */
  private async monitor(): Promise<void> {
    const signal = this.monitorCtl.signal;
    let index = 0;
    let retries = this.o.monitorRetries;
    while (this.held && !signal.aborted) {
      try {
        const params: Array<[string, string]> = [["consistent", ""]];
        if (index > 0) params.push(["index", String(index)], ["wait", LOCK_WAIT]);
        if (this.o.limit === 1) {
          const { pair, index: idx } = await this.http.get(this.key, params, signal);
          if (pair === undefined || pair.Session !== this.session) return this.markLost();
          index = idx;
        } else {
          const { pairs, index: idx } = await this.http.list(this.o.prefix, params, signal);
          const p = pairs.find((x) => x.Key === this.key);
          if (p === undefined) return this.markLost();
          const v = JSON.parse(Buffer.from(p.Value ?? "", "base64").toString("utf8")) as { Holders?: Record<string, boolean> };
          if (!(v.Holders ?? {})[this.session]) return this.markLost();
          index = idx;
        }
        retries = this.o.monitorRetries;
      } catch {
        if (signal.aborted) return;
        if (retries-- <= 0) return this.markLost();
        await sleep(this.o.monitorRetryMs, signal);
      }
    }
  }

  /** Lock.Unlock / Semaphore.Release, then the session goes. */
  async release(): Promise<void> {
    const wasHeld = this.held;
    this.held = false;
    this.monitorCtl.abort();
    if (this.renewTimer !== undefined) clearInterval(this.renewTimer);
    const signal = new AbortController().signal;
    try {
      if (wasHeld && this.o.limit === 1) {
        await this.http.put(this.key, [["release", this.session], ["flags", String(LOCK_FLAG_VALUE)]], "", signal);
      } else if (this.o.limit > 1 && this.session !== "") {
        for (let i = 0; i < 100; i++) {
          const { pairs } = await this.http.list(this.o.prefix, [], signal);
          const p = pairs.find((x) => x.Key === this.key);
          if (p === undefined) break;
          const st = this.decodeLock(pairs);
          if (!st.holders.has(this.session)) break;
          st.holders.delete(this.session);
          const ok = await this.http.put(
            this.key,
            [["cas", String(st.modifyIndex)], ["flags", String(SEMAPHORE_FLAG_VALUE)]],
            encodeSemaphore(this.o.limit, st.holders),
            signal,
          );
          if (ok) break;
        }
        await this.http.del(this.contenderKey(), [], signal);
      }
    } finally {
      if (this.session !== "") await this.http.destroySession(this.session, signal).catch(() => undefined);
    }
  }

  /** Lock.Destroy / Semaphore.Destroy: remove the .lock key unless it is in use (LockError ERR_*_IN_USE). */
  async cleanup(): Promise<void> {
    const signal = new AbortController().signal;
    if (this.o.limit === 1) {
      const { pair } = await this.http.get(this.key, [], signal);
      if (pair === undefined) return;
      if (pair.Flags !== LOCK_FLAG_VALUE) throw new LockError(ERR_LOCK_CONFLICT);
      if (pair.Session) throw new LockError(ERR_LOCK_IN_USE);
      if (!(await this.http.del(this.key, [["cas", String(pair.ModifyIndex)]], signal))) throw new LockError(ERR_LOCK_IN_USE);
      return;
    }
    const { pairs } = await this.http.list(this.o.prefix, [], signal);
    const p = pairs.find((x) => x.Key === this.key);
    if (p === undefined) return;
    if (p.Flags !== SEMAPHORE_FLAG_VALUE) throw new LockError(ERR_SEMAPHORE_CONFLICT);
    const st = this.decodeLock(pairs);
    pruneDeadHolders(st.holders, pairs);
    if (st.holders.size > 0) throw new LockError(ERR_SEMAPHORE_IN_USE);
    if (!(await this.http.del(this.key, [["cas", String(p.ModifyIndex)]], signal))) throw new LockError(ERR_SEMAPHORE_IN_USE);
  }
}

function pruneDeadHolders(holders: Set<string>, pairs: Pair[]): void {
  const alive = new Set<string>();
  for (const p of pairs) if (p.Session) alive.add(p.Session);
  for (const h of [...holders]) if (!alive.has(h)) holders.delete(h);
}

/** semaphoreLock as Go's json.Marshal writes it (map keys sorted). */
export function encodeSemaphore(limit: number, holders: Set<string>): string {
  const keys = [...holders].sort();
  return `{"Limit":${limit},"Holders":{${keys.map((k) => JSON.stringify(k) + ":true").join(",")}}}`;
}

/** path.Join for the two parts Consul joins. */
export function joinPath(a: string, b: string): string {
  const s = (a + "/" + b).replace(/\/+/g, "/");
  return s.replace(/^\//, "").replace(/\/$/, "");
}
