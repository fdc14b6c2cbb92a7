/**
 * cli/reload: `consul reload` (command/reload): PUT /v1/agent/reload; prints
 * "Configuration reload triggered", or "Error reloading: <reason>" and exits 1.
 *
 * Must never: change config itself.
 */

import type { CliIO, Command } from "./command.ts";
import { error, info } from "./command.ts";
import { FlagSet, renderUsage } from "./flags.ts";
import { addHttpFlags } from "./http_client.ts";
import { EXIT_ERROR, EXIT_OK, parseFlags } from "./parse.ts";
import { agentClient, putJson } from "./services_common.ts";

function flags(): FlagSet {
  const fs = new FlagSet();
  addHttpFlags(fs, false);
  return fs;
}

const help = (prog: string): string => `
Usage: ${prog} reload

  Causes the agent to reload configurations. This can be used instead
  of sending the SIGHUP signal to the agent.
`;

export const reloadCommand: Command = {
  help: (prog) => renderUsage(help(prog), flags()),
  async run(argv: string[], io: CliIO): Promise<number> {
    const fs = flags();
    const p = parseFlags(fs, argv, io, help(io.prog));
    if (!p.ok) return p.code;
    const client = await agentClient(fs, io);
    if (!client) return EXIT_ERROR;
    try {
      await putJson(client, "/v1/agent/reload", undefined);
    } catch (e) {
      error(io, `Error reloading: ${(e as Error).message}`);
      return EXIT_ERROR;
    }
    info(io, "Configuration reload triggered");
    return EXIT_OK;
  },
};
