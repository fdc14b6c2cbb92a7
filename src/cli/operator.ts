/**
 * cli/operator: `operator` and `operator raft` (parents, showing their help) and Consul's
 * raft subcommands (command/operator/raft): `list-peers [-stale]` (columns Node, ID,
 * Address, State, Voter, RaftProtocol, Commit Index, Trails Leader By), `remove-peer
 * -id=|-address=` ("Removed peer with id/address %q") and `transfer-leader [-id=]`
 * ("Success").
 *
 * Must never: talk to Raft directly (only the agent's HTTP API).
 */

import type { CliIO, Command } from "./command.ts";
import { RUN_RESULT_HELP, error, info } from "./command.ts";
import { FlagSet, renderUsage } from "./flags.ts";
import { addHttpFlags, requireOk } from "./http_client.ts";
import { EXIT_ERROR, EXIT_OK, parseFlags } from "./parse.ts";
import { agentClient, columnize, getJson } from "./services_common.ts";

export interface ApiRaftServer {
  readonly ID: string;
  readonly Node: string;
  readonly Address: string;
  readonly Leader: boolean;
  readonly Voter: boolean;
  readonly ProtocolVersion: string;
  readonly LastIndex: number;
}

function isRaftServer(x: unknown): x is ApiRaftServer {
  if (typeof x !== "object" || x === null) return false;
  const o = x as Record<string, unknown>;
  return typeof o.ID === "string" && typeof o.Address === "string" && typeof o.Leader === "boolean";
}

/** The table `consul operator raft list-peers` prints (header first). */
export function listPeersRows(servers: readonly ApiRaftServer[]): string[][] {
  let leaderIndex = 0;
  for (const s of servers) if (s.Leader) leaderIndex = s.LastIndex;
  const rows: string[][] = [["Node", "ID", "Address", "State", "Voter", "RaftProtocol", "Commit Index", "Trails Leader By"]];
  for (const s of servers) {
    const behind = leaderIndex - s.LastIndex;
    const trails = s.Leader ? "-" : behind === 1 ? "1 commit" : `${behind} commits`;
    rows.push([
      s.Node,
      s.ID,
      s.Address,
      s.Leader ? "leader" : "follower",
      String(s.Voter),
      s.ProtocolVersion === "" ? "<=1" : s.ProtocolVersion,
      String(s.LastIndex),
      trails,
    ]);
  }
  return rows;
}

export const operatorCommand: Command = {
  help: (prog) =>
    `Usage: ${prog} operator <subcommand> [options]

  Provides cluster-level tools for Consul operators, such as interacting with
  the Raft subsystem. NOTE: Use this command with extreme caution, as improper
  use could lead to a Consul outage and even loss of data.

  Subcommands:

    autopilot    Provides tools for modifying Autopilot configuration
    raft         Provides cluster-level tools for Consul operators`,
  run: () => Promise.resolve(RUN_RESULT_HELP),
};

export const operatorRaftCommand: Command = {
  help: (prog) =>
    `Usage: ${prog} operator raft <subcommand> [options]

  The Raft operator command is used to interact with Consul's Raft subsystem. The
  command can be used to verify Raft peers or in rare cases to recover quorum by
  removing invalid peers.

  List Raft peers:

      $ ${prog} operator raft list-peers

  Remove a Raft peer:

      $ ${prog} operator raft remove-peer -address="10.0.0.1:8300"

  For more examples, ask for subcommand help or view the documentation.`,
  run: () => Promise.resolve(RUN_RESULT_HELP),
};

function listFlags(): FlagSet {
  const fs = new FlagSet();
  addHttpFlags(fs);
  return fs;
}

const listHelp = (prog: string): string => `
Usage: ${prog} operator raft list-peers [options]

  Displays the current Raft peer configuration.
`;

export const listPeersCommand: Command = {
  help: (prog) => renderUsage(listHelp(prog), listFlags()),
  async run(argv: string[], io: CliIO): Promise<number> {
    const fs = listFlags();
    const p = parseFlags(fs, argv, io, listHelp(io.prog));
    if (!p.ok) return p.code;
    const client = await agentClient(fs, io);
    if (!client) return EXIT_ERROR;
    let servers: ApiRaftServer[];
    try {
      const body = await getJson(client, "/v1/operator/raft/configuration");
      const list = typeof body === "object" && body !== null ? (body as { Servers?: unknown }).Servers : undefined;
      servers = Array.isArray(list) ? list.filter(isRaftServer) : [];
    } catch (e) {
      error(io, `Error getting peers: Failed to retrieve raft configuration: ${(e as Error).message}`);
      return EXIT_ERROR;
    }
    info(io, columnize(listPeersRows(servers)));
    return EXIT_OK;
  },
};

function removeFlags(): FlagSet {
  const fs = new FlagSet();
  fs.string("address", "", "The address to remove from the Raft configuration.");
  fs.string("id", "", "The ID to remove from the Raft configuration.");
  addHttpFlags(fs);
  return fs;
}

const removeHelp = (prog: string): string => `
Usage: ${prog} operator raft remove-peer [options]

  Remove the Consul server with given -address from the Raft configuration.

  There are rare cases where a peer may be left behind in the Raft quorum even
  though the server is no longer present and known to the cluster. This command
  can be used to remove the failed server so that it is no longer affects the Raft
  quorum. If the server still shows in the output of the "consul members" command,
  it is preferable to clean up by simply running "consul force-leave" instead of
  this command.
`;

export const removePeerCommand: Command = {
  help: (prog) => renderUsage(removeHelp(prog), removeFlags()),
  async run(argv: string[], io: CliIO): Promise<number> {
    const fs = removeFlags();
    const p = parseFlags(fs, argv, io, removeHelp(io.prog));
    if (!p.ok) return p.code;
    const address = fs.getString("address");
    const id = fs.getString("id");
    if (address === "" && id === "") {
      error(io, "Error removing peer: an address or id is required for the peer to remove");
      return EXIT_ERROR;
    }
    if (address !== "" && id !== "") {
      error(io, "Error removing peer: cannot give both an address and id");
      return EXIT_ERROR;
    }
    const client = await agentClient(fs, io);
    if (!client) return EXIT_ERROR;
    try {
      const res = await client.request("DELETE", "/v1/operator/raft/peer", address !== "" ? [["address", address]] : [["id", id]]);
      requireOk(res);
    } catch (e) {
      error(io, `Error removing peer: ${(e as Error).message}`);
      return EXIT_ERROR;
    }
    info(io, address !== "" ? `Removed peer with address ${JSON.stringify(address)}` : `Removed peer with id ${JSON.stringify(id)}`);
    return EXIT_OK;
  },
};

function transferFlags(): FlagSet {
  const fs = new FlagSet();
  fs.string("id", "", "The ID of the node to transfer leadership to.");
  addHttpFlags(fs);
  return fs;
}

const transferHelp = (prog: string): string => `
Usage: ${prog} operator raft transfer-leader [options]

  Transfer raft leadership to another node.
`;

export const transferLeaderCommand: Command = {
  help: (prog) => renderUsage(transferHelp(prog), transferFlags()),
  async run(argv: string[], io: CliIO): Promise<number> {
    const fs = transferFlags();
    const p = parseFlags(fs, argv, io, transferHelp(io.prog));
    if (!p.ok) return p.code;
    const client = await agentClient(fs, io);
    if (!client) return EXIT_ERROR;
    const id = fs.getString("id");
    try {
      const res = await client.request("POST", "/v1/operator/raft/transfer-leader", id !== "" ? [["id", id]] : []);
      requireOk(res);
      const body: unknown = JSON.parse(res.body.toString("utf8"));
      if (typeof body !== "object" || body === null || (body as { Success?: unknown }).Success !== true) {
        throw new Error("Failed to transfer leadership");
      }
    } catch (e) {
      error(io, `Error transfering leadership: Failed to transfer leadership ${(e as Error).message}`);
      return EXIT_ERROR;
    }
    info(io, "Success");
    return EXIT_OK;
  },
};
