/**
 * cli/parse: shared flag handling for commands (errors, help, exit codes).
 *
 * Exit codes of cairn's CLI: 0 ok, 1 error, 2 usage error (bad flags);
 * Consul returns 1 for a bad flag, cairn follows Go's flag convention of 2.
 *
 * Must never: run a command's logic.
 */

import type { CliIO } from "./command.ts";
import { error } from "./command.ts";
import { type FlagSet, renderUsage } from "./flags.ts";

export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export const EXIT_USAGE = 2;

export type Parsed = { readonly ok: true; readonly args: string[] } | { readonly ok: false; readonly code: number };

/** Parses flags; on -help prints help (exit 0), on a bad flag the error and help (exit 2). */
export function parseFlags(fs: FlagSet, args: readonly string[], io: CliIO, help: string): Parsed {
  const r = fs.parse(args);
  switch (r.kind) {
    case "ok":
      return { ok: true, args: r.args };
    case "help":
      error(io, renderUsage(help, fs));
      return { ok: false, code: EXIT_OK };
    case "error":
      error(io, r.message);
      error(io, renderUsage(help, fs));
      return { ok: false, code: EXIT_USAGE };
  }
}
