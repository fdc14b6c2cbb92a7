/**
 * limits: every named bound of cairn, in one place.
 *
 * Every queue, map and buffer that can grow is bounded by a constant here (or by
 * a config value whose default is here). At a limit, callers shed or refuse with
 * a clear error; nothing grows without bound.
 *
 * The bounds live in limits_<area>.ts files by area; this module is their one face.
 *
 * Must never: import anything but its limits_<area>.ts files, or do I/O.
 */

export * from "./limits_http.ts";
export * from "./limits_storage.ts";
export * from "./limits_dns.ts";
export * from "./limits_checks.ts";
export * from "./limits_gossip.ts";
export * from "./limits_cluster.ts";
