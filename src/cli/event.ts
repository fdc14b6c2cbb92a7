/**
 * cli/event: `consul event` (command/event): fires a user event through
 * PUT /v1/event/fire/<name> with -node/-service/-tag filters and an optional payload
 * argument; prints "Event ID: <id>".
 *
 * Must never: fire when the flags are invalid.
 */

import type { CliIO, Command } from "./command.ts";
import { error, info } from "./command.ts";
import { FlagSet, renderUsage } from "./flags.ts";
import { addHttpFlags, requireOk } from "./http_client.ts";
import { EXIT_ERROR, EXIT_OK, parseFlags } from "./parse.ts";
import { agentClient, getJson } from "./services_common.ts";

function flags(): FlagSet {
  const fs = new FlagSet();
  addHttpFlags(fs, true);
  fs.string("name", "", "Name of the event.");
  fs.string("node", "", "Regular expression to filter on node names.");
  fs.string("service", "", "Regular expression to filter on service instances.");
  fs.string("tag", "", "Regular expression to filter on service tags. Must be used with -service.");
  return fs;
}

const help = (prog: string): string => `
Usage: ${prog} event [options] [payload]

  Dispatches a custom user event across a datacenter. An event must provide
  a name, but a payload is optional. Events support filtering using
  regular expressions on node name, service, and tag definitions.
`;

function compiles(re: string): string | undefined {
  try {
    new RegExp(re);
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

export const eventCommand: Command = {
  help: (prog) => renderUsage(help(prog), flags()),
  async run(argv: string[], io: CliIO): Promise<number> {
    const fs = flags();
    const p = parseFlags(fs, argv, io, help(io.prog));
    if (!p.ok) return p.code;
    const name = fs.getString("name");
    const node = fs.getString("node");
    const service = fs.getString("service");
    const tag = fs.getString("tag");
    if (name === "") {
      error(io, "Event name must be specified");
      error(io, "");
      error(io, renderUsage(help(io.prog), fs));
      return EXIT_ERROR;
    }
    for (const [what, re] of [["node", node], ["service", service], ["tag", tag]] as const) {
      if (re === "") continue;
      const bad = compiles(re);
      if (bad !== undefined) {
        error(io, `Failed to compile ${what} filter regexp: ${bad}`);
        return EXIT_ERROR;
      }
    }
    if (tag !== "" && service === "") {
      error(io, "Cannot provide tag filter without service filter.");
      return EXIT_ERROR;
    }
    if (p.args.length > 1) {
      error(io, "Too many command line arguments.");
      error(io, renderUsage(help(io.prog), fs));
      return EXIT_ERROR;
    }
    const payload = p.args[0];
    const client = await agentClient(fs, io);
    if (!client) return EXIT_ERROR;
    try {
      await getJson(client, "/v1/agent/self");
    } catch (e) {
      error(io, `Error querying Consul agent: ${(e as Error).message}`);
      return EXIT_ERROR;
    }
    const params: [string, string][] = [];
    if (node !== "") params.push(["node", node]);
    if (service !== "") params.push(["service", service]);
    if (tag !== "") params.push(["tag", tag]);
    let id: string;
    try {
      const res = await client.request("PUT", `/v1/event/fire/${name}`, params, payload !== undefined ? new TextEncoder().encode(payload) : undefined);
      requireOk(res);
      id = String((JSON.parse(res.body.toString("utf8")) as { ID?: unknown }).ID ?? "");
    } catch (e) {
      error(io, `Error firing event: ${(e as Error).message}`);
      return EXIT_ERROR;
    }
    info(io, `Event ID: ${id}`);
    return EXIT_OK;
  },
};
