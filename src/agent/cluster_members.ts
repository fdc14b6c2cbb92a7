/**
 * agent/cluster_members: what a cluster server reads from the LAN pool and its data dir
 * before and while Raft runs — the servers of its datacenter by serf tag `id` with their
 * RPC address (addr + `port` tag), the set a bootstrap would use, whether the data dir
 * already holds Raft state, and the Status.RaftStats reply a peer answers with.
 *
 * Must never: write to the data dir, do network I/O, or count a member without a usable
 * id and port as a server.
 */

import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import type { MemberView } from "../server/types.ts";
import { serfStatusName, type KnownServer, type ServerStats } from "./autopilot.ts";

/** The logger every cluster file writes to (agent.server.raft). */
export type ClusterLog = (level: "debug" | "info" | "warn" | "error", msg: string) => void;

export const METHOD_RAFT_STATS = "Status.RaftStats";
/** The file in the data dir that says "this server has bootstrapped or joined: never bootstrap again". */
export const BOOTSTRAP_MARKER = "raft-bootstrapped";

/** What Status.RaftStats answers (Consul: Status.RaftStats plus "has peers" for maybeBootstrap). */
export interface RaftStatsReply {
  readonly id: string;
  /** Raft runs with a non-empty configuration. */
  readonly hasPeers: boolean;
  readonly stats?: ServerStats;
}

export function isStatsReply(x: unknown): x is RaftStatsReply {
  return typeof x === "object" && x !== null && typeof (x as { hasPeers?: unknown }).hasPeers === "boolean";
}

/** Whether the data dir already holds Raft state (then the cluster is never bootstrapped again). */
export function hasRaftState(dataDir: string): boolean {
  if (existsSync(path.join(dataDir, BOOTSTRAP_MARKER))) return true;
  const dir = path.join(dataDir, "raft");
  try {
    return readdirSync(dir).length > 0;
  } catch {
    return false;
  }
}

/**
 * A member that is a server of datacenter `dc` (role=consul) with its serf id and RPC
 * address ("addr:port" from the `port` tag); undefined for any other member.
 */
export function serverOf(m: MemberView, dc: string): { readonly id: string; readonly address: string } | undefined {
  if (m.tags.role !== "consul" || m.tags.dc !== dc) return undefined;
  const id = m.tags.id ?? "";
  const port = Number(m.tags.port ?? "");
  if (id === "" || !Number.isInteger(port) || port <= 0) return undefined;
  return { id, address: `${m.addr}:${port}` };
}

/** The servers a bootstrap would use: alive, role=consul, same dc and expect tag (id -> "addr:port"). */
export function bootstrapServers(members: readonly MemberView[], dc: string, expect: number): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of members) {
    if (m.status !== 1 || m.tags.expect !== String(expect)) continue;
    const s = serverOf(m, dc);
    if (s !== undefined) out.set(s.id, s.address);
  }
  return out;
}

/** Servers of this datacenter in the pool, by serf tag id (any status). */
export function knownServers(members: readonly MemberView[], dc: string): Map<string, KnownServer> {
  const out = new Map<string, KnownServer>();
  for (const m of members) {
    const s = serverOf(m, dc);
    if (s === undefined) continue;
    const prev = out.get(s.id);
    // Two members with one id (a renamed node): the alive one wins.
    if (prev !== undefined && prev.status === "alive") continue;
    out.set(s.id, { id: s.id, name: m.name, address: s.address, status: serfStatusName(m.status), version: (m.tags.build ?? "").split(":")[0] ?? "" });
  }
  return out;
}
