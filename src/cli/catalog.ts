/**
 * cli/catalog: `consul catalog` and its `datacenters`, `nodes` and `services`
 * subcommands (command/catalog/*): reads of /v1/catalog/* printed as Consul does
 * (columnized tables, node IDs cut to 8 characters unless -detailed).
 *
 * Must never: write to the catalog.
 */

import type { CliIO, Command } from "./command.ts";
import { error, info, RUN_RESULT_HELP } from "./command.ts";
import { FlagSet, renderUsage } from "./flags.ts";
import { addHttpFlags } from "./http_client.ts";
import { EXIT_ERROR, EXIT_OK, parseFlags } from "./parse.ts";
import { agentClient, columnize, flagMap, getJson } from "./services_common.ts";

export const catalogCommand: Command = {
  help: (prog) => `Usage: ${prog} catalog <subcommand> [options] [args]

  This command has subcommands for interacting with Consul's catalog. The
  catalog should not be confused with the agent, although the APIs and
  responses may be similar.

  Here are some simple examples, and more detailed examples are available
  in the subcommands or the documentation.

  List all datacenters:

      $ ${prog} catalog datacenters

  List all nodes:

      $ ${prog} catalog nodes

  List all services:

      $ ${prog} catalog services

  For more examples, ask for subcommand help or view the documentation.`,
  run: () => Promise.resolve(RUN_RESULT_HELP),
};

type Client = NonNullable<Awaited<ReturnType<typeof agentClient>>>;

/**
 * The shared start of every catalog read: parse the flags, refuse arguments, turn
 * -node-meta pairs (when the command has them) into query parameters, build the
 * client. Returns an exit code when the command must stop.
 */
async function begin(fs: FlagSet, argv: string[], io: CliIO, help: string): Promise<{ client: Client; params: [string, string][] } | number> {
  const p = parseFlags(fs, argv, io, help);
  if (!p.ok) return p.code;
  if (p.args.length > 0) {
    error(io, "Too many arguments (expected 0)");
    return EXIT_ERROR;
  }
  const meta = flagMap(fs.getList("node-meta"), "node-meta"); // [] when the command has no -node-meta
  if (typeof meta === "string") {
    error(io, meta);
    return EXIT_ERROR;
  }
  const client = await agentClient(fs, io);
  if (!client) return EXIT_ERROR;
  return { client, params: Object.entries(meta).map(([k, v]) => ["node-meta", `${k}:${v}`]) };
}

// ---- datacenters ------------------------------------------------------------------

const dcHelp = (prog: string): string => `
Usage: ${prog} catalog datacenters [options]

  Retrieves the list of all known datacenters. This datacenters are sorted in
  ascending order based on the estimated median round trip time from the servers
  in this datacenter to the servers in the other datacenters.

  List all datacenters:

      $ ${prog} catalog datacenters

  For a full list of options and examples, please see the Consul documentation.
`;

function dcFlags(): FlagSet {
  const fs = new FlagSet();
  addHttpFlags(fs, false);
  return fs;
}

export const catalogDatacentersCommand: Command = {
  help: (prog) => renderUsage(dcHelp(prog), dcFlags()),
  async run(argv: string[], io: CliIO): Promise<number> {
    const b = await begin(dcFlags(), argv, io, dcHelp(io.prog));
    if (typeof b === "number") return b;
    const { client } = b;
    let dcs: string[];
    try {
      dcs = (await getJson(client, "/v1/catalog/datacenters")) as string[];
    } catch (e) {
      error(io, `Error listing datacenters: ${(e as Error).message}`);
      return EXIT_ERROR;
    }
    if (dcs.length === 0) {
      error(io, "No datacenters found");
      return EXIT_ERROR;
    }
    for (const dc of dcs) info(io, dc);
    return EXIT_OK;
  },
};

// ---- nodes --------------------------------------------------------------------------

const nodesHelp = (prog: string): string => `
Usage: ${prog} catalog nodes [options]

  Retrieves the list nodes registered in a given datacenter. By default, the
  datacenter of the local agent is queried.

  To retrieve the list of nodes:

      $ ${prog} catalog nodes

  To print detailed information including full node IDs, tagged addresses,
  and metadata information:

      $ ${prog} catalog nodes -detailed

  To list nodes which are running a particular service:

      $ ${prog} catalog nodes -service=web

  To filter by node metadata:

      $ ${prog} catalog nodes -node-meta="foo=bar"

  For a full list of options and examples, please see the Consul documentation.
`;

function nodesFlags(): FlagSet {
  const fs = new FlagSet();
  fs.bool("detailed", "Output detailed information about the nodes including their addresses and metadata.");
  fs.string("near", "", "Node name to sort the node list in ascending order based on estimated round-trip time from that node. Passing \"_agent\" will use this agent's node for sorting.");
  fs.list("node-meta", "Metadata to filter nodes with the given `key=value` pairs. This flag may be specified multiple times to filter on multiple sources of metadata.", "key=value");
  fs.string("service", "", "Service `id or name` to filter nodes. Only nodes which are providing the given service will be returned.");
  fs.string("filter", "", "Filter to use with the request");
  addHttpFlags(fs);
  return fs;
}

interface NodeJson {
  ID: string;
  Node: string;
  Address: string;
  Datacenter: string;
  TaggedAddresses: Record<string, string> | null;
  Meta: Record<string, string> | null;
}

const mapText = (m: Record<string, string> | null): string =>
  Object.keys(m ?? {})
    .sort()
    .map((k) => `${k}=${(m ?? {})[k]}`)
    .join(", ");

export const catalogNodesCommand: Command = {
  help: (prog) => renderUsage(nodesHelp(prog), nodesFlags()),
  async run(argv: string[], io: CliIO): Promise<number> {
    const fs = nodesFlags();
    const b = await begin(fs, argv, io, nodesHelp(io.prog));
    if (typeof b === "number") return b;
    const { client, params } = b;
    if (fs.getString("near") !== "") params.push(["near", fs.getString("near")]);
    if (fs.getString("filter") !== "") params.push(["filter", fs.getString("filter")]);
    let nodes: NodeJson[];
    try {
      const svc = fs.getString("service");
      if (svc !== "") {
        const list = (await getJson(client, `/v1/catalog/service/${svc}`, params)) as Array<{
          ID: string; Node: string; Address: string; Datacenter: string; TaggedAddresses: Record<string, string> | null; NodeMeta: Record<string, string> | null;
        }>;
        nodes = list.map((s) => ({ ID: s.ID, Node: s.Node, Address: s.Address, Datacenter: s.Datacenter, TaggedAddresses: s.TaggedAddresses, Meta: s.NodeMeta }));
      } else nodes = (await getJson(client, "/v1/catalog/nodes", params)) as NodeJson[];
    } catch (e) {
      error(io, `Error listing nodes: ${(e as Error).message}`);
      return EXIT_ERROR;
    }
    if (nodes.length === 0) {
      error(io, "No nodes match the given query - try expanding your search.");
      return EXIT_OK;
    }
    const detailed = fs.getBool("detailed");
    const rows: string[][] = [detailed ? ["Node", "ID", "Address", "DC", "TaggedAddresses", "Meta"] : ["Node", "ID", "Address", "DC"]];
    for (const n of nodes) {
      const id = detailed ? n.ID : n.ID.slice(0, 8);
      const row = [n.Node, id, n.Address, n.Datacenter];
      if (detailed) row.push(mapText(n.TaggedAddresses), mapText(n.Meta));
      rows.push(row);
    }
    info(io, columnize(rows));
    return EXIT_OK;
  },
};

// ---- services ----------------------------------------------------------------------

const servicesHelp = (prog: string): string => `
Usage: ${prog} catalog services [options]

  Retrieves the list services registered in a given datacenter. By default, the
  datacenter of the local agent is queried.

  To retrieve the list of services:

      $ ${prog} catalog services

  To include the services' tags in the output:

      $ ${prog} catalog services -tags

  To list services which run on a particular node:

      $ ${prog} catalog services -node=web

  To filter services on node metadata:

      $ ${prog} catalog services -node-meta="foo=bar"

  For a full list of options and examples, please see the Consul documentation.
`;

function servicesFlags(): FlagSet {
  const fs = new FlagSet();
  fs.string("node", "", "Node `id or name` for which to list services.");
  fs.list("node-meta", "Metadata to filter nodes with the given `key=value` pairs. If specified, only services running on nodes matching the given metadata will be returned. This flag may be specified multiple times to filter on multiple sources of metadata.", "key=value");
  fs.bool("tags", "Display each service's tags as a comma-separated list beside each service entry.");
  addHttpFlags(fs);
  return fs;
}

export const catalogServicesCommand: Command = {
  help: (prog) => renderUsage(servicesHelp(prog), servicesFlags()),
  async run(argv: string[], io: CliIO): Promise<number> {
    const fs = servicesFlags();
    const b = await begin(fs, argv, io, servicesHelp(io.prog));
    if (typeof b === "number") return b;
    const { client, params } = b;
    let services: Map<string, string[]>;
    try {
      const node = fs.getString("node");
      services = new Map();
      if (node !== "") {
        const r = (await getJson(client, `/v1/catalog/node/${node}`, params)) as { Services?: Record<string, { Service: string; Tags: string[] | null }> } | null;
        for (const s of Object.values(r?.Services ?? {})) {
          const tags = services.get(s.Service) ?? [];
          for (const t of s.Tags ?? []) if (!tags.includes(t)) tags.push(t);
          services.set(s.Service, tags);
        }
      } else {
        const r = (await getJson(client, "/v1/catalog/services", params)) as Record<string, string[] | null>;
        for (const [k, v] of Object.entries(r)) services.set(k, v ?? []);
      }
    } catch (e) {
      error(io, `Error listing services: ${(e as Error).message}`);
      return EXIT_ERROR;
    }
    if (services.size === 0) {
      error(io, "No services match the given query - try expanding your search.");
      return EXIT_OK;
    }
    const names = [...services.keys()].sort();
    if (fs.getBool("tags")) {
      info(io, columnize(names.map((n) => [n, [...(services.get(n) ?? [])].sort().join(",")])));
    } else info(io, names.join("\n"));
    return EXIT_OK;
  },
};
