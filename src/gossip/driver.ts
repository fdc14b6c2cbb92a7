/**
 * gossip/driver: runs one gossip pool on real sockets: the SWIM core and the serf layer
 * ticked on the real (monotonic) clock, their effects carried out over one UDP socket
 * and one TCP listener on the same port (memberlist's NetTransport). Packets are framed,
 * compressed, CRC'd, sealed with random nonces and labelled; streams carry the label
 * header once per connection from the dialer, are sealed per message, answer TCP pings
 * and push/pulls (local state first, then merge), obey tcpTimeoutMs, and at most
 * GOSSIP_MAX_CONCURRENT_PUSH_PULLS inbound push/pulls run at once. serf's user state
 * rides in every push/pull. A leave waits for its broadcasts before it returns.
 * Normally runs inside the gossip worker (workers/gossip_worker.ts); tests run it in-thread.
 *
 * Layout: GossipDriver (this file) is the public face: binding, the API, listeners, the
 * clock, leave and close. Its state is a DriverState (driver_state.ts: options, sockets,
 * keyring, both cores, listeners); driver_effects.ts carries out the cores' effects,
 * driver_packets.ts is the UDP side, driver_streams.ts the TCP side (push/pull, TCP
 * pings, inbound streams); driver_net.ts holds the socket helpers and driver_types.ts
 * the options and handle types.
 *
 * Must never: block the event loop, throw out of a socket callback, or keep sockets or
 * timers alive after close().
 */

import dgram from "node:dgram";
import net from "node:net";
import type { Server } from "node:net";
import { lookup } from "node:dns/promises";
import { Buffer } from "node:buffer";
import { CairnError } from "../shared/errors.ts";
import { GOSSIP_DRIVER_TICK_MS, GOSSIP_LEAVE_BROADCAST_TIMEOUT_MS, GOSSIP_UDP_RECV_BUFFER_BYTES } from "../shared/limits.ts";
import type { GossipConfig } from "./config.ts";
import type { SwimCore } from "./core.ts";
import type { Address } from "./core_types.ts";
import { readKeyringFile } from "./keyring_file.ts";
import type { Coordinate } from "../coordinate/index.ts";
import { apply, applySerf } from "./driver_effects.ts";
import { ipBytes } from "./driver_net.ts";
import { onPacket } from "./driver_packets.ts";
import { DriverState, keyBytes, toBytes } from "./driver_state.ts";
import type { StateListener } from "./driver_state.ts";
import { onConnection, pushPull } from "./driver_streams.ts";
import { splitHostPort } from "./driver_types.ts";
import type { GossipHandle, GossipOptions, LogLevel, QueryOptions, QueryResult } from "./driver_types.ts";
import type { SerfCore } from "./serf/core.ts";
import type { IncomingQuery, MemberEvent, SerfMember, UserEvent } from "./serf/core_types.ts";

export type { StateListener } from "./driver_state.ts";

const DEFAULT_PORT = 8301;

/** One gossip pool on real sockets. Create with GossipDriver.start. */
export class GossipDriver implements GossipHandle {
  readonly addr: string;
  readonly port: number;
  readonly config: GossipConfig;
  readonly core: SwimCore;
  readonly serf: SerfCore;
  readonly #d: DriverState;
  readonly #timer: ReturnType<typeof setInterval>;
  #leaving: Promise<void> | null = null;

  private constructor(opts: GossipOptions, udp: dgram.Socket, tcp: Server, addr: string, port: number) {
    this.addr = addr;
    this.port = port;
    const d: DriverState = new DriverState(opts, udp, tcp, addr, port, {
      apply: (effects) => apply(d, effects),
      applySerf: (effects) => applySerf(d, effects),
    });
    this.#d = d;
    this.config = d.config;
    this.core = d.core;
    this.serf = d.serf;
    udp.on("message", (msg, rinfo) => onPacket(d, msg, rinfo));
    udp.on("error", (e) => d.log("warn", `udp error: ${e.message}`));
    tcp.on("connection", (s) => onConnection(d, s));
    tcp.on("error", (e) => d.log("warn", `tcp error: ${e.message}`));
    this.#timer = setInterval(() => this.#tick(), GOSSIP_DRIVER_TICK_MS);
    this.#tick();
  }

  /** Binds UDP and TCP on the same port (port 0: a free one) and starts the clock. */
  static async start(opts: GossipOptions): Promise<GossipDriver> {
    if (opts.keyringFile !== undefined && opts.keyringFile !== "") {
      const fileKeys = await readKeyringFile(opts.keyringFile);
      if (fileKeys !== null) opts = { ...opts, encryptKeys: fileKeys };
    }
    const host = opts.bindAddr ?? "127.0.0.1";
    const want = opts.bindPort ?? DEFAULT_PORT;
    let lastErr: unknown = null;
    for (let attempt = 0; attempt < (want === 0 ? 20 : 1); attempt++) {
      const tcp = net.createServer({ allowHalfOpen: false });
      try {
        await new Promise<void>((resolve, reject) => {
          tcp.once("error", reject);
          tcp.listen({ host, port: want, exclusive: true }, () => (tcp.off("error", reject), resolve()));
        });
      } catch (e) {
        lastErr = e;
        continue;
      }
      const a = tcp.address();
      const port = typeof a === "object" && a !== null ? a.port : want;
      const udp = dgram.createSocket({ type: net.isIPv6(host) ? "udp6" : "udp4", reuseAddr: false });
      try {
        await new Promise<void>((resolve, reject) => {
          udp.once("error", reject);
          udp.bind({ address: host, port, exclusive: true }, () => (udp.off("error", reject), resolve()));
        });
      } catch (e) {
        lastErr = e;
        await new Promise<void>((r) => tcp.close(() => r()));
        try { udp.close(); } catch { /* never bound */ }
        continue;
      }
      try {
        udp.setRecvBufferSize(GOSSIP_UDP_RECV_BUFFER_BYTES);
      } catch {
        // best effort, as memberlist
      }
      return new GossipDriver(opts, udp, tcp, host, port);
    }
    throw new CairnError("unavailable", `gossip: cannot bind ${host}:${want}: ${String(lastErr)}`);
  }

  // ------------------------------------------------------------ API

  async members(): Promise<SerfMember[]> {
    return this.serf.members();
  }

  /** The SWIM core's view (state per node), for tests and diagnostics. */
  nodeStates(): { name: string; state: string; incarnation: number }[] {
    return this.core.allNodes().map((n) => ({ name: n.name, state: n.state, incarnation: n.incarnation }));
  }

  async join(addrs: string[]): Promise<number> {
    this.#assertOpen();
    const errors: string[] = [];
    const results = await Promise.all(addrs.map(async (a) => {
      try {
        const to = await this.#resolve(a);
        await pushPull(this.#d, to, true);
        return true;
      } catch (e) {
        errors.push(`${a}: ${e instanceof Error ? e.message : String(e)}`);
        return false;
      }
    }));
    const n = results.filter((x) => x).length;
    if (n === 0) throw new CairnError("unavailable", `failed to join: ${errors.join("; ")}`);
    applySerf(this.#d, this.serf.broadcastJoin(performance.now()));
    return n;
  }

  leave(): Promise<void> {
    if (this.#leaving === null) this.#leaving = this.#doLeave();
    return this.#leaving;
  }

  async #doLeave(): Promise<void> {
    this.#assertOpen();
    const timeout = this.#d.opts.broadcastTimeoutMs ?? GOSSIP_LEAVE_BROADCAST_TIMEOUT_MS;
    applySerf(this.#d, this.serf.leave(performance.now()));
    if (this.serf.hasAliveMembers()) await this.#waitBroadcasts(timeout);
    const anyAlive = this.core.members().some((m) => m.name !== this.core.name);
    apply(this.#d, this.core.leave(performance.now()));
    if (anyAlive) await this.#waitBroadcasts(timeout);
    await new Promise((r) => setTimeout(r, this.#d.opts.leavePropagateDelayMs ?? 1000));
    this.serf.markLeft();
  }

  async forceLeave(node: string, prune = false): Promise<void> {
    this.#assertOpen();
    applySerf(this.#d, this.serf.forceLeave(performance.now(), node, prune));
  }

  async fireEvent(name: string, payload: Uint8Array | string, coalesce = false): Promise<void> {
    this.#assertOpen();
    applySerf(this.#d, this.serf.userEvent(performance.now(), name, toBytes(payload), coalesce));
  }

  query(name: string, payload: Uint8Array | string, opts: QueryOptions = {}): Promise<QueryResult> {
    this.#assertOpen();
    const { expectResponses, ...params } = opts;
    const { id, effects } = this.serf.query(performance.now(), this.#d.self, name, toBytes(payload), params);
    const p = new Promise<QueryResult>((resolve) => this.#d.queries.set(id, { result: { acks: [], responses: [] }, resolve, expect: expectResponses ?? 0 }));
    applySerf(this.#d, effects);
    return p;
  }

  async installKey(key: string): Promise<void> {
    this.#d.keyring.addKey(keyBytes(key));
    await this.#d.persistKeyring();
  }

  async useKey(key: string): Promise<void> {
    this.#d.keyring.useKey(keyBytes(key));
    await this.#d.persistKeyring();
  }

  async removeKey(key: string): Promise<void> {
    this.#d.keyring.removeKey(keyBytes(key));
    await this.#d.persistKeyring();
  }

  async listKeys(): Promise<string[]> {
    return this.#d.keyring.keys().map((k) => Buffer.from(k).toString("base64"));
  }

  onMemberEvent(cb: (e: MemberEvent) => void): () => void {
    this.#d.memberCbs.add(cb);
    return () => this.#d.memberCbs.delete(cb);
  }

  onUserEvent(cb: (e: UserEvent) => void): () => void {
    this.#d.userCbs.add(cb);
    return () => this.#d.userCbs.delete(cb);
  }

  /** Incoming serf queries; call respond before the query's deadline. */
  onQuery(cb: (q: IncomingQuery, respond: (p: Uint8Array | string) => void) => void): () => void {
    this.#d.queryCbs.add(cb);
    return () => this.#d.queryCbs.delete(cb);
  }

  /** Every SWIM state change (alive/suspect/dead/left) of any node. */
  onStateChange(cb: StateListener): () => void {
    this.#d.stateCbs.add(cb);
    return () => this.#d.stateCbs.delete(cb);
  }

  setLogger(cb: ((level: LogLevel, msg: string) => void) | null): void {
    this.#d.logCb = cb;
  }

  async close(): Promise<void> {
    if (this.#d.closed) return;
    this.#d.closed = true;
    clearInterval(this.#timer);
    for (const s of this.#d.streams) s.destroy();
    this.#d.streams.clear();
    for (const q of this.#d.queries.values()) q.resolve(q.result);
    this.#d.queries.clear();
    await Promise.all([
      new Promise<void>((r) => this.#d.tcp.close(() => r())),
      new Promise<void>((r) => {
        try {
          this.#d.udp.close(() => r());
        } catch {
          r();
        }
      }),
    ]);
    // A keyring change in flight still reaches the disk before close resolves.
    await this.#d.keyringFile?.flush();
  }

  // ------------------------------------------------------------ coordinates and clock

  /** This node's current Vivaldi coordinate (serf's GetCoordinate). */
  async coordinate(): Promise<Coordinate> {
    return this.#d.vivaldi.coordinate;
  }

  /** serf's GetCachedCoordinate for every node heard from (peers' last reported coordinates; this node's current one). */
  async cachedCoordinates(): Promise<Record<string, Coordinate>> {
    const out: Record<string, Coordinate> = Object.fromEntries(this.#d.coordCache);
    out[this.#d.opts.name] = this.#d.vivaldi.coordinate;
    return out;
  }

  #assertOpen(): void {
    if (this.#d.closed) throw new CairnError("unavailable", "gossip pool is closed");
  }

  #tick(): void {
    if (this.#d.closed) return;
    const now = performance.now();
    apply(this.#d, this.core.tick(now));
    applySerf(this.#d, this.serf.tick(now));
  }

  async #waitBroadcasts(timeoutMs: number): Promise<void> {
    const end = performance.now() + timeoutMs;
    while (!this.#d.closed && this.core.pendingBroadcasts() > 0 && performance.now() < end) {
      await new Promise((r) => setTimeout(r, GOSSIP_DRIVER_TICK_MS));
    }
  }

  async #resolve(a: string): Promise<Address> {
    // memberlist resolveAddr: an address without a port takes this pool's own port (WAN: 8302).
    const { host, port } = splitHostPort(a, this.port > 0 ? this.port : DEFAULT_PORT);
    if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new CairnError("bad-request", `bad port in ${a}`);
    const ip = net.isIP(host) ? host : (await lookup(host)).address;
    return { addr: ipBytes(ip), port };
  }
}

/** Runs a gossip pool in this thread (the worker uses this; tests may too). */
export function startGossipInThread(opts: GossipOptions): Promise<GossipDriver> {
  return GossipDriver.start(opts);
}
