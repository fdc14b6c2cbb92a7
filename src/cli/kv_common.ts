/**
 * cli/kv_common: pieces shared by the `kv` subcommands (client set-up, rendering).
 *
 * Must never: parse flags or decide exit codes.
 */

import type { CliIO } from "./command.ts";
import { error } from "./command.ts";
import type { FlagSet } from "./flags.ts";
import { ConsulHttpClient, clientOptions } from "./http_client.ts";
import { KVApi, type KVPair } from "./kv_api.ts";

/** Builds the KV client, or prints Consul's "Error connecting" message and returns null. */
export async function kvClient(fs: FlagSet, io: CliIO): Promise<KVApi | null> {
  try {
    return new KVApi(new ConsulHttpClient(await clientOptions(fs, io.env)));
  } catch (e) {
    error(io, `Error connecting to Consul agent: ${(e as Error).message}`);
    return null;
  }
}

/** Strips one leading "/" as Consul's kv commands do. */
export function trimLeadingSlash(key: string): string {
  return key.startsWith("/") ? key.slice(1) : key;
}

/** Reads DATA as Consul does: `@file`, `-` for stdin, anything else literally. */
export async function dataFromArg(data: string, io: CliIO, readFile: (p: string) => Promise<Buffer>): Promise<Buffer> {
  if (data.length === 0) return Buffer.alloc(0);
  if (data[0] === "@") {
    try {
      return await readFile(data.slice(1));
    } catch (e) {
      throw new Error(`Failed to read file: ${(e as Error).message}`);
    }
  }
  if (data === "-") {
    try {
      return Buffer.from(await io.readStdin(), "utf8");
    } catch (e) {
      throw new Error(`Failed to read stdin: ${(e as Error).message}`);
    }
  }
  return Buffer.from(data, "utf8");
}

/** Column width of the -detailed table: longest label (11) + padding 6 (Go tabwriter). */
const DETAIL_PADDING = 6;

/** Consul's prettyKVPair (tabwriter minwidth 0, tabwidth 2, padding 6, no trailing newline). */
export function renderDetailed(pair: KVPair, base64: boolean): string {
  const rows: Array<[string, string]> = [
    ["CreateIndex", String(pair.createIndex)],
    ["Flags", String(pair.flags)],
    ["Key", pair.key],
    ["LockIndex", String(pair.lockIndex)],
    ["ModifyIndex", String(pair.modifyIndex)],
    ["Session", pair.session === "" ? "-" : pair.session],
    ["Value", base64 ? pair.value.toString("base64") : pair.value.toString("utf8")],
  ];
  const width = Math.max(...rows.map((r) => r[0].length)) + DETAIL_PADDING;
  return rows.map(([k, v]) => k.padEnd(width, " ") + v).join("\n");
}
