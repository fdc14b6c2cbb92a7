/**
 * gossip/supervisor: the main-thread side of a gossip pool. startGossip spawns the gossip
 * worker (workers/gossip_worker.ts), drives it through comlink, turns the worker's event
 * port into onMemberEvent/onUserEvent callbacks, and heartbeats it: when a heartbeat stays
 * unanswered for heartbeatTimeoutMs (or the worker dies) the worker is terminated and
 * started again on the same port, and it re-joins the members it knew. A stall of the
 * main thread itself is not blamed on the worker.
 *
 * Must never: run gossip timers or sockets on the main thread (except with inProcess,
 * which tests use), or restart more than GOSSIP_WORKER_MAX_RESTARTS times in a row.
 */

import { MessageChannel } from "node:worker_threads";
import type { Worker } from "node:worker_threads";
import * as Comlink from "comlink";
import { CairnError } from "../shared/errors.ts";
import {
  GOSSIP_WORKER_HEARTBEAT_MS,
  GOSSIP_WORKER_HEARTBEAT_TIMEOUT_MS,
  GOSSIP_WORKER_MAX_RESTARTS,
} from "../shared/limits.ts";
import { spawnWorker } from "../platform/runtime.ts";
import { GossipDriver } from "./driver.ts";
import { nodeEndpoint } from "./driver_comlink.ts";
import type { GossipHandle, GossipOptions, LogLevel, QueryOptions, QueryResult } from "./driver_types.ts";
import type { Coordinate } from "../coordinate/index.ts";
import type { MemberEvent, SerfMember, UserEvent } from "./serf/core_types.ts";
import type { GossipWorkerApi, GossipWorkerData, GossipWorkerEvent } from "../workers/gossip_worker.ts";

export interface StartGossipOptions extends GossipOptions {
  /** Run the pool in this thread instead of a worker (tests, tools). */
  inProcess?: boolean;
  heartbeatMs?: number;
  heartbeatTimeoutMs?: number;
  /** Log lines from the pool (worker lines arrive at logLevel and above). */
  log?: (level: LogLevel, message: string) => void;
  logLevel?: LogLevel | "none";
  /** Called after the supervisor restarted a wedged or dead worker. */
  onRestart?: (reason: string) => void;
}

function toBytes(p: Uint8Array | string): Uint8Array {
  return typeof p === "string" ? new TextEncoder().encode(p) : p;
}

interface Running {
  worker: Worker;
  api: Comlink.Remote<GossipWorkerApi>;
  events: import("node:worker_threads").MessagePort;
}

/** A gossip pool living in a supervised worker. */
class SupervisedGossip implements GossipHandle {
  addr = "";
  port = 0;
  readonly #opts: StartGossipOptions;
  readonly #memberCbs = new Set<(e: MemberEvent) => void>();
  readonly #userCbs = new Set<(e: UserEvent) => void>();
  /** Members as last reported (for re-joining after a restart). */
  readonly #known = new Map<string, SerfMember>();
  readonly #joinAddrs = new Set<string>();
  #run: Running | null = null;
  #timer: ReturnType<typeof setInterval> | null = null;
  #pingSince = 0;
  #lastBeat = 0;
  #restarts = 0;
  #restarting: Promise<void> | null = null;
  #closed = false;

  constructor(opts: StartGossipOptions) {
    this.#opts = opts;
  }

  async start(): Promise<void> {
    this.#run = await this.#spawn(this.#opts.bindPort);
    const hb = this.#opts.heartbeatMs ?? GOSSIP_WORKER_HEARTBEAT_MS;
    this.#lastBeat = Date.now();
    this.#timer = setInterval(() => this.#heartbeat(), hb);
    this.#timer.unref?.();
  }

  #spawn(port: number | undefined): Promise<Running> {
    const { port1, port2 } = new MessageChannel();
    // Functions cannot cross into the worker; keep only the pool's own options.
    const { inProcess: _i, heartbeatMs: _h, heartbeatTimeoutMs: _t, log: _l, logLevel: _v, onRestart: _r, ...rest } = this.#opts;
    const options: GossipOptions = { ...rest, bindPort: port };
    const data: GossipWorkerData = { options, events: port2, logLevel: this.#opts.log ? (this.#opts.logLevel ?? "info") : "none" };
    const worker = spawnWorker("../workers/gossip_worker.ts", import.meta.url, { workerData: data, transferList: [port2] });
    const api = Comlink.wrap<GossipWorkerApi>(nodeEndpoint(worker));
    return new Promise<Running>((resolve, reject) => {
      let ready = false;
      port1.on("message", (m: GossipWorkerEvent) => {
        switch (m.kind) {
          case "ready":
            ready = true;
            this.addr = m.addr;
            this.port = m.port;
            resolve({ worker, api, events: port1 });
            break;
          case "failed":
            port1.close();
            void worker.terminate();
            reject(new CairnError("unavailable", m.error));
            break;
          case "member":
            this.#known.set(m.event.member.name, m.event.member);
            if (m.event.type === "member-reap") this.#known.delete(m.event.member.name);
            for (const cb of this.#memberCbs) cb(m.event);
            break;
          case "user":
            for (const cb of this.#userCbs) cb(m.event);
            break;
          case "log":
            this.#opts.log?.(m.level, m.message);
            break;
        }
      });
      worker.on("error", (e) => {
        if (!ready) reject(e);
        else void this.#restart(`worker error: ${e.message}`);
      });
      worker.on("exit", (code) => {
        if (!ready) reject(new CairnError("unavailable", `gossip worker exited with ${code} before it was ready`));
        else if (this.#run?.worker === worker && !this.#closed) void this.#restart(`worker exited with ${code}`);
      });
    });
  }

  #heartbeat(): void {
    if (this.#closed || this.#run === null || this.#restarting) return;
    const now = Date.now();
    const hb = this.#opts.heartbeatMs ?? GOSSIP_WORKER_HEARTBEAT_MS;
    const limit = this.#opts.heartbeatTimeoutMs ?? GOSSIP_WORKER_HEARTBEAT_TIMEOUT_MS;
    // If this thread itself was stalled, the worker cannot be blamed for a late answer.
    if (now - this.#lastBeat > 2 * hb && this.#pingSince !== 0) this.#pingSince = now;
    this.#lastBeat = now;
    if (this.#pingSince !== 0) {
      if (now - this.#pingSince > limit) void this.#restart(`no heartbeat answer for ${now - this.#pingSince} ms`);
      return;
    }
    this.#pingSince = now;
    const run = this.#run;
    run.api.ping().then(() => {
      if (this.#run === run) {
        this.#pingSince = 0;
        this.#restarts = 0;
      }
    }, () => undefined);
  }

  #restart(reason: string): Promise<void> {
    if (this.#restarting || this.#closed) return this.#restarting ?? Promise.resolve();
    this.#restarting = (async () => {
      const old = this.#run;
      this.#run = null;
      this.#pingSince = 0;
      if (++this.#restarts > GOSSIP_WORKER_MAX_RESTARTS) {
        this.#opts.log?.("warn", `gossip worker: giving up after ${GOSSIP_WORKER_MAX_RESTARTS} restarts (${reason})`);
        return;
      }
      this.#opts.log?.("warn", `gossip worker restarting: ${reason}`);
      if (old) {
        old.events.close();
        await old.worker.terminate();
      }
      // Same port, so peers find us where they knew us; retry while the old sockets go away.
      let run: Running | null = null;
      for (let i = 0; i < 20 && run === null && !this.#closed; i++) {
        try {
          run = await this.#spawn(this.port);
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      if (run === null) return;
      if (this.#closed) {
        await run.worker.terminate();
        return;
      }
      this.#run = run;
      const peers = [...this.#known.values()]
        .filter((m) => m.name !== this.#opts.name && m.status === "alive")
        .map((m) => (m.addr.includes(":") ? `[${m.addr}]:${m.port}` : `${m.addr}:${m.port}`));
      const addrs = [...new Set([...peers, ...this.#joinAddrs])];
      if (addrs.length > 0) await run.api.join(addrs).catch(() => 0);
      this.#opts.onRestart?.(reason);
    })().finally(() => {
      this.#restarting = null;
    });
    return this.#restarting;
  }

  async #api(): Promise<Comlink.Remote<GossipWorkerApi>> {
    if (this.#closed) throw new CairnError("unavailable", "gossip pool is closed");
    if (this.#restarting) await this.#restarting;
    if (this.#run === null) throw new CairnError("unavailable", "gossip worker is not running");
    return this.#run.api;
  }

  async members(): Promise<SerfMember[]> {
    return (await this.#api()).members();
  }

  async join(addrs: string[]): Promise<number> {
    for (const a of addrs) this.#joinAddrs.add(a);
    return (await this.#api()).join(addrs);
  }

  async leave(): Promise<void> {
    await (await this.#api()).leave();
  }

  async forceLeave(node: string, prune = false): Promise<void> {
    await (await this.#api()).forceLeave(node, prune);
  }

  async fireEvent(name: string, payload: Uint8Array | string, coalesce = false): Promise<void> {
    await (await this.#api()).fireEvent(name, toBytes(payload), coalesce);
  }

  async query(name: string, payload: Uint8Array | string, opts: QueryOptions = {}): Promise<QueryResult> {
    return (await this.#api()).query(name, toBytes(payload), opts);
  }

  async installKey(key: string): Promise<void> {
    await (await this.#api()).installKey(key);
  }

  async useKey(key: string): Promise<void> {
    await (await this.#api()).useKey(key);
  }

  async removeKey(key: string): Promise<void> {
    await (await this.#api()).removeKey(key);
  }

  async listKeys(): Promise<string[]> {
    return (await this.#api()).listKeys();
  }

  async coordinate(): Promise<Coordinate> {
    return (await this.#api()).coordinate();
  }

  async cachedCoordinates(): Promise<Record<string, Coordinate>> {
    return (await this.#api()).cachedCoordinates();
  }

  onMemberEvent(cb: (e: MemberEvent) => void): () => void {
    this.#memberCbs.add(cb);
    return () => this.#memberCbs.delete(cb);
  }

  onUserEvent(cb: (e: UserEvent) => void): () => void {
    this.#userCbs.add(cb);
    return () => this.#userCbs.delete(cb);
  }

  /** Test hook: wedge the worker's event loop for ms (the heartbeat should restart it). */
  async stallWorkerForTest(ms: number): Promise<void> {
    const api = await this.#api();
    void api.stall(ms);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#restarting) await this.#restarting;
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    const run = this.#run;
    this.#run = null;
    if (run === null) return;
    await Promise.race([run.api.close().catch(() => undefined), new Promise((r) => setTimeout(r, 2000))]);
    run.api[Comlink.releaseProxy]();
    run.events.close();
    await run.worker.terminate();
  }
}

export type { SupervisedGossip };

/**
 * Starts a gossip pool (LAN or WAN; call once per pool) and resolves once its sockets are
 * bound. By default the pool runs in a supervised worker; inProcess runs it in this thread.
 */
export async function startGossip(opts: StartGossipOptions): Promise<GossipHandle & { stallWorkerForTest?: (ms: number) => Promise<void> }> {
  if (opts.inProcess) {
    const d = await GossipDriver.start(opts);
    if (opts.log) d.setLogger(opts.log);
    return d;
  }
  const s = new SupervisedGossip(opts);
  await s.start();
  return s;
}
