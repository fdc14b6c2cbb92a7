/**
 * gossip/packet: the outer layers of memberlist packets and streams: label header and
 * AES-GCM sealing for UDP, and the TCP stream messages (push/pull, user, ping, ack,
 * err) with their optional compression and `[10][u32 len]` encryption framing.
 *
 * Must never: do I/O or pick nonces (the caller passes them), and never accept a
 * stream message larger than GOSSIP_MAX_STREAM_BYTES.
 */

import { CairnError } from "../shared/errors.ts";
import { GOSSIP_MAX_PUSH_PULL_NODES, GOSSIP_MAX_STREAM_BYTES } from "../shared/limits.ts";
import { decryptPayload, encryptedLength, encryptPayload, ENCRYPTION_VERSION } from "./crypto.ts";
import {
  asMap,
  ByteReader,
  ByteWriter,
  fieldBool,
  fieldBytes,
  fieldStr,
  fieldUint,
  readValue,
  utf8,
  writeBool,
  writeBytesOrNil,
  writeInt,
  writeMapHeader,
  writeStr,
} from "./msgpack.ts";
import {
  addCrc,
  addLabel,
  compressPayload,
  makeCompounds,
  decodeMessageBody,
  decompressBody,
  MSG,
  stripLabel,
  wireError,
  writeMessageBody,
} from "./wire.ts";
import type { Ack, ErrResp, Ping } from "./wire.ts";

/** Node states as push/pull carries them. */
export const NODE_STATE = { alive: 0, suspect: 1, dead: 2, left: 3 } as const;
export type NodeStateName = keyof typeof NODE_STATE;
export const NODE_STATE_NAMES: readonly NodeStateName[] = ["alive", "suspect", "dead", "left"];

export interface PushNodeState {
  name: string;
  addr: Uint8Array;
  port: number;
  meta: Uint8Array | null;
  incarnation: number;
  state: NodeStateName;
  vsn: Uint8Array | null;
}

export interface PushPull {
  type: "pushPull";
  join: boolean;
  nodes: PushNodeState[];
  /** Delegate LocalState bytes (serf: `[2]` + msgpack). */
  userState: Uint8Array;
}

export interface StreamUser {
  type: "user";
  payload: Uint8Array;
}

export type StreamMessage = PushPull | StreamUser | Ping | Ack | ErrResp;

/** How packets and streams are wrapped for one peer set. */
export interface SealOptions {
  label: string;
  /** Encrypt with this key (the keyring's primary) when set. */
  key?: Uint8Array | undefined;
  /** 12 random bytes; required when key is set. */
  nonce?: Uint8Array | undefined;
  /** Encryption version: 1 (memberlist protocol >= 2) or 0 (padded). */
  encryptionVersion?: number;
}

export interface OpenOptions {
  /** The label this node expects ("" for none); a different label is rejected. */
  label: string;
  /** Installed keys (primary first); empty when encryption is off. */
  keys: readonly Uint8Array[];
  /** encrypt_verify_incoming: refuse plaintext when keys are installed. */
  verifyIncoming: boolean;
  /** Skip the label check (memberlist SkipInboundLabelCheck). */
  skipLabelCheck?: boolean;
}

function checkLabel(got: string, opts: OpenOptions): void {
  if (opts.skipLabelCheck) return;
  if (got !== opts.label) {
    throw new CairnError("bad-request", got === "" && opts.label !== ""
      ? `missing label header "${opts.label}"`
      : `discarding packet with unacceptable label "${got}"`);
  }
}

// ---------------------------------------------------------------- UDP

/** Frame bytes (compound/compress/crc already applied) -> the datagram to send. */
export function sealPacket(frame: Uint8Array, opts: SealOptions): Uint8Array {
  let buf = frame;
  if (opts.key !== undefined) {
    if (opts.nonce === undefined) throw new CairnError("internal", "sealPacket: encryption needs a nonce");
    buf = encryptPayload(opts.encryptionVersion ?? ENCRYPTION_VERSION, opts.key, buf, utf8(opts.label), opts.nonce);
  }
  return addLabel(buf, opts.label);
}

/** A received datagram -> the frame bytes (see wire.decodeFrame), label and whether it was sealed. */
export function openPacket(buf: Uint8Array, opts: OpenOptions): { frame: Uint8Array; label: string; encrypted: boolean } {
  const { label, rest } = stripLabel(buf);
  checkLabel(label, opts);
  if (opts.keys.length === 0) return { frame: rest, label, encrypted: false };
  try {
    return { frame: decryptPayload(opts.keys, rest, utf8(label)), label, encrypted: true };
  } catch (e) {
    if (!opts.verifyIncoming) return { frame: rest, label, encrypted: false };
    throw e;
  }
}

// ---------------------------------------------------------------- TCP stream messages

function writePushNodeState(w: ByteWriter, n: PushNodeState): void {
  writeMapHeader(w, 7);
  writeStr(w, "Addr"), writeBytesOrNil(w, n.addr);
  writeStr(w, "Incarnation"), writeInt(w, n.incarnation);
  writeStr(w, "Meta"), writeBytesOrNil(w, n.meta);
  writeStr(w, "Name"), writeStr(w, n.name);
  writeStr(w, "Port"), writeInt(w, n.port);
  writeStr(w, "State"), writeInt(w, NODE_STATE[n.state]);
  writeStr(w, "Vsn"), writeBytesOrNil(w, n.vsn);
}

/** `[type]...` of one stream message, before compression and encryption. */
export function encodeStreamMessage(m: StreamMessage): Uint8Array {
  const w = new ByteWriter(256);
  switch (m.type) {
    case "pushPull":
      w.u8(MSG.pushPull);
      writeMapHeader(w, 3);
      writeStr(w, "Join"), writeBool(w, m.join);
      writeStr(w, "Nodes"), writeInt(w, m.nodes.length);
      writeStr(w, "UserStateLen"), writeInt(w, m.userState.length);
      for (const n of m.nodes) writePushNodeState(w, n);
      w.bytes(m.userState);
      break;
    case "user":
      w.u8(MSG.user);
      writeMapHeader(w, 1);
      writeStr(w, "UserMsgLen"), writeInt(w, m.payload.length);
      w.bytes(m.payload);
      break;
    case "ping":
    case "ack":
    case "err":
      w.u8(MSG[m.type]);
      writeMessageBody(w, m);
      break;
  }
  return w.finish();
}

function readPushNodeState(r: ByteReader): PushNodeState {
  const m = asMap(readValue(r), "push node state");
  const st = fieldUint(m, "State");
  const state = NODE_STATE_NAMES[st];
  if (state === undefined) throw wireError(`unknown node state ${st}`);
  return {
    name: fieldStr(m, "Name"),
    addr: fieldBytes(m, "Addr") ?? new Uint8Array(0),
    port: fieldUint(m, "Port"),
    meta: fieldBytes(m, "Meta") ?? null,
    incarnation: fieldUint(m, "Incarnation"),
    state,
    vsn: fieldBytes(m, "Vsn") ?? null,
  };
}

/** Decodes `[type]...` of a stream message (after decryption and decompression). */
export function decodeStreamMessage(buf: Uint8Array): StreamMessage {
  if (buf.length < 1) throw wireError("empty stream message");
  const type = buf[0] ?? 0;
  const r = new ByteReader(buf, 1);
  switch (type) {
    case MSG.pushPull: {
      const h = asMap(readValue(r), "push/pull header");
      const count = fieldUint(h, "Nodes");
      const userLen = fieldUint(h, "UserStateLen");
      if (count > GOSSIP_MAX_PUSH_PULL_NODES) throw wireError(`push/pull with ${count} nodes`);
      if (userLen > GOSSIP_MAX_STREAM_BYTES) throw wireError("remote user state is too large");
      const nodes: PushNodeState[] = [];
      for (let i = 0; i < count; i++) nodes.push(readPushNodeState(r));
      const userState = r.take(userLen);
      return { type: "pushPull", join: fieldBool(h, "Join"), nodes, userState };
    }
    case MSG.user: {
      const h = asMap(readValue(r), "user message header");
      const n = fieldUint(h, "UserMsgLen");
      if (n > GOSSIP_MAX_STREAM_BYTES) throw wireError("user message is too large");
      return { type: "user", payload: r.take(n) };
    }
    case MSG.ping:
    case MSG.ack:
    case MSG.err: {
      const m = decodeMessageBody(type, buf.subarray(1));
      if (m.type === "ping" || m.type === "ack" || m.type === "err") return m;
      throw wireError("unreachable stream message");
    }
    default:
      throw wireError(`received invalid msgType (${type})`);
  }
}

export interface StreamSealOptions extends SealOptions {
  /** memberlist EnableCompression: every stream message is compressed. */
  compress: boolean;
}

/**
 * One stream write as memberlist makes it: message -> compress (if on) -> encrypt
 * (`[10][u32 len][sealed]`, AAD = those 5 bytes + label). The label header itself is
 * sent once per connection by the dialer (wire.labelHeader), not here.
 */
export function sealStream(m: StreamMessage, opts: StreamSealOptions): Uint8Array {
  let buf = encodeStreamMessage(m);
  if (opts.compress) buf = compressPayload(buf);
  if (opts.key === undefined) return buf;
  if (opts.nonce === undefined) throw new CairnError("internal", "sealStream: encryption needs a nonce");
  const vsn = opts.encryptionVersion ?? ENCRYPTION_VERSION;
  const header = new Uint8Array(5);
  header[0] = MSG.encrypt;
  new DataView(header.buffer).setUint32(1, encryptedLength(vsn, buf.length));
  const label = utf8(opts.label);
  const aad = new Uint8Array(5 + label.length);
  aad.set(header);
  aad.set(label, 5);
  const sealed = encryptPayload(vsn, opts.key, buf, aad, opts.nonce);
  const out = new Uint8Array(5 + sealed.length);
  out.set(header);
  out.set(sealed, 5);
  return out;
}

/**
 * A complete stream message (after the connection's label header was read and checked)
 * -> the message. Enforces encrypt_verify_incoming both ways as memberlist does.
 */
export function openStream(
  buf: Uint8Array,
  opts: { keys: readonly Uint8Array[]; verifyIncoming: boolean; label: string },
): { msg: StreamMessage; encrypted: boolean; compressed: boolean } {
  let body = buf;
  let encrypted = false;
  if (body[0] === MSG.encrypt) {
    if (opts.keys.length === 0) throw new CairnError("bad-request", "Remote state is encrypted and encryption is not configured");
    if (body.length < 5) throw wireError("truncated encrypted stream header");
    const len = new DataView(body.buffer, body.byteOffset, 5).getUint32(1);
    if (len > GOSSIP_MAX_STREAM_BYTES) throw wireError(`remote node state is larger than limit (${len})`);
    if (body.length < 5 + len) throw wireError("truncated encrypted stream message");
    const label = utf8(opts.label);
    const aad = new Uint8Array(5 + label.length);
    aad.set(body.subarray(0, 5));
    aad.set(label, 5);
    body = decryptPayload(opts.keys, body.subarray(5, 5 + len), aad);
    encrypted = true;
  } else if (opts.keys.length > 0 && opts.verifyIncoming) {
    throw new CairnError("bad-request", "Encryption is configured but remote state is not encrypted");
  }
  let compressed = false;
  if (body[0] === MSG.compress) {
    body = decompressBody(body.subarray(1));
    compressed = true;
  }
  return { msg: decodeStreamMessage(body), encrypted, compressed };
}

/**
 * Parts (encoded messages) -> UDP payloads before sealing, as memberlist builds them:
 * one part alone or compounds of at most 255 parts; LZW only when smaller; then the
 * hasCrc header when the peer is known to speak protocol >= 5.
 */
export function framePayloads(parts: readonly Uint8Array[], opts: { crc: boolean; compress: boolean }): Uint8Array[] {
  const bodies = parts.length === 1 ? [parts[0]!] : makeCompounds([...parts]);
  return bodies.map((b) => {
    let out = b;
    if (opts.compress) {
      const c = compressPayload(b);
      if (c.length < b.length) out = c;
    }
    return opts.crc ? addCrc(out) : out;
  });
}
