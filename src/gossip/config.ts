/**
 * gossip/config: the SWIM core's configuration with memberlist's and Consul's presets.
 * lanConfig() is memberlist's DefaultLANConfig (= Consul gossip_lan); wanConfig() is
 * DefaultWANConfig with Consul's overrides (gossip_nodes 3); localConfig() is
 * DefaultLocalConfig; devConfig() is what `consul agent -dev` sets. All durations are
 * milliseconds; the math helpers are memberlist util.go's formulas.
 *
 * Must never: read the clock or the environment.
 */

import { assert } from "../shared/errors.ts";
import { GOSSIP_AWARENESS_MAX_MULTIPLIER, GOSSIP_MAX_LABEL_BYTES } from "../shared/limits.ts";

export interface GossipConfig {
  /** Probe one node every probeIntervalMs × (health score + 1). */
  probeIntervalMs: number;
  /** Wait this long for a direct UDP ack before asking for indirect probes (not scaled by health). */
  probeTimeoutMs: number;
  /** Peers asked to probe indirectly after a direct probe fails. */
  indirectChecks: number;
  /** Send queued broadcasts to gossipNodes random peers every gossipIntervalMs. */
  gossipIntervalMs: number;
  gossipNodes: number;
  /** Dead/left nodes still receive gossip for this long (so they can refute). */
  gossipToTheDeadTimeMs: number;
  /** Suspicion min = suspicionMult × max(1, log10(n)) × probeInterval; confirmations needed k = mult − 2. */
  suspicionMult: number;
  /** Suspicion max = suspicionMaxTimeoutMult × min. */
  suspicionMaxTimeoutMult: number;
  /** Each broadcast goes out retransmitMult × ceil(log10(n + 1)) times. */
  retransmitMult: number;
  /** Full state sync with one random node every pushPullIntervalMs (scaled above 32 nodes). 0 disables. */
  pushPullIntervalMs: number;
  /** Stream timeout the driver applies to push/pull and TCP pings. */
  tcpTimeoutMs: number;
  /** A dead node's name may be taken by a new address after this long (0: only after leave). */
  deadNodeReclaimTimeMs: number;
  /** Health score ranges over [0, awarenessMaxMultiplier − 1]. */
  awarenessMaxMultiplier: number;
  /** Largest UDP payload built (piggybacking stops here). */
  udpBufferSize: number;
  /** Never fall back to a TCP ping when UDP probes fail. */
  disableTcpPings: boolean;
  /** memberlist protocol range spoken and the version used (Consul: 1..5, current 2). */
  protocolMin: number;
  protocolMax: number;
  protocolVersion: number;
  /** Delegate (serf) protocol range and version: plain memberlist 0,0,0; Consul's serf 2,5,4. */
  delegateMin: number;
  delegateMax: number;
  delegateVersion: number;
  /** Label prefixed to every packet and stream ("" for none). Counted against udpBufferSize. */
  label: string;
  /** Whether packets get encrypted (the driver seals them); counted against udpBufferSize. */
  encryptionEnabled: boolean;
  /** LZW-compress packets when smaller and every stream message (done by the driver). */
  enableCompression: boolean;
}

/** memberlist DefaultLANConfig, which is also Consul's gossip_lan. */
export function lanConfig(): GossipConfig {
  return {
    probeIntervalMs: 1000,
    probeTimeoutMs: 500,
    indirectChecks: 3,
    gossipIntervalMs: 200,
    gossipNodes: 3,
    gossipToTheDeadTimeMs: 30_000,
    suspicionMult: 4,
    suspicionMaxTimeoutMult: 6,
    retransmitMult: 4,
    pushPullIntervalMs: 30_000,
    tcpTimeoutMs: 10_000,
    deadNodeReclaimTimeMs: 30_000, // Consul sets 30 s; memberlist's default is 0
    awarenessMaxMultiplier: GOSSIP_AWARENESS_MAX_MULTIPLIER,
    udpBufferSize: 1400,
    disableTcpPings: false,
    protocolMin: 1,
    protocolMax: 5,
    protocolVersion: 2,
    delegateMin: 2,
    delegateMax: 5,
    delegateVersion: 4,
    label: "",
    encryptionEnabled: false,
    enableCompression: true,
  };
}

/** Consul gossip_wan: memberlist DefaultWANConfig with gossip_nodes 3 (memberlist says 4). */
export function wanConfig(): GossipConfig {
  return {
    ...lanConfig(),
    tcpTimeoutMs: 30_000,
    suspicionMult: 6,
    pushPullIntervalMs: 60_000,
    probeTimeoutMs: 3000,
    probeIntervalMs: 5000,
    gossipNodes: 3,
    gossipIntervalMs: 500,
    gossipToTheDeadTimeMs: 60_000,
  };
}

/** memberlist DefaultLocalConfig (one host, loopback). */
export function localConfig(): GossipConfig {
  return {
    ...lanConfig(),
    tcpTimeoutMs: 1000,
    indirectChecks: 1,
    retransmitMult: 2,
    suspicionMult: 3,
    pushPullIntervalMs: 15_000,
    probeTimeoutMs: 200,
    probeIntervalMs: 1000,
    gossipIntervalMs: 100,
    gossipToTheDeadTimeMs: 15_000,
  };
}

/** What `consul agent -dev` sets for gossip_lan and gossip_wan. */
export function devConfig(): GossipConfig {
  return { ...lanConfig(), probeIntervalMs: 100, probeTimeoutMs: 100, gossipIntervalMs: 100, suspicionMult: 3 };
}

export function validateConfig(c: GossipConfig): void {
  assert(c.probeIntervalMs > 0 && c.probeTimeoutMs > 0, "probe interval and timeout are positive");
  assert(c.probeTimeoutMs <= c.probeIntervalMs, "probe timeout fits in the probe interval");
  assert(c.gossipIntervalMs > 0 && c.gossipNodes >= 0, "gossip interval is positive");
  assert(c.suspicionMult >= 1 && c.suspicionMaxTimeoutMult >= 1, "suspicion multipliers are >= 1");
  assert(c.retransmitMult >= 1, "retransmit multiplier is >= 1");
  assert(c.awarenessMaxMultiplier >= 1, "awareness multiplier is >= 1");
  assert(c.protocolMin <= c.protocolVersion && c.protocolVersion <= c.protocolMax, "protocol version in range");
  assert(new TextEncoder().encode(c.label).length <= GOSSIP_MAX_LABEL_BYTES, "label fits in 255 bytes");
  assert(c.udpBufferSize >= 576, "UDP buffer can hold a ping");
}

/** Suspicion timeout (ms) before the first confirmation shrinks it: memberlist suspicionTimeout. */
export function suspicionTimeoutMs(suspicionMult: number, n: number, intervalMs: number): number {
  const nodeScale = Math.max(1, Math.log10(Math.max(1, n)));
  // memberlist computes with millisecond-truncated scale: Duration(mult) * Duration(scale*1000) * interval / 1000
  return Math.floor((suspicionMult * Math.floor(nodeScale * 1000) * intervalMs) / 1000);
}

/** How many times a broadcast is sent: memberlist retransmitLimit. */
export function retransmitLimit(retransmitMult: number, n: number): number {
  return retransmitMult * Math.ceil(Math.log10(n + 1));
}

/** Push/pull interval scaled for large clusters: memberlist pushPullScale. */
export function pushPullScaleMs(intervalMs: number, n: number): number {
  if (n <= 32) return intervalMs;
  const mult = Math.ceil(Math.log2(n) - Math.log2(32)) + 1;
  return intervalMs * mult;
}
