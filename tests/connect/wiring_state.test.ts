// Connect CA state: ca-set commits roots and config together, CAS on the config index,
// index rules, watches, command codec and snapshot round trips.
import { Packr } from "msgpackr";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Store, decodeCommand, encodeCommand, SNAPSHOT_VERSION } from "../../src/state/index.ts";
import type { CAConfigInput, CARootRow, Command } from "../../src/state/index.ts";

function root(id: string, active: boolean): CARootRow {
  return {
    ID: id,
    Name: "Consul CA Primary Cert",
    SerialNumber: 42,
    SigningKeyID: `key-${id}`,
    ExternalTrustDomain: "11111111-2222-3333-4444-555555555555",
    NotBefore: "2026-01-01T00:00:00Z",
    NotAfter: "2036-01-01T00:00:00Z",
    RootCert: `-----BEGIN CERTIFICATE-----\n${id}\n-----END CERTIFICATE-----\n`,
    IntermediateCerts: [],
    Active: active,
    PrivateKeyType: "ec",
    PrivateKeyBits: 256,
    CreateIndex: 0,
    ModifyIndex: 0,
    SigningKey: `-----BEGIN PRIVATE KEY-----\n${id}\n-----END PRIVATE KEY-----\n`,
    RotatedOutAt: "",
  };
}

const config: CAConfigInput = {
  clusterId: "11111111-2222-3333-4444-555555555555",
  provider: "consul",
  config: { LeafCertTTL: "72h", IntermediateCertTTL: "8760h", RootCertTTL: "87600h", PrivateKeyBits: 256, Nested: { b: 1.5, a: [true, null] } },
  state: null,
  forceWithoutCrossSigning: false,
};

test("ca-set commits roots and config together at one index", () => {
  const s = new Store();
  s.apply(1, { type: "noop" });
  const r = s.apply(2, { type: "ca-set", roots: [root("a", true)], config, cas: 0 });
  assert.equal(r, { type: "bool", ok: true });
  const roots = s.caRoots();
  const cfg = s.caConfig();
  assert.is(roots.index, 2);
  assert.is(cfg.index, 2);
  assert.is(roots.value.length, 1);
  assert.is(roots.value[0]?.CreateIndex, 2);
  assert.is(roots.value[0]?.ModifyIndex, 2);
  assert.is(cfg.value?.createIndex, 2);
  assert.is(cfg.value?.modifyIndex, 2);
  assert.is(cfg.value?.clusterId, config.clusterId);
  assert.equal(cfg.value?.config, config.config);
});

test("CAS on the config index: stale index changes nothing; CreateIndex kept; empty cluster id keeps the stored one", () => {
  const s = new Store();
  s.apply(1, { type: "ca-set", roots: [root("a", true)], config, cas: 0 });
  // cas 0 with a config present fails
  assert.equal(s.apply(2, { type: "ca-set", roots: [], config, cas: 0 }), { type: "bool", ok: false });
  assert.is(s.caRoots().value.length, 1);
  assert.is(s.caRoots().index, 1);
  // a stale index fails
  assert.equal(s.apply(3, { type: "ca-set", roots: null, config, cas: 7 }), { type: "bool", ok: false });
  // the right index passes; roots keep CreateIndex by ID
  const r = s.apply(4, {
    type: "ca-set",
    roots: [{ ...root("a", false), RotatedOutAt: "2026-02-01T00:00:00Z" }, root("b", true)],
    config: { ...config, clusterId: "" },
    cas: 1,
  });
  assert.equal(r, { type: "bool", ok: true });
  const roots = s.caRoots().value;
  assert.equal(roots.map((x) => [x.ID, x.Active, x.CreateIndex, x.ModifyIndex]), [["a", false, 1, 4], ["b", true, 4, 4]]);
  assert.is(s.caConfig().value?.createIndex, 1);
  assert.is(s.caConfig().value?.modifyIndex, 4);
  assert.is(s.caConfig().value?.clusterId, config.clusterId);
  // unconditional (cas null), roots only: config index does not move
  s.apply(5, { type: "ca-set", roots: [root("b", true)], config: null, cas: null });
  assert.is(s.caRoots().index, 5);
  assert.is(s.caConfig().index, 4);
});

test("watches: roots and config fire only for their table", () => {
  const s = new Store();
  let roots = 0;
  let cfg = 0;
  s.watchCARoots(() => roots++);
  s.watchCAConfig(() => cfg++);
  s.apply(1, { type: "ca-set", roots: null, config, cas: null });
  assert.is(roots, 0);
  assert.is(cfg, 1);
  s.watchCAConfig(() => cfg++);
  s.apply(2, { type: "ca-set", roots: [root("a", true)], config: null, cas: null });
  assert.is(roots, 1);
  assert.is(cfg, 1);
  // a failed CAS wakes nobody
  s.watchCARoots(() => roots++);
  s.apply(3, { type: "ca-set", roots: [], config: null, cas: 99 });
  assert.is(roots, 1);
  assert.is(s.watchCount(), 2);
});

test("codec round trip of ca-set (roots, config with nested JSON, cas null and set)", () => {
  const cmds: Command[] = [
    { type: "ca-set", roots: [root("a", false), { ...root("b", true), IntermediateCerts: ["x", "y"] }], config, cas: 12 },
    { type: "ca-set", roots: null, config: { ...config, state: { k: "v" }, forceWithoutCrossSigning: true }, cas: null },
    { type: "ca-set", roots: [], config: null, cas: 0 },
  ];
  for (const c of cmds) assert.equal(decodeCommand(encodeCommand(c)), c);
  assert.throws(() => decodeCommand(encodeCommand({ type: "ca-set", roots: [{ ...root("a", true), Active: "yes" } as unknown as CARootRow], config: null, cas: null })), /invalid command/);
});

test("snapshot round trip keeps CA tables and their indexes; restore wakes CA watchers", () => {
  const s = new Store();
  s.apply(1, { type: "kv-set", key: "k", value: new Uint8Array([1]), flags: 0n });
  s.apply(2, { type: "ca-set", roots: [root("a", true)], config, cas: 0 });
  s.apply(3, { type: "ca-set", roots: [{ ...root("a", false), RotatedOutAt: "2026-02-01T00:00:00Z" }, root("b", true)], config: null, cas: null });
  const snap = s.snapshot();
  assert.is(snap[4], SNAPSHOT_VERSION, "current snapshot version");
  const t = Store.restore(snap);
  assert.equal(t.caRoots(), s.caRoots());
  assert.equal(t.caConfig(), s.caConfig());
  assert.is(t.kvGet("k").value?.value[0], 1);
  let woke = 0;
  t.watchCARoots(() => woke++);
  t.restore(new Store().snapshot());
  assert.is(woke, 1);
  assert.is(t.caRoots().value.length, 0);
  assert.is(t.caConfig().value, undefined);
});

test("a version 2 snapshot (no CA section) still restores, with empty CA tables", () => {
  const s = new Store();
  s.apply(1, { type: "kv-set", key: "k", value: new Uint8Array([7]), flags: 0n });
  const v3 = s.snapshot();
  const dv = new DataView(v3.buffer, v3.byteOffset, v3.byteLength);
  const headLen = dv.getUint32(8, true);
  const packr = new Packr({ useRecords: false });
  const header = packr.unpack(v3.subarray(12, 12 + headLen)) as Record<string, unknown>;
  const caBytes = header["caBytes"] as number;
  assert.ok(caBytes > 0);
  // Sections newer than version 2 (CA, then sessions) sit at the end: cut them and hide
  // their header keys under same-length unknown names, so every other offset stays put.
  const later: Record<string, string> = { caBytes: "zzBytes", sessionsTableBytes: "zzzzzzzzzzzzzzzzzz" };
  let cut = 0;
  const renamed: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(header)) {
    const hidden = later[k];
    if (hidden !== undefined) cut += ((v as number) + 7) & ~7;
    renamed[hidden ?? k] = v;
  }
  const head2 = packr.pack(renamed);
  assert.is(head2.byteLength, headLen);
  const end = v3.byteLength - 4 - cut;
  const v2 = new Uint8Array(new ArrayBuffer(end + 4));
  v2.set(v3.subarray(0, end));
  v2[4] = 2;
  v2.set(head2, 12);
  const words = new Uint32Array(v2.buffer, 0, end >>> 2);
  let h = 0x811c9dc5;
  for (let i = 0; i < words.length; i++) h = Math.imul(h ^ words[i]!, 0x01000193);
  new DataView(v2.buffer).setUint32(end, h >>> 0, true);
  const t = Store.restore(v2);
  assert.is(t.caRoots().value.length, 0);
  assert.is(t.caConfig().value, undefined);
  assert.is(t.kvGet("k").value?.value[0], 7);
});

test.run();
