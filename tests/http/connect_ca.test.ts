// Connect CA endpoints over a real Store backend: roots shape, configuration GET/PUT with
// Consul's 400 texts, rotation (old leaves still verify against the bundle), leaves (fields,
// SPIFFE SAN, cache, blocking until rotation), authorize default allow.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { CLUSTER_ID, startConnect } from "./connect_helpers.ts";
import { haveOpenssl, verify, x509Text } from "../connect/openssl_helpers.ts";

interface RootJSON {
  ID: string;
  RootCert: string;
  IntermediateCerts: string[] | null;
  Active: boolean;
  SigningKeyID: string;
  PrivateKeyType: string;
  PrivateKeyBits: number;
  [k: string]: unknown;
}
interface Roots {
  ActiveRootID: string;
  TrustDomain: string;
  Roots: RootJSON[];
}
interface Leaf {
  SerialNumber: string;
  CertPEM: string;
  PrivateKeyPEM: string;
  Service: string;
  ServiceURI: string;
  ValidAfter: string;
  ValidBefore: string;
  CreateIndex: number;
  ModifyIndex: number;
}

const TD = `${CLUSTER_ID}.consul`;

test("roots: Consul's shape, no private keys, same through the agent endpoint (X-Cache)", async () => {
  const h = await startConnect();
  try {
    const r = await h.get("/v1/connect/ca/roots");
    assert.is(r.status, 200);
    const body = JSON.parse(r.text) as Roots;
    assert.is(body.TrustDomain, TD);
    assert.is(body.Roots.length, 1);
    const root = body.Roots[0]!;
    assert.is(body.ActiveRootID, root.ID);
    assert.equal(Object.keys(root), [
      "ID", "Name", "SerialNumber", "SigningKeyID", "ExternalTrustDomain", "NotBefore", "NotAfter",
      "RootCert", "IntermediateCerts", "Active", "PrivateKeyType", "PrivateKeyBits", "CreateIndex", "ModifyIndex",
    ]);
    assert.is(root.Active, true);
    assert.is(root.PrivateKeyType, "ec");
    assert.is(root.PrivateKeyBits, 256);
    assert.ok(root.RootCert.startsWith("-----BEGIN CERTIFICATE-----"));
    assert.not.match(r.text, /PRIVATE KEY|SigningKey"|RotatedOutAt/);
    assert.is(r.headers["x-consul-index"], String(h.backend.store.caRoots().index));
    const a1 = await h.get("/v1/agent/connect/ca/roots");
    const a2 = await h.get("/v1/agent/connect/ca/roots");
    assert.equal(JSON.parse(a1.text), body);
    assert.is(a1.headers["x-cache"], "MISS");
    assert.is(a2.headers["x-cache"], "HIT");
    assert.is(a2.headers["age"], "0");
    const pem = await h.get("/v1/connect/ca/roots?pem=true");
    assert.is(pem.headers["content-type"], "application/pem-certificate-chain");
    assert.is(pem.text, root.RootCert);
    const bad = await h.get("/v1/connect/ca/roots?pem=maybe");
    assert.is(bad.status, 400);
    assert.is(bad.text, "The 'pem' query parameter must be a boolean value");
  } finally {
    await h.close();
  }
});

test("configuration GET: Consul's CAConfiguration JSON; PUT with the same values is a no-op", async () => {
  const h = await startConnect({ cluster_id: CLUSTER_ID, leaf_cert_ttl: "24h" });
  try {
    const r = await h.get("/v1/connect/ca/configuration");
    assert.is(r.status, 200);
    const cfg = JSON.parse(r.text) as Record<string, unknown>;
    assert.equal(Object.keys(cfg), ["Provider", "Config", "State", "ForceWithoutCrossSigning", "CreateIndex", "ModifyIndex"]);
    assert.is(cfg["Provider"], "consul");
    assert.equal(cfg["Config"], { IntermediateCertTTL: "8760h", LeafCertTTL: "24h", RootCertTTL: "87600h" });
    assert.is(cfg["State"], null);
    assert.not.match(r.text, /cluster_id|ClusterID/);
    const before = h.backend.index;
    const p = await h.put("/v1/connect/ca/configuration", { Provider: "consul", Config: cfg["Config"] });
    assert.is(p.status, 200);
    assert.is(p.text, "");
    assert.is(h.backend.index, before, "no-op PUT writes nothing");
    // A TTL change is committed without a new root.
    const roots0 = (JSON.parse((await h.get("/v1/connect/ca/roots")).text) as Roots).ActiveRootID;
    const p2 = await h.put("/v1/connect/ca/configuration", { Provider: "consul", Config: { LeafCertTTL: "48h" } });
    assert.is(p2.status, 200);
    const cfg2 = JSON.parse((await h.get("/v1/connect/ca/configuration")).text) as Record<string, unknown>;
    assert.equal(cfg2["Config"], { LeafCertTTL: "48h" });
    assert.is(cfg2["CreateIndex"], cfg["CreateIndex"]);
    assert.ok((cfg2["ModifyIndex"] as number) > (cfg["ModifyIndex"] as number));
    assert.is((JSON.parse((await h.get("/v1/connect/ca/roots")).text) as Roots).ActiveRootID, roots0);
  } finally {
    await h.close();
  }
});

test("configuration PUT: bad values get Consul's 400 texts and change nothing", async () => {
  const h = await startConnect();
  try {
    const before = h.backend.index;
    const cases: Array<[unknown, string]> = [
      [{ Provider: "consul", Config: { LeafCertTTL: "1m" } }, "error configuring provider: leaf cert TTL must be greater or equal than 1h0m0s"],
      [{ Provider: "consul", Config: { LeafCertTTL: "9000h" } }, "error configuring provider: leaf cert TTL must be less than 8760h0m0s"],
      [{ Provider: "consul", Config: { PrivateKeyType: "dsa" } }, "error configuring provider: private key type must be either 'ec' or 'rsa'"],
      [{ Provider: "consul", Config: { PrivateKeyType: "rsa", PrivateKeyBits: 1024 } }, "error configuring provider: RSA key length must be 2048 or 4096 bits"],
      [{ Provider: "consul", Config: { PrivateKeyBits: 300 } }, "error configuring provider: EC key length must be one of (224, 256, 384, 521) bits"],
      [
        { Provider: "consul", Config: { IntermediateCertTTL: "2h" } },
        "error configuring provider: Intermediate Cert TTL must be greater or equal than 3h",
      ],
      [{ Provider: "consul", State: { foo: "bar" } }, "Provider State is read-only. It must be omitted or identical to the current value"],
      [{ Provider: "bogus", Config: {} }, 'could not initialize provider: unknown CA provider "bogus"'],
    ];
    for (const [body, text] of cases) {
      const r = await h.put("/v1/connect/ca/configuration", body);
      assert.is(r.status, 400, JSON.stringify(body));
      assert.is(r.text, text);
    }
    const dec = await h.put("/v1/connect/ca/configuration", "{nope");
    assert.is(dec.status, 400);
    assert.match(dec.text, /^Request decode failed: /);
    const cas = await h.put("/v1/connect/ca/configuration?cas=x", {});
    assert.is(cas.status, 400);
    assert.is(cas.text, 'Request decode failed: strconv.ParseUint: parsing "x": invalid syntax');
    assert.is(h.backend.index, before);
  } finally {
    await h.close();
  }
});

test("rotation: new ActiveRootID, old root kept; old and new leaves verify against the bundle (openssl)", async () => {
  const h = await startConnect();
  try {
    const r0 = JSON.parse((await h.get("/v1/connect/ca/roots")).text) as Roots;
    const oldLeaf = JSON.parse((await h.get("/v1/agent/connect/ca/leaf/web")).text) as Leaf;
    const p = await h.put("/v1/connect/ca/configuration", { Provider: "consul", Config: { PrivateKeyType: "ec", PrivateKeyBits: 384 } });
    assert.is(p.status, 200, p.text);
    const r1 = JSON.parse((await h.get("/v1/connect/ca/roots")).text) as Roots;
    assert.is.not(r1.ActiveRootID, r0.ActiveRootID);
    assert.is(r1.Roots.length, 2);
    const old = r1.Roots.find((x) => x.ID === r0.ActiveRootID);
    const cur = r1.Roots.find((x) => x.ID === r1.ActiveRootID);
    assert.is(old?.Active, false);
    assert.is(cur?.Active, true);
    assert.is(cur?.PrivateKeyBits, 384);
    assert.is(cur?.IntermediateCerts?.length, 1, "cross-signed by the old root");
    const newLeaf = JSON.parse((await h.get("/v1/agent/connect/ca/leaf/web")).text) as Leaf;
    assert.is.not(newLeaf.SerialNumber, oldLeaf.SerialNumber, "re-signed after rotation");
    assert.ok(newLeaf.ModifyIndex > oldLeaf.ModifyIndex);
    if (haveOpenssl()) {
      const bundle = r1.Roots.map((x) => x.RootCert).join("");
      const v1 = verify(bundle, oldLeaf.CertPEM);
      assert.ok(v1.ok, v1.out);
      const v2 = verify(bundle, newLeaf.CertPEM);
      assert.ok(v2.ok, v2.out);
      // The old root alone still verifies the old leaf, not the new one without the cross-sign.
      assert.ok(verify(old?.RootCert ?? "", oldLeaf.CertPEM).ok);
      assert.not.ok(verify(old?.RootCert ?? "", newLeaf.CertPEM).ok);
    }
  } finally {
    await h.close();
  }
});

test("leaf: JSON fields, SPIFFE URI SAN, served from the cache until renewal", async () => {
  const h = await startConnect();
  try {
    const r1 = await h.get("/v1/agent/connect/ca/leaf/web");
    assert.is(r1.status, 200);
    assert.is(r1.headers["x-cache"], "MISS");
    const leaf = JSON.parse(r1.text) as Leaf;
    assert.equal(Object.keys(leaf), ["SerialNumber", "CertPEM", "PrivateKeyPEM", "Service", "ServiceURI", "ValidAfter", "ValidBefore", "CreateIndex", "ModifyIndex"]);
    assert.is(leaf.Service, "web");
    assert.is(leaf.ServiceURI, `spiffe://${TD}/ns/default/dc/dc1/svc/web`);
    assert.match(leaf.SerialNumber, /^[0-9a-f]{2}(:[0-9a-f]{2})*$/);
    assert.ok(leaf.PrivateKeyPEM.startsWith("-----BEGIN"));
    assert.is(r1.headers["x-consul-index"], String(leaf.ModifyIndex));
    assert.ok(leaf.ModifyIndex > 0);
    const life = Date.parse(leaf.ValidBefore) - Date.parse(leaf.ValidAfter);
    assert.is(life, 72 * 3600 * 1000);
    const r2 = await h.get("/v1/agent/connect/ca/leaf/web");
    assert.is(r2.headers["x-cache"], "HIT");
    assert.is(JSON.parse(r2.text).SerialNumber, leaf.SerialNumber);
    assert.is(h.leaves.signs, 1);
    if (haveOpenssl()) {
      const text = x509Text(leaf.CertPEM);
      assert.match(text, new RegExp(`URI:spiffe://${TD}/ns/default/dc/dc1/svc/web`));
      const roots = JSON.parse((await h.get("/v1/connect/ca/roots")).text) as Roots;
      const v = verify(roots.Roots[0]!.RootCert, leaf.CertPEM);
      assert.ok(v.ok, v.out);
    }
  } finally {
    await h.close();
  }
});

test("leaf: ?index blocks until a rotation re-signs, and times out with the same leaf", async () => {
  const h = await startConnect();
  try {
    const l1 = await h.get("/v1/agent/connect/ca/leaf/api");
    const leaf1 = JSON.parse(l1.text) as Leaf;
    const t0 = Date.now();
    const timedOut = await h.get(`/v1/agent/connect/ca/leaf/api?index=${leaf1.ModifyIndex}&wait=300ms`);
    assert.ok(Date.now() - t0 >= 280, "waited");
    assert.is(JSON.parse(timedOut.text).SerialNumber, leaf1.SerialNumber);
    const blocked = h.get(`/v1/agent/connect/ca/leaf/api?index=${leaf1.ModifyIndex}&wait=10s`);
    await new Promise((r) => setTimeout(r, 100));
    const p = await h.put("/v1/connect/ca/configuration", { Provider: "consul", Config: { PrivateKeyBits: 384 } });
    assert.is(p.status, 200);
    const woke = await blocked;
    assert.ok(Date.now() - t0 < 8000, "woken by the rotation, not the wait");
    const leaf2 = JSON.parse(woke.text) as Leaf;
    assert.is.not(leaf2.SerialNumber, leaf1.SerialNumber);
    assert.ok(leaf2.ModifyIndex > leaf1.ModifyIndex);
    assert.is(woke.headers["x-consul-index"], String(leaf2.ModifyIndex));
  } finally {
    await h.close();
  }
});

test("leaf cache: re-signs at the soft expiry and wakes blocked requests then", async () => {
  let offset = 0;
  const deps = {
    now: () => Date.now() + offset,
    random: () => 0,
    setTimer: (fn: () => void, ms: number) => setTimeout(fn, ms),
    clearTimer: (t: unknown) => clearTimeout(t as ReturnType<typeof setTimeout>),
  };
  const h = await startConnect({ cluster_id: CLUSTER_ID }, deps);
  try {
    const leaf1 = JSON.parse((await h.get("/v1/agent/connect/ca/leaf/db")).text) as Leaf;
    const after = Date.parse(leaf1.ValidAfter);
    const renewAt = after + 0.6 * (Date.parse(leaf1.ValidBefore) - after);
    offset = renewAt - Date.now() - 200; // 200 ms before the renewal point
    const same = JSON.parse((await h.get("/v1/agent/connect/ca/leaf/db")).text) as Leaf;
    assert.is(same.SerialNumber, leaf1.SerialNumber);
    const t0 = Date.now();
    const woke = await h.get(`/v1/agent/connect/ca/leaf/db?index=${leaf1.ModifyIndex}&wait=10s`);
    const leaf2 = JSON.parse(woke.text) as Leaf;
    assert.ok(Date.now() - t0 < 5000);
    assert.is.not(leaf2.SerialNumber, leaf1.SerialNumber);
    assert.is(leaf2.ModifyIndex, leaf1.ModifyIndex + 1);
    assert.is(h.leaves.signs, 2);
  } finally {
    await h.close();
  }
});

test("authorize: default allow with Consul's reason; bad requests get Consul's 400 texts", async () => {
  const h = await startConnect();
  try {
    const ok = await h.post("/v1/agent/connect/authorize", {
      Target: "foo",
      ClientCertSerial: "fake",
      ClientCertURI: `spiffe://${CLUSTER_ID}.consul/ns/default/dc/ny1/svc/web`,
    });
    assert.is(ok.status, 200);
    assert.equal(JSON.parse(ok.text), { Authorized: true, Reason: "Default behavior configured by ACLs" });
    const noTarget = await h.post("/v1/agent/connect/authorize", { ClientCertURI: "spiffe://x.consul/ns/default/dc/d/svc/web" });
    assert.is(noTarget.status, 400);
    assert.is(noTarget.text, "Target service must be specified");
    const badUri = await h.post("/v1/agent/connect/authorize", { Target: "foo", ClientCertURI: "http://nope" });
    assert.is(badUri.status, 400);
    assert.is(badUri.text, "ClientCertURI not a valid Connect identifier");
    const get = await h.get("/v1/agent/connect/authorize");
    assert.is(get.status, 405);
  } finally {
    await h.close();
  }
});

test("initialise again after a restart (snapshot restore) keeps the same root", async () => {
  const h = await startConnect();
  try {
    const before = h.backend.store.caRoots().value[0]?.ID;
    const snap = h.backend.store.snapshot();
    h.backend.store.restore(snap);
    const n = h.backend.index;
    await h.leader.initialize();
    assert.is(h.backend.index, n, "nothing to write");
    assert.is(h.backend.store.caRoots().value[0]?.ID, before);
  } finally {
    await h.close();
  }
});

test.run();
