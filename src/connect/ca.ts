/**
 * ca: the built-in ("consul" provider) Connect CA: root generation, leaf signing,
 * rotation with cross-signing, root pruning, and the CARootList JSON.
 *
 * Certificates follow Consul's provider_consul.go: EC P-256 by default (or RSA), root CN
 * "pri-<uid>.consul.ca.<cluster-id[:8]>.consul" with URI SAN spiffe://<cluster-id>.consul,
 * SubjectKeyId = AuthorityKeyId = SHA-256 of the SPKI DER, root ID = colon-hex SHA-1 of the
 * DER; leaves with an empty subject, a critical URI SAN spiffe://<td>/ns/default/dc/<dc>/svc/<s>,
 * EC P-256 keys, valid from a minute in the past. The X.509 work is @peculiar/x509 over WebCrypto.
 *
 * Records are plain JSON (strings and numbers) so they can go through the raft log as they are.
 * The root's private key lives only in `CARootRecord.SigningKey` (PKCS#8 PEM).
 *
 * Must never: put a private signing key in any JSON meant for clients (rootsResponse strips it),
 * read the clock or randomness except through `deps`, or do I/O.
 */

import { CairnError } from "../shared/errors.ts";
import { CA_CERT_TIME_DRIFT_MS, CA_CROSS_SIGN_VALIDITY_MS, CA_SERIAL_MAX } from "../shared/limits.ts";
import type { CAProviderSettings } from "./config.ts";
import { formatGoTime } from "./duration.ts";
import { serviceURI, signingURI, trustDomainFor } from "./spiffe.ts";
import { x509 } from "./x509.ts";

/** Time and randomness for the CA (keys themselves come from WebCrypto). */
export interface CADeps {
  now(): Date;
  /** A positive serial number below CA_SERIAL_MAX (Consul uses a raft-incremented counter). */
  randomSerial(): bigint;
  randomBytes(n: number): Uint8Array;
}

export const systemCADeps: CADeps = {
  now: () => new Date(),
  randomSerial: () => {
    for (;;) {
      const b = globalThis.crypto.getRandomValues(new Uint8Array(8));
      const v = BigInt(`0x${hex(b)}`) % CA_SERIAL_MAX;
      if (v > 0n) return v;
    }
  },
  randomBytes: (n) => globalThis.crypto.getRandomValues(new Uint8Array(n)),
};

/** A root as stored in the state (Consul's structs.CARoot plus the signing key). */
export interface CARootRecord {
  ID: string;
  Name: string;
  SerialNumber: number;
  SigningKeyID: string;
  ExternalTrustDomain: string;
  NotBefore: string;
  NotAfter: string;
  RootCert: string;
  IntermediateCerts: string[];
  Active: boolean;
  PrivateKeyType: string;
  PrivateKeyBits: number;
  CreateIndex: number;
  ModifyIndex: number;
  /** PKCS#8 PEM of the root's private key. Never leaves the servers. */
  SigningKey: string;
  /** When this root stopped being active (Go time JSON), "" while active. Not in client JSON. */
  RotatedOutAt: string;
}

/** A root as clients see it (GET /v1/connect/ca/roots). */
export interface CARootJSON {
  ID: string;
  Name: string;
  SerialNumber: number;
  SigningKeyID: string;
  ExternalTrustDomain: string;
  NotBefore: string;
  NotAfter: string;
  RootCert: string;
  IntermediateCerts: string[] | null;
  Active: boolean;
  PrivateKeyType: string;
  PrivateKeyBits: number;
  CreateIndex: number;
  ModifyIndex: number;
}

/** Consul's structs.IndexedCARoots as JSON. */
export interface CARootList {
  ActiveRootID: string;
  TrustDomain: string;
  Roots: CARootJSON[];
}

/** Consul's structs.IssuedCert as JSON (the leaf endpoint's body). */
export interface LeafCert {
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

export interface LeafRequest {
  service: string;
  datacenter: string;
  /** The cluster's trust domain ("<cluster-id>.consul"); must match the root's. */
  trustDomain: string;
  ttlMs: number;
  /** Extra DNS SANs (Consul's `DNSSAN`); none by default. */
  dnsSANs?: readonly string[];
  /** Raft index to report as CreateIndex/ModifyIndex (Consul: the leaf-increment index). */
  index?: number;
}

// ---------------------------------------------------------------------------
// Small helpers.

function hex(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}

/** Consul's connect.HexString: lower-case hex bytes joined by ':'. */
export function colonHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(":");
}

/** A positive DER INTEGER body as hex (a leading 00 when the high bit is set). */
function serialHex(serial: bigint): string {
  let h = serial.toString(16);
  if (h.length % 2 === 1) h = `0${h}`;
  if (Number.parseInt(h.slice(0, 1), 16) >= 8) h = `00${h}`;
  return h;
}

/** Minimal big-endian bytes of a non-negative serial (Go's big.Int.Bytes). */
function serialBytes(serialHexStr: string): Uint8Array {
  let h = serialHexStr.replace(/^(00)+/, "");
  if (h === "") return new Uint8Array(0);
  if (h.length % 2 === 1) h = `0${h}`;
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(h.slice(i * 2, i * 2 + 2), 16);
  return out;
}

function ensureTrailingNewline(s: string): string {
  return s.endsWith("\n") ? s : `${s}\n`;
}

function pem(cert: x509.X509Certificate): string {
  return ensureTrailingNewline(cert.toString("pem"));
}

async function sha(alg: "SHA-1" | "SHA-256", data: BufferSource): Promise<Uint8Array> {
  return new Uint8Array(await globalThis.crypto.subtle.digest(alg, data));
}

interface KeyAlgorithms {
  generate: EcKeyGenParams | RsaHashedKeyGenParams;
  importParams: EcKeyImportParams | RsaHashedImportParams;
  /** Consul signs with SHA-256 whatever the key size (connect.SigAlgoForKey). */
  signing: EcdsaParams | Algorithm;
}

const EC_CURVES: ReadonlyMap<number, string> = new Map([
  [256, "P-256"],
  [384, "P-384"],
  [521, "P-521"],
]);

function keyAlgorithms(type: string, bits: number): KeyAlgorithms {
  if (type === "ec") {
    const namedCurve = EC_CURVES.get(bits);
    if (namedCurve === undefined) {
      throw new CairnError("bad-request", `error generating ECDSA private key: unknown curve length ${bits}`);
    }
    return {
      generate: { name: "ECDSA", namedCurve },
      importParams: { name: "ECDSA", namedCurve },
      signing: { name: "ECDSA", hash: "SHA-256" },
    };
  }
  if (type === "rsa") {
    const hash = "SHA-256";
    return {
      generate: { name: "RSASSA-PKCS1-v1_5", modulusLength: bits, publicExponent: new Uint8Array([1, 0, 1]), hash },
      importParams: { name: "RSASSA-PKCS1-v1_5", hash },
      signing: { name: "RSASSA-PKCS1-v1_5" },
    };
  }
  throw new CairnError("bad-request", `unknown private key type requested: ${type}`);
}

async function generateKeys(type: string, bits: number): Promise<CryptoKeyPair> {
  const alg = keyAlgorithms(type, bits);
  return (await globalThis.crypto.subtle.generateKey(alg.generate, true, ["sign", "verify"])) as CryptoKeyPair;
}

async function exportPkcs8Pem(key: CryptoKey): Promise<string> {
  const der = await globalThis.crypto.subtle.exportKey("pkcs8", key);
  return ensureTrailingNewline(x509.PemConverter.encode(der, "PRIVATE KEY"));
}

async function importSigningKey(root: CARootRecord): Promise<CryptoKey> {
  const alg = keyAlgorithms(root.PrivateKeyType, root.PrivateKeyBits);
  const der = x509.PemConverter.decodeFirst(root.SigningKey);
  return globalThis.crypto.subtle.importKey("pkcs8", der, alg.importParams, false, ["sign"]);
}

/** Consul's connect.KeyId: SHA-256 over the DER SubjectPublicKeyInfo. */
async function keyIdOfSpki(spki: BufferSource): Promise<Uint8Array> {
  return sha("SHA-256", spki);
}

async function keyIdOf(publicKey: CryptoKey): Promise<Uint8Array> {
  return keyIdOfSpki(await globalThis.crypto.subtle.exportKey("spki", publicKey));
}

/** Consul's connect.CompactUID: 8 base-36 characters of randomness. */
function compactUID(deps: CADeps): string {
  const v = BigInt(`0x${hex(deps.randomBytes(8))}`);
  return v.toString(36).padStart(8, "0").slice(0, 8);
}

/** Consul's connect.CACN for the primary datacenter's built-in provider. */
function caCommonName(uid: string, clusterId: string): string {
  return `pri-${uid.toLowerCase().replace(/[^a-z0-9]/g, "").slice(0, 8)}.consul.ca.${clusterId.slice(0, 8)}.consul`;
}

function checkSerial(serial: bigint): bigint {
  if (serial <= 0n || serial >= CA_SERIAL_MAX) {
    throw new Error(`assertion failed: CA serial ${serial} out of range`);
  }
  return serial;
}

// ---------------------------------------------------------------------------
// Roots.

/** Builds the CARootRecord fields Consul derives from a root PEM (leader_connect_ca.go newCARoot). */
async function rootRecordFromCert(
  cert: x509.X509Certificate,
  clusterId: string,
  keyType: string,
  keyBits: number,
  signingKeyPem: string,
): Promise<CARootRecord> {
  const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension);
  if (ski === null) throw new Error("assertion failed: root without SubjectKeyId");
  return {
    ID: colonHex(await sha("SHA-1", cert.rawData)),
    Name: "Consul CA Primary Cert",
    SerialNumber: Number(BigInt(`0x${cert.serialNumber}`)),
    SigningKeyID: colonHex(bytesFromHex(ski.keyId)),
    ExternalTrustDomain: clusterId,
    NotBefore: formatGoTime(cert.notBefore),
    NotAfter: formatGoTime(cert.notAfter),
    RootCert: pem(cert),
    IntermediateCerts: [],
    Active: true,
    PrivateKeyType: keyType,
    PrivateKeyBits: keyBits,
    CreateIndex: 0,
    ModifyIndex: 0,
    SigningKey: signingKeyPem,
    RotatedOutAt: "",
  };
}

function bytesFromHex(h: string): Uint8Array {
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(h.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/**
 * Generates a new self-signed root for the cluster (Consul's ConsulProvider.GenerateCAChain
 * + generateCA): key per settings, validity [now, now + RootCertTTL].
 */
export async function generateRoot(
  settings: CAProviderSettings,
  clusterId: string,
  deps: CADeps,
): Promise<CARootRecord> {
  const keys = await generateKeys(settings.privateKeyType, settings.privateKeyBits);
  const alg = keyAlgorithms(settings.privateKeyType, settings.privateKeyBits);
  const keyId = hex(await keyIdOf(keys.publicKey));
  const now = deps.now();
  const cn = caCommonName(compactUID(deps), clusterId);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialHex(checkSerial(deps.randomSerial())),
    name: [{ CN: [cn] }],
    notBefore: now,
    notAfter: new Date(now.getTime() + settings.rootCertTTLMs),
    keys,
    signingAlgorithm: alg.signing,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      new x509.SubjectKeyIdentifierExtension(keyId),
      new x509.AuthorityKeyIdentifierExtension(keyId),
      new x509.SubjectAlternativeNameExtension([{ type: "url", value: signingURI(trustDomainFor(clusterId)) }]),
    ],
  });
  return rootRecordFromCert(
    cert,
    clusterId,
    settings.privateKeyType,
    settings.privateKeyBits,
    await exportPkcs8Pem(keys.privateKey),
  );
}

/**
 * Has the old root's key sign the new root's certificate (Consul's CrossSignCA): same
 * subject, key and extensions as the new root, issuer and AuthorityKeyId of the old root,
 * valid from a minute ago for 7 days. Leaves signed by the new root then chain to the old
 * root through it, so proxies that only trust the old root keep working during rotation.
 */
export async function crossSign(oldRoot: CARootRecord, newRoot: CARootRecord, deps: CADeps): Promise<string> {
  const oldCert = new x509.X509Certificate(oldRoot.RootCert);
  const newCert = new x509.X509Certificate(newRoot.RootCert);
  const oldKey = await importSigningKey(oldRoot);
  const oldAki = oldCert.getExtension(x509.SubjectKeyIdentifierExtension);
  if (oldAki === null) throw new Error("assertion failed: old root without SubjectKeyId");
  const extensions = newCert.extensions.filter((e) => !(e instanceof x509.AuthorityKeyIdentifierExtension));
  extensions.push(new x509.AuthorityKeyIdentifierExtension(oldAki.keyId));
  const start = new Date(deps.now().getTime() - CA_CERT_TIME_DRIFT_MS);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialHex(checkSerial(deps.randomSerial())),
    subject: newCert.subjectName,
    issuer: oldCert.subjectName,
    notBefore: start,
    notAfter: new Date(start.getTime() + CA_CROSS_SIGN_VALIDITY_MS),
    publicKey: newCert.publicKey,
    signingKey: oldKey,
    signingAlgorithm: keyAlgorithms(oldRoot.PrivateKeyType, oldRoot.PrivateKeyBits).signing,
    extensions,
  });
  return pem(cert);
}

export interface RotateOptions {
  /** Consul's ForceWithoutCrossSigning: skip the cross-signed intermediate. */
  forceWithoutCrossSigning?: boolean;
}

export interface RotateResult {
  /** All roots to commit: the old ones (now inactive) then the new active one. */
  roots: CARootRecord[];
  active: CARootRecord;
}

/**
 * Rotates to a new root (Consul's primaryUpdateRootCA): a fresh root from `settings`,
 * cross-signed by the current active root unless forced; the old active root becomes
 * inactive with RotatedOutAt = now and stays trusted until `pruneRoots` drops it.
 */
export async function rotate(
  roots: readonly CARootRecord[],
  settings: CAProviderSettings,
  clusterId: string,
  deps: CADeps,
  opts: RotateOptions = {},
): Promise<RotateResult> {
  const active = await generateRoot(settings, clusterId, deps);
  const oldActive = roots.find((r) => r.Active);
  if (oldActive !== undefined && opts.forceWithoutCrossSigning !== true) {
    active.IntermediateCerts = [await crossSign(oldActive, active, deps), ...active.IntermediateCerts];
  }
  const now = formatGoTime(deps.now());
  const out = roots.map((r) => (r.Active ? { ...r, Active: false, RotatedOutAt: now } : { ...r }));
  out.push(active);
  return { roots: out, active };
}

/**
 * Drops inactive roots rotated out more than 2 x LeafCertTTL ago (Consul's pruneCARoots):
 * by then every leaf they signed has expired. Returns the same array when nothing changes.
 */
export function pruneRoots(
  roots: readonly CARootRecord[],
  leafCertTTLMs: number,
  now: Date,
): readonly CARootRecord[] {
  const kept = roots.filter((r) => {
    if (r.Active || r.RotatedOutAt === "") return true;
    const out = Date.parse(r.RotatedOutAt);
    return !(now.getTime() - out > 2 * leafCertTTLMs);
  });
  return kept.length === roots.length ? roots : kept;
}

/** The CARootList JSON for /v1/connect/ca/roots and /v1/agent/connect/ca/roots (no private keys). */
export function rootsResponse(roots: readonly CARootRecord[], trustDomain: string): CARootList {
  const active = roots.find((r) => r.Active);
  return {
    ActiveRootID: active?.ID ?? "",
    TrustDomain: trustDomain,
    Roots: roots.map((r) => ({
      ID: r.ID,
      Name: r.Name,
      SerialNumber: r.SerialNumber,
      SigningKeyID: r.SigningKeyID,
      ExternalTrustDomain: r.ExternalTrustDomain,
      NotBefore: r.NotBefore,
      NotAfter: r.NotAfter,
      RootCert: r.RootCert,
      IntermediateCerts: r.IntermediateCerts.length === 0 ? null : [...r.IntermediateCerts],
      Active: r.Active,
      PrivateKeyType: r.PrivateKeyType,
      PrivateKeyBits: r.PrivateKeyBits,
      CreateIndex: r.CreateIndex,
      ModifyIndex: r.ModifyIndex,
    })),
  };
}

// ---------------------------------------------------------------------------
// Leaves.

/**
 * Issues a service leaf signed by `root` (Consul's agent leaf generation + ConnectCA.Sign):
 * a new EC P-256 key, empty subject, critical URI SAN spiffe://<td>/ns/default/dc/<dc>/svc/<s>,
 * key usage digitalSignature|keyEncipherment|dataEncipherment|keyAgreement, ext key usage
 * clientAuth+serverAuth, validity [now - 1m, now - 1m + ttl]. CertPEM carries the root's
 * intermediates (the cross-signed cert after a rotation) after the leaf.
 */
export async function signLeaf(root: CARootRecord, req: LeafRequest, deps: CADeps): Promise<LeafCert> {
  const ours = trustDomainFor(root.ExternalTrustDomain);
  if (req.trustDomain !== ours) {
    throw new CairnError(
      "bad-request",
      `SPIFFE ID in CSR from a different trust domain: ${req.trustDomain}, we are ${ours}`,
    );
  }
  if (req.service === "") throw new CairnError("bad-request", "URI must be either service, agent, server, or kind");
  const now = deps.now();
  if (Date.parse(root.NotAfter) < now.getTime()) {
    throw new CairnError("internal", `root expired: certificate expired, expiration date: ${root.NotAfter}`);
  }
  const rootCert = new x509.X509Certificate(root.RootCert);
  const rootSki = rootCert.getExtension(x509.SubjectKeyIdentifierExtension);
  if (rootSki === null) throw new Error("assertion failed: root without SubjectKeyId");
  const signer = await importSigningKey(root);
  const leafKeys = await generateKeys("ec", 256);
  const uri = serviceURI(req.trustDomain, req.datacenter, req.service);
  const sans: x509.JsonGeneralNames = [{ type: "url", value: uri }];
  const seen = new Set<string>();
  for (const d of req.dnsSANs ?? []) {
    const host = d.split(":")[0] ?? "";
    if (host === "" || seen.has(host)) continue;
    seen.add(host);
    sans.push({ type: "dns", value: host });
  }
  const start = new Date(now.getTime() - CA_CERT_TIME_DRIFT_MS);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialHex(checkSerial(deps.randomSerial())),
    subject: [],
    issuer: rootCert.subjectName,
    notBefore: start,
    notAfter: new Date(start.getTime() + req.ttlMs),
    publicKey: leafKeys.publicKey,
    signingKey: signer,
    signingAlgorithm: keyAlgorithms(root.PrivateKeyType, root.PrivateKeyBits).signing,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature |
          x509.KeyUsageFlags.keyEncipherment |
          x509.KeyUsageFlags.dataEncipherment |
          x509.KeyUsageFlags.keyAgreement,
        true,
      ),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth, x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectKeyIdentifierExtension(hex(await keyIdOf(leafKeys.publicKey))),
      new x509.AuthorityKeyIdentifierExtension(rootSki.keyId),
      // An empty subject makes the SAN extension critical (RFC 5280 4.2.1.6), as Go does.
      new x509.SubjectAlternativeNameExtension(sans, true),
    ],
  });
  let certPem = pem(cert);
  for (const p of root.IntermediateCerts) certPem += ensureTrailingNewline(p);
  const index = req.index ?? 0;
  return {
    SerialNumber: colonHex(serialBytes(cert.serialNumber)),
    CertPEM: certPem,
    PrivateKeyPEM: await exportPkcs8Pem(leafKeys.privateKey),
    Service: req.service,
    ServiceURI: uri,
    ValidAfter: formatGoTime(cert.notBefore),
    ValidBefore: formatGoTime(cert.notAfter),
    CreateIndex: index,
    ModifyIndex: index,
  };
}

/** The colon-hex AuthorityKeyId of a leaf (first cert of a PEM), to compare with a root's SigningKeyID. */
export function leafAuthorityKeyID(certPem: string): string {
  const cert = new x509.X509Certificate(certPem);
  const aki = cert.getExtension(x509.AuthorityKeyIdentifierExtension);
  return aki?.keyId === undefined ? "" : colonHex(bytesFromHex(aki.keyId));
}

/** True when the active root is the one that signed this leaf (Consul's activeRootHasKey). */
export function leafSignedByActiveRoot(leaf: LeafCert, roots: readonly CARootRecord[] | CARootList): boolean {
  const list = Array.isArray(roots) ? roots : (roots as CARootList).Roots;
  const active = list.find((r: { Active: boolean }) => r.Active);
  return active !== undefined && active.SigningKeyID === leafAuthorityKeyID(leaf.CertPEM);
}

/**
 * When a cached leaf should be renewed (Consul's calculateSoftExpiry): pick a time in
 * [min, max]; min = 60 % of the lifetime (or now if later), max = 90 %; both now once
 * past 90 % or for lifetimes under 10 minutes.
 */
export function leafSoftExpiry(leaf: Pick<LeafCert, "ValidAfter" | "ValidBefore">, now: Date): { min: Date; max: Date } {
  const after = Date.parse(leaf.ValidAfter);
  const life = Date.parse(leaf.ValidBefore) - after;
  if (!(life >= 10 * 60 * 1000)) return { min: now, max: now };
  const soft = after + life * 0.6;
  const hard = after + life * 0.9;
  if (now.getTime() > hard) return { min: now, max: now };
  return { min: new Date(Math.max(soft, now.getTime())), max: new Date(hard) };
}
