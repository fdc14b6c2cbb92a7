/**
 * state/ca_codec: CA rows <-> msgpack-ready arrays, for the command codec and snapshots.
 *
 * Roots travel as fixed-order arrays; the opaque provider Config travels as its JSON text so
 * every JSON value (floats, nested maps) comes back exactly as it went in.
 *
 * Must never: accept a shape the store does not (every field is checked on the way in).
 */

import type { CAConfigInput, CAConfigRow, CARootRow } from "./ca_types.ts";
import type { CairnError } from "../shared/errors.ts";

type Bad = (msg: string) => CairnError;

const ROOT_FIELDS = 16;

export function caRootOut(r: CARootRow): unknown[] {
  return [
    r.ID,
    r.Name,
    r.SerialNumber,
    r.SigningKeyID,
    r.ExternalTrustDomain,
    r.NotBefore,
    r.NotAfter,
    r.RootCert,
    [...r.IntermediateCerts],
    r.Active,
    r.PrivateKeyType,
    r.PrivateKeyBits,
    r.CreateIndex,
    r.ModifyIndex,
    r.SigningKey,
    r.RotatedOutAt,
  ];
}

function s(x: unknown, what: string, bad: Bad): string {
  if (typeof x !== "string") throw bad(`${what} is not a string`);
  return x;
}

function n(x: unknown, what: string, bad: Bad): number {
  if (typeof x === "bigint" && x >= 0n && x <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(x);
  if (typeof x !== "number" || !Number.isSafeInteger(x) || x < 0) throw bad(`${what} is not a count`);
  return x;
}

function b(x: unknown, what: string, bad: Bad): boolean {
  if (typeof x !== "boolean") throw bad(`${what} is not a bool`);
  return x;
}

export function caRootIn(x: unknown, bad: Bad): CARootRow {
  if (!Array.isArray(x) || x.length !== ROOT_FIELDS) throw bad("CA root is not a 16-field array");
  const inter = x[8];
  if (!Array.isArray(inter)) throw bad("CA root IntermediateCerts is not an array");
  return {
    ID: s(x[0], "CA root ID", bad),
    Name: s(x[1], "CA root Name", bad),
    SerialNumber: n(x[2], "CA root SerialNumber", bad),
    SigningKeyID: s(x[3], "CA root SigningKeyID", bad),
    ExternalTrustDomain: s(x[4], "CA root ExternalTrustDomain", bad),
    NotBefore: s(x[5], "CA root NotBefore", bad),
    NotAfter: s(x[6], "CA root NotAfter", bad),
    RootCert: s(x[7], "CA root RootCert", bad),
    IntermediateCerts: (inter as unknown[]).map((c) => s(c, "CA root intermediate", bad)),
    Active: b(x[9], "CA root Active", bad),
    PrivateKeyType: s(x[10], "CA root PrivateKeyType", bad),
    PrivateKeyBits: n(x[11], "CA root PrivateKeyBits", bad),
    CreateIndex: n(x[12], "CA root CreateIndex", bad),
    ModifyIndex: n(x[13], "CA root ModifyIndex", bad),
    SigningKey: s(x[14], "CA root SigningKey", bad),
    RotatedOutAt: s(x[15], "CA root RotatedOutAt", bad),
  };
}

export function caConfigInputOut(c: CAConfigInput): unknown[] {
  return [c.clusterId, c.provider, JSON.stringify(c.config), c.state === null ? null : { ...c.state }, c.forceWithoutCrossSigning];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function caConfigInputIn(x: unknown, bad: Bad): CAConfigInput {
  if (!Array.isArray(x) || x.length !== 5) throw bad("CA config is not a 5-field array");
  let config: unknown;
  try {
    config = JSON.parse(s(x[2], "CA config Config", bad));
  } catch (e) {
    if (e instanceof SyntaxError) throw bad("CA config Config is not JSON");
    throw e;
  }
  if (!isRecord(config)) throw bad("CA config Config is not an object");
  let state: Record<string, string> | null = null;
  if (x[3] !== null && x[3] !== undefined) {
    if (!isRecord(x[3])) throw bad("CA config State is not a map");
    state = {};
    for (const [k, v] of Object.entries(x[3])) state[k] = s(v, "CA config State value", bad);
  }
  return {
    clusterId: s(x[0], "CA config cluster ID", bad),
    provider: s(x[1], "CA config Provider", bad),
    config,
    state,
    forceWithoutCrossSigning: b(x[4], "CA config ForceWithoutCrossSigning", bad),
  };
}

export function caConfigRowOut(c: CAConfigRow): unknown[] {
  return [...caConfigInputOut(c), c.createIndex, c.modifyIndex];
}

export function caConfigRowIn(x: unknown, bad: Bad): CAConfigRow {
  if (!Array.isArray(x) || x.length !== 7) throw bad("CA config row is not a 7-field array");
  return {
    ...caConfigInputIn(x.slice(0, 5), bad),
    createIndex: n(x[5], "CA config CreateIndex", bad),
    modifyIndex: n(x[6], "CA config ModifyIndex", bad),
  };
}
