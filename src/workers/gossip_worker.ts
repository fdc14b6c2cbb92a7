/**
 * workers/gossip_worker: the thread that owns one gossip pool's sockets (LAN 8301 or WAN
 * 8302) and runs its SWIM/serf timers, so a busy main thread can never make the agent
 * look dead to its peers. Control calls arrive through comlink (GossipWorkerApi);
 * member, user and log events stream to the main thread over the MessagePort passed in
 * workerData. The supervisor (gossip/supervisor.ts) heartbeats it through ping().
 *
 * Must never: touch agent state, or exit the process (the supervisor terminates the thread).
 */

import { parentPort, workerData } from "node:worker_threads";
import type { MessagePort } from "node:worker_threads";
import * as Comlink from "comlink";
import { GossipDriver } from "../gossip/driver.ts";
import { nodeEndpoint } from "../gossip/driver_comlink.ts";
import type { GossipOptions, QueryOptions, QueryResult } from "../gossip/driver_types.ts";
import type { MemberEvent, SerfMember, UserEvent } from "../gossip/serf/core_types.ts";
import type { Coordinate } from "../coordinate/index.ts";

export interface GossipWorkerData {
  options: GossipOptions;
  events: MessagePort;
  /** Forward log lines at or above this level ("none" for none). */
  logLevel: "debug" | "info" | "warn" | "none";
}

/** What the worker posts on the events port. */
export type GossipWorkerEvent =
  | { kind: "ready"; addr: string; port: number }
  | { kind: "failed"; error: string }
  | { kind: "member"; event: MemberEvent }
  | { kind: "user"; event: UserEvent }
  | { kind: "log"; level: "debug" | "info" | "warn"; message: string };

export interface GossipWorkerApi {
  ping(): number;
  members(): Promise<SerfMember[]>;
  join(addrs: string[]): Promise<number>;
  leave(): Promise<void>;
  forceLeave(node: string, prune: boolean): Promise<void>;
  fireEvent(name: string, payload: Uint8Array, coalesce: boolean): Promise<void>;
  query(name: string, payload: Uint8Array, opts: QueryOptions): Promise<QueryResult>;
  installKey(key: string): Promise<void>;
  useKey(key: string): Promise<void>;
  removeKey(key: string): Promise<void>;
  listKeys(): Promise<string[]>;
  coordinate(): Promise<Coordinate>;
  cachedCoordinates(): Promise<Record<string, Coordinate>>;
  close(): Promise<void>;
  /** Test hook: block this thread's event loop (simulates a wedged worker). */
  stall(ms: number): void;
}

const LEVELS = { debug: 0, info: 1, warn: 2, none: 3 } as const;

async function main(): Promise<void> {
  if (parentPort === null) throw new Error("gossip_worker must run as a worker thread");
  const data = workerData as GossipWorkerData;
  const post = (e: GossipWorkerEvent): void => data.events.postMessage(e);
  let driver: GossipDriver;
  try {
    driver = await GossipDriver.start(data.options);
  } catch (e) {
    post({ kind: "failed", error: e instanceof Error ? e.message : String(e) });
    return;
  }
  const min = LEVELS[data.logLevel];
  driver.setLogger((level, message) => {
    if (LEVELS[level] >= min) post({ kind: "log", level, message });
  });
  driver.onMemberEvent((event) => post({ kind: "member", event }));
  driver.onUserEvent((event) => post({ kind: "user", event }));
  const api: GossipWorkerApi = {
    ping: () => Date.now(),
    members: () => driver.members(),
    join: (addrs) => driver.join(addrs),
    leave: () => driver.leave(),
    forceLeave: (node, prune) => driver.forceLeave(node, prune),
    fireEvent: (name, payload, coalesce) => driver.fireEvent(name, payload, coalesce),
    query: (name, payload, opts) => driver.query(name, payload, opts),
    installKey: (k) => driver.installKey(k),
    useKey: (k) => driver.useKey(k),
    removeKey: (k) => driver.removeKey(k),
    listKeys: () => driver.listKeys(),
    coordinate: () => driver.coordinate(),
    cachedCoordinates: () => driver.cachedCoordinates(),
    close: async () => {
      await driver.close();
      data.events.close();
    },
    stall: (ms) => {
      const end = Date.now() + ms;
      while (Date.now() < end) { /* busy on purpose */ }
    },
  };
  Comlink.expose(api, nodeEndpoint(parentPort));
  post({ kind: "ready", addr: driver.addr, port: driver.port });
}

void main();
