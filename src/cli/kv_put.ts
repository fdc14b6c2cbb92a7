/**
 * cli/kv_put: `consul kv put` (command/kv/put/kv_put.go): value, @file, - (stdin),
 * -flags, -base64, -cas -modify-index, -acquire/-release -session.
 *
 * Must never: read keys.
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
  fs.bool(
    "cas",
    "Perform a Check-And-Set operation. Specifying this value also " +
      "requires the -modify-index flag to be set. The default value " +
      "is false.",
  );
  fs.uint(
    "flags",
    0,
    "Unsigned integer value to assign to this key-value pair. This " +
      "value is not read by Consul, so clients can use this value however " +
      "makes sense for their use case. The default value is 0 (no flags).",
  );
  fs.bool("base64", "Treat the data as base 64 encoded. The default value is false.");
  fs.uint(
    "modify-index",
    0,
    "Unsigned integer representing the ModifyIndex of the key. This is " + "used in combination with the -cas flag.",
  );
  fs.string(
    "session",
    "",
    "User-defined identifer for this session as a string. This is commonly " +
      "used with the -acquire and -release operations to build robust locking, " +
      "but it can be set on any key. The default value is empty (no session).",
  );
  fs.bool(
    "acquire",
    "Obtain a lock on the key. If the key does not exist, this operation " +
      "will create the key and obtain the lock. The session must already " +
      "exist and be specified via the -session flag. The default value is false.",
  );
  fs.bool(
    "release",
    "Forfeit the lock on the key at the given path. This requires the " +
      "-session flag to be set. The key must be held by the session in order to " +
      "be unlocked. The default value is false.",
  );
  addHttpFlags(fs);
  return fs;
}

function helpText(prog: string): string {
  return `
Usage: ${prog} kv put [options] KEY [DATA]

  Writes DATA at KEY in the key-value store; any bytes are allowed.

      $ ${prog} kv put config/redis/maxconns 5

  DATA starting with "@" names a file to read the value from:

      $ ${prog} kv put config/program/license @license.lic

  DATA "-" reads the value from stdin:

      $ echo "abcd1234" | ${prog} kv put config/program/license -

  Without DATA an empty value is written:

      $ ${prog} kv put webapp/beta/active

  With -base64 DATA is decoded from base 64 first.

  -cas with -modify-index writes only when the key's ModifyIndex still
  matches (0 means "only if the key does not exist"):

      $ ${prog} kv put -cas -modify-index=844 config/redis/maxconns 5

  All options are listed below.
`;
}

const fileReader = (p: string): Promise<Buffer> => readFile(p);

export const kvPutCommand: Command = {
  help: (prog) => renderUsage(helpText(prog), flagSet()),
  async run(argv: string[], io: CliIO): Promise<number> {
    const fs = flagSet();
    const p = parseFlags(fs, argv, io, helpText(io.prog));
    if (!p.ok) return p.code;
    const args = p.args;
    if (args.length === 0) {
      error(io, "Error! Missing KEY argument");
      return EXIT_ERROR;
    }
    if (args.length > 2) {
      error(io, `Error! Too many arguments (expected 1 or 2, got ${args.length})`);
      return EXIT_ERROR;
    }
    const key = args[0] ?? "";
    let data: Buffer;
    try {
      data = args.length === 2 ? await dataFromArg(args[1] ?? "", io, fileReader) : Buffer.alloc(0);
    } catch (e) {
      error(io, `Error! ${(e as Error).message}`);
      return EXIT_ERROR;
    }
    if (fs.getBool("base64")) {
      const text = data.toString("utf8");
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) {
        error(io, "Error! Cannot base 64 decode data: illegal base64 data");
        return EXIT_ERROR;
      }
      data = Buffer.from(text, "base64");
    }
    const session = fs.getString("session");
    const acquire = fs.getBool("acquire");
    const release = fs.getBool("release");
    const cas = fs.getBool("cas");
    const modifyIndex = fs.getInt("modify-index");
    const flags = fs.getInt("flags");
    if ((acquire || release) && session === "") {
      error(io, "Error! Missing -session (required with -acquire and -release)");
      return EXIT_ERROR;
    }
    if (cas && modifyIndex === 0) {
      error(io, "Must specify -modify-index with -cas!");
      return EXIT_ERROR;
    }
    const kv = await kvClient(fs, io);
    if (!kv) return EXIT_ERROR;
    if (cas) {
      try {
        if (!(await kv.cas(key, data, flags, modifyIndex))) {
          error(io, `Error! Did not write to ${key}: CAS failed`);
          return EXIT_ERROR;
        }
      } catch (e) {
        error(io, `Error! Did not write to ${key}: ${(e as Error).message}`);
        return EXIT_ERROR;
      }
      info(io, `Success! Data written to: ${key}`);
      return EXIT_OK;
    }
    if (acquire || release) {
      let ok: boolean;
      try {
        ok = acquire ? await kv.acquire(key, data, flags, session) : await kv.release(key, data, flags, session);
      } catch (e) {
        error(io, `Error! Failed writing data: ${(e as Error).message}`);
        return EXIT_ERROR;
      }
      if (!ok) {
        error(io, acquire ? "Error! Did not acquire lock" : "Error! Did not release lock");
        return EXIT_ERROR;
      }
      info(io, acquire ? `Success! Lock acquired on: ${key}` : `Success! Lock released on: ${key}`);
      return EXIT_OK;
    }
    try {
      await kv.putValue(key, data, flags);
    } catch (e) {
      error(io, `Error! Failed writing data: ${(e as Error).message}`);
      return EXIT_ERROR;
    }
    info(io, `Success! Data written to: ${key}`);
    return EXIT_OK;
  },
};
