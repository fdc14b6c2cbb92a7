/**
 * cli/command: the shape of a CLI command and of the I/O it is given.
 *
 * Commands receive all I/O (stdout, stderr, stdin, environment) through CliIO,
 * so tests can run them in-process and the entry point decides how to flush.
 *
 * Must never: call process.exit or touch process.stdout directly.
 */

export interface CliIO {
  /** Writes text or raw bytes to stdout as is. */
  out(data: string | Uint8Array): void;
  /** Writes text to stderr as is. */
  err(text: string): void;
  /** Reads all of stdin. */
  readStdin(): Promise<string>;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Name shown in usage lines: "consul" or "cairn". */
  readonly prog: string;
}

/** mitchellh/cli's RunResultHelp: "show this command's help and exit 1". */
export const RUN_RESULT_HELP = -18511;

export interface Command {
  /** Full help text (usage line, description, options) for `prog`. */
  help(prog: string): string;
  /** Runs with the arguments after the command name; returns the exit code. */
  run(args: string[], io: CliIO): Promise<number>;
}

export interface CommandSpec {
  readonly synopsis: string;
  readonly load: () => Promise<Command>;
  readonly hidden?: boolean;
}

/** Keys are command paths: "agent", "kv", "kv get". */
export type CommandTable = Readonly<Record<string, CommandSpec>>;

/** Consul's UI.Info / UI.Output: the message and a newline on stdout. */
export function info(io: CliIO, msg: string): void {
  io.out(msg + "\n");
}

/** Consul's UI.Error: the message and a newline on stderr. */
export function error(io: CliIO, msg: string): void {
  io.err(msg + "\n");
}
