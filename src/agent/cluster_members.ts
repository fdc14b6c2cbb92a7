/**
 * agent/cluster_members: what a cluster server reads from the LAN pool and its data dir
 * before and while Raft runs — the servers of its datacenter by serf tag `id` with their
 * RPC address (addr + `port` tag), the set a bootstrap would use, whether the data dir
 * already holds Raft state, the Status.RaftStats reply a peer answers with, and what a
 * server without Raft state decides from those answers (decideStart, Consul's maybeBootstrap).
 *
 * Must never: write to the data dir, do network I/O, count a member without a usable id
 * and port as a server, or decide to bootstrap while any server it would bootstrap with
 * has not answered.
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

/** What a server without Raft state does after asking the pool's other servers for their Raft stats. */
export type StartDecision =
  /** A cluster exists (`from` has peers): start Raft empty and wait to be added. */
  | { readonly kind: "join"; readonly from: string }
  /** Bootstrap with these server ids (sorted: every server computes the same set). */
  | { readonly kind: "bootstrap"; readonly ids: readonly string[] }
  /** Not yet; ask again later when `retry`; `unconfirmed` names servers that did not answer. */
  | { readonly kind: "wait"; readonly retry: boolean; readonly unconfirmed?: readonly string[] };

/**
 * Consul's maybeBootstrap: join when any other server has Raft peers; never bootstrap
 * without bootstrap_expect; bootstrap once bootstrap_expect alive servers (this one among
 * them) are in the pool and every other one of them answered "no peers".
 * `answers[i]` is what `others[i]` answered (undefined: no answer).
 */
export function decideStart(
  answers: readonly (RaftStatsReply | undefined)[],
  others: readonly KnownServer[],
  members: readonly MemberView[],
  self: { readonly nodeId: string; readonly datacenter: string; readonly bootstrapExpect: number },
): StartDecision {
  const existing = answers.find((a) => a?.hasPeers === true);
  if (existing !== undefined) return { kind: "join", from: existing.id };
  // No bootstrap_expect: never bootstrap; keep asking until a cluster shows up.
  if (self.bootstrapExpect <= 1) return { kind: "wait", retry: true };
  const servers = bootstrapServers(members, self.datacenter, self.bootstrapExpect);
  if (servers.size < self.bootstrapExpect || !servers.has(self.nodeId)) return { kind: "wait", retry: answers.some((a) => a === undefined) };
  const unanswered = others.filter((k, i) => servers.has(k.id) && answers[i] === undefined);
  if (unanswered.length > 0) return { kind: "wait", retry: true, unconfirmed: unanswered.map((k) => k.name) };
  return { kind: "bootstrap", ids: [...servers.keys()].sort() };
}
