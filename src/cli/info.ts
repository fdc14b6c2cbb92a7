/**
 * cli/info: `consul info` (command/info): the agent's Stats from /v1/agent/self, one
 * section per line ("agent:") and its keys sorted, tab-indented as "key = value".
 *
 * Must never: change anything.
 */

import type { CliIO, Command } from "./command.ts";
import { error } from "./command.ts";
import { FlagSet, renderUsage } from "./flags.ts";
import { addHttpFlags } from "./http_client.ts";
import { EXIT_ERROR, EXIT_OK, parseFlags } from "./parse.ts";
import { agentClient, getJson } from "./services_common.ts";

function flags(): FlagSet {
  const fs = new FlagSet();
  addHttpFlags(fs, false);
  return fs;
}

const help = (prog: string): string => `
Usage: ${prog} info [options]

	Provides debugging information for operators
`;

export const infoCommand: Command = {
  help: (prog) => renderUsage(help(prog), flags()),
  async run(argv: string[], io: CliIO): Promise<number> {
    const fs = flags();
    const p = parseFlags(fs, argv, io, help(io.prog));
    if (!p.ok) return p.code;
    const client = await agentClient(fs, io);
    if (!client) return EXIT_ERROR;
    let self: { Stats?: Record<string, Record<string, unknown>> };
    try {
      self = (await getJson(client, "/v1/agent/self")) as typeof self;
    } catch (e) {
      error(io, `Error querying agent: ${(e as Error).message}`);
      return EXIT_ERROR;
    }
    const stats = self.Stats ?? {};
    let out = "";
    for (const section of Object.keys(stats).sort()) {
      out += `${section}:\n`;
      const kv = stats[section] ?? {};
      for (const k of Object.keys(kv).sort()) out += `\t${k} = ${String(kv[k])}\n`;
    }
    io.out(out);
    return EXIT_OK;
  },
};
