/**
 * gossip/driver_state: what one running gossip pool holds (GossipDriver, driver.ts, owns
 * it): its options, sockets, keyring (and keyring file), label and verify settings, the
 * address it advertises, the SWIM core and the serf core built from the options, the
 * open streams, listeners, our pending queries, serf's Vivaldi client and coordinate
 * cache, and the few steps every part of the driver shares: logging, calling listeners
 * safely, writing the keyring file. The effect loop (driver_effects.ts) is reached through
 * `sink`, so the packet and stream modules need not import it (no import cycle).
 *
 * Must never: be handed out of the driver, or open sockets or timers itself.
 */

import { Buffer } from "node:buffer";
import type dgram from "node:dgram";
import type { Server, Socket } from "node:net";
import { CairnError } from "../shared/errors.ts";
import { GOSSIP_MAX_META_BYTES } from "../shared/limits.ts";
import { VivaldiClient, type Coordinate } from "../coordinate/index.ts";
import { devConfig, lanConfig, localConfig, wanConfig } from "./config.ts";
import type { GossipConfig } from "./config.ts";
import { encodeCoordinatePayload } from "./coordinate_payload.ts";
import { SwimCore } from "./core.ts";
import type { Address, Effect } from "./core_types.ts";
import { ipBytes } from "./driver_net.ts";
import type { GossipOptions, LogLevel, QueryResult } from "./driver_types.ts";
import { Keyring } from "./keyring.ts";
import { KeyringFileWriter } from "./keyring_file.ts";
import { mergeRejection } from "./merge.ts";
import { SerfCore } from "./serf/core.ts";
import { defaultSerfConfig } from "./serf/core_types.ts";
import type { IncomingQuery, MemberEvent, SerfEffect, UserEvent } from "./serf/core_types.ts";
import { encodeTags } from "./serf/messages.ts";

function baseConfig(o: GossipOptions): GossipConfig {
  switch (o.profile ?? "lan") {
    case "lan": return lanConfig();
    case "wan": return wanConfig();
    case "local": return localConfig();
    case "dev": return devConfig();
  }
}

export function toBytes(p: Uint8Array | string): Uint8Array {
  return typeof p === "string" ? new TextEncoder().encode(p) : p;
}

export function keyBytes(b64: string): Uint8Array {
  return Uint8Array.from(Buffer.from(b64, "base64"));
}

export interface PendingQuery {
  result: QueryResult;
  resolve: (r: QueryResult) => void;
  /** Responses after which the caller is answered early (0: wait for the timeout). */
  expect: number;
}

export type StateListener = (e: { node: string; from: string; to: string }) => void;

/** Carries out the cores' effects (driver_effects.ts, wired by GossipDriver). */
export interface EffectSink {
  readonly apply: (effects: Effect[]) => void;
  readonly applySerf: (effects: SerfEffect[]) => void;
}

export class DriverState {
  readonly opts: GossipOptions;
  readonly udp: dgram.Socket;
  readonly tcp: Server;
  readonly sink: EffectSink;
  readonly config: GossipConfig;
  readonly core: SwimCore;
  readonly serf: SerfCore;
  readonly keyring: Keyring;
  /** serf's KeyringFile writer (null: the keyring lives in memory only). */
  readonly keyringFile: KeyringFileWriter | null;
  readonly verifyIncoming: boolean;
  readonly verifyOutgoing: boolean;
  readonly label: string;
  readonly self: Address;
  readonly streams = new Set<Socket>();
  readonly memberCbs = new Set<(e: MemberEvent) => void>();
  readonly userCbs = new Set<(e: UserEvent) => void>();
  readonly queryCbs = new Set<(q: IncomingQuery, respond: (p: Uint8Array | string) => void) => void>();
  readonly stateCbs = new Set<StateListener>();
  readonly queries = new Map<number, PendingQuery>();
  logCb: ((level: LogLevel, msg: string) => void) | null = null;
  inboundPushPulls = 0;
  /** serf's Vivaldi client: updated from probe RTTs and the peers' ack payloads. */
  readonly vivaldi = new VivaldiClient();
  /** serf's coordCache: the peers' coordinates from their ack payloads (and this node's own). */
  readonly coordCache = new Map<string, Coordinate>();
  refreshAck: () => void = () => {};
  closed = false;

  constructor(opts: GossipOptions, udp: dgram.Socket, tcp: Server, addr: string, port: number, sink: EffectSink) {
    this.opts = opts;
    this.udp = udp;
    this.tcp = tcp;
    this.sink = sink;
    const keys = (opts.encryptKeys ?? []).map(keyBytes);
    this.keyring = new Keyring(keys);
    this.keyringFile = opts.keyringFile === undefined || opts.keyringFile === "" ? null : new KeyringFileWriter(opts.keyringFile);
    this.verifyIncoming = opts.verifyIncoming ?? true;
    this.verifyOutgoing = opts.verifyOutgoing ?? true;
    this.label = opts.label ?? "";
    this.config = { ...baseConfig(opts), ...opts.config, label: this.label, encryptionEnabled: keys.length > 0 };
    const advAddr = opts.advertiseAddr ?? (addr === "0.0.0.0" || addr === "::" ? "127.0.0.1" : addr);
    this.self = { addr: ipBytes(advAddr), port: opts.advertisePort ?? port };
    const tags = opts.tags ?? {};
    const meta = encodeTags(tags);
    if (meta.length > GOSSIP_MAX_META_BYTES) throw new CairnError("bad-request", `encoded length of tags exceeds limit of ${GOSSIP_MAX_META_BYTES} bytes`);
    const now = performance.now();
    // serf: acks carry this node's current Vivaldi coordinate; probe RTTs update it.
    let ackPayload = encodeCoordinatePayload(this.vivaldi.coordinate);
    this.refreshAck = () => { ackPayload = encodeCoordinatePayload(this.vivaldi.coordinate); };
    const policy = opts.mergePolicy;
    this.core = new SwimCore(this.config, { name: opts.name, addr: this.self.addr, port: this.self.port, meta }, {
      rng: Math.random, ackPayload: () => ackPayload,
      ...(policy === undefined ? {} : { rejectAlive: (node: string, m: Uint8Array | null) => mergeRejection(policy, node, m) }),
    }, now);
    this.serf = new SerfCore({
      ...defaultSerfConfig(opts.name), gossipIntervalMs: this.config.gossipIntervalMs, ...opts.serf, name: opts.name, tags,
    }, { rng: Math.random }, now);
  }

  /** serf writeKeyringFile: the keyring as it is now, on disk before the change is acknowledged. */
  persistKeyring(): Promise<void> {
    if (this.keyringFile === null) return Promise.resolve();
    return this.keyringFile.write(this.keyring.keys().map((k) => Buffer.from(k).toString("base64")));
  }

  safe(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.log("warn", `listener threw: ${String(e)}`);
    }
  }

  log(level: LogLevel, msg: string): void {
    if (this.logCb) this.safe(() => this.logCb?.(level, msg));
  }
}
