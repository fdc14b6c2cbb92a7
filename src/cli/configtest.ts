/**
 * cli/configtest: `cairn configtest` (alias `validate`, Consul's `consul validate`):
 * loads config files and directories exactly as the agent would and reports
 * "Configuration is valid!" (exit 0) or every error found (exit 1).
 *
 * Must never: start an agent or create the data directory.
 */

import { hostDeps, loadConfig, loadOptionsFromFlags } from "../agent/config/index.ts";
import type { CliIO, Command } from "./command.ts";
import { error, info } from "./command.ts";
import { FlagSet, renderUsage } from "./flags.ts";
import { EXIT_ERROR, EXIT_OK, parseFlags } from "./parse.ts";

function flagSet(): FlagSet {
  const fs = new FlagSet();
  fs.list("config-file", "Path to a config file (JSON or HCL by extension). Can be specified multiple times.");
  fs.list("config-dir", "Path to a directory of config files (*.json, *.hcl). Can be specified multiple times.");
  fs.string("config-format", "", "Config files are in this format irrespective of their extension. Must be 'hcl' or 'json'");
  fs.bool("quiet", "When given, a successful run will produce no output.");
  return fs;
}

function helpText(prog: string): string {
  return `
Usage: ${prog} configtest [options] [FILE_OR_DIRECTORY...]
       ${prog} validate [options] FILE_OR_DIRECTORY...

  Checks config files the way "${prog} agent" reads them, without starting
  the agent. Files and directories can be given with -config-file and
  -config-dir or as arguments; a directory's *.json and *.hcl files are read
  in lexical order.

  Returns 0 if the configuration is valid, or 1 if there are problems.
`;
}

export const configtestCommand: Command = {
  help: (prog) => renderUsage(helpText(prog), flagSet()),
  async run(argv: string[], io: CliIO): Promise<number> {
    const fs = flagSet();
    const p = parseFlags(fs, argv, io, helpText(io.prog));
    if (!p.ok) return p.code;
    const paths = [...fs.getOrdered(["config-file", "config-dir"]), ...p.args];
    if (paths.length === 0) {
      error(io, "Must specify at least one config file or directory");
      return EXIT_ERROR;
    }
    const base = loadOptionsFromFlags(new FlagSet());
    if (!base.ok) return EXIT_ERROR;
    const result = await loadConfig(
      { ...base.options, configPaths: paths, configFormat: fs.getString("config-format") },
      hostDeps(),
    );
    if (!result.ok) {
      for (const e of result.errors) error(io, `Config validation failed: ${e}`);
      return EXIT_ERROR;
    }
    if (!fs.getBool("quiet")) {
      for (const w of result.warnings) error(io, w);
      info(io, "Configuration is valid!");
    }
    return EXIT_OK;
  },
};
