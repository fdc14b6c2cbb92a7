/**
 * cli/members: the LAN membership commands (command/members, join, leave, forceleave):
 * `members [-detailed] [-status REGEX] [-wan]` (columns Node Address Status Type Build
 * Protocol DC Partition Segment, servers first then by name; -detailed: Node Address
 * Status Tags; exit 2 when nothing matches), `join [-wan] ADDR...` ("Successfully joined
 * cluster by contacting N nodes."), `leave` ("Graceful leave complete") and
 * `force-leave [-prune] [-wan] NODE`.
 *
 * Must never: talk to gossip directly (only the agent's HTTP API).
 */

import type { CliIO, Command } from "./command.ts";
import { error, info } from "./command.ts";
import { FlagSet, renderUsage } from "./flags.ts";
import { addHttpFlags } from "./http_client.ts";
import { EXIT_ERROR, EXIT_OK, EXIT_USAGE, parseFlags } from "./parse.ts";
import { agentClient, columnize, getJson, putJson } from "./services_common.ts";

/** serf.MemberStatus.String() */
export function memberStatusString(s: number): string {
  return ["none", "alive", "leaving", "left", "failed"][s] ?? `unknown MemberStatus: ${s}`;
}

export interface ApiMember {
  readonly Name: string;
  readonly Addr: string;
  readonly Port: number;
  readonly Tags: Record<string, string>;
  readonly Status: number;
}

function hostPort(addr: string, port: number): string {
  return addr.includes(":") ? `[${addr}]:${port}` : `${addr}:${port}`;
}

function isDefault(p: string): boolean {
  return p === "" || p === "default";
}

/** ByMemberNamePartitionAndSegment: servers, default partition, segment, partition, name. */
function memberLess(a: ApiMember, b: ApiMember): number {
  const sa = a.Tags.role === "consul", sb = b.Tags.role === "consul";
  if (sa !== sb) return sa ? -1 : 1;
  const pa = a.Tags.ap ?? "", pb = b.Tags.ap ?? "";
  if (isDefault(pa) !== isDefault(pb)) return isDefault(pa) ? -1 : 1;
  const ga = a.Tags.segment ?? "", gb = b.Tags.segment ?? "";
  if (ga !== gb) return ga < gb ? -1 : 1;
  if (pa !== pb) return pa < pb ? -1 : 1;
  return a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0;
}

/** The rows `consul members` prints (header first); null when nothing matches the status filter. */
export function membersRows(members: readonly ApiMember[], statusRe: RegExp, detailed: boolean): string[][] | null {
  const kept: ApiMember[] = [];
  for (const m0 of members) {
    const tags = { ...m0.Tags };
    if ((tags.ap ?? "") === "") tags.ap = "default";
    if (tags.role === "consul") tags.segment = "<all>";
    else if ((tags.segment ?? "") === "") tags.segment = "<default>";
    const m = { ...m0, Tags: tags };
    if (!statusRe.test(memberStatusString(m.Status))) continue;
    kept.push(m);
  }
  if (kept.length === 0) return null;
  kept.sort(memberLess);
  if (detailed) {
    const rows = [["Node", "Address", "Status", "Tags"]];
    for (const m of kept) {
      const tags = Object.keys(m.Tags).sort().map((k) => `${k}=${m.Tags[k] ?? ""}`).join(",");
      rows.push([m.Name, hostPort(m.Addr, m.Port), memberStatusString(m.Status), tags]);
    }
    return rows;
  }
  const rows = [["Node", "Address", "Status", "Type", "Build", "Protocol", "DC", "Partition", "Segment"]];
  for (const m of kept) {
    const addr = hostPort(m.Addr, m.Port);
    const status = memberStatusString(m.Status);
    let build = m.Tags.build ?? "";
    if (build === "") build = "< 0.3";
    else if (build.includes(":")) build = build.slice(0, build.indexOf(":"));
    const role = m.Tags.role;
    if (role === "node" || role === "consul") {
      rows.push([m.Name, addr, status, role === "consul" ? "server" : "client", build, m.Tags.vsn ?? "", m.Tags.dc ?? "", m.Tags.ap ?? "", m.Tags.segment ?? ""]);
    } else {
      rows.push([m.Name, addr, status, "unknown", "", "", "", "", ""]);
    }
  }
  return rows;
}

function isMember(v: unknown): v is ApiMember {
  if (typeof v !== "object" || v === null) return false;
  const o = v as Record<string, unknown>;
  return typeof o.Name === "string" && typeof o.Addr === "string" && typeof o.Port === "number" && typeof o.Status === "number" && typeof o.Tags === "object" && o.Tags !== null;
}

function membersFlags(): FlagSet {
  const fs = new FlagSet();
  fs.bool("detailed", "Provides detailed information about nodes.");
  fs.bool("wan", "If the agent is in server mode, this can be used to return the other peers in the WAN pool.");
  fs.string("status", ".*", "If provided, output is filtered to only nodes matching the regular expression for status.");
  fs.string("segment", "", "(Enterprise-only) If provided, output is filtered to only nodes in the given segment.");
  addHttpFlags(fs, false);
  return fs;
}

const membersHelp = (prog: string): string => `
Usage: ${prog} members [options]

  Outputs the members of a running Consul agent.
`;

export const membersCommand: Command = {
  help: (prog) => renderUsage(membersHelp(prog), membersFlags()),
  async run(argv: string[], io: CliIO): Promise<number> {
    const fs = membersFlags();
    const p = parseFlags(fs, argv, io, membersHelp(io.prog));
    if (!p.ok) return p.code;
    let statusRe: RegExp;
    try {
      statusRe = new RegExp(fs.getString("status"));
    } catch (e) {
      error(io, `Failed to compile status regexp: ${(e as Error).message}`);
      return EXIT_ERROR;
    }
    const client = await agentClient(fs, io);
    if (!client) return EXIT_ERROR;
    let members: ApiMember[];
    try {
      const body = await getJson(client, "/v1/agent/members", fs.getBool("wan") ? [["wan", "1"]] : []);
      members = Array.isArray(body) ? body.filter(isMember) : [];
    } catch (e) {
      error(io, `Error retrieving members: ${(e as Error).message}`);
      return EXIT_ERROR;
    }
    const rows = membersRows(members, statusRe, fs.getBool("detailed"));
    if (rows === null) return EXIT_USAGE; // Consul exits 2 when nothing matches
    info(io, columnize(rows));
    return EXIT_OK;
  },
};

function joinFlags(): FlagSet {
  const fs = new FlagSet();
  fs.bool("wan", "Joins a server to another server in the WAN pool.");
  addHttpFlags(fs, false);
  return fs;
}

const joinHelp = (prog: string): string => `
Usage: ${prog} join [options] address ...

  Tells a running Consul agent (with "consul agent") to join the cluster
  by specifying at least one existing member.
`;

export const joinCommand: Command = {
  help: (prog) => renderUsage(joinHelp(prog), joinFlags()),
  async run(argv: string[], io: CliIO): Promise<number> {
    const fs = joinFlags();
    const p = parseFlags(fs, argv, io, joinHelp(io.prog));
    if (!p.ok) return p.code;
    if (p.args.length === 0) {
      error(io, "At least one address to join must be specified.");
      error(io, "");
      error(io, renderUsage(joinHelp(io.prog), fs));
      return EXIT_ERROR;
    }
    const client = await agentClient(fs, io);
    if (!client) return EXIT_ERROR;
    let joins = 0;
    for (const addr of p.args) {
      try {
        await putJson(client, `/v1/agent/join/${addr}`, undefined, fs.getBool("wan") ? [["wan", "1"]] : []);
        joins++;
      } catch (e) {
        error(io, `Error joining address '${addr}': ${(e as Error).message}`);
      }
    }
    if (joins === 0) {
      error(io, "Failed to join any nodes.");
      return EXIT_ERROR;
    }
    info(io, `Successfully joined cluster by contacting ${joins} nodes.`);
    return EXIT_OK;
  },
};

function plainFlags(): FlagSet {
  const fs = new FlagSet();
  addHttpFlags(fs, false);
  return fs;
}

const leaveHelp = (prog: string): string => `
Usage: ${prog} leave [options]

  Causes the agent to gracefully leave the Consul cluster and shutdown.
`;

export const leaveCommand: Command = {
  help: (prog) => renderUsage(leaveHelp(prog), plainFlags()),
  async run(argv: string[], io: CliIO): Promise<number> {
    const fs = plainFlags();
    const p = parseFlags(fs, argv, io, leaveHelp(io.prog));
    if (!p.ok) return p.code;
    if (p.args.length > 0) {
      error(io, `Error found unexpected args: [${p.args.join(" ")}]`);
      info(io, renderUsage(leaveHelp(io.prog), fs));
      return EXIT_ERROR;
    }
    const client = await agentClient(fs, io);
    if (!client) return EXIT_ERROR;
    try {
      await putJson(client, "/v1/agent/leave", undefined);
    } catch (e) {
      error(io, `Error leaving: ${(e as Error).message}`);
      return EXIT_ERROR;
    }
    info(io, "Graceful leave complete");
    return EXIT_OK;
  },
};

function forceLeaveFlags(): FlagSet {
  const fs = new FlagSet();
  fs.bool("prune", "Remove agent forcibly from list of members");
  fs.bool("wan", "Exclusively leave the agent from the WAN serf pool.");
  addHttpFlags(fs, false);
  return fs;
}

const forceLeaveHelp = (prog: string): string => `
Usage: ${prog} force-leave [options] name

  Forces a member of a Consul cluster to enter the "left" state. Note
  that if the member is still actually alive, it will eventually rejoin
  the cluster. This command is most useful for cleaning out "failed" nodes
  that are never coming back. If you do not force leave a failed node,
  Consul will attempt to reconnect to those failed nodes for some period of
  time before eventually reaping them.
`;

export const forceLeaveCommand: Command = {
  help: (prog) => renderUsage(forceLeaveHelp(prog), forceLeaveFlags()),
  async run(argv: string[], io: CliIO): Promise<number> {
    const fs = forceLeaveFlags();
    const p = parseFlags(fs, argv, io, forceLeaveHelp(io.prog));
    if (!p.ok) return p.code;
    const node = p.args[0];
    if (p.args.length !== 1 || node === undefined) {
      error(io, "A single node name must be specified to force leave.");
      error(io, "");
      error(io, renderUsage(forceLeaveHelp(io.prog), fs));
      return EXIT_ERROR;
    }
    const client = await agentClient(fs, io);
    if (!client) return EXIT_ERROR;
    const params: [string, string][] = [];
    if (fs.getBool("prune")) params.push(["prune", "1"]);
    if (fs.getBool("wan")) params.push(["wan", "1"]);
    try {
      await putJson(client, `/v1/agent/force-leave/${node}`, undefined, params);
    } catch (e) {
      error(io, `Error force leaving: ${(e as Error).message}`);
      return EXIT_ERROR;
    }
    return EXIT_OK;
  },
};
