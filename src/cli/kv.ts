/**
 * cli/kv: the `kv` parent command; on its own it shows its help and subcommands.
 *
 * Must never: do KV work itself (the subcommands do).
 */

import type { Command } from "./command.ts";
import { RUN_RESULT_HELP } from "./command.ts";

export const kvCommand: Command = {
  help: (prog) =>
    `Usage: ${prog} kv <subcommand> [options] [args]

  This command has subcommands for working with the key-value store. Some
  short examples follow; the subcommands' help has more.

  Write a value:

      $ ${prog} kv put redis/config/connections 5

  Read a value:

      $ ${prog} kv get redis/config/connections

  Read a value with its metadata:

      $ ${prog} kv get -detailed redis/config/connections

  Delete a key:

      $ ${prog} kv delete redis/config/connections

  For more examples, ask for help on a subcommand.`,
  run: () => Promise.resolve(RUN_RESULT_HELP),
};
