/**
 * cli/version: `consul version [-format=pretty|json]` (command/version), plus cairn's own version.
 *
 * Must never: contact an agent.
 */

import { RPC_PROTOCOL, versionInfo } from "../shared/version.ts";
import { runtimeName } from "../platform/runtime.ts";
import type { CliIO, Command } from "./command.ts";
import { error, info } from "./command.ts";
import { FlagSet, renderUsage } from "./flags.ts";
import { EXIT_ERROR, EXIT_OK, parseFlags } from "./parse.ts";

function flagSet(): FlagSet {
  return new FlagSet().string("format", "pretty", "Output format {pretty|json}");
}

const helpText = (prog: string): string => `\nUsage: ${prog} version [options]\n`;

/** The pretty form: Consul's lines, then cairn's own version line. */
export function prettyVersion(env: Readonly<Record<string, string | undefined>>, runtime: string): string {
  const v = versionInfo(env);
  const r = RPC_PROTOCOL;
  const supplement =
    r.Default < r.Max ? ` (agent will automatically use protocol >${r.Default} when speaking to compatible agents)` : "";
  return (
    `Consul v${v.human}\n` +
    (v.revision ? `Revision ${v.revision}\n` : "") +
    `Build Date ${v.buildDate}\n` +
    `Protocol ${r.Default} spoken by default, understands ${r.Min} to ${r.Max}${supplement}\n` +
    `cairn v${v.cairn} (${runtime})\n`
  );
}

/** The JSON form: Consul's VersionInfo fields (3-space indent like Go) plus "Cairn". */
export function jsonVersion(env: Readonly<Record<string, string | undefined>>): string {
  const v = versionInfo(env);
  return JSON.stringify(
    {
      Version: v.version,
      Revision: v.revision,
      Prerelease: v.prerelease,
      BuildDate: v.buildDate,
      RPC: { Default: RPC_PROTOCOL.Default, Min: RPC_PROTOCOL.Min, Max: RPC_PROTOCOL.Max },
      Cairn: v.cairn,
    },
    null,
    3,
  );
}

export const versionCommand: Command = {
  help: (prog) => renderUsage(helpText(prog), null),
  run(argv: string[], io: CliIO): Promise<number> {
    const fs = flagSet();
    // `-v`/`--version` are rewritten to `version` by the dispatcher; ignore them here.
    const p = parseFlags(fs, argv.filter((a) => a !== "-v" && a !== "--version"), io, helpText(io.prog));
    if (!p.ok) return Promise.resolve(p.code);
    const format = fs.getString("format");
    if (format === "pretty") info(io, prettyVersion(io.env, runtimeName()));
    else if (format === "json") info(io, jsonVersion(io.env));
    else {
      error(io, `Unknown format: ${format}`);
      return Promise.resolve(EXIT_ERROR);
    }
    return Promise.resolve(EXIT_OK);
  },
};
