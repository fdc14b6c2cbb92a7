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
 * Must never: block the event loop, throw out of a socket callback, or keep sockets or
 * timers alive after close().
 */

import { randomBytes } from "node:crypto";
import dgram from "node:dgram";
import type { RemoteInfo } from "node:dgram";
import net from "node:net";
import type { Server, Socket } from "node:net";
import { lookup } from "node:dns/promises";
import { Buffer } from "node:buffer";
import { CairnError } from "../shared/errors.ts";
import {
  GOSSIP_DRIVER_TICK_MS,
  GOSSIP_LEAVE_BROADCAST_TIMEOUT_MS,
  GOSSIP_MAX_CONCURRENT_PUSH_PULLS,
  GOSSIP_MAX_INBOUND_STREAMS,
  GOSSIP_MAX_META_BYTES,
  GOSSIP_UDP_RECV_BUFFER_BYTES,
  SERF_QUERY_RESPONSE_SIZE_LIMIT,
} from "../shared/limits.ts";
import { devConfig, lanConfig, localConfig, wanConfig } from "./config.ts";
import type { GossipConfig } from "./config.ts";
import { SwimCore } from "./core.ts";
import type { Address, Effect } from "./core.ts";
import { Keyring } from "./keyring.ts";
import { KeyringFileWriter, readKeyringFile } from "./keyring_file.ts";
import { encodeCoordinatePayload, decodeCoordinatePayload } from "./coordinate_payload.ts";
import { VivaldiClient, type Coordinate } from "../coordinate/index.ts";
import { framePayloads, openPacket, sealPacket, sealStream } from "./packet.ts";
import type { StreamMessage } from "./packet.ts";
import { decodeFrame, encodeMessage, frameMessages, labelHeader } from "./wire.ts";
import { ipBytes, ipText, readStreamMessage, StreamParser } from "./driver_net.ts";
import type { StreamOpenOptions } from "./driver_net.ts";
import { splitHostPort } from "./driver_types.ts";
import type { GossipHandle, GossipOptions, LogLevel, QueryOptions, QueryResult } from "./driver_types.ts";
import { defaultSerfConfig, SerfCore } from "./serf/core.ts";
import type { IncomingQuery, MemberEvent, SerfEffect, SerfMember, UserEvent } from "./serf/core.ts";
import { encodeTags } from "./serf/messages.ts";
import { mergeRejection } from "./merge.ts";
import { answerKeyQuery, encodeKeyResponse, INTERNAL_QUERY_PREFIX, keyOpOf } from "./serf/keys.ts";

const DEFAULT_PORT = 8301;
/** Bytes of a queryResponse around its payload (type, map keys, LTime, ID, Flags), name excluded. */
const KEY_RESPONSE_ENVELOPE_BYTES = 64;

function baseConfig(o: GossipOptions): GossipConfig {
  switch (o.profile ?? "lan") {
    case "lan": return lanConfig();
    case "wan": return wanConfig();
    case "local": return localConfig();
    case "dev": return devConfig();
  }
}

function toBytes(p: Uint8Array | string): Uint8Array {
  return typeof p === "string" ? new TextEncoder().encode(p) : p;
}

function keyBytes(b64: string): Uint8Array {
  return Uint8Array.from(Buffer.from(b64, "base64"));
}

interface PendingQuery {
  result: QueryResult;
  resolve: (r: QueryResult) => void;
  /** Responses after which the caller is answered early (0: wait for the timeout). */
  expect: number;
}

export type StateListener = (e: { node: string; from: string; to: string }) => void;

/** One gossip pool on real sockets. Create with GossipDriver.start. */
export class GossipDriver implements GossipHandle {
  readonly addr: string;
  readonly port: number;
  readonly config: GossipConfig;
  readonly core: SwimCore;
  readonly serf: SerfCore;
  readonly #opts: GossipOptions;
  readonly #udp: dgram.Socket;
  readonly #tcp: Server;
  readonly #keyring: Keyring;
  /** serf's KeyringFile writer (null: the keyring lives in memory only). */
  readonly #keyringFile: KeyringFileWriter | null;
  readonly #verifyIncoming: boolean;
  readonly #verifyOutgoing: boolean;
  readonly #label: string;
  readonly #self: Address;
  readonly #timer: ReturnType<typeof setInterval>;
  readonly #streams = new Set<Socket>();
  readonly #memberCbs = new Set<(e: MemberEvent) => void>();
  readonly #userCbs = new Set<(e: UserEvent) => void>();
  readonly #queryCbs = new Set<(q: IncomingQuery, respond: (p: Uint8Array | string) => void) => void>();
  readonly #stateCbs = new Set<StateListener>();
  readonly #queries = new Map<number, PendingQuery>();
  #logCb: ((level: LogLevel, msg: string) => void) | null = null;
  #inboundPushPulls = 0;
  /** serf's Vivaldi client: updated from probe RTTs and the peers' ack payloads. */
  readonly #vivaldi = new VivaldiClient();
  /** serf's coordCache: the peers' coordinates from their ack payloads (and this node's own). */
  readonly #coordCache = new Map<string, Coordinate>();
  #refreshAck: () => void = () => {};
  #leaving: Promise<void> | null = null;
  #closed = false;

  private constructor(opts: GossipOptions, udp: dgram.Socket, tcp: Server, addr: string, port: number) {
    this.#opts = opts;
    this.#udp = udp;
    this.#tcp = tcp;
    this.addr = addr;
    this.port = port;
    const keys = (opts.encryptKeys ?? []).map(keyBytes);
    this.#keyring = new Keyring(keys);
    this.#keyringFile = opts.keyringFile === undefined || opts.keyringFile === "" ? null : new KeyringFileWriter(opts.keyringFile);
    this.#verifyIncoming = opts.verifyIncoming ?? true;
    this.#verifyOutgoing = opts.verifyOutgoing ?? true;
    this.#label = opts.label ?? "";
    this.config = { ...baseConfig(opts), ...opts.config, label: this.#label, encryptionEnabled: keys.length > 0 };
    const advAddr = opts.advertiseAddr ?? (addr === "0.0.0.0" || addr === "::" ? "127.0.0.1" : addr);
    this.#self = { addr: ipBytes(advAddr), port: opts.advertisePort ?? port };
    const tags = opts.tags ?? {};
    const meta = encodeTags(tags);
    if (meta.length > GOSSIP_MAX_META_BYTES) throw new CairnError("bad-request", `encoded length of tags exceeds limit of ${GOSSIP_MAX_META_BYTES} bytes`);
    const now = performance.now();
    // serf: acks carry this node's current Vivaldi coordinate; probe RTTs update it.
    let ackPayload = encodeCoordinatePayload(this.#vivaldi.coordinate);
    this.#refreshAck = () => { ackPayload = encodeCoordinatePayload(this.#vivaldi.coordinate); };
    const policy = opts.mergePolicy;
    this.core = new SwimCore(this.config, { name: opts.name, addr: this.#self.addr, port: this.#self.port, meta }, {
      rng: Math.random, ackPayload: () => ackPayload,
      ...(policy === undefined ? {} : { rejectAlive: (node: string, m: Uint8Array | null) => mergeRejection(policy, node, m) }),
    }, now);
    this.serf = new SerfCore({
      ...defaultSerfConfig(opts.name), gossipIntervalMs: this.config.gossipIntervalMs, ...opts.serf, name: opts.name, tags,
    }, { rng: Math.random }, now);
    udp.on("message", (msg, rinfo) => this.#onPacket(msg, rinfo));
    udp.on("error", (e) => this.#log("warn", `udp error: ${e.message}`));
    tcp.on("connection", (s) => this.#onConnection(s));
    tcp.on("error", (e) => this.#log("warn", `tcp error: ${e.message}`));
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
        await this.#pushPull(to, true);
        return true;
      } catch (e) {
        errors.push(`${a}: ${e instanceof Error ? e.message : String(e)}`);
        return false;
      }
    }));
    const n = results.filter((x) => x).length;
    if (n === 0) throw new CairnError("unavailable", `failed to join: ${errors.join("; ")}`);
    this.#applySerf(this.serf.broadcastJoin(performance.now()));
    return n;
  }

  leave(): Promise<void> {
    if (this.#leaving === null) this.#leaving = this.#doLeave();
    return this.#leaving;
  }

  async #doLeave(): Promise<void> {
    this.#assertOpen();
    const timeout = this.#opts.broadcastTimeoutMs ?? GOSSIP_LEAVE_BROADCAST_TIMEOUT_MS;
    this.#applySerf(this.serf.leave(performance.now()));
    if (this.serf.hasAliveMembers()) await this.#waitBroadcasts(timeout);
    const anyAlive = this.core.members().some((m) => m.name !== this.core.name);
    this.#apply(this.core.leave(performance.now()));
    if (anyAlive) await this.#waitBroadcasts(timeout);
    await new Promise((r) => setTimeout(r, this.#opts.leavePropagateDelayMs ?? 1000));
    this.serf.markLeft();
  }

  async forceLeave(node: string, prune = false): Promise<void> {
    this.#assertOpen();
    this.#applySerf(this.serf.forceLeave(performance.now(), node, prune));
  }

  async fireEvent(name: string, payload: Uint8Array | string, coalesce = false): Promise<void> {
    this.#assertOpen();
    this.#applySerf(this.serf.userEvent(performance.now(), name, toBytes(payload), coalesce));
  }

  query(name: string, payload: Uint8Array | string, opts: QueryOptions = {}): Promise<QueryResult> {
    this.#assertOpen();
    const { expectResponses, ...params } = opts;
    const { id, effects } = this.serf.query(performance.now(), this.#self, name, toBytes(payload), params);
    const p = new Promise<QueryResult>((resolve) => this.#queries.set(id, { result: { acks: [], responses: [] }, resolve, expect: expectResponses ?? 0 }));
    this.#applySerf(effects);
    return p;
  }

  async installKey(key: string): Promise<void> {
    this.#keyring.addKey(keyBytes(key));
    await this.#persistKeyring();
  }

  async useKey(key: string): Promise<void> {
    this.#keyring.useKey(keyBytes(key));
    await this.#persistKeyring();
  }

  async removeKey(key: string): Promise<void> {
    this.#keyring.removeKey(keyBytes(key));
    await this.#persistKeyring();
  }

  /** serf writeKeyringFile: the keyring as it is now, on disk before the change is acknowledged. */
  #persistKeyring(): Promise<void> {
    if (this.#keyringFile === null) return Promise.resolve();
    return this.#keyringFile.write(this.#keyring.keys().map((k) => Buffer.from(k).toString("base64")));
  }

  async listKeys(): Promise<string[]> {
    return this.#keyring.keys().map((k) => Buffer.from(k).toString("base64"));
  }

  onMemberEvent(cb: (e: MemberEvent) => void): () => void {
    this.#memberCbs.add(cb);
    return () => this.#memberCbs.delete(cb);
  }

  onUserEvent(cb: (e: UserEvent) => void): () => void {
    this.#userCbs.add(cb);
    return () => this.#userCbs.delete(cb);
  }

  /** Incoming serf queries; call respond before the query's deadline. */
  onQuery(cb: (q: IncomingQuery, respond: (p: Uint8Array | string) => void) => void): () => void {
    this.#queryCbs.add(cb);
    return () => this.#queryCbs.delete(cb);
  }

  /** Every SWIM state change (alive/suspect/dead/left) of any node. */
  onStateChange(cb: StateListener): () => void {
    this.#stateCbs.add(cb);
    return () => this.#stateCbs.delete(cb);
  }

  setLogger(cb: ((level: LogLevel, msg: string) => void) | null): void {
    this.#logCb = cb;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    for (const s of this.#streams) s.destroy();
    this.#streams.clear();
    for (const q of this.#queries.values()) q.resolve(q.result);
    this.#queries.clear();
    await Promise.all([
      new Promise<void>((r) => this.#tcp.close(() => r())),
      new Promise<void>((r) => {
        try {
          this.#udp.close(() => r());
        } catch {
          r();
        }
      }),
    ]);
    // A keyring change in flight still reaches the disk before close resolves.
    await this.#keyringFile?.flush();
  }

  // ------------------------------------------------------------ clock and effects

  /** This node's current Vivaldi coordinate (serf's GetCoordinate). */
  async coordinate(): Promise<Coordinate> {
    return this.#vivaldi.coordinate;
  }

  /** memberlist's MergeDelegate on a join push/pull (serf -> the pool's merge policy): the first refusal, or null. */
  #mergeRejected(nodes: readonly { readonly name: string; readonly meta: Uint8Array | null }[]): string | null {
    const policy = this.#opts.mergePolicy;
    if (policy === undefined) return null;
    const seen = new Map<string, string>();
    for (const n of nodes) {
      if (n.name === this.#opts.name) continue; // this node's own entry in the remote state
      const why = mergeRejection(policy, n.name, n.meta, seen);
      if (why !== null) return why;
    }
    return null;
  }

  /** serf's GetCachedCoordinate for every node heard from (peers' last reported coordinates; this node's current one). */
  async cachedCoordinates(): Promise<Record<string, Coordinate>> {
    const out: Record<string, Coordinate> = Object.fromEntries(this.#coordCache);
    out[this.#opts.name] = this.#vivaldi.coordinate;
    return out;
  }

  /** serf's ping delegate NotifyPingComplete: update our coordinate from the peer's and the RTT. */
  #onPingComplete(node: string, rttMs: number, payload: Uint8Array | null): void {
    const other = decodeCoordinatePayload(payload);
    if (other === undefined) return;
    try {
      this.#vivaldi.update(node, other, Math.max(0, rttMs) / 1000);
      this.#coordCache.set(node, other);
      this.#refreshAck();
    } catch (err) {
      this.#log("debug", `rejected coordinate from ${node}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new CairnError("unavailable", "gossip pool is closed");
  }

  #tick(): void {
    if (this.#closed) return;
    const now = performance.now();
    this.#apply(this.core.tick(now));
    this.#applySerf(this.serf.tick(now));
  }

  async #waitBroadcasts(timeoutMs: number): Promise<void> {
    const end = performance.now() + timeoutMs;
    while (!this.#closed && this.core.pendingBroadcasts() > 0 && performance.now() < end) {
      await new Promise((r) => setTimeout(r, GOSSIP_DRIVER_TICK_MS));
    }
  }

  #apply(effects: Effect[]): void {
    for (const e of effects) {
      switch (e.kind) {
        case "packet": this.#sendPacket(e.to, e.parts, e.crc); break;
        case "push-pull":
          this.#pushPull(e.to, e.join).catch((err: unknown) => this.#log("warn", `push/pull with ${ipText(e.to.addr)}:${e.to.port} failed: ${String(err)}`));
          break;
        case "tcp-ping": this.#tcpPing(e.to, e.ping, e.deadlineMs); break;
        case "member":
          this.#applySerf(this.serf.handleMemberlistEvent(performance.now(), e.event, e.member));
          break;
        case "state":
          for (const cb of this.#stateCbs) this.#safe(() => cb({ node: e.node, from: e.from, to: e.to }));
          break;
        case "user": this.#applySerf(this.serf.handleUserMessage(performance.now(), e.payload)); break;
        case "ping-complete": this.#onPingComplete(e.node, e.rttMs, e.payload); break;
        case "conflict":
          this.#log("warn", `conflicting address for ${e.existing.name}: ${ipText(e.existing.addr)}:${e.existing.port} vs ${ipText(e.other.addr)}:${e.other.port}`);
          break;
        case "log": this.#log(e.level, e.message); break;
      }
    }
  }

  #applySerf(effects: SerfEffect[]): void {
    for (const e of effects) {
      switch (e.kind) {
        case "broadcast": this.core.queueUserBroadcast(e.payload); break;
        case "send": this.#sendPacket(e.to, [encodeMessage({ type: "user", payload: e.payload })], false); break;
        case "member-event": for (const cb of this.#memberCbs) this.#safe(() => cb(e.event)); break;
        case "user-event": for (const cb of this.#userCbs) this.#safe(() => cb(e.event)); break;
        case "query": {
          const q = e.query;
          const respond = (p: Uint8Array | string): void => this.#applySerf(this.serf.respond(performance.now(), q, toBytes(p)));
          if (q.name.startsWith(INTERNAL_QUERY_PREFIX)) {
            this.#safe(() => this.#internalQuery(q, respond));
            break;
          }
          for (const cb of this.#queryCbs) this.#safe(() => cb(q, respond));
          break;
        }
        case "query-ack": this.#queries.get(e.id)?.result.acks.push(e.from); break;
        case "query-response": {
          const q = this.#queries.get(e.id);
          if (q === undefined) break;
          q.result.responses.push({ from: e.from, payload: e.payload });
          if (q.expect > 0 && q.result.responses.length >= q.expect) {
            this.#queries.delete(e.id);
            q.resolve(q.result);
          }
          break;
        }
        case "query-done": {
          const q = this.#queries.get(e.id);
          this.#queries.delete(e.id);
          q?.resolve(q.result);
          break;
        }
        case "reconnect":
          this.#pushPull(e.to, true).then(
            () => this.#log("info", `reconnected to ${e.node}`),
            (err: unknown) => this.#log("debug", `reconnect to ${e.node} failed: ${String(err)}`),
          );
          break;
        case "log": this.#log(e.level, e.message); break;
      }
    }
  }

  /** serf's internal queries: key operations are answered on this node's keyring; ping only acks. */
  #internalQuery(q: IncomingQuery, respond: (p: Uint8Array) => void): void {
    const op = keyOpOf(q.name);
    if (op === null) {
      if (q.name !== INTERNAL_QUERY_PREFIX + "ping") this.#log("warn", `Unhandled internal query '${q.name.slice(INTERNAL_QUERY_PREFIX.length)}'`);
      return;
    }
    this.#log("info", `Received ${q.name.slice(INTERNAL_QUERY_PREFIX.length)} query`);
    const keyring = this.config.encryptionEnabled ? this.#keyring : null;
    // Room for the key response inside a queryResponse under the response size limit.
    const r = answerKeyQuery(op, q.payload, keyring, SERF_QUERY_RESPONSE_SIZE_LIMIT - KEY_RESPONSE_ENVELOPE_BYTES - this.serf.config.name.length);
    if (!r.result) this.#log("warn", `${q.name}: ${r.message || "failed to decode key request"}`);
    if (!r.result || op === "list" || this.#keyringFile === null) {
      respond(encodeKeyResponse(r));
      return;
    }
    // serf handleModifyKeyring: the changed keyring is written before the node answers; a
    // failed write is answered as a failure with its message.
    this.#persistKeyring().then(
      () => undefined,
      (e: unknown) => {
        r.result = false;
        r.message = e instanceof Error ? e.message : String(e);
        this.#log("warn", r.message);
      },
    ).then(() => {
      if (!this.#closed) respond(encodeKeyResponse(r));
    }, () => undefined);
  }

  #safe(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.#log("warn", `listener threw: ${String(e)}`);
    }
  }

  #log(level: LogLevel, msg: string): void {
    if (this.#logCb) this.#safe(() => this.#logCb?.(level, msg));
  }

  async #resolve(a: string): Promise<Address> {
    // memberlist resolveAddr: an address without a port takes this pool's own port (WAN: 8302).
    const { host, port } = splitHostPort(a, this.port > 0 ? this.port : DEFAULT_PORT);
    if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new CairnError("bad-request", `bad port in ${a}`);
    const ip = net.isIP(host) ? host : (await lookup(host)).address;
    return { addr: ipBytes(ip), port };
  }

  // ------------------------------------------------------------ UDP

  #sealKey(): Uint8Array | undefined {
    return this.#verifyOutgoing ? this.#keyring.primaryKey() : undefined;
  }

  #sendPacket(to: Address, parts: Uint8Array[], crc: boolean): void {
    if (this.#closed) return;
    let payloads: Uint8Array[];
    try {
      payloads = framePayloads(parts, { crc, compress: this.config.enableCompression });
    } catch (e) {
      this.#log("warn", `cannot frame packet: ${String(e)}`);
      return;
    }
    const key = this.#sealKey();
    for (const p of payloads) {
      const sealed = sealPacket(p, { label: this.#label, key, nonce: key ? randomBytes(12) : undefined });
      this.#udp.send(sealed, to.port, ipText(to.addr), (err) => {
        if (err) this.#log("debug", `udp send to ${ipText(to.addr)}:${to.port}: ${err.message}`);
      });
    }
  }

  #onPacket(buf: Uint8Array, rinfo: RemoteInfo): void {
    if (this.#closed) return;
    try {
      const { frame } = openPacket(buf, {
        label: this.#label, keys: this.#keyring.keys(), verifyIncoming: this.#verifyIncoming,
      });
      const msgs = frameMessages(decodeFrame(frame));
      const from = { addr: ipBytes(rinfo.address), port: rinfo.port };
      this.#apply(this.core.handlePacket(performance.now(), from, msgs));
    } catch (e) {
      this.#log("debug", `dropping packet from ${rinfo.address}:${rinfo.port}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  // ------------------------------------------------------------ TCP

  #streamOpts(inbound: boolean): StreamOpenOptions {
    return { keys: this.#keyring.keys(), verifyIncoming: this.#verifyIncoming, label: this.#label, expectLabelHeader: inbound };
  }

  #seal(m: StreamMessage): Uint8Array {
    const key = this.#sealKey();
    return sealStream(m, { label: this.#label, key, nonce: key ? randomBytes(12) : undefined, compress: this.config.enableCompression });
  }

  /** Dials, sends the label header + one message, and (if wanted) reads one reply. */
  async #exchange(to: Address, m: StreamMessage, timeoutMs: number, wantReply: boolean): Promise<StreamMessage | null> {
    const sock = net.connect({ host: ipText(to.addr), port: to.port });
    this.#streams.add(sock);
    const deadline = Date.now() + timeoutMs;
    try {
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new CairnError("unavailable", "dial i/o timeout")), timeoutMs);
        sock.once("connect", () => (clearTimeout(t), resolve()));
        sock.once("error", (e) => (clearTimeout(t), reject(e)));
      });
      const head = labelHeader(this.#label);
      const body = this.#seal(m);
      const out = new Uint8Array(head.length + body.length);
      out.set(head);
      out.set(body, head.length);
      sock.write(out);
      if (!wantReply) {
        await new Promise<void>((r) => sock.end(() => r()));
        return null;
      }
      return await readStreamMessage(sock, this.#streamOpts(false), deadline - Date.now());
    } finally {
      this.#streams.delete(sock);
      sock.destroy();
    }
  }

  async #pushPull(to: Address, join: boolean): Promise<void> {
    const msg: StreamMessage = { type: "pushPull", join, nodes: this.core.localState(), userState: this.serf.localState() };
    const reply = await this.#exchange(to, msg, this.config.tcpTimeoutMs, true);
    if (reply === null || this.#closed) return;
    if (reply.type === "err") throw new CairnError("unavailable", `remote error: ${reply.error}`);
    if (reply.type !== "pushPull") throw new CairnError("bad-request", `unexpected reply ${reply.type} to push/pull`);
    const rejected = join ? this.#mergeRejected(reply.nodes) : null;
    if (rejected !== null) throw new CairnError("bad-request", rejected);
    const now = performance.now();
    this.#apply(this.core.mergeRemoteState(now, reply.nodes));
    this.#applySerf(this.serf.mergeRemoteState(now, reply.userState, join));
  }

  #tcpPing(to: Address, ping: StreamMessage & { type: "ping" }, deadlineMs: number): void {
    const timeout = Math.max(1, Math.min(this.config.tcpTimeoutMs, deadlineMs - performance.now()));
    this.#exchange(to, ping, timeout, true).then(
      (r) => {
        const ok = r !== null && r.type === "ack" && r.seqNo === ping.seqNo;
        if (!this.#closed) this.#apply(this.core.tcpPingResult(performance.now(), ping.seqNo, ok));
      },
      () => {
        if (!this.#closed) this.#apply(this.core.tcpPingResult(performance.now(), ping.seqNo, false));
      },
    );
  }

  #onConnection(sock: Socket): void {
    if (this.#closed || this.#streams.size >= GOSSIP_MAX_INBOUND_STREAMS) {
      sock.destroy();
      return;
    }
    this.#streams.add(sock);
    const parser = new StreamParser(this.#streamOpts(true));
    let handled = false;
    const finish = (): void => {
      this.#streams.delete(sock);
      sock.destroy();
    };
    sock.setTimeout(this.config.tcpTimeoutMs, finish);
    sock.on("error", () => finish());
    sock.on("close", () => this.#streams.delete(sock));
    sock.on("data", (d: Uint8Array) => {
      if (handled) return;
      let r;
      try {
        r = parser.push(d);
      } catch (e) {
        handled = true;
        const msg = e instanceof Error ? e.message : String(e);
        this.#log("warn", `failed to receive stream from ${sock.remoteAddress}: ${msg}`);
        // memberlist answers a stream it cannot read with an err message (label errors just close).
        if (/label/.test(msg)) finish();
        else this.#reply(sock, { type: "err", error: msg }, finish);
        return;
      }
      if (r === null) return;
      handled = true;
      this.#handleStream(sock, r.msg, finish);
    });
  }

  #reply(sock: Socket, m: StreamMessage, done: () => void): void {
    try {
      sock.end(this.#seal(m), done);
    } catch (e) {
      this.#log("warn", `stream reply failed: ${String(e)}`);
      done();
    }
  }

  #handleStream(sock: Socket, m: StreamMessage, finish: () => void): void {
    switch (m.type) {
      case "pushPull": {
        if (this.#inboundPushPulls >= GOSSIP_MAX_CONCURRENT_PUSH_PULLS) {
          this.#reply(sock, { type: "err", error: "Too many pending push/pull requests" }, finish);
          return;
        }
        this.#inboundPushPulls++;
        // memberlist answers with its local state first, then merges the remote one.
        const reply: StreamMessage = { type: "pushPull", join: m.join, nodes: this.core.localState(), userState: this.serf.localState() };
        this.#reply(sock, reply, () => {
          this.#inboundPushPulls--;
          finish();
        });
        const rejected = m.join ? this.#mergeRejected(m.nodes) : null;
        if (rejected !== null) {
          this.#log("warn", `Failed push/pull merge: ${rejected}`);
          return;
        }
        const now = performance.now();
        this.#apply(this.core.mergeRemoteState(now, m.nodes));
        this.#applySerf(this.serf.mergeRemoteState(now, m.userState, m.join));
        return;
      }
      case "ping": {
        const ack = this.core.answerStreamPing(m);
        if (ack === null) {
          this.#log("warn", `got ping for unexpected node ${m.node}`);
          finish();
          return;
        }
        this.#reply(sock, ack, finish);
        return;
      }
      case "user":
        this.#applySerf(this.serf.handleUserMessage(performance.now(), m.payload));
        finish();
        return;
      case "ack":
      case "err":
        this.#log("debug", `unexpected ${m.type} stream message`);
        finish();
        return;
    }
  }
}

/** Runs a gossip pool in this thread (the worker uses this; tests may too). */
export function startGossipInThread(opts: GossipOptions): Promise<GossipDriver> {
  return GossipDriver.start(opts);
}

