/**
 * cli/keyring: the gossip key commands (command/keygen, command/keyring): `keygen`
 * prints 32 random bytes in base64; `keyring -list|-install KEY|-use KEY|-remove KEY
 * [-relay-factor N] [-local-only]` drives /v1/operator/keyring with Consul's "==> "
 * progress lines, its list layout ("<dc> (LAN):" then "  <key> [n/N]" per key) and
 * "error: <api error>" on failure (exit 1).
 *
 * Must never: talk to gossip directly (only the agent's HTTP API), or print a key it did
 * not generate or receive.
 */

import { randomBytes } from "node:crypto";
import { Buffer } from "node:buffer";
import type { CliIO, Command } from "./command.ts";
import { error, info } from "./command.ts";
import { FlagSet, renderUsage } from "./flags.ts";
import { addHttpFlags, requireOk } from "./http_client.ts";
import { EXIT_ERROR, EXIT_OK, parseFlags } from "./parse.ts";
import { agentClient, getJson } from "./services_common.ts";

/** Consul's gossip keys are 32 bytes (AES-256). */
const KEYGEN_BYTES = 32;
const MAX_RELAY_FACTOR = 5;

const keygenHelp = (prog: string): string => `
Usage: ${prog} keygen

  Generates a new encryption key that can be used to configure the
  agent to encrypt traffic. The output of this command is already
  in the proper format that the agent expects.
`;

export const keygenCommand: Command = {
  help: (prog) => renderUsage(keygenHelp(prog), new FlagSet()),
  async run(argv: string[], io: CliIO): Promise<number> {
    const fs = new FlagSet();
    const p = parseFlags(fs, argv, io, keygenHelp(io.prog));
    if (!p.ok) return p.code;
    info(io, Buffer.from(randomBytes(KEYGEN_BYTES)).toString("base64"));
    return EXIT_OK;
  },
};

function keyringFlags(): FlagSet {
  const fs = new FlagSet();
  fs.string("install", "", "Install a new encryption key. This will broadcast the new key to all members in the cluster.");
  fs.string("use", "", "Change the primary encryption key, which is used to encrypt messages. The key must already be installed before this operation can succeed.");
  fs.string("remove", "", "Remove the given key from the cluster. This operation may only be performed on keys which are not currently the primary key.");
  fs.bool("list", "List all keys currently in use within the cluster.");
  fs.int("relay-factor", 0, "Setting this to a non-zero value will cause nodes to relay their response to the operation through this many randomly-chosen other nodes in the cluster. The maximum allowed value is 5.");
  fs.bool("local-only", "Setting this to true will force the keyring query to only hit local servers (no WAN traffic). This flag can only be set for list queries.");
  addHttpFlags(fs);
  return fs;
}

const keyringHelp = (prog: string): string => `
Usage: ${prog} keyring [options]

  Manages encryption keys used for gossip messages. Gossip encryption is
  optional. When enabled, this command may be used to examine active encryption
  keys in the cluster, add new keys, and remove old ones. When combined, this
  functionality provides the ability to perform key rotation cluster-wide,
  without disrupting the cluster.

  All operations performed by this command can only be run against server nodes,
  and affect both the LAN and WAN keyrings in lock-step.

  All variations of the keyring command return 0 if all nodes reply and there
  are no errors. If any node fails to reply or reports failure, the exit code
  will be 1.
`;

interface ApiKeyringResponse {
  readonly WAN: boolean;
  readonly Datacenter: string;
  readonly Segment: string;
  readonly Messages: Record<string, string> | null;
  readonly Keys: Record<string, number> | null;
  readonly NumNodes: number;
}

/** The text `consul keyring -list` prints for one pool (formatResponse). */
export function formatKeyringResponse(r: ApiKeyringResponse): string {
  let pool = `${r.Datacenter} (LAN)`;
  if (r.Segment !== "") pool += ` [${r.Segment}]`;
  if (r.WAN) pool = "WAN";
  let s = `\n${pool}:\n`;
  for (const from of Object.keys(r.Messages ?? {}).sort()) s += `  ===> ${from}: ${(r.Messages ?? {})[from] ?? ""}\n`;
  for (const key of Object.keys(r.Keys ?? {}).sort()) s += `  ${key} [${(r.Keys ?? {})[key] ?? 0}/${r.NumNodes}]\n`;
  return s.trimEnd();
}

export const keyringCommand: Command = {
  help: (prog) => renderUsage(keyringHelp(prog), keyringFlags()),
  async run(argv: string[], io: CliIO): Promise<number> {
    const fs = keyringFlags();
    const p = parseFlags(fs, argv, io, keyringHelp(io.prog));
    if (!p.ok) return p.code;
    const list = fs.getBool("list");
    const install = fs.getString("install"), use = fs.getString("use"), remove = fs.getString("remove");
    let found = list;
    for (const a of [install, use, remove]) {
      if (found && a.length > 0) {
        error(io, "Only a single action is allowed");
        return EXIT_ERROR;
      }
      found = found || a.length > 0;
    }
    if (!found) {
      error(io, renderUsage(keyringHelp(io.prog), fs));
      return EXIT_ERROR;
    }
    const relay = fs.getInt("relay-factor");
    if (relay < 0 || relay > MAX_RELAY_FACTOR) {
      error(io, `Error parsing relay factor: Relay factor must be in range: [0, ${MAX_RELAY_FACTOR}]`);
      return EXIT_ERROR;
    }
    const localOnly = fs.getBool("local-only");
    if (localOnly && !list) {
      error(io, "Error validating local-only: local-only can only be set for list requests");
      return EXIT_ERROR;
    }
    const client = await agentClient(fs, io);
    if (!client) return EXIT_ERROR;
    const params: [string, string][] = [];
    if (relay !== 0) params.push(["relay-factor", String(relay)]);
    if (list) {
      info(io, "==> Gathering installed encryption keys...");
      if (localOnly) params.push(["local-only", "true"]);
      let out: unknown;
      try {
        out = await getJson(client, "/v1/operator/keyring", params);
      } catch (e) {
        error(io, `error: ${(e as Error).message}`);
        return EXIT_ERROR;
      }
      for (const r of Array.isArray(out) ? (out as ApiKeyringResponse[]) : []) info(io, formatKeyringResponse(r));
      return EXIT_OK;
    }
    const [method, key, what]: ["POST" | "PUT" | "DELETE", string, string] =
      install !== "" ? ["POST", install, "Installing new gossip encryption key..."]
      : use !== "" ? ["PUT", use, "Changing primary gossip encryption key..."]
      : ["DELETE", remove, "Removing gossip encryption key..."];
    info(io, `==> ${what}`);
    try {
      requireOk(await client.request(method, "/v1/operator/keyring", params, new TextEncoder().encode(JSON.stringify({ Key: key }))));
    } catch (e) {
      error(io, `error: ${(e as Error).message}`);
      return EXIT_ERROR;
    }
    return EXIT_OK;
  },
};
