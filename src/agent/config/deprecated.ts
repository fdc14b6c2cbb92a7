/**
 * agent/config/deprecated: Consul's renamed keys (agent/config/deprecated.go and
 * the legacy ui keys), applied to one source before it is merged: the new key
 * takes the old key's value unless that source also sets the new key. Also the
 * warnings Consul CE gives for Enterprise-only keys (builder_ce.go).
 *
 * Must never: reject a config (these are warnings only).
 */

import { type ConfigTree, type ConfigValue, isTree } from "./tree.ts";

function deprecationWarning(oldKey: string, newKey: string): string {
  return `The '${oldKey}' field is deprecated. Use the '${newKey}' field instead.`;
}

function get(tree: ConfigTree, p: string): ConfigValue | undefined {
  let cur: ConfigValue | undefined = tree;
  for (const part of p.split(".")) {
    if (!isTree(cur)) return undefined;
    cur = cur[part];
  }
  return cur;
}

function set(tree: ConfigTree, p: string, v: ConfigValue): void {
  const parts = p.split(".");
  let cur = tree;
  for (const part of parts.slice(0, -1)) {
    const next = cur[part];
    if (isTree(next)) cur = next;
    else {
      const created: ConfigTree = {};
      cur[part] = created;
      cur = created;
    }
  }
  cur[parts[parts.length - 1] ?? ""] = v;
}

function del(tree: ConfigTree, p: string): void {
  const parts = p.split(".");
  const parent = parts.length === 1 ? tree : get(tree, parts.slice(0, -1).join("."));
  if (isTree(parent)) delete parent[parts[parts.length - 1] ?? ""];
}

/** [old key, new key, new key for the warning when it differs] */
const RENAMES: ReadonlyArray<readonly [string, string]> = [
  ["acl.tokens.agent_master", "acl.tokens.agent_recovery"],
  ["acl_agent_master_token", "acl.tokens.agent_recovery"],
  ["acl_agent_token", "acl.tokens.agent"],
  ["acl_token", "acl.tokens.default"],
  ["acl.tokens.master", "acl.tokens.initial_management"],
  ["acl_master_token", "acl.tokens.initial_management"],
  ["acl_replication_token", "acl.tokens.replication"],
  ["enable_acl_replication", "acl.enable_token_replication"],
  ["acl_datacenter", "primary_datacenter"],
  ["acl_default_policy", "acl.default_policy"],
  ["acl_down_policy", "acl.down_policy"],
  ["acl_ttl", "acl.token_ttl"],
  ["acl_enable_key_list_policy", "acl.enable_key_list_policy"],
  ["ca_file", "tls.defaults.ca_file"],
  ["ca_path", "tls.defaults.ca_path"],
  ["cert_file", "tls.defaults.cert_file"],
  ["key_file", "tls.defaults.key_file"],
  ["tls_cipher_suites", "tls.defaults.tls_cipher_suites"],
  ["tls_min_version", "tls.defaults.tls_min_version"],
  ["verify_incoming", "tls.defaults.verify_incoming"],
  ["verify_incoming_https", "tls.https.verify_incoming"],
  ["verify_incoming_rpc", "tls.internal_rpc.verify_incoming"],
  ["verify_outgoing", "tls.defaults.verify_outgoing"],
  ["verify_server_hostname", "tls.internal_rpc.verify_server_hostname"],
  ["ui", "ui_config.enabled"],
  ["ui_dir", "ui_config.dir"],
  ["ui_content_path", "ui_config.content_path"],
  ["non_voting_server", "read_replica"],
  ["raft_boltdb.NoFreelistSync", "raft_logstore.boltdb.no_freelist_sync"],
];

/** Moves deprecated keys of one source to their new names; returns the warnings. */
export function applyDeprecated(tree: ConfigTree): string[] {
  const warns: string[] = [];
  for (const [oldKey, newKey] of RENAMES) {
    const v = get(tree, oldKey);
    if (v === undefined) continue;
    if (oldKey === "verify_incoming" && get(tree, "tls.grpc.verify_incoming") === undefined) {
      // Before 1.12 the top-level verify_incoming never applied to the gRPC port.
      set(tree, "tls.grpc.verify_incoming", false);
    }
    if (get(tree, newKey) === undefined) set(tree, newKey, v);
    del(tree, oldKey);
    if (oldKey === "raft_boltdb.NoFreelistSync") del(tree, "raft_boltdb");
    if (oldKey === "acl_replication_token") set(tree, "acl.enable_token_replication", true);
    if (oldKey === "acl_datacenter") set(tree, "acl.enabled", true);
    const shown = oldKey === "raft_boltdb.NoFreelistSync" ? "raft_boltdb" : oldKey;
    const shownNew = newKey === "raft_logstore.boltdb.no_freelist_sync" ? "raft_logstore.boltdb" : newKey;
    warns.push(deprecationWarning(shown, shownNew));
  }
  for (const [oldKey, newKey] of [
    ["start_join", "retry_join"],
    ["start_join_wan", "retry_join_wan"],
  ] as const) {
    const v = get(tree, oldKey);
    if (!Array.isArray(v)) continue;
    const cur = get(tree, newKey);
    set(tree, newKey, [...(Array.isArray(cur) ? cur : []), ...v]);
    del(tree, oldKey);
    if (v.length > 0) warns.push(deprecationWarning(oldKey, newKey));
  }
  if (get(tree, "tls_prefer_server_cipher_suites") !== undefined) {
    del(tree, "tls_prefer_server_cipher_suites");
    warns.push("The 'tls_prefer_server_cipher_suites' field is deprecated and will be ignored.");
  }
  return warns;
}

/** Consul CE's "... is a Consul Enterprise configuration and will have no effect". */
export function enterpriseWarnings(tree: ConfigTree): string[] {
  const keys: string[] = [];
  const nonEmpty = (p: string): boolean => {
    const v = get(tree, p);
    return typeof v === "string" && v !== "";
  };
  if (get(tree, "read_replica") !== undefined) keys.push("read_replica (or the deprecated non_voting_server)");
  if (nonEmpty("segment")) keys.push("segment");
  const segments = get(tree, "segments");
  if (Array.isArray(segments) && segments.length > 0) keys.push("segments");
  if (nonEmpty("partition")) keys.push("partition");
  if (nonEmpty("autopilot.redundancy_zone_tag")) keys.push("autopilot.redundancy_zone_tag");
  if (nonEmpty("autopilot.upgrade_version_tag")) keys.push("autopilot.upgrade_version_tag");
  if (get(tree, "autopilot.disable_upgrade_migration") !== undefined) keys.push("autopilot.disable_upgrade_migration");
  if (get(tree, "dns_config.prefer_namespace") !== undefined) keys.push("dns_config.prefer_namespace");
  if (get(tree, "acl.msp_disable_bootstrap") !== undefined) keys.push("acl.msp_disable_bootstrap");
  const msp = get(tree, "acl.tokens.managed_service_provider");
  if (Array.isArray(msp) && msp.length > 0) keys.push("acl.tokens.managed_service_provider");
  const sinks = get(tree, "audit.sink");
  if (get(tree, "audit.enabled") === true || (isTree(sinks) && Object.keys(sinks).length > 0)) keys.push("audit");
  if (get(tree, "license_path") !== undefined) keys.push("license_path");
  if (get(tree, "reporting.license.enabled") !== undefined) keys.push("reporting.license.enabled");
  return keys.map((k) => `${JSON.stringify(k)} is a Consul Enterprise configuration and will have no effect`);
}
