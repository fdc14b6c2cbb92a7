/**
 * autopilot_table: Consul's "autopilot-config" table — the one replicated
 * autopilot configuration row (CleanupDeadServers, LastContactThreshold, ...),
 * with its CreateIndex/ModifyIndex, and the check-and-set rule of
 * Consul's AutopilotCASConfig (a CAS against a ModifyIndex that is not the current
 * one changes nothing and answers false). Before any row is stored, readers show the
 * defaults with ModifyIndex 0, so a CAS of 0 matches a missing row (Consul's leader always
 * stores a row first; cairn's single server does not, and set-config must still work).
 *
 * Must never: read clocks, or keep a caller's object (rows are copied).
 */

/** The configuration as stored (durations in milliseconds). */
export interface AutopilotConfig {
  readonly cleanupDeadServers: boolean;
  readonly lastContactThresholdMs: number;
  readonly maxTrailingLogs: number;
  readonly minQuorum: number;
  readonly serverStabilizationTimeMs: number;
  readonly redundancyZoneTag: string;
  readonly disableUpgradeMigration: boolean;
  readonly upgradeVersionTag: string;
}

export interface AutopilotRow extends AutopilotConfig {
  readonly createIndex: number;
  readonly modifyIndex: number;
}

/** Consul's defaults (agent/config/default.go autopilot block). */
export const DEFAULT_AUTOPILOT_CONFIG: AutopilotConfig = {
  cleanupDeadServers: true,
  lastContactThresholdMs: 200,
  maxTrailingLogs: 250,
  minQuorum: 0,
  serverStabilizationTimeMs: 10_000,
  redundancyZoneTag: "",
  disableUpgradeMigration: false,
  upgradeVersionTag: "",
};

export class AutopilotTable {
  row: AutopilotRow | undefined;

  /** Set at `index`; with `cas` (a ModifyIndex) only when the row exists and matches. */
  set(index: number, cfg: AutopilotConfig, cas: number | null): boolean {
    const old = this.row;
    if (cas !== null && (old === undefined ? cas !== 0 : old.modifyIndex !== cas)) return false;
    this.row = { ...copyConfig(cfg), createIndex: old?.createIndex ?? index, modifyIndex: index };
    return true;
  }
}

function copyConfig(c: AutopilotConfig): AutopilotConfig {
  return {
    cleanupDeadServers: c.cleanupDeadServers,
    lastContactThresholdMs: c.lastContactThresholdMs,
    maxTrailingLogs: c.maxTrailingLogs,
    minQuorum: c.minQuorum,
    serverStabilizationTimeMs: c.serverStabilizationTimeMs,
    redundancyZoneTag: c.redundancyZoneTag,
    disableUpgradeMigration: c.disableUpgradeMigration,
    upgradeVersionTag: c.upgradeVersionTag,
  };
}

/** As stored in log entries: a positional array. */
export function autopilotConfigOut(c: AutopilotConfig): unknown[] {
  return [
    c.cleanupDeadServers,
    c.lastContactThresholdMs,
    c.maxTrailingLogs,
    c.minQuorum,
    c.serverStabilizationTimeMs,
    c.redundancyZoneTag,
    c.disableUpgradeMigration,
    c.upgradeVersionTag,
  ];
}

export function autopilotConfigIn(x: unknown, bad: (m: string) => Error): AutopilotConfig {
  if (!Array.isArray(x) || x.length !== 8) throw bad("autopilot config");
  const [cleanup, lct, mtl, mq, sst, rzt, dum, uvt] = x as unknown[];
  const num = (v: unknown, what: string): number => {
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) throw bad(`autopilot config ${what}`);
    return v;
  };
  if (typeof cleanup !== "boolean" || typeof dum !== "boolean") throw bad("autopilot config flags");
  if (typeof rzt !== "string" || typeof uvt !== "string") throw bad("autopilot config tags");
  return {
    cleanupDeadServers: cleanup,
    lastContactThresholdMs: num(lct, "last contact threshold"),
    maxTrailingLogs: num(mtl, "max trailing logs"),
    minQuorum: num(mq, "min quorum"),
    serverStabilizationTimeMs: num(sst, "server stabilization time"),
    redundancyZoneTag: rzt,
    disableUpgradeMigration: dum,
    upgradeVersionTag: uvt,
  };
}

/** A row with its indexes (snapshots). */
export function autopilotRowOut(r: AutopilotRow): unknown[] {
  return [autopilotConfigOut(r), r.createIndex, r.modifyIndex];
}

export function autopilotRowIn(x: unknown, bad: (m: string) => Error): AutopilotRow {
  if (!Array.isArray(x) || x.length !== 3 || typeof x[1] !== "number" || typeof x[2] !== "number") throw bad("autopilot row");
  return { ...autopilotConfigIn(x[0], bad), createIndex: x[1], modifyIndex: x[2] };
}
