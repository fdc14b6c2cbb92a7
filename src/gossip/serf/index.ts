/**
 * gossip/serf: the public face of cairn's serf layer (members with tags and status,
 * intents, user events, queries, reaping) and its wire messages.
 *
 * Must never: export socket or timer code (the driver runs it).
 */

export { SerfCore } from "./core.ts";
export { defaultSerfConfig } from "./core_types.ts";
export type {
  IncomingQuery,
  MemberEvent,
  MemberEventType,
  MemberStatus,
  QueryParams,
  SerfConfig,
  SerfEffect,
  SerfMember,
  UserEvent,
} from "./core_types.ts";
export {
  aggregateKeyResponses,
  answerKeyQuery,
  decodeKeyRequest,
  decodeKeyResponse,
  encodeKeyRequest,
  encodeKeyResponse,
  INTERNAL_QUERY_PREFIX,
  keyOpOf,
  keyQueryName,
} from "./keys.ts";
export type { KeyOp, KeyResponse, NodeKeyResponse } from "./keys.ts";
export { decodeRelayMessage, encodeRelayMessage } from "./relay.ts";
export type { RelayTarget } from "./relay.ts";
export { LamportClock } from "./clock.ts";
export {
  decodeFilter,
  decodePushPull,
  decodeSerfMessage,
  decodeTags,
  encodeFilter,
  encodePushPull,
  encodeSerfMessage,
  encodeTags,
  QUERY_FLAG_ACK,
  QUERY_FLAG_NO_BROADCAST,
  SERF_MSG,
  TAG_MAGIC,
} from "./messages.ts";
export type { QueryFilter, SerfMessage, SerfPushPull } from "./messages.ts";
