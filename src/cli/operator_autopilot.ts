/**
 * cli/operator_autopilot: Consul's `operator autopilot` commands
 * (command/operator/autopilot): `get-config` (one "Key = value" line per setting),
 * `set-config` (flags merged over the current configuration, written with
 * check-and-set: "Configuration updated!" or "Configuration could not be atomically
 * updated, please try again") and `state [-format=pretty|json]` (the pretty layout of
 * command/operator/autopilot/state/formatter.go, or the JSON indented by 4 spaces).
 *
 * Must never: write the configuration without the ModifyIndex it read (check-and-set).
 */

import type { CliIO, Command } from "./command.ts";
import { RUN_RESULT_HELP, error, info } from "./command.ts";
import { FlagSet, renderUsage } from "./flags.ts";
import { addHttpFlags, requireOk } from "./http_client.ts";
import { EXIT_ERROR, EXIT_OK, parseFlags } from "./parse.ts";
import { agentClient, getJson } from "./services_common.ts";
import { parseGoDuration } from "../agent/config/duration.ts";
import { goQuote } from "../state/gofmt.ts";

export const operatorAutopilotCommand: Command = {
  help: (prog) =>
    `Usage: ${prog} operator autopilot <subcommand> [options]

  The Autopilot operator command is used to interact with Consul's Autopilot
  subsystem. The command can be used to view or modify the current configuration.`,
  run: () => Promise.resolve(RUN_RESULT_HELP),
};

type Json = Record<string, unknown>;

function asObject(x: unknown): Json {
  if (typeof x !== "object" || x === null || Array.isArray(x)) throw new Error("malformed response");
  return x as Json;
}

/** The lines `consul operator autopilot get-config` prints. */
export function getConfigLines(c: Json): string[] {
  const s = (v: unknown): string => (typeof v === "string" ? v : String(v ?? ""));
  return [
    `CleanupDeadServers = ${String(c.CleanupDeadServers === true)}`,
    `LastContactThreshold = ${s(c.LastContactThreshold)}`,
    `MaxTrailingLogs = ${s(c.MaxTrailingLogs ?? 0)}`,
    `MinQuorum = ${s(c.MinQuorum ?? 0)}`,
    `ServerStabilizationTime = ${s(c.ServerStabilizationTime)}`,
    `RedundancyZoneTag = ${goQuote(s(c.RedundancyZoneTag))}`,
    `DisableUpgradeMigration = ${String(c.DisableUpgradeMigration === true)}`,
    `UpgradeVersionTag = ${goQuote(s(c.UpgradeVersionTag))}`,
  ];
}

function getFlags(): FlagSet {
  const fs = new FlagSet();
  addHttpFlags(fs);
  return fs;
}

const getHelp = (prog: string): string => `
Usage: ${prog} operator autopilot get-config [options]

  Displays the current Autopilot configuration.
`;

export const autopilotGetCommand: Command = {
  help: (prog) => renderUsage(getHelp(prog), getFlags()),
  async run(argv: string[], io: CliIO): Promise<number> {
    const fs = getFlags();
    const p = parseFlags(fs, argv, io, getHelp(io.prog));
    if (!p.ok) return p.code;
    const client = await agentClient(fs, io);
    if (!client) return EXIT_ERROR;
    try {
      const c = asObject(await getJson(client, "/v1/operator/autopilot/configuration"));
      info(io, getConfigLines(c).join("\n"));
    } catch (e) {
      error(io, `Error querying Autopilot configuration: ${(e as Error).message}`);
      return EXIT_ERROR;
    }
    return EXIT_OK;
  },
};

function setFlags(): FlagSet {
  const fs = new FlagSet();
  fs.string("cleanup-dead-servers", "", "Controls whether Consul will automatically remove dead servers when new ones are successfully added. Must be one of `true|false`.");
  fs.string("max-trailing-logs", "", "Controls the maximum number of log entries that a server can trail the leader by before being considered unhealthy.");
  fs.string("min-quorum", "", "Sets the minimum number of servers required in a cluster before autopilot is allowed to prune dead servers.");
  fs.string(
    "last-contact-threshold",
    "",
    "Controls the maximum amount of time a server can go without contact from the leader before being considered unhealthy. Must be a duration value such as `200ms`.",
  );
  fs.string(
    "server-stabilization-time",
    "",
    "Controls the minimum amount of time a server must be stable in the 'healthy' state before being added to the cluster. Only takes effect if all servers are running Raft protocol version 3 or higher. Must be a duration value such as `10s`.",
  );
  fs.string("redundancy-zone-tag", "", "(Enterprise-only) Controls the node_meta tag name used for separating servers into different redundancy zones.");
  fs.string("disable-upgrade-migration", "", "(Enterprise-only) Controls whether Consul will avoid promoting new servers until it can perform a migration. Must be one of `true|false`.");
  fs.string("upgrade-version-tag", "", "(Enterprise-only) The node_meta tag to use for version info when performing upgrade migrations. If left blank, the Consul version will be used.");
  addHttpFlags(fs);
  return fs;
}

const setHelp = (prog: string): string => `
Usage: ${prog} operator autopilot set-config [options]

  Modifies the current Autopilot configuration.
`;

const GO_BOOLS: Readonly<Record<string, boolean>> = {
  "1": true, t: true, T: true, TRUE: true, true: true, True: true,
  "0": false, f: false, F: false, FALSE: false, false: false, False: false,
};

/** The flags given, merged over `conf` (Consul's flags.*Value.Merge); a string error on a bad value. */
export function mergeSetFlags(fs: FlagSet, conf: Json): Json | string {
  const out: Json = { ...conf };
  const bad = (name: string, v: string, why: string): string => `invalid value ${goQuote(v)} for flag -${name}: ${why}`;
  for (const [name, key] of [["cleanup-dead-servers", "CleanupDeadServers"], ["disable-upgrade-migration", "DisableUpgradeMigration"]] as const) {
    const v = fs.getOptionalString(name);
    if (v === undefined) continue;
    const b = GO_BOOLS[v];
    if (b === undefined) return bad(name, v, "parse error");
    out[key] = b;
  }
  for (const [name, key] of [["max-trailing-logs", "MaxTrailingLogs"], ["min-quorum", "MinQuorum"]] as const) {
    const v = fs.getOptionalString(name);
    if (v === undefined) continue;
    if (!/^[0-9]+$/.test(v) || !Number.isSafeInteger(Number(v))) return bad(name, v, "parse error");
    out[key] = Number(v);
  }
  for (const [name, key] of [["last-contact-threshold", "LastContactThreshold"], ["server-stabilization-time", "ServerStabilizationTime"]] as const) {
    const v = fs.getOptionalString(name);
    if (v === undefined) continue;
    if (parseGoDuration(v) === undefined) return bad(name, v, "parse error");
    out[key] = v;
  }
  for (const [name, key] of [["redundancy-zone-tag", "RedundancyZoneTag"], ["upgrade-version-tag", "UpgradeVersionTag"]] as const) {
    const v = fs.getOptionalString(name);
    if (v !== undefined) out[key] = v;
  }
  return out;
}

export const autopilotSetCommand: Command = {
  help: (prog) => renderUsage(setHelp(prog), setFlags()),
  async run(argv: string[], io: CliIO): Promise<number> {
    const fs = setFlags();
    const p = parseFlags(fs, argv, io, setHelp(io.prog));
    if (!p.ok) return p.code;
    const client = await agentClient(fs, io);
    if (!client) return EXIT_ERROR;
    let conf: Json;
    try {
      conf = asObject(await getJson(client, "/v1/operator/autopilot/configuration"));
    } catch (e) {
      error(io, `Error querying Autopilot configuration: ${(e as Error).message}`);
      return EXIT_ERROR;
    }
    const merged = mergeSetFlags(fs, conf);
    if (typeof merged === "string") {
      error(io, `Failed to parse args: ${merged}`);
      return EXIT_ERROR;
    }
    let ok: boolean;
    try {
      const cas = typeof conf.ModifyIndex === "number" ? conf.ModifyIndex : 0;
      const res = await client.request("PUT", "/v1/operator/autopilot/configuration", [["cas", String(cas)]], new TextEncoder().encode(JSON.stringify(merged)));
      requireOk(res);
      ok = res.body.toString("utf8").trim() === "true";
    } catch (e) {
      error(io, `Error setting Autopilot configuration: ${(e as Error).message}`);
      return EXIT_ERROR;
    }
    if (ok) {
      info(io, "Configuration updated!");
      return EXIT_OK;
    }
    info(io, "Configuration could not be atomically updated, please try again");
    return EXIT_ERROR;
  },
};

function stateFlags(): FlagSet {
  const fs = new FlagSet();
  fs.string("format", "pretty", "Output format {pretty|json}");
  addHttpFlags(fs);
  return fs;
}

const stateHelp = (prog: string): string => `
Usage: ${prog} operator autopilot state [options]

  Displays the current Autopilot state.
`;

/** formatter.go's pretty layout (servers sorted by ID). */
export function prettyState(st: Json): string {
  const str = (v: unknown): string => (typeof v === "string" ? v : String(v ?? ""));
  const lines: string[] = [];
  lines.push(`Healthy:                      ${String(st.Healthy === true)}`);
  lines.push(`Failure Tolerance:            ${str(st.FailureTolerance ?? 0)}`);
  lines.push(`Optimistic Failure Tolerance: ${str(st.OptimisticFailureTolerance ?? 0)}`);
  lines.push(`Leader:                       ${str(st.Leader)}`);
  lines.push("Voters:");
  for (const v of Array.isArray(st.Voters) ? st.Voters : []) lines.push(`   ${str(v)}`);
  lines.push("Servers:");
  const servers = typeof st.Servers === "object" && st.Servers !== null ? (st.Servers as Record<string, unknown>) : {};
  for (const id of Object.keys(servers).sort()) {
    const s = asObject(servers[id]);
    lines.push(`   ${str(s.ID)}`);
    lines.push(`      Name:            ${str(s.Name)}`);
    lines.push(`      Address:         ${str(s.Address)}`);
    lines.push(`      Version:         ${str(s.Version)}`);
    lines.push(`      Status:          ${str(s.Status)}`);
    lines.push(`      Node Type:       ${str(s.NodeType)}`);
    lines.push(`      Node Status:     ${str(s.NodeStatus)}`);
    lines.push(`      Healthy:         ${String(s.Healthy === true)}`);
    lines.push(`      Last Contact:    ${str(s.LastContact)}`);
    lines.push(`      Last Term:       ${str(s.LastTerm ?? 0)}`);
    lines.push(`      Last Index:      ${str(s.LastIndex ?? 0)}`);
    const meta = typeof s.Meta === "object" && s.Meta !== null ? (s.Meta as Record<string, unknown>) : {};
    const keys = Object.keys(meta).sort();
    if (keys.length > 0) {
      lines.push("      Meta");
      for (const k of keys) lines.push(`         ${goQuote(k)}: ${goQuote(str(meta[k]))}`);
    }
  }
  return lines.join("\n") + "\n";
}

export const autopilotStateCommand: Command = {
  help: (prog) => renderUsage(stateHelp(prog), stateFlags()),
  async run(argv: string[], io: CliIO): Promise<number> {
    const fs = stateFlags();
    const p = parseFlags(fs, argv, io, stateHelp(io.prog));
    if (!p.ok) return p.code;
    const format = fs.getString("format");
    if (format !== "pretty" && format !== "json") {
      error(io, `Error: Unknown format: ${format}`);
      return EXIT_ERROR;
    }
    const client = await agentClient(fs, io);
    if (!client) return EXIT_ERROR;
    let st: Json;
    try {
      st = asObject(await getJson(client, "/v1/operator/autopilot/state"));
    } catch (e) {
      error(io, `Error querying Autopilot state: ${(e as Error).message}`);
      return EXIT_ERROR;
    }
    info(io, format === "json" ? JSON.stringify(st, null, 4) : prettyState(st).replace(/\n$/, ""));
    return EXIT_OK;
  },
};
