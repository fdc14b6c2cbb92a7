/**
 * gossip/crypto: memberlist's versioned AES-GCM (security.go). A sealed payload is
 * `[vsn][12-byte nonce][ciphertext][16-byte tag]`; vsn 0 PKCS7-pads the plaintext to
 * the AES block size first (memberlist protocol 1), vsn 1 does not. Keys of 16, 24 or
 * 32 bytes select AES-128/192/256. Decryption tries every key of the keyring.
 * Uses node:crypto, which Node 20 and Deno 2 both provide synchronously (Deno lacks
 * aes-192-gcm, so 24-byte keys fall back to gcm_fallback.ts there).
 *
 * Must never: choose nonces itself (the caller passes 12 random bytes, so tests can
 * replay captures), or accept a payload whose tag does not verify.
 */

import { createCipheriv, createDecipheriv } from "node:crypto";
import { CairnError } from "../shared/errors.ts";
import { gcmOpen, gcmSeal } from "./gcm_fallback.ts";

export const ENCRYPTION_VERSION_PADDED = 0;
export const ENCRYPTION_VERSION = 1;
export const NONCE_SIZE = 12;
export const TAG_SIZE = 16;
const BLOCK_SIZE = 16;

/** Bytes sealing adds for a payload of n bytes. */
export function encryptOverhead(vsn: number): number {
  return vsn === ENCRYPTION_VERSION_PADDED ? 1 + NONCE_SIZE + BLOCK_SIZE + TAG_SIZE : 1 + NONCE_SIZE + TAG_SIZE;
}

/** Exact sealed length of an n-byte payload. */
export function encryptedLength(vsn: number, n: number): number {
  if (vsn >= ENCRYPTION_VERSION) return 1 + NONCE_SIZE + n + TAG_SIZE;
  return 1 + NONCE_SIZE + n + (BLOCK_SIZE - (n % BLOCK_SIZE)) + TAG_SIZE;
}

export function validateKey(key: Uint8Array): void {
  if (key.length !== 16 && key.length !== 24 && key.length !== 32) {
    throw new CairnError("bad-request", "key size must be 16, 24 or 32 bytes");
  }
}

function algorithm(key: Uint8Array): "aes-128-gcm" | "aes-192-gcm" | "aes-256-gcm" {
  validateKey(key);
  return key.length === 16 ? "aes-128-gcm" : key.length === 24 ? "aes-192-gcm" : "aes-256-gcm";
}

const nativeGcm = new Map<number, boolean>();

/** Whether node:crypto has GCM for this key size (Deno 2 lacks aes-192-gcm). */
function hasNativeGcm(key: Uint8Array): boolean {
  let ok = nativeGcm.get(key.length);
  if (ok === undefined) {
    try {
      createCipheriv(algorithm(key), key, new Uint8Array(NONCE_SIZE));
      ok = true;
    } catch {
      ok = false;
    }
    nativeGcm.set(key.length, ok);
  }
  return ok;
}

function pkcs7Pad(msg: Uint8Array): Uint8Array {
  const pad = BLOCK_SIZE - (msg.length % BLOCK_SIZE);
  const out = new Uint8Array(msg.length + pad);
  out.set(msg);
  out.fill(pad, msg.length);
  return out;
}

function pkcs7Unpad(buf: Uint8Array): Uint8Array {
  const n = buf.length;
  const pad = buf[n - 1] ?? 0;
  if (pad < 1 || pad > BLOCK_SIZE || pad > n) throw new CairnError("bad-request", "invalid padding");
  return buf.subarray(0, n - pad);
}

/** Seals msg with key; `aad` is the label (UDP) or frame header + label (TCP). */
export function encryptPayload(
  vsn: number,
  key: Uint8Array,
  msg: Uint8Array,
  aad: Uint8Array,
  nonce: Uint8Array,
): Uint8Array {
  if (nonce.length !== NONCE_SIZE) throw new CairnError("internal", "nonce must be 12 bytes");
  if (vsn !== ENCRYPTION_VERSION && vsn !== ENCRYPTION_VERSION_PADDED) {
    throw new CairnError("bad-request", `unsupported encryption version ${vsn}`);
  }
  const plain = vsn === ENCRYPTION_VERSION_PADDED ? pkcs7Pad(msg) : msg;
  if (!hasNativeGcm(key)) {
    const sealed = gcmSeal(key, nonce, plain, aad);
    const out = new Uint8Array(1 + NONCE_SIZE + sealed.length);
    out[0] = vsn;
    out.set(nonce, 1);
    out.set(sealed, 1 + NONCE_SIZE);
    return out;
  }
  const c = createCipheriv(algorithm(key), key, nonce);
  if (aad.length > 0) c.setAAD(aad);
  const head = c.update(plain);
  const tail = c.final();
  const tag = c.getAuthTag();
  const out = new Uint8Array(1 + NONCE_SIZE + head.length + tail.length + TAG_SIZE);
  out[0] = vsn;
  out.set(nonce, 1);
  out.set(head, 1 + NONCE_SIZE);
  out.set(tail, 1 + NONCE_SIZE + head.length);
  out.set(tag, out.length - TAG_SIZE);
  return out;
}

function openWith(key: Uint8Array, buf: Uint8Array, aad: Uint8Array): Uint8Array | null {
  const nonce = buf.subarray(1, 1 + NONCE_SIZE);
  const ct = buf.subarray(1 + NONCE_SIZE, buf.length - TAG_SIZE);
  const tag = buf.subarray(buf.length - TAG_SIZE);
  if (!hasNativeGcm(key)) return gcmOpen(key, nonce, ct, tag, aad);
  try {
    const d = createDecipheriv(algorithm(key), key, nonce);
    d.setAuthTag(tag);
    if (aad.length > 0) d.setAAD(aad);
    const head = d.update(ct);
    const tail = d.final();
    const out = new Uint8Array(head.length + tail.length);
    out.set(head);
    out.set(tail, head.length);
    return out;
  } catch {
    return null;
  }
}

/** Opens a sealed payload with the first key that verifies; throws when none does. */
export function decryptPayload(keys: readonly Uint8Array[], buf: Uint8Array, aad: Uint8Array): Uint8Array {
  if (buf.length < 1) throw new CairnError("bad-request", "cannot decrypt empty payload");
  const vsn = buf[0] ?? 0;
  if (vsn > ENCRYPTION_VERSION) throw new CairnError("bad-request", `unsupported encryption version ${vsn}`);
  if (buf.length < encryptedLength(vsn, 0)) throw new CairnError("bad-request", "payload is too small to decrypt");
  for (const key of keys) {
    const plain = openWith(key, buf, aad);
    if (plain === null) continue;
    return vsn === ENCRYPTION_VERSION_PADDED ? pkcs7Unpad(plain) : plain;
  }
  throw new CairnError("bad-request", "No installed keys could decrypt the message");
}
