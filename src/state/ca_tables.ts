/**
 * state/ca_tables: the Connect CA tables (roots, configuration), their table indexes, and
 * the `ca-set` write (Consul's CAOpSetRoots / CAOpSetConfig / CAOpSetRootsAndConfig in one).
 *
 * `ca-set` replaces the whole roots list (rows keep their CreateIndex by ID, every row gets
 * ModifyIndex = the write's index, as Consul's CARootSetCAS) and/or the configuration
 * (CreateIndex kept, ModifyIndex = index, an empty cluster ID keeps the stored one, as
 * caSetConfigTxn). With `cas` set it applies only when the stored configuration's
 * ModifyIndex equals it (0: only when no configuration exists), as CACheckAndSetConfig.
 *
 * Must never: read clocks or randomness, or apply half of a ca-set.
 */

import type { CAConfigInput, CAConfigRow, CARootRow } from "./ca_types.ts";

/** Watch keys of the CA tables (the store's CA watch index). */
export const CA_ROOTS_WATCH = "connect-ca-roots";
export const CA_CONFIG_WATCH = "connect-ca-config";

export class CATables {
  roots: readonly CARootRow[] = [];
  config: CAConfigRow | undefined = undefined;
  rootsIndex = 0;
  configIndex = 0;
}

export interface CASetResult {
  readonly ok: boolean;
  /** Watch keys to wake (empty when nothing changed). */
  readonly touched: readonly string[];
}

/** Applies a ca-set at `index`; nothing changes when the CAS check fails. */
export function caSet(
  t: CATables,
  index: number,
  roots: readonly CARootRow[] | null,
  config: CAConfigInput | null,
  cas: number | null,
): CASetResult {
  if (cas !== null) {
    const cur = t.config;
    if ((cur !== undefined && cur.modifyIndex !== cas) || (cur === undefined && cas !== 0)) {
      return { ok: false, touched: [] };
    }
  }
  const touched: string[] = [];
  if (roots !== null) {
    const prev = new Map(t.roots.map((r) => [r.ID, r.CreateIndex]));
    t.roots = roots.map((r) => ({
      ...r,
      IntermediateCerts: [...r.IntermediateCerts],
      CreateIndex: prev.get(r.ID) ?? index,
      ModifyIndex: index,
    }));
    t.rootsIndex = index;
    touched.push(CA_ROOTS_WATCH);
  }
  if (config !== null) {
    const cur = t.config;
    t.config = {
      clusterId: config.clusterId === "" && cur !== undefined ? cur.clusterId : config.clusterId,
      provider: config.provider,
      config: { ...config.config },
      state: config.state === null ? null : { ...config.state },
      forceWithoutCrossSigning: config.forceWithoutCrossSigning,
      createIndex: cur?.createIndex ?? index,
      modifyIndex: index,
    };
    t.configIndex = index;
    touched.push(CA_CONFIG_WATCH);
  }
  return { ok: true, touched };
}
