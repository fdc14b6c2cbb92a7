/**
 * cli/rtt: `rtt [-wan] node1 [node2]` (command/rtt): estimated round trip time
 * between two nodes from their network coordinates ("Estimated a <-> b rtt:
 * 0.123 ms (using LAN coordinates)"); the second node defaults to the agent's
 * own (with -wan: <node>.<dc>, names must be <node>.<datacenter>).
 *
 * Must never: talk to the store directly (only the agent's HTTP API).
 */

import type { CliIO, Command } from "./command.ts";
import { error, info } from "./command.ts";
import { FlagSet, renderUsage } from "./flags.ts";
import { addHttpFlags } from "./http_client.ts";
import { EXIT_ERROR, EXIT_OK, parseFlags } from "./parse.ts";
import { agentClient, getJson } from "./services_common.ts";
import { distanceSeconds, parseCoordinate, type Coordinate } from "../coordinate/index.ts";

function rttFlags(): FlagSet {
  const fs = new FlagSet();
  fs.bool("wan", "Use WAN coordinates instead of LAN coordinates.");
  addHttpFlags(fs, false);
  return fs;
}

const rttHelp = (prog: string): string => `
Usage: ${prog} rtt [options] node1 [node2]

  Estimates the round trip time between two nodes using Consul's network
  coordinate model of the cluster.

  At least one node name is required. If the second node name isn't given, it
  is set to the agent's node name. Note that these are node names as known to
  Consul as "consul members" would show, not IP addresses.

  By default, the two nodes are assumed to be nodes in the local datacenter
  and the LAN coordinates are used. If the -wan option is given, then the WAN
  coordinates are used, and the node names must be suffixed by a period and
  the datacenter (eg. "myserver.dc1").

  It is not possible to measure between LAN coordinates and WAN coordinates
  because they are maintained by independent Serf gossip areas, so they are
  not compatible.
`;

const obj = (v: unknown): Record<string, unknown> => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const text = (v: unknown): string => (typeof v === "string" ? v : "");
const eqFold = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

/** Consul's output line for an estimate. */
export function rttLine(n1: string, n2: string, a: Coordinate, b: Coordinate, source: "LAN" | "WAN"): string {
  return `Estimated ${n1} <-> ${n2} rtt: ${(distanceSeconds(a, b) * 1000).toFixed(3)} ms (using ${source} coordinates)`;
}

export const rttCommand: Command = {
  help: (prog) => renderUsage(rttHelp(prog), rttFlags()),
  async run(argv: string[], io: CliIO): Promise<number> {
    const fs = rttFlags();
    const p = parseFlags(fs, argv, io, rttHelp(io.prog));
    if (!p.ok) return p.code;
    const nodes = [...p.args];
    if (nodes.length < 1 || nodes.length > 2) {
      error(io, "One or two node names must be specified");
      error(io, "");
      error(io, renderUsage(rttHelp(io.prog), fs));
      return EXIT_ERROR;
    }
    const client = await agentClient(fs, io);
    if (!client) return EXIT_ERROR;
    const wan = fs.getBool("wan");
    let c1: Coordinate | undefined;
    let c2: Coordinate | undefined;
    if (nodes.length < 2) {
      try {
        const cfg = obj(obj(await getJson(client, "/v1/agent/self"))["Config"]);
        nodes.push(wan ? `${text(cfg["NodeName"])}.${text(cfg["Datacenter"])}` : text(cfg["NodeName"]));
      } catch (e) {
        error(io, `Unable to look up agent info: ${(e as Error).message}`);
        return EXIT_ERROR;
      }
    }
    const [n1, n2] = [nodes[0] ?? "", nodes[1] ?? ""];
    if (wan) {
      const p1 = n1.split("."), p2 = n2.split(".");
      if (p1.length !== 2 || p2.length !== 2) {
        error(io, "Node names must be specified as <node name>.<datacenter> with -wan");
        return EXIT_ERROR;
      }
      let dcs: unknown;
      try {
        dcs = await getJson(client, "/v1/coordinate/datacenters");
      } catch (e) {
        error(io, `Error getting coordinates: ${(e as Error).message}`);
        return EXIT_ERROR;
      }
      // Consul's WAN member names are <node>.<dc>; the request names the node and the dc apart.
      let a1: string | undefined, a2: string | undefined;
      for (const dc of Array.isArray(dcs) ? dcs : []) {
        const d = obj(dc);
        for (const entry of Array.isArray(d["Coordinates"]) ? (d["Coordinates"] as unknown[]) : []) {
          const e = obj(entry);
          const name = text(e["Node"]);
          const coord = parseCoordinate(e["Coord"]);
          if (text(d["Datacenter"]) === p1[1] && (eqFold(name, n1) || eqFold(name, p1[0] ?? ""))) { a1 = text(d["AreaID"]); c1 = coord; }
          if (text(d["Datacenter"]) === p2[1] && (eqFold(name, n2) || eqFold(name, p2[0] ?? ""))) { a2 = text(d["AreaID"]); c2 = coord; }
          if (a1 === a2 && c1 !== undefined && c2 !== undefined) {
            info(io, rttLine(n1, n2, c1, c2, "WAN"));
            return EXIT_OK;
          }
        }
      }
      c1 = undefined;
      c2 = undefined;
    } else {
      let entries: unknown;
      try {
        entries = await getJson(client, "/v1/coordinate/nodes");
      } catch (e) {
        error(io, `Error getting coordinates: ${(e as Error).message}`);
        return EXIT_ERROR;
      }
      // Index by segment and take a segment both nodes share (lib.CoordinateSet.Intersect).
      const s1 = new Map<string, Coordinate>(), s2 = new Map<string, Coordinate>();
      for (const entry of Array.isArray(entries) ? entries : []) {
        const e = obj(entry);
        const coord = parseCoordinate(e["Coord"]);
        if (coord === undefined) continue;
        if (eqFold(text(e["Node"]), n1)) s1.set(text(e["Segment"]), coord);
        if (eqFold(text(e["Node"]), n2)) s2.set(text(e["Segment"]), coord);
      }
      c1 = s1.get("");
      c2 = s2.get("");
      if (c1 === undefined || c2 === undefined) {
        for (const [seg, c] of s1) {
          const o = s2.get(seg);
          if (o !== undefined) { c1 = c; c2 = o; break; }
        }
      }
      if (c1 !== undefined && c2 !== undefined) {
        info(io, rttLine(n1, n2, c1, c2, "LAN"));
        return EXIT_OK;
      }
    }
    if (c1 === undefined) {
      error(io, `Could not find a coordinate for node "${n1}"`);
      return EXIT_ERROR;
    }
    error(io, `Could not find a coordinate for node "${n2}"`);
    return EXIT_ERROR;
  },
};
