/**
 * agent/config/flags: the `agent` command's flags (Consul's agent/config/flags.go)
 * and their translation into LoadOptions (config keys, files, -dev, -hcl).
 *
 * List-valued flags go to `flagSlices` (merged before the files, as Consul
 * prepends them); all other flags go to `flagValues` (merged after the files).
 *
 * Must never: read files.
 */

import { FlagSet, parseGoInt } from "../../cli/flags.ts";
import type { LoadOptions } from "./load.ts";
import type { ConfigTree, ConfigValue } from "./tree.ts";

type Target = "bool" | "string" | "int" | "list";

/** [flag, kind, config key (dotted), usage] */
const AGENT_FLAGS: ReadonlyArray<readonly [string, Target, string, string]> = [
  ["advertise", "string", "advertise_addr", "Sets the advertise address to use."],
  ["advertise-wan", "string", "advertise_addr_wan", "Sets address to advertise on WAN instead of -advertise address."],
  ["allow-write-http-from", "list", "http_config.allow_write_http_from", "Only allow write endpoint calls from given network. CIDR format, can be specified multiple times."],
  ["alt-domain", "string", "alt_domain", "Alternate domain to use for DNS interface."],
  ["auto-reload-config", "bool", "auto_reload_config", "Watches config files for changes and auto reloads the files when modified."],
  ["bind", "string", "bind_addr", "Sets the bind address for cluster communication."],
  ["bootstrap", "bool", "bootstrap", "Sets server to bootstrap mode."],
  ["bootstrap-expect", "int", "bootstrap_expect", "Sets server to expect bootstrap mode."],
  ["check_output_max_size", "int", "check_output_max_size", "Sets the maximum output size for checks on this agent"],
  ["client", "string", "client_addr", "Sets the address to bind for client access. This includes RPC, DNS, HTTP, HTTPS and gRPC (if configured)."],
  ["data-dir", "string", "data_dir", "Path to a data directory to store agent state."],
  ["datacenter", "string", "datacenter", "Datacenter of the agent."],
  ["default-query-time", "string", "default_query_time", "the amount of time a blocking query will wait before Consul will force a response. This value can be overridden by the 'wait' query parameter."],
  ["disable-host-node-id", "bool", "disable_host_node_id", "Setting this to true will prevent Consul from using information from the host to generate a node ID, and will cause Consul to generate a random node ID instead."],
  ["disable-keyring-file", "bool", "disable_keyring_file", "Disables the backing up of the keyring to a file."],
  ["dns-port", "int", "ports.dns", "DNS port to use."],
  ["domain", "string", "domain", "Domain to use for DNS interface."],
  ["enable-local-script-checks", "bool", "enable_local_script_checks", "Enables health check scripts from configuration file."],
  ["enable-script-checks", "bool", "enable_script_checks", "Enables health check scripts."],
  ["encrypt", "string", "encrypt", "Provides the gossip encryption key."],
  ["grpc-port", "int", "ports.grpc", "Sets the gRPC API port to listen on."],
  ["grpc-tls-port", "int", "ports.grpc_tls", "Sets the gRPC-TLS API port to listen on."],
  ["http-port", "int", "ports.http", "Sets the HTTP API port to listen on."],
  ["https-port", "int", "ports.https", "Sets the HTTPS API port to listen on."],
  ["join", "list", "retry_join", "Address of an agent to join at start time. Can be specified multiple times."],
  ["join-wan", "list", "retry_join_wan", "Address of an agent to join -wan at start time. Can be specified multiple times."],
  ["log-file", "string", "log_file", "Path to the file the logs get written to"],
  ["log-json", "bool", "log_json", "Output logs in JSON format."],
  ["log-level", "string", "log_level", "Log level of the agent."],
  ["log-rotate-bytes", "int", "log_rotate_bytes", "Maximum number of bytes that should be written to a log file"],
  ["log-rotate-duration", "string", "log_rotate_duration", "Time after which log rotation needs to be performed"],
  ["log-rotate-max-files", "int", "log_rotate_max_files", "Maximum number of log file archives to keep"],
  ["max-query-time", "string", "max_query_time", "the maximum amount of time a blocking query can wait before Consul will force a response. Consul applies jitter to the wait time. The jittered time will be capped to MaxQueryTime."],
  ["node", "string", "node_name", "Name of this node. Must be unique in the cluster."],
  ["node-id", "string", "node_id", "A unique ID for this node across space and time. Defaults to a randomly-generated ID that persists in the data-dir."],
  ["pid-file", "string", "pid_file", "Path to file to store agent PID."],
  ["primary-gateway", "list", "primary_gateways", "Address of a mesh gateway in the primary datacenter to use to bootstrap WAN federation at start time with retries enabled. Can be specified multiple times."],
  ["protocol", "int", "protocol", "Sets the protocol version. Defaults to latest."],
  ["raft-protocol", "int", "raft_protocol", "Sets the Raft protocol version. Defaults to latest."],
  ["recursor", "list", "recursors", "Address of an upstream DNS server. Can be specified multiple times."],
  ["rejoin", "bool", "rejoin_after_leave", "Ignores a previous leave and attempts to rejoin the cluster."],
  ["retry-interval", "string", "retry_interval", "Time to wait between join attempts."],
  ["retry-interval-wan", "string", "retry_interval_wan", "Time to wait between join -wan attempts."],
  ["retry-join", "list", "retry_join", "Address of an agent to join at start time with retries enabled. Can be specified multiple times."],
  ["retry-join-wan", "list", "retry_join_wan", "Address of an agent to join -wan at start time with retries enabled. Can be specified multiple times."],
  ["retry-max", "int", "retry_max", "Maximum number of join attempts. Defaults to 0, which will retry indefinitely."],
  ["retry-max-wan", "int", "retry_max_wan", "Maximum number of join -wan attempts. Defaults to 0, which will retry indefinitely."],
  ["serf-lan-allowed-cidrs", "list", "serf_lan_allowed_cidrs", "Networks (eg: 192.168.1.0/24) allowed for Serf LAN. Can be specified multiple times."],
  ["serf-lan-bind", "string", "serf_lan", "Address to bind Serf LAN listeners to."],
  ["serf-lan-port", "int", "ports.serf_lan", "Sets the Serf LAN port to listen on."],
  ["serf-wan-allowed-cidrs", "list", "serf_wan_allowed_cidrs", "Networks (eg: 192.168.1.0/24) allowed for Serf WAN (other datacenters). Can be specified multiple times."],
  ["serf-wan-bind", "string", "serf_wan", "Address to bind Serf WAN listeners to."],
  ["serf-wan-port", "int", "ports.serf_wan", "Sets the Serf WAN port to listen on."],
  ["server", "bool", "server", "Switches agent to server mode."],
  ["server-port", "int", "ports.server", "Sets the server port to listen on."],
  ["syslog", "bool", "enable_syslog", "Enables logging to syslog."],
  ["ui", "bool", "ui_config.enabled", "Enables the built-in static web UI server."],
  ["ui-content-path", "string", "ui_config.content_path", "Sets the external UI path to a string. Defaults to: /ui/ "],
  ["ui-dir", "string", "ui_config.dir", "Path to directory containing the web UI resources."],
];

/** The agent command's flag set (every value flag shows as `-name=<value>`, as Consul's custom flag types do). */
export function agentFlagSet(): FlagSet {
  const fs = new FlagSet();
  for (const [name, kind, , usage] of AGENT_FLAGS) {
    if (kind === "bool") fs.bool(name, usage);
    else fs.add({ name, kind: kind === "int" ? "string" : kind, usage, section: "command", example: "value" });
  }
  fs.list(
    "config-dir",
    "Path to a directory to read configuration files from. This will read every file ending in '.json' as configuration in this directory in alphabetical order. Can be specified multiple times.",
  );
  fs.list(
    "config-file",
    "Path to a file in JSON or HCL format with a matching file extension. Can be specified multiple times.",
  );
  fs.string("config-format", "", "Config files are in this format irrespective of their extension. Must be 'hcl' or 'json'");
  fs.bool("dev", "Starts the agent in development mode.");
  fs.list("hcl", "hcl config fragment. Can be specified multiple times.");
  fs.list("node-meta", "An arbitrary metadata key/value pair for this node, of the format `key:value`. Can be specified multiple times.");
  return fs;
}

function setPath(tree: ConfigTree, dotted: string, v: ConfigValue): void {
  const parts = dotted.split(".");
  let cur = tree;
  for (const p of parts.slice(0, -1)) {
    const next = cur[p];
    if (typeof next === "object" && next !== null && !Array.isArray(next)) cur = next;
    else {
      const created: ConfigTree = {};
      cur[p] = created;
      cur = created;
    }
  }
  const last = parts[parts.length - 1] ?? "";
  const prev = cur[last];
  cur[last] = Array.isArray(prev) && Array.isArray(v) ? [...prev, ...v] : v;
}

export type FlagLoad = { readonly ok: true; readonly options: LoadOptions } | { readonly ok: false; readonly errors: string[] };

/** Reads a parsed agent FlagSet (plus extra config paths) into LoadOptions. */
export function loadOptionsFromFlags(fs: FlagSet, extraPaths: readonly string[] = []): FlagLoad {
  const errors: string[] = [];
  const flagSlices: ConfigTree = {};
  const flagValues: ConfigTree = {};
  for (const [name, kind, key] of AGENT_FLAGS) {
    if (!fs.isSet(name)) continue;
    switch (kind) {
      case "bool":
        setPath(flagValues, key, fs.getBool(name));
        break;
      case "string":
        setPath(flagValues, key, fs.getString(name));
        break;
      case "int": {
        const n = parseGoInt(fs.getString(name));
        if (n === undefined) errors.push(`invalid value "${fs.getString(name)}" for flag -${name}: parse error`);
        else setPath(flagValues, key, n);
        break;
      }
      case "list":
        setPath(flagSlices, key, fs.getList(name));
        break;
    }
  }
  const meta: ConfigTree = {};
  for (const kv of fs.getList("node-meta")) {
    const i = kv.indexOf(":");
    if (i < 0) errors.push(`invalid value "${kv}" for flag -node-meta: missing ':' in key:value`);
    else meta[kv.slice(0, i)] = kv.slice(i + 1);
  }
  if (Object.keys(meta).length > 0) flagValues["node_meta"] = meta;
  if (errors.length > 0) return { ok: false, errors };
  // -config-file and -config-dir share one list in Consul, kept in command-line order.
  const paths = fs.getOrdered(["config-file", "config-dir"]);
  return {
    ok: true,
    options: {
      configPaths: [...paths, ...extraPaths],
      configFormat: fs.getString("config-format"),
      devMode: fs.getBool("dev"),
      flagSlices,
      flagValues,
      hcl: fs.getList("hcl"),
    },
  };
}
