/**
 * cli/kv_import: `consul kv import [DATA|@file|-]` (command/kv/imp): writes each
 * exported entry, optionally under -prefix, printing "Imported: KEY".
 *
 * Must never: delete keys.
 */

import { readFile } from "node:fs/promises";
import type { CliIO, Command } from "./command.ts";
import { error, info } from "./command.ts";
import { FlagSet, renderUsage } from "./flags.ts";
import { addHttpFlags } from "./http_client.ts";
import { dataFromArg, kvClient } from "./kv_common.ts";
import { EXIT_ERROR, EXIT_OK, parseFlags } from "./parse.ts";

function flagSet(): FlagSet {
  const fs = new FlagSet();
  fs.string("prefix", "", "Key prefix for imported data. The default value is empty meaning root.");
  addHttpFlags(fs);
  return fs;
}

function helpText(prog: string): string {
  return `
Usage: ${prog} kv import [DATA]

  Writes the key-value pairs of a JSON document made by "${prog} kv export"
  into the key-value store.

  DATA starting with "@" names a file to read:

      $ ${prog} kv import @filename.json

  DATA "-" reads stdin:

      $ cat filename.json | ${prog} kv import -

  The JSON may also be given directly as DATA (mind the shell quoting).
`;
}

interface Entry {
  key: string;
  flags: number;
  value: string;
}

function toEntries(data: string): Entry[] {
  const j: unknown = JSON.parse(data);
  if (j === null) return [];
  if (!Array.isArray(j)) throw new Error("json: cannot unmarshal object into Go value of type []*impexp.Entry");
  return j.map((raw: unknown, i: number) => {
    if (typeof raw !== "object" || raw === null) {
      throw new Error(`json: cannot unmarshal ${typeof raw} into entry ${i}`);
    }
    const o = raw as Record<string, unknown>;
    const key = o["key"];
    const flags = o["flags"];
    const value = o["value"];
    if (key !== undefined && typeof key !== "string") throw new Error(`json: entry ${i}: key must be a string`);
    if (flags !== undefined && (typeof flags !== "number" || !Number.isInteger(flags) || flags < 0)) {
      throw new Error(`json: entry ${i}: flags must be an unsigned integer`);
    }
    if (value !== undefined && typeof value !== "string") throw new Error(`json: entry ${i}: value must be a string`);
    return { key: key ?? "", flags: flags ?? 0, value: value ?? "" };
  });
}

/** Joins -prefix and a key with one "/" between them. */
export function joinPrefix(prefix: string, key: string): string {
  if (prefix === "") return key;
  return `${prefix.replace(/\/+$/, "")}/${key.replace(/^\/+/, "")}`;
}

export const kvImportCommand: Command = {
  help: (prog) => renderUsage(helpText(prog), flagSet()),
  async run(argv: string[], io: CliIO): Promise<number> {
    const fs = flagSet();
    const p = parseFlags(fs, argv, io, helpText(io.prog));
    if (!p.ok) return p.code;
    const args = p.args;
    if (args.length === 0) {
      error(io, "Error! Missing DATA argument");
      return EXIT_ERROR;
    }
    if (args.length > 1) {
      error(io, `Error! Too many arguments (expected 1, got ${args.length})`);
      return EXIT_ERROR;
    }
    if ((args[0] ?? "") === "") {
      error(io, "Error! Empty DATA argument");
      return EXIT_ERROR;
    }
    let data: string;
    try {
      data = (await dataFromArg(args[0] ?? "", io, (f) => readFile(f))).toString("utf8");
    } catch (e) {
      error(io, `Error! ${(e as Error).message}`);
      return EXIT_ERROR;
    }
    const kv = await kvClient(fs, io);
    if (!kv) return EXIT_ERROR;
    let entries: Entry[];
    try {
      entries = toEntries(data);
    } catch (e) {
      error(io, `Cannot unmarshal data: ${(e as Error).message}`);
      return EXIT_ERROR;
    }
    const prefix = fs.getString("prefix");
    for (const entry of entries) {
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(entry.value) || entry.value.length % 4 !== 0) {
        error(io, `Error base 64 decoding value for key ${entry.key}: illegal base64 data`);
        return EXIT_ERROR;
      }
      const key = joinPrefix(prefix, entry.key);
      try {
        await kv.putValue(key, Buffer.from(entry.value, "base64"), entry.flags);
      } catch (e) {
        error(io, `Error! Failed writing data for key ${key}: ${(e as Error).message}`);
        return EXIT_ERROR;
      }
      info(io, `Imported: ${key}`);
    }
    return EXIT_OK;
  },
};
