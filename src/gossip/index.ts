/**
 * gossip: the public face of cairn's memberlist/serf-compatible gossip layer: the wire
 * codec (msgpack as go-msgpack writes it, message types, compound, CRC, LZW, labels,
 * AES-GCM, TCP stream messages), the pure SWIM + Lifeguard core, the pure serf layer,
 * and startGossip (a pool on real sockets, normally inside the supervised gossip worker).
 *
 * Must never: export the driver's internals (only startGossip, its handle and its types
 * leave this folder), or be imported by the gossip worker (it imports the driver directly).
 */

export * from "./msgpack.ts";
export * from "./wire.ts";
export * from "./packet.ts";
export { lzwCompress, lzwDecompress } from "./lzw.ts";
export { crc32Ieee } from "./crc.ts";
export {
  decryptPayload,
  encryptedLength,
  encryptOverhead,
  encryptPayload,
  ENCRYPTION_VERSION,
  ENCRYPTION_VERSION_PADDED,
} from "./crypto.ts";
export { Keyring } from "./keyring.ts";
export { SwimCore } from "./core.ts";
export type { Address, CoreDeps, Effect, LocalNode, Member } from "./core_types.ts";
export {
  devConfig,
  lanConfig,
  localConfig,
  pushPullScaleMs,
  retransmitLimit,
  suspicionTimeoutMs,
  validateConfig,
  wanConfig,
} from "./config.ts";
export type { GossipConfig } from "./config.ts";
export { Suspicion, remainingSuspicionMs } from "./suspicion.ts";
export { Awareness } from "./awareness.ts";
export { BroadcastQueue } from "./queue.ts";
export type { Broadcast } from "./queue.ts";
export { startGossip } from "./supervisor.ts";
export type { StartGossipOptions } from "./supervisor.ts";
export { GossipDriver } from "./driver.ts";
export type { GossipHandle, GossipOptions, GossipProfile, QueryOptions, QueryResult } from "./driver_types.ts";
export { mergeRejection } from "./merge.ts";
export type { ConsulLanMerge, MergePolicy } from "./merge.ts";
export * as serf from "./serf/index.ts";
export { decodeStdBase64, keyOperation } from "./keymanager.ts";
export type { KeyOperationResult } from "./keymanager.ts";
export type { KeyOp, KeyResponse } from "./serf/keys.ts";
export type { MemberEvent, MemberEventType, MemberStatus, SerfMember, UserEvent } from "./serf/index.ts";
