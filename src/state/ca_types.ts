/**
 * state/ca_types: the Connect CA rows the state store keeps (Consul's connect-ca-roots and
 * connect-ca-config tables) and the read face the CA driver and HTTP layer use.
 *
 * A CARootRow has exactly the fields of connect's CARootRecord (kept structurally equal so
 * the CA core's records go through the log as they are); the private signing key is part of
 * the row because the leader and the agent on a server sign with it.
 *
 * Must never: import I/O modules, the X.509 library or HTTP types.
 */

import type { CancelWatch, Indexed, WatchCallback } from "./types.ts";

/** One CA root (Consul's structs.CARoot plus its signing key). */
export interface CARootRow {
  readonly ID: string;
  readonly Name: string;
  readonly SerialNumber: number;
  readonly SigningKeyID: string;
  readonly ExternalTrustDomain: string;
  readonly NotBefore: string;
  readonly NotAfter: string;
  readonly RootCert: string;
  readonly IntermediateCerts: readonly string[];
  readonly Active: boolean;
  readonly PrivateKeyType: string;
  readonly PrivateKeyBits: number;
  readonly CreateIndex: number;
  readonly ModifyIndex: number;
  readonly SigningKey: string;
  readonly RotatedOutAt: string;
}

/** What a write gives for the CA configuration (indexes are the FSM's). */
export interface CAConfigInput {
  /** The cluster ID; "" keeps the stored one (Consul: ClusterID never changes through the API). */
  readonly clusterId: string;
  readonly provider: string;
  /** Opaque provider config (JSON values), as Consul stores it. */
  readonly config: Readonly<Record<string, unknown>>;
  readonly state: Readonly<Record<string, string>> | null;
  readonly forceWithoutCrossSigning: boolean;
}

/** The stored CA configuration (Consul's structs.CAConfiguration). */
export interface CAConfigRow extends CAConfigInput {
  readonly createIndex: number;
  readonly modifyIndex: number;
}

/** Reads of the CA tables, with Consul's index rules, and their watches. */
export interface CAReader {
  /** The roots in insertion order; index = the roots table index (Consul's CARoots). */
  caRoots(): Indexed<readonly CARootRow[]>;
  /** The configuration, if set; index = the config table index. */
  caConfig(): Indexed<CAConfigRow | undefined>;
  /** Fires once when the roots table changes (or on restore). */
  watchCARoots(cb: WatchCallback): CancelWatch;
  /** Fires once when the configuration changes (or on restore). */
  watchCAConfig(cb: WatchCallback): CancelWatch;
}
