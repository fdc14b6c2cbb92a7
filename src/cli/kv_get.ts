/**
 * cli/kv_get: `consul kv get` (command/kv/get/kv_get.go): value, -recurse, -keys, -detailed, -base64.
 *
 * Must never: write to the KV store.
 */

import type { CliIO, Command } from "./command.ts";
import { error, info } from "./command.ts";
import { FlagSet, renderUsage } from "./flags.ts";
import { addHttpFlags } from "./http_client.ts";
import { kvClient, renderDetailed, trimLeadingSlash } from "./kv_common.ts";
import { EXIT_ERROR, EXIT_OK, parseFlags } from "./parse.ts";

function flagSet(): FlagSet {
  const fs = new FlagSet();
  fs.bool("base64", "Base64 encode the value. The default value is false.");
  fs.bool(
    "detailed",
    "Provide additional metadata about the key in addition to the value such " +
      "as the ModifyIndex and any flags that may have been set on the key. " +
      "The default value is false.",
  );
  fs.bool(
    "keys",
    "List keys which start with the given prefix, but not their values. " +
      "This is especially useful if you only need the key names themselves. " +
      "This option is commonly combined with the -separator option. The default " +
      "value is false.",
  );
  fs.bool("recurse", "Recursively look at all keys prefixed with the given path. The default value is false.");
  fs.string(
    "separator",
    "/",
    'String to use as a separator between keys. The default value is "/", ' +
      "but this option is only taken into account when paired with the -keys flag.",
  );
  addHttpFlags(fs);
  return fs;
}

function helpText(prog: string): string {
  return `
Usage: ${prog} kv get [options] [KEY_OR_PREFIX]

  Reads the value stored at KEY in the key-value store. A missing key is an
  error; a key that exists without data prints nothing. Without a key the
  root of the store ("") is used.

      $ ${prog} kv get foo

  -detailed shows the metadata of the key (indexes, flags, session) with its
  value:

      $ ${prog} kv get -detailed foo

  -recurse treats the argument as a prefix and prints every "key:value" pair
  below it:

      $ ${prog} kv get -recurse foo

  -keys lists only the key names below the prefix, up to the -separator:

      $ ${prog} kv get -keys foo
`;
}

export const kvGetCommand: Command = {
  help: (prog) => renderUsage(helpText(prog), flagSet()),
  async run(argv: string[], io: CliIO): Promise<number> {
    const fs = flagSet();
    const p = parseFlags(fs, argv, io, helpText(io.prog));
    if (!p.ok) return p.code;
    if (p.args.length > 1) {
      error(io, `Too many arguments (expected 1, got ${p.args.length})`);
      return EXIT_ERROR;
    }
    const key = trimLeadingSlash(p.args[0] ?? "");
    const recurse = fs.getBool("recurse");
    const keys = fs.getBool("keys");
    const detailed = fs.getBool("detailed");
    const b64 = fs.getBool("base64");
    if (key === "" && !(recurse || keys)) {
      error(io, "Error! Missing KEY argument");
      return EXIT_ERROR;
    }
    const kv = await kvClient(fs, io);
    if (!kv) return EXIT_ERROR;
    try {
      if (keys) {
        for (const k of await kv.keys(key, fs.getString("separator"))) info(io, k);
        return EXIT_OK;
      }
      if (recurse) {
        const pairs = await kv.list(key);
        pairs.forEach((pair, i) => {
          if (detailed) {
            info(io, renderDetailed(pair, b64));
            if (i < pairs.length - 1) info(io, "");
          } else {
            const v = b64 ? Buffer.from(pair.value.toString("base64")) : pair.value;
            io.out(Buffer.concat([Buffer.from(`${pair.key}:`), v, Buffer.from("\n")]));
          }
        });
        return EXIT_OK;
      }
      const pair = await kv.get(key);
      if (pair === null) {
        error(io, `Error! No key exists at: ${key}`);
        return EXIT_ERROR;
      }
      if (detailed) info(io, renderDetailed(pair, b64));
      else io.out(Buffer.concat([pair.value, Buffer.from("\n")]));
      return EXIT_OK;
    } catch (e) {
      error(io, `Error querying Consul agent: ${(e as Error).message}`);
      return EXIT_ERROR;
    }
  },
};
