/**
 * cli/kv_delete: `consul kv delete` (command/kv/del/kv_delete.go): key, -recurse, -cas -modify-index.
 *
 * Must never: write values.
 */

import type { CliIO, Command } from "./command.ts";
import { error, info } from "./command.ts";
import { FlagSet, renderUsage } from "./flags.ts";
import { addHttpFlags } from "./http_client.ts";
import { kvClient, trimLeadingSlash } from "./kv_common.ts";
import { EXIT_ERROR, EXIT_OK, parseFlags } from "./parse.ts";

function flagSet(): FlagSet {
  const fs = new FlagSet();
  fs.bool(
    "cas",
    "Perform a Check-And-Set operation. Specifying this value also requires " +
      "the -modify-index flag to be set. The default value is false.",
  );
  fs.uint(
    "modify-index",
    0,
    "Unsigned integer representing the ModifyIndex of the key. This is " + "used in combination with the -cas flag.",
  );
  fs.bool("recurse", "Recursively delete all keys with the path. The default value is false.");
  addHttpFlags(fs);
  return fs;
}

function helpText(prog: string): string {
  return `
Usage: ${prog} kv delete [options] KEY_OR_PREFIX

  Deletes the key at the given path from the key-value store. Deleting a key
  that does not exist is not an error.

      $ ${prog} kv delete foo

  -recurse deletes every key that starts with the given prefix:

      $ ${prog} kv delete -recurse foo

  which removes "foo", "food" and "foo/bar/zip" if they exist.
`;
}

export const kvDeleteCommand: Command = {
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
    const cas = fs.getBool("cas");
    const modifyIndex = fs.getInt("modify-index");
    if (key === "" && !recurse) {
      error(io, "Error! Missing KEY argument");
      return EXIT_ERROR;
    }
    if (cas && modifyIndex === 0) {
      error(io, "Cannot delete a key that does not exist. Provide a -modify-index greater than than 0.");
      return EXIT_ERROR;
    }
    if (modifyIndex !== 0 && !cas) {
      error(io, "Cannot specify -modify-index without -cas!");
      return EXIT_ERROR;
    }
    if (recurse && cas) {
      error(io, "Cannot specify both -cas and -recurse!");
      return EXIT_ERROR;
    }
    const kv = await kvClient(fs, io);
    if (!kv) return EXIT_ERROR;
    if (recurse) {
      try {
        await kv.deleteTree(key);
      } catch (e) {
        error(io, `Error! Did not delete prefix ${key}: ${(e as Error).message}`);
        return EXIT_ERROR;
      }
      info(io, `Success! Deleted keys with prefix: ${key}`);
      return EXIT_OK;
    }
    if (cas) {
      let ok: boolean;
      try {
        ok = await kv.deleteCas(key, modifyIndex);
      } catch (e) {
        error(io, `Error! Did not delete key ${key}: ${(e as Error).message}`);
        return EXIT_ERROR;
      }
      if (!ok) {
        error(io, `Error! Did not delete key ${key}: CAS failed`);
        return EXIT_ERROR;
      }
      info(io, `Success! Deleted key: ${key}`);
      return EXIT_OK;
    }
    try {
      await kv.delete(key);
    } catch (e) {
      error(io, `Error deleting key ${key}: ${(e as Error).message}`);
      return EXIT_ERROR;
    }
    info(io, `Success! Deleted key: ${key}`);
    return EXIT_OK;
  },
};
