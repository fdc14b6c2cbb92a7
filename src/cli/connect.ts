/**
 * cli/connect: the `connect` and `connect ca` parent commands; on their own they show their
 * help (mitchellh/cli's RunResultHelp).
 *
 * Must never: talk to an agent (the subcommands do).
 */

import type { Command } from "./command.ts";
import { RUN_RESULT_HELP } from "./command.ts";

export const connectCommand: Command = {
  help: (prog) =>
    `Usage: ${prog} connect <subcommand> [options] [args]

  This command has subcommands for interacting with Consul Service Mesh.

  Here are some simple examples, and more detailed examples are available
  in the subcommands or the documentation.

  View the current CA configuration:

      $ ${prog} connect ca get-config

  For more examples, ask for subcommand help or view the documentation.`,
  run: () => Promise.resolve(RUN_RESULT_HELP),
};

export const connectCACommand: Command = {
  help: (prog) =>
    `Usage: ${prog} connect ca <subcommand> [options] [args]

  This command has subcommands for interacting with Consul Connect's
  Certificate Authority (CA).

  Here are some simple examples, and more detailed examples are available
  in the subcommands or the documentation.

  View the current CA configuration:

      $ ${prog} connect ca get-config

  Update the CA configuration:

      $ ${prog} connect ca set-config -config-file ca.json

  For more examples, ask for subcommand help or view the documentation.`,
  run: () => Promise.resolve(RUN_RESULT_HELP),
};
