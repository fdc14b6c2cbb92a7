/**
 * cli: public face of the command-line layer.
 *
 * Must never: hold command logic (see the per-command files).
 */

export type { CliIO, Command, CommandSpec, CommandTable } from "./command.ts";
export { RUN_RESULT_HELP } from "./command.ts";
export { COMMANDS } from "./commands.ts";
export { runCli, generalHelp, EXIT_UNKNOWN_COMMAND } from "./run.ts";
export { FlagSet, renderUsage, wantsHelp } from "./flags.ts";
export { EXIT_ERROR, EXIT_OK, EXIT_USAGE } from "./parse.ts";
