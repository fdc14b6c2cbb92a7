/**
 * gossip/gcm_fallback: AES-GCM built from AES-CTR plus a GHASH written here, for
 * runtimes whose node:crypto lacks a GCM cipher (Deno 2 has no aes-192-gcm, but has
 * aes-192-ctr). Same result as a native GCM with a 12-byte nonce and 16-byte tag.
 *
 * Must never: be used when the native cipher exists (it is slower), or return
 * plaintext whose tag did not verify.
 */

import { createCipheriv } from "node:crypto";

const R = 0xe1n << 120n;
const MASK = (1n << 128n) - 1n;

function toBig(b: Uint8Array, off: number): bigint {
  let v = 0n;
  for (let i = 0; i < 16; i++) v = (v << 8n) | BigInt(b[off + i] ?? 0);
  return v;
}

function fromBig(v: bigint): Uint8Array {
  const out = new Uint8Array(16);
  for (let i = 15; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

function gfMul(x: bigint, y: bigint): bigint {
  let z = 0n;
  let v = y;
  for (let i = 127; i >= 0; i--) {
    if ((x >> BigInt(i)) & 1n) z ^= v;
    v = v & 1n ? (v >> 1n) ^ R : v >> 1n;
  }
  return z & MASK;
}

function ghash(h: bigint, aad: Uint8Array, ct: Uint8Array): bigint {
  let x = 0n;
  const absorb = (data: Uint8Array): void => {
    for (let off = 0; off < data.length; off += 16) {
      const block = new Uint8Array(16);
      block.set(data.subarray(off, Math.min(off + 16, data.length)));
      x = gfMul(x ^ toBig(block, 0), h);
    }
  };
  absorb(aad);
  absorb(ct);
  const lens = (BigInt(aad.length * 8) << 64n) | BigInt(ct.length * 8);
  return gfMul(x ^ lens, h);
}

function ctr(alg: string, key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  const c = createCipheriv(alg, key, iv);
  const a = c.update(data);
  const b = c.final();
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function j0(nonce: Uint8Array, counter: number): Uint8Array {
  const iv = new Uint8Array(16);
  iv.set(nonce);
  new DataView(iv.buffer).setUint32(12, counter);
  return iv;
}

function ctrAlg(key: Uint8Array): string {
  return `aes-${key.length * 8}-ctr`;
}

/** Returns ciphertext || tag. */
export function gcmSeal(key: Uint8Array, nonce: Uint8Array, plain: Uint8Array, aad: Uint8Array): Uint8Array {
  const alg = ctrAlg(key);
  const h = toBig(ctr(alg, key, new Uint8Array(16), new Uint8Array(16)), 0);
  const ct = ctr(alg, key, j0(nonce, 2), plain);
  const s = ghash(h, aad, ct);
  const ekj0 = toBig(ctr(alg, key, j0(nonce, 1), new Uint8Array(16)), 0);
  const out = new Uint8Array(ct.length + 16);
  out.set(ct);
  out.set(fromBig(s ^ ekj0), ct.length);
  return out;
}

/** Opens ciphertext with its tag; null when the tag does not verify. */
export function gcmOpen(key: Uint8Array, nonce: Uint8Array, ct: Uint8Array, tag: Uint8Array, aad: Uint8Array): Uint8Array | null {
  const alg = ctrAlg(key);
  const h = toBig(ctr(alg, key, new Uint8Array(16), new Uint8Array(16)), 0);
  const s = ghash(h, aad, ct);
  const ekj0 = toBig(ctr(alg, key, j0(nonce, 1), new Uint8Array(16)), 0);
  const want = fromBig(s ^ ekj0);
  let diff = 0;
  for (let i = 0; i < 16; i++) diff |= (want[i] ?? 0) ^ (tag[i] ?? 0);
  if (diff !== 0) return null;
  return ctr(alg, key, j0(nonce, 2), ct);
}
