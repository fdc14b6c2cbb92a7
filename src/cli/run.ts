/**
 * cli/run: argv -> command table -> exit code, the way Consul's main.go and
 * mitchellh/cli dispatch: `-v`/`--version` become `version`, -h/-help/--help
 * anywhere before `--` show help (exit 0), nested commands ("kv get") are found
 * by longest prefix, an unknown or missing command prints the command list on
 * stderr and exits 127, flags before the command are an error (exit 1).
 *
 * Must never: call process.exit or write to process streams (main.ts does).
 */

import type { CliIO, Command, CommandTable } from "./command.ts";
import { RUN_RESULT_HELP, error } from "./command.ts";
import { wantsHelp } from "./flags.ts";

/** mitchellh/cli's exit code for an unknown command. */
export const EXIT_UNKNOWN_COMMAND = 127;

/** BasicHelpFunc: the top-level command list. */
export function generalHelp(prog: string, table: CommandTable): string {
  const keys = Object.keys(table)
    .filter((k) => !k.includes(" ") && !table[k]?.hidden)
    .sort();
  const width = Math.max(0, ...keys.map((k) => k.length));
  let out = `Usage: ${prog} [--version] [--help] <command> [<args>]\n\nAvailable commands are:\n`;
  for (const k of keys) out += `    ${k.padEnd(width, " ")}    ${table[k]?.synopsis ?? ""}\n`;
  return out;
}

/** Help of one command, followed by its subcommands (mitchellh/cli's template). */
function commandHelp(prog: string, key: string, cmd: Command, table: CommandTable): string {
  let out = cmd.help(prog);
  const subs = Object.keys(table)
    .filter((k) => k.startsWith(key + " ") && !k.slice(key.length + 1).includes(" ") && !table[k]?.hidden)
    .sort();
  if (subs.length > 0) {
    const longest = Math.max(...subs.map((k) => k.length));
    out += "\n\nSubcommands:";
    for (const k of subs) {
      const name = k.slice(k.lastIndexOf(" ") + 1);
      out += `\n    ${name}${" ".repeat(longest - k.length)}    ${table[k]?.synopsis ?? ""}`;
    }
  }
  return out + "\n";
}

interface Resolved {
  key: string;
  args: string[];
  topFlags: string[];
}

function resolve(args: readonly string[], table: CommandTable): Resolved | null {
  const topFlags: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? "";
    if (a === "--") break;
    if (a === "-h" || a === "-help" || a === "--help") continue;
    if (a.startsWith("-")) {
      topFlags.push(a);
      continue;
    }
    if (a === "") continue;
    // Longest prefix of the remaining words that names a command.
    let key = a;
    let used = 1;
    for (let n = args.length - i; n >= 1; n--) {
      const candidate = args.slice(i, i + n).join(" ");
      if (table[candidate]) {
        key = candidate;
        used = n;
        break;
      }
    }
    return { key, args: args.slice(i + used), topFlags };
  }
  return topFlags.length > 0 ? { key: "", args: [], topFlags } : null;
}

export async function runCli(argv: readonly string[], table: CommandTable, io: CliIO): Promise<number> {
  let args = [...argv];
  for (const a of args) {
    if (a === "--") break;
    if (a === "-v" || a === "--version") {
      args = ["version"];
      break;
    }
  }
  const help = wantsHelp(args);
  const r = resolve(args, table);
  if (r === null || r.key === "") {
    io.err(generalHelp(io.prog, table) + "\n");
    return help && r === null ? 0 : EXIT_UNKNOWN_COMMAND;
  }
  const spec = table[r.key];
  if (!spec) {
    io.err(generalHelp(io.prog, table) + "\n");
    return EXIT_UNKNOWN_COMMAND;
  }
  const cmd = await spec.load();
  if (help) {
    io.err(commandHelp(io.prog, r.key, cmd, table));
    return 0;
  }
  if (r.topFlags.length > 0) {
    error(
      io,
      "Invalid flags before the subcommand. If these flags are for\nthe subcommand, please put them after the subcommand.\n",
    );
    io.err(commandHelp(io.prog, r.key, cmd, table));
    return 1;
  }
  const code = await cmd.run(r.args, io);
  if (code === RUN_RESULT_HELP) {
    io.err(commandHelp(io.prog, r.key, cmd, table));
    return 1;
  }
  return code;
}
