/**
 * Crypto and LZW unit tests beyond the captures: AES-GCM with 16/24/32-byte keys and
 * both encryption versions round-trips, a wrong key or label fails, keyring rotation,
 * verify_incoming in both directions, and LZW round-trips (including the 4095-code reset).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  decryptPayload,
  encryptedLength,
  encryptPayload,
  Keyring,
  lzwCompress,
  lzwDecompress,
  openPacket,
  openStream,
  sealPacket,
  sealStream,
} from "../../src/gossip/index.ts";
import { createCipheriv } from "node:crypto";
import { Buffer } from "node:buffer";
import { gcmOpen, gcmSeal } from "../../src/gossip/gcm_fallback.ts";
import { b64, hex, loadVectors } from "./fixtures.ts";
import { seededRng } from "./sim_network.ts";

const nonce = Uint8Array.from({ length: 12 }, (_, i) => i);

test("AES-GCM: 16/24/32-byte keys, versions 0 and 1, sizes as memberlist computes them", () => {
  for (const len of [16, 24, 32]) {
    const key = Uint8Array.from({ length: len }, (_, i) => i * 7);
    for (const vsn of [0, 1]) {
      const msg = Uint8Array.from({ length: 37 }, (_, i) => i);
      const sealed = encryptPayload(vsn, key, msg, Uint8Array.of(1, 2), nonce);
      assert.is(sealed.length, encryptedLength(vsn, msg.length));
      assert.equal([...decryptPayload([key], sealed, Uint8Array.of(1, 2))], [...msg]);
      assert.throws(() => decryptPayload([key], sealed, Uint8Array.of(9)), /No installed keys/);
    }
  }
});

test("captured encrypted packets open with the run's key and fail with another", () => {
  const v = loadVectors().filter((x) => x.key_b64 && x.layers.some((l) => l.layer === "encryption"));
  assert.ok(v.length >= 16);
  const good = b64(v[0]!.key_b64!);
  const bad = new Uint8Array(16).fill(1);
  for (const x of v.filter((y) => y.proto === "udp")) {
    const opts = { label: x.label ?? "", keys: [bad, good], verifyIncoming: true };
    assert.ok(openPacket(hex(x.wire_hex), opts).encrypted, "second key in the ring works");
    assert.throws(() => openPacket(hex(x.wire_hex), { ...opts, keys: [bad] }));
  }
});

test("keyring: primary first, use/remove, refuses bad sizes and removing the primary", () => {
  const k1 = new Uint8Array(16).fill(1);
  const k2 = new Uint8Array(32).fill(2);
  const ring = new Keyring([k1, k2]);
  assert.equal(ring.primaryKey(), k1);
  ring.useKey(k2);
  assert.equal(ring.primaryKey(), k2);
  assert.throws(() => ring.removeKey(k2), /primary/);
  ring.removeKey(k1);
  assert.is(ring.keys().length, 1);
  assert.throws(() => ring.addKey(new Uint8Array(10)), /16, 24 or 32/);
  assert.is(Keyring.fromBase64(["MTIzNDU2Nzg5MDEyMzQ1Ng=="]).primaryKey()?.length, 16);
});

test("verify_incoming: plaintext refused when on, accepted when off; encrypted refused without keys", () => {
  const key = new Uint8Array(16).fill(3);
  const plain = Uint8Array.of(2, 0x80);
  assert.throws(() => openPacket(plain, { label: "", keys: [key], verifyIncoming: true }));
  assert.is(openPacket(plain, { label: "", keys: [key], verifyIncoming: false }).encrypted, false);
  const sealed = sealPacket(plain, { label: "dc1", key, nonce });
  assert.throws(() => openPacket(sealed, { label: "dc2", keys: [key], verifyIncoming: true }), /label/);
  const s = sealStream({ type: "err", error: "x" }, { compress: true, label: "", key, nonce });
  assert.throws(() => openStream(s, { keys: [], verifyIncoming: false, label: "" }), /encryption is not configured/);
  const p = sealStream({ type: "err", error: "x" }, { compress: false, label: "" });
  assert.throws(() => openStream(p, { keys: [key], verifyIncoming: true, label: "" }), /not encrypted/);
  assert.equal(openStream(s, { keys: [key], verifyIncoming: true, label: "" }).msg, { type: "err", error: "x" });
});

test("LZW round-trips random and repetitive data, including past the 4095-code reset", () => {
  const rng = seededRng(5);
  for (const n of [0, 1, 2, 100, 5000, 70_000]) {
    const data = Uint8Array.from({ length: n }, (_, i) => (i % 3 === 0 ? Math.floor(rng() * 256) : i & 7));
    const c = lzwCompress(data);
    assert.equal([...lzwDecompress(c, 1 << 20)].length, n);
    assert.ok(lzwDecompress(c, 1 << 20).every((x, i) => x === data[i]));
  }
  assert.throws(() => lzwDecompress(lzwCompress(new Uint8Array(1000)), 10), /exceeds/);
});

test("the CTR+GHASH fallback matches native AES-GCM (all key sizes where native exists)", () => {
  for (const len of [16, 24, 32]) {
    const key = Uint8Array.from({ length: len }, (_, i) => 255 - i);
    const msg = Uint8Array.from({ length: 45 }, (_, i) => i * 3);
    const aad = Uint8Array.of(10, 0, 0, 0, 1, 100);
    const sealed = gcmSeal(key, nonce, msg, aad);
    const opened = gcmOpen(key, nonce, sealed.subarray(0, 45), sealed.subarray(45), aad);
    assert.ok(opened && opened.every((x, i) => x === msg[i]));
    assert.is(gcmOpen(key, nonce, sealed.subarray(0, 45), sealed.subarray(45), Uint8Array.of(1)), null);
    let native: Uint8Array | null = null;
    try {
      const c = createCipheriv(`aes-${len * 8}-gcm`, key, nonce) as import("node:crypto").CipherGCM;
      c.setAAD(aad);
      native = Uint8Array.from([...c.update(msg), ...c.final(), ...c.getAuthTag()]);
    } catch {
      native = null; // runtime without this GCM (Deno, 192-bit)
    }
    if (native) assert.equal([...sealed], [...native]);
  }
  // A known AES-128-GCM answer: the captured encrypted ping re-seals byte for byte (codec_golden);
  // here one NIST SP 800-38D test case (key 0^128, IV 0^96, P = 0^128).
  const t = gcmSeal(new Uint8Array(16), new Uint8Array(12), new Uint8Array(16), new Uint8Array(0));
  assert.is(Buffer.from(t).toString("hex"), "0388dace60b6a392f328c2b971b2fe78ab6e47d42cec13bdf53a67b21257bddf");
});

test.run();
