// Built-in Connect CA: root and leaf certificate fields (parsed with the X.509 library and
// with openssl), openssl chain verification, rotation with cross-signing, pruning, roots
// surviving a restart (a log round trip), and no private key in the roots JSON.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHash, createPrivateKey, createPublicKey } from "node:crypto";
import { pack, unpack } from "msgpackr";
import {
  defaultCAConfig,
  generateRoot,
  leafSignedByActiveRoot,
  leafSoftExpiry,
  parseProviderSettings,
  pruneRoots,
  rootsResponse,
  rotate,
  signLeaf,
  systemCADeps,
  trustDomainFor,
} from "../../src/connect/index.ts";
import type { CADeps, CARootRecord, LeafCert } from "../../src/connect/index.ts";
import { x509 } from "../../src/connect/x509.ts";
import { CairnError } from "../../src/shared/errors.ts";
import { haveOpenssl, verify, x509Text } from "./openssl_helpers.ts";

const CLUSTER = "11111111-2222-3333-4444-555555555555";
const TD = trustDomainFor(CLUSTER);
const H = 3_600_000;
const WEB_URI = "spiffe://11111111-2222-3333-4444-555555555555.consul/ns/default/dc/dc1/svc/web";

/** Deterministic clock (whole seconds, as X.509 keeps them) and serials; keys stay random. */
function fixedDeps(start = Math.floor(Date.now() / 1000) * 1000): CADeps & { advance(ms: number): void } {
  let now = start;
  let serial = 0n;
  return {
    now: () => new Date(now),
    randomSerial: () => ++serial,
    randomBytes: (n) => new Uint8Array(n).fill(7),
    advance: (ms) => {
      now += ms;
    },
  };
}

const settings = parseProviderSettings(defaultCAConfig().Config);

function derOf(pemText: string): Uint8Array {
  return new Uint8Array(new x509.X509Certificate(pemText).rawData);
}

function colon(buf: Uint8Array): string {
  return Array.from(buf, (b) => b.toString(16).padStart(2, "0")).join(":");
}

function uriSANs(certPem: string): string[] {
  const san = new x509.X509Certificate(certPem).getExtension(x509.SubjectAlternativeNameExtension);
  return (san?.names.toJSON() ?? []).filter((n) => n.type === "url").map((n) => n.value);
}

async function leafFor(root: CARootRecord, deps: CADeps, service = "web"): Promise<LeafCert> {
  return signLeaf(root, { service, datacenter: "dc1", trustDomain: TD, ttlMs: settings.leafCertTTLMs }, deps);
}

test("EC P-256 root: CA, key usage, SPIFFE signing URI, ids and validity as Consul builds them", async () => {
  const deps = fixedDeps();
  const root = await generateRoot(settings, CLUSTER, deps);
  const cert = new x509.X509Certificate(root.RootCert);
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  assert.ok(bc !== null && bc.ca && bc.critical, "BasicConstraints CA:TRUE, critical");
  const ku = cert.getExtension(x509.KeyUsagesExtension);
  assert.is(
    ku?.usages,
    x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
  );
  assert.equal(uriSANs(root.RootCert), [`spiffe://${TD}`]);
  assert.match(cert.subject, /^CN=pri-[a-z0-9]{1,8}\.consul\.ca\.11111111\.consul$/);
  assert.is(cert.subject, cert.issuer, "self-signed");
  const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension);
  const aki = cert.getExtension(x509.AuthorityKeyIdentifierExtension);
  assert.ok(ski !== null && aki !== null);
  assert.is(aki?.keyId, ski?.keyId);
  // SubjectKeyId = SHA-256 of the SPKI DER (connect.KeyId); SigningKeyID is its colon-hex.
  const spki = new Uint8Array(cert.publicKey.rawData);
  assert.is(ski?.keyId, createHash("sha256").update(spki).digest("hex"));
  assert.is(root.SigningKeyID, colon(createHash("sha256").update(spki).digest()));
  // ID is the colon-hex SHA-1 fingerprint of the DER (connect.CalculateCertFingerprint).
  assert.is(root.ID, colon(createHash("sha1").update(derOf(root.RootCert)).digest()));
  assert.is(root.Name, "Consul CA Primary Cert");
  assert.is(root.ExternalTrustDomain, CLUSTER);
  assert.is(root.SerialNumber, 1);
  assert.is(root.Active, true);
  assert.is(root.PrivateKeyType, "ec");
  assert.is(root.PrivateKeyBits, 256);
  assert.equal(root.IntermediateCerts, []);
  assert.is(root.NotBefore, deps.now().toISOString().replace(".000Z", "Z"));
  assert.is(Date.parse(root.NotAfter) - Date.parse(root.NotBefore), settings.rootCertTTLMs);
  assert.ok(root.RootCert.startsWith("-----BEGIN CERTIFICATE-----") && root.RootCert.endsWith("\n"));
  // The stored signing key is PKCS#8 and belongs to the certificate.
  assert.ok(root.SigningKey.startsWith("-----BEGIN PRIVATE KEY-----"));
  const pub = createPublicKey(createPrivateKey(root.SigningKey)).export({ type: "spki", format: "der" });
  assert.equal(new Uint8Array(pub), spki);
  if (haveOpenssl()) {
    const text = x509Text(root.RootCert);
    assert.match(text, "CA:TRUE");
    assert.match(text, `URI:spiffe://${TD}`);
    assert.match(text, "NIST CURVE: P-256");
  }
});

test("root key type follows the config: RSA 2048 and EC P-384", async () => {
  const deps = fixedDeps();
  const rsa = await generateRoot(
    parseProviderSettings({ PrivateKeyType: "rsa", PrivateKeyBits: 2048, RootCertTTL: "8760h" }),
    CLUSTER,
    deps,
  );
  assert.is(rsa.PrivateKeyType, "rsa");
  assert.is(rsa.PrivateKeyBits, 2048);
  assert.is(Date.parse(rsa.NotAfter) - Date.parse(rsa.NotBefore), 8760 * H);
  const rsaKey = createPublicKey(rsa.RootCert);
  assert.is(rsaKey.asymmetricKeyType, "rsa");
  assert.is(rsaKey.asymmetricKeyDetails?.modulusLength, 2048);
  const ec384 = await generateRoot(parseProviderSettings({ PrivateKeyBits: 384 }), CLUSTER, deps);
  assert.is(createPublicKey(ec384.RootCert).asymmetricKeyDetails?.namedCurve, "secp384r1");
  assert.is(ec384.PrivateKeyBits, 384);
  // Both sign leaves that verify.
  const leaf = await leafFor(rsa, deps);
  assert.equal(uriSANs(leaf.CertPEM), [WEB_URI]);
  if (haveOpenssl()) {
    assert.match(x509Text(rsa.RootCert), "Public-Key: (2048 bit)");
    const r = verify(rsa.RootCert, leaf.CertPEM);
    assert.ok(r.ok, r.out);
    const r2 = verify(ec384.RootCert, (await leafFor(ec384, deps)).CertPEM);
    assert.ok(r2.ok, r2.out);
  }
});

test("leaf: SPIFFE URI SAN exactly, empty subject, usages, validity, JSON fields; openssl verify passes", async () => {
  const deps = fixedDeps();
  const root = await generateRoot(settings, CLUSTER, deps);
  const leaf = await signLeaf(
    root,
    { service: "web", datacenter: "dc1", trustDomain: TD, ttlMs: settings.leafCertTTLMs, index: 42 },
    deps,
  );
  const cert = new x509.X509Certificate(leaf.CertPEM);
  assert.equal(uriSANs(leaf.CertPEM), [WEB_URI]);
  assert.is(leaf.ServiceURI, WEB_URI);
  assert.is(leaf.Service, "web");
  assert.is(cert.subject, "", "Consul leaves carry no subject, only the SAN");
  assert.is(cert.issuer, new x509.X509Certificate(root.RootCert).subject);
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  assert.ok(san?.critical, "SAN is critical with an empty subject");
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  assert.ok(bc !== null && !bc.ca);
  assert.is(
    cert.getExtension(x509.KeyUsagesExtension)?.usages,
    x509.KeyUsageFlags.digitalSignature |
      x509.KeyUsageFlags.keyEncipherment |
      x509.KeyUsageFlags.dataEncipherment |
      x509.KeyUsageFlags.keyAgreement,
  );
  const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
  assert.equal([...(eku?.usages ?? [])].sort(), [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth].sort());
  assert.is(cert.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId, root.SigningKeyID.replaceAll(":", ""));
  // Valid from a minute in the past for LeafCertTTL.
  assert.is(Date.parse(leaf.ValidAfter), deps.now().getTime() - 60_000);
  assert.is(Date.parse(leaf.ValidBefore) - Date.parse(leaf.ValidAfter), 72 * H);
  assert.is(cert.notBefore.getTime(), Date.parse(leaf.ValidAfter));
  assert.is(leaf.SerialNumber, "02", "colon-hex of the serial (root took 1)");
  assert.is(leaf.CreateIndex, 42);
  assert.is(leaf.ModifyIndex, 42);
  assert.equal(Object.keys(leaf).sort(), [
    "CertPEM",
    "CreateIndex",
    "ModifyIndex",
    "PrivateKeyPEM",
    "SerialNumber",
    "Service",
    "ServiceURI",
    "ValidAfter",
    "ValidBefore",
  ]);
  // Leaf key: EC P-256, matching the certificate.
  const pub = createPublicKey(createPrivateKey(leaf.PrivateKeyPEM));
  assert.is(pub.asymmetricKeyDetails?.namedCurve, "prime256v1");
  assert.equal(new Uint8Array(pub.export({ type: "spki", format: "der" })), new Uint8Array(cert.publicKey.rawData));
  assert.ok(leafSignedByActiveRoot(leaf, [root]));
  if (haveOpenssl()) {
    const r = verify(root.RootCert, leaf.CertPEM);
    assert.ok(r.ok, r.out);
    const text = x509Text(leaf.CertPEM);
    assert.match(text, `URI:${WEB_URI}`);
    assert.match(text, "TLS Web Server Authentication");
    const other = await generateRoot(settings, CLUSTER, deps);
    assert.not.ok(verify(other.RootCert, leaf.CertPEM).ok, "another root must not verify it");
  }
});

test("leaf: extra DNS SANs; a foreign trust domain is refused", async () => {
  const deps = fixedDeps();
  const root = await generateRoot(settings, CLUSTER, deps);
  const leaf = await signLeaf(
    root,
    { service: "db", datacenter: "east", trustDomain: TD, ttlMs: H, dnsSANs: ["db.example:8080", "db.example", ""] },
    deps,
  );
  const names = new x509.X509Certificate(leaf.CertPEM).getExtension(x509.SubjectAlternativeNameExtension)?.names.toJSON();
  assert.equal(names, [
    { type: "url", value: `spiffe://${TD}/ns/default/dc/east/svc/db` },
    { type: "dns", value: "db.example" },
  ]);
  try {
    await signLeaf(root, { service: "web", datacenter: "dc1", trustDomain: "other.consul", ttlMs: H }, deps);
    assert.unreachable("foreign trust domain signed");
  } catch (e) {
    assert.ok(e instanceof CairnError && e.kind === "bad-request");
    assert.is(
      (e as Error).message,
      `SPIFFE ID in CSR from a different trust domain: other.consul, we are ${TD}`,
    );
  }
});

test("rotation: new active root cross-signed by the old; old leaves still verify against the bundle", async () => {
  // Start in the past so that "5 minutes later" is still not in the future for openssl.
  const deps = fixedDeps(Math.floor(Date.now() / 1000) * 1000 - 10 * 60_000);
  const oldRoot = await generateRoot(settings, CLUSTER, deps);
  const oldLeaf = await leafFor(oldRoot, deps);
  deps.advance(5 * 60_000);
  const rsaSettings = parseProviderSettings({ PrivateKeyType: "rsa", PrivateKeyBits: 2048 });
  const { roots, active } = await rotate([oldRoot], rsaSettings, CLUSTER, deps);
  assert.is(roots.length, 2);
  assert.is(roots[1], active);
  assert.is(roots[0]?.ID, oldRoot.ID);
  assert.is(roots[0]?.Active, false);
  assert.is(roots[0]?.RotatedOutAt, deps.now().toISOString().replace(".000Z", "Z"));
  assert.is(oldRoot.Active, true, "input records are not mutated");
  assert.is(active.Active, true);
  assert.is(active.PrivateKeyType, "rsa");
  assert.is.not(active.ID, oldRoot.ID);
  assert.is(active.IntermediateCerts.length, 1);
  const xc = new x509.X509Certificate(active.IntermediateCerts[0] ?? "");
  const newCert = new x509.X509Certificate(active.RootCert);
  assert.is(xc.subject, newCert.subject);
  assert.is(xc.issuer, new x509.X509Certificate(oldRoot.RootCert).subject);
  assert.is(xc.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId, oldRoot.SigningKeyID.replaceAll(":", ""));
  assert.is(xc.notAfter.getTime() - xc.notBefore.getTime(), 7 * 24 * H);

  const list = rootsResponse(roots, TD);
  assert.is(list.ActiveRootID, active.ID);
  assert.equal(list.Roots.map((r) => r.Active), [false, true]);
  assert.is(list.Roots[0]?.IntermediateCerts, null);
  assert.equal(list.Roots[1]?.IntermediateCerts, active.IntermediateCerts);

  const newLeaf = await leafFor(active, deps);
  assert.ok(newLeaf.CertPEM.includes(active.IntermediateCerts[0] ?? "?"), "leaf PEM carries the cross-signed cert");
  assert.not.ok(leafSignedByActiveRoot(oldLeaf, roots));
  assert.ok(leafSignedByActiveRoot(newLeaf, list));
  if (haveOpenssl()) {
    const bundle = list.Roots.map((r) => r.RootCert).join("");
    const a = verify(bundle, oldLeaf.CertPEM);
    assert.ok(a.ok, `old leaf vs bundle: ${a.out}`);
    const b = verify(active.RootCert, newLeaf.CertPEM);
    assert.ok(b.ok, `new leaf vs new root: ${b.out}`);
    const c = verify(oldRoot.RootCert, newLeaf.CertPEM, active.IntermediateCerts[0]);
    assert.ok(c.ok, `new leaf vs old root through the cross-signed cert: ${c.out}`);
    assert.not.ok(verify(active.RootCert, oldLeaf.CertPEM).ok, "old leaf does not verify against the new root alone");
  }

  // ForceWithoutCrossSigning: no intermediate.
  const forced = await rotate(roots, settings, CLUSTER, deps, { forceWithoutCrossSigning: true });
  assert.equal(forced.active.IntermediateCerts, []);
  assert.equal(forced.roots.map((r) => r.Active), [false, false, true]);
  assert.is(forced.roots[0]?.RotatedOutAt, roots[0]?.RotatedOutAt, "earlier rotation time kept");
});

test("pruning keeps rotated-out roots for 2 x LeafCertTTL", async () => {
  const deps = fixedDeps();
  const oldRoot = await generateRoot(settings, CLUSTER, deps);
  const { roots } = await rotate([oldRoot], settings, CLUSTER, deps);
  const t0 = deps.now().getTime();
  assert.is(pruneRoots(roots, settings.leafCertTTLMs, new Date(t0 + 2 * settings.leafCertTTLMs)), roots);
  const pruned = pruneRoots(roots, settings.leafCertTTLMs, new Date(t0 + 2 * settings.leafCertTTLMs + 1000));
  assert.is(pruned.length, 1);
  assert.is(pruned[0]?.Active, true);
});

test("roots survive a restart: records round-trip through the log encoding and keep signing", async () => {
  const deps = fixedDeps();
  const root = await generateRoot(settings, CLUSTER, deps);
  const { roots } = await rotate([root], settings, CLUSTER, deps);
  const restored = unpack(pack(roots)) as CARootRecord[];
  const viaJson = JSON.parse(JSON.stringify(roots)) as CARootRecord[];
  assert.equal(restored, roots);
  assert.equal(viaJson, roots);
  assert.equal(rootsResponse(restored, TD), rootsResponse(roots, TD));
  const active = restored.find((r) => r.Active);
  assert.ok(active !== undefined);
  const leaf = await leafFor(active as CARootRecord, systemCADeps);
  assert.equal(uriSANs(leaf.CertPEM), [WEB_URI]);
  if (haveOpenssl()) {
    const r = verify(roots[1]?.RootCert ?? "", leaf.CertPEM);
    assert.ok(r.ok, r.out);
  }
});

test("rootsResponse never carries a private key", async () => {
  const deps = fixedDeps();
  const { roots } = await rotate([await generateRoot(settings, CLUSTER, deps)], settings, CLUSTER, deps);
  const list = rootsResponse(roots, TD);
  const body = JSON.stringify(list);
  assert.not.ok(body.includes("PRIVATE KEY"));
  assert.not.ok(body.includes("SigningKey\""));
  assert.not.ok(body.includes("RotatedOutAt"));
  assert.is(list.TrustDomain, TD);
  assert.equal(Object.keys(list), ["ActiveRootID", "TrustDomain", "Roots"]);
  assert.equal(Object.keys(list.Roots[0] ?? {}), [
    "ID",
    "Name",
    "SerialNumber",
    "SigningKeyID",
    "ExternalTrustDomain",
    "NotBefore",
    "NotAfter",
    "RootCert",
    "IntermediateCerts",
    "Active",
    "PrivateKeyType",
    "PrivateKeyBits",
    "CreateIndex",
    "ModifyIndex",
  ]);
  assert.equal(rootsResponse([], ""), { ActiveRootID: "", TrustDomain: "", Roots: [] });
});

test("leaf renewal window is Consul's 60 %..90 % of the lifetime", () => {
  const leaf = { ValidAfter: "2030-01-01T00:00:00Z", ValidBefore: "2030-01-01T10:00:00Z" };
  const early = leafSoftExpiry(leaf, new Date("2030-01-01T01:00:00Z"));
  assert.is(early.min.toISOString(), "2030-01-01T06:00:00.000Z");
  assert.is(early.max.toISOString(), "2030-01-01T09:00:00.000Z");
  const soft = leafSoftExpiry(leaf, new Date("2030-01-01T07:00:00Z"));
  assert.is(soft.min.toISOString(), "2030-01-01T07:00:00.000Z");
  const late = leafSoftExpiry(leaf, new Date("2030-01-01T09:30:00Z"));
  assert.is(late.min.getTime(), late.max.getTime());
});

test.run();
