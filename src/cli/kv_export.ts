/**
 * cli/kv_export: `consul kv export [prefix]` (command/kv/exp): a JSON array of
 * {key, flags, value(base64)} indented with tabs, as Go's json.MarshalIndent writes it.
 *
 * Must never: write to the KV store.
 */

import type { CliIO, Command } from "./command.ts";
import { error, info } from "./command.ts";
import { FlagSet, renderUsage } from "./flags.ts";
import { addHttpFlags } from "./http_client.ts";
import { kvClient, trimLeadingSlash } from "./kv_common.ts";
import { EXIT_ERROR, EXIT_OK, parseFlags } from "./parse.ts";

function flagSet(): FlagSet {
  const fs = new FlagSet();
  addHttpFlags(fs);
  return fs;
}

function helpText(prog: string): string {
  return `
Usage: ${prog} kv export [KEY_OR_PREFIX]

  Reads every key-value pair under the prefix and writes them to stdout as
  JSON, in the format "${prog} kv import" reads, so whole trees can be copied
  between clusters.

      $ ${prog} kv export vault
`;
}

/** Go's encoding/json escapes <, >, & and U+2028/U+2029 in strings. */
export function goJsonEscape(json: string): string {
  return json
    .replaceAll("<", "\\u003c")
    .replaceAll(">", "\\u003e")
    .replaceAll("&", "\\u0026")
    .replaceAll("\u2028", "\\u2028")
    .replaceAll("\u2029", "\\u2029");
}

export const kvExportCommand: Command = {
  help: (prog) => renderUsage(helpText(prog), flagSet()),
  async run(argv: string[], io: CliIO): Promise<number> {
    const fs = flagSet();
    const p = parseFlags(fs, argv, io, helpText(io.prog));
    if (!p.ok) return p.code;
    if (p.args.length > 1) {
      error(io, `Too many arguments (expected 1, got ${p.args.length})`);
      return EXIT_ERROR;
    }
    const prefix = trimLeadingSlash(p.args[0] ?? "");
    const kv = await kvClient(fs, io);
    if (!kv) return EXIT_ERROR;
    try {
      const pairs = await kv.list(prefix);
      const entries = pairs.map((pr) => ({ key: pr.key, flags: pr.flags, value: pr.value.toString("base64") }));
      info(io, goJsonEscape(JSON.stringify(entries, null, "\t")));
      return EXIT_OK;
    } catch (e) {
      error(io, `Error querying Consul agent: ${(e as Error).message}`);
      return EXIT_ERROR;
    }
  },
};
