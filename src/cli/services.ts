/**
 * cli/services: the `services` parent command and `services register` / `services
 * deregister` (command/services/register, deregister): from flags or from service
 * definition files, against the local agent's /v1/agent/service/* endpoints.
 *
 * Must never: talk to anything but the agent's HTTP API.
 */

import type { CliIO, Command } from "./command.ts";
import { error, info, RUN_RESULT_HELP } from "./command.ts";
import { FlagSet, renderUsage } from "./flags.ts";
import { addHttpFlags } from "./http_client.ts";
import { EXIT_ERROR, EXIT_OK, parseFlags } from "./parse.ts";
import { agentClient, flagMap, putJson, servicesFromFiles } from "./services_common.ts";

export const servicesCommand: Command = {
  help: (prog) => `Usage: ${prog} services <subcommand> [options] [args]

  This command has subcommands for interacting with services. The subcommands
  default to working with services registered with the local agent. Please see
  the "consul catalog" command for interacting with the entire catalog.

  To register a service:

      $ ${prog} services register web.json

  To deregister a service:

      $ ${prog} services deregister web.json

  For more examples, ask for subcommand help or view the documentation.`,
  run: () => Promise.resolve(RUN_RESULT_HELP),
};

function registerFlags(): FlagSet {
  const fs = new FlagSet();
  fs.string("id", "", "ID of the service to register for arg-based registration. If this isn't set, it will default to the -name value.");
  fs.string("name", "", "Name of the service to register for arg-based registration.");
  fs.string("address", "", "Address of the service to register for arg-based registration.");
  fs.int("port", 0, "Port of the service to register for arg-based registration.");
  fs.string("socket", "", "Path to the Unix domain socket to register for arg-based registration (conflicts with address and port).");
  fs.list("meta", "Metadata to set on the service, formatted as key=value. This flag may be specified multiple times to set multiple meta fields.");
  fs.list("tag", "Tag to add to the service. This flag can be specified multiple times to set multiple tags.");
  fs.list("tagged-address", "Tagged address to set on the service, formatted as key=value. This flag may be specified multiple times to set multiple addresses.");
  fs.string("kind", "", "The services 'kind'");
  addHttpFlags(fs);
  return fs;
}

const registerHelp = (prog: string): string => `
Usage: ${prog} services register [options] [FILE...]

  Register one or more services using the local agent API. Services can
  be registered from standard Consul configuration files (HCL or JSON) or
  using flags. The service is registered and the command returns. The caller
  must remember to call "${prog} services deregister" or a similar API to
  deregister the service when complete.

      $ ${prog} services register web.json

  Additional flags and more advanced use cases are detailed below.
`;

/** api.ParseServiceAddr: "host:port" or "host". */
function parseServiceAddr(v: string): { Address: string; Port: number } | string {
  const m = /^(.*):(\d+)$/.exec(v);
  if (!m) return { Address: v, Port: 0 };
  const port = Number(m[2]);
  if (port > 65535) return `invalid port ${m[2]}`;
  return { Address: (m[1] ?? "").replace(/^\[|\]$/g, ""), Port: port };
}

export const servicesRegisterCommand: Command = {
  help: (prog) => renderUsage(registerHelp(prog), registerFlags()),
  async run(argv: string[], io: CliIO): Promise<number> {
    const fs = registerFlags();
    const p = parseFlags(fs, argv, io, registerHelp(io.prog));
    if (!p.ok) return p.code;
    const meta = flagMap(fs.getList("meta"), "meta");
    if (typeof meta === "string") {
      error(io, meta);
      return EXIT_ERROR;
    }
    const tagged = flagMap(fs.getList("tagged-address"), "tagged-address");
    if (typeof tagged === "string") {
      error(io, tagged);
      return EXIT_ERROR;
    }
    const taggedAddresses: Record<string, { Address: string; Port: number }> = {};
    for (const [k, v] of Object.entries(tagged)) {
      const a = parseServiceAddr(v);
      if (typeof a === "string") {
        error(io, `Invalid Tagged Address: ${a}`);
        return EXIT_ERROR;
      }
      taggedAddresses[k] = a;
    }
    const name = fs.getString("name");
    const fromFlags: Record<string, unknown> = {
      Kind: fs.getString("kind"),
      ID: fs.getString("id"),
      Name: name,
      Address: fs.getString("address"),
      Port: fs.getInt("port"),
      SocketPath: fs.getString("socket"),
      Tags: fs.getList("tag"),
      Meta: meta,
      TaggedAddresses: taggedAddresses,
    };
    const args = p.args;
    if (args.length === 0 && name === "") {
      error(io, "Service registration requires at least one argument or flags.");
      return EXIT_ERROR;
    } else if (args.length > 0 && name !== "") {
      error(io, "Service registration requires arguments or -id, not both.");
      return EXIT_ERROR;
    }
    let svcs: Record<string, unknown>[] = [fromFlags];
    if (args.length > 0) {
      try {
        svcs = await servicesFromFiles(args);
      } catch (e) {
        error(io, `Error: ${(e as Error).message}`);
        return EXIT_ERROR;
      }
      // CombineArgs: flag values fill what the file left empty; meta, tagged addresses and tags add up.
      for (const s of svcs) {
        for (const k of ["ID", "Name", "Address", "Kind", "SocketPath"] as const) {
          if ((s[k] ?? "") === "" && fromFlags[k] !== "") s[k] = fromFlags[k];
        }
        if ((s["Port"] ?? 0) === 0 && fromFlags["Port"] !== 0) s["Port"] = fromFlags["Port"];
        s["Meta"] = { ...((s["Meta"] as Record<string, string> | undefined) ?? {}), ...meta };
        s["TaggedAddresses"] = { ...((s["TaggedAddresses"] as Record<string, unknown> | undefined) ?? {}), ...taggedAddresses };
        s["Tags"] = [...((s["Tags"] as string[] | undefined) ?? []), ...fs.getList("tag")];
      }
    }
    const client = await agentClient(fs, io);
    if (!client) return EXIT_ERROR;
    for (const s of svcs) {
      const n = String(s["Name"] ?? "");
      try {
        await putJson(client, "/v1/agent/service/register", s);
      } catch (e) {
        error(io, `Error registering service ${JSON.stringify(n)}: ${(e as Error).message}`);
        return EXIT_ERROR;
      }
      info(io, `Registered service: ${n}`);
    }
    return EXIT_OK;
  },
};

function deregisterFlags(): FlagSet {
  const fs = new FlagSet();
  fs.string("id", "", "ID to delete. This must not be set if arguments are given.");
  addHttpFlags(fs);
  return fs;
}

const deregisterHelp = (prog: string): string => `
Usage: ${prog} services deregister [options] [FILE...]

  Deregister one or more services that were previously registered with
  the local agent.

      $ ${prog} services deregister web.json

  The -id flag may be used to deregister a single service by ID:

      $ ${prog} services deregister -id=web

  Services are deregistered from the local agent catalog. This command must
  be run against the same agent where the service was registered.
`;

export const servicesDeregisterCommand: Command = {
  help: (prog) => renderUsage(deregisterHelp(prog), deregisterFlags()),
  async run(argv: string[], io: CliIO): Promise<number> {
    const fs = deregisterFlags();
    const p = parseFlags(fs, argv, io, deregisterHelp(io.prog));
    if (!p.ok) return p.code;
    const id = fs.getString("id");
    const args = p.args;
    if (args.length === 0 && id === "") {
      error(io, "Service deregistration requires at least one argument or -id.");
      return EXIT_ERROR;
    } else if (args.length > 0 && id !== "") {
      error(io, "Service deregistration requires arguments or -id, not both.");
      return EXIT_ERROR;
    }
    let ids = [id];
    if (args.length > 0) {
      try {
        ids = (await servicesFromFiles(args)).map((s) => String(s["ID"] ?? "") || String(s["Name"] ?? ""));
      } catch (e) {
        error(io, `Error: ${(e as Error).message}`);
        return EXIT_ERROR;
      }
    }
    const client = await agentClient(fs, io);
    if (!client) return EXIT_ERROR;
    for (const sid of ids) {
      try {
        await putJson(client, `/v1/agent/service/deregister/${sid}`, undefined);
      } catch (e) {
        error(io, `Error deregistering service ${JSON.stringify(sid)}: ${(e as Error).message}`);
        return EXIT_ERROR;
      }
      info(io, `Deregistered service: ${sid}`);
    }
    return EXIT_OK;
  },
};
