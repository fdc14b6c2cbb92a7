/**
 * agent/cluster_operator: the operator side of a cluster server — the "Operator.Raft" RPC
 * a follower forwards to the leader (request and reply shapes and their guards) and what the
 * leader answers with: the Raft configuration view, removing a peer by id or address, and a
 * leadership transfer (without an id: to the most up-to-date other voter).
 *
 * Must never: start a configuration change anywhere but on the Raft server it is given, or
 * transfer leadership to the server itself.
 */

import type { RaftConfigurationView, RaftServerView } from "../http/agent_ops.ts";
import type { RaftServer, Status } from "../raft/index.ts";
import { CairnError, type ErrorKind } from "../shared/errors.ts";
import type { AutopilotView } from "./autopilot.ts";
import type { ClusterLog } from "./cluster_members.ts";

export const METHOD_OPERATOR_RAFT = "Operator.Raft";

export type OperatorRequest =
  | { readonly op: "config" }
  | { readonly op: "autopilot" }
  | { readonly op: "remove"; readonly id?: string; readonly address?: string }
  | { readonly op: "transfer"; readonly id: string };

export type OperatorReply =
  | { readonly ok: true; readonly config?: RaftConfigurationView; readonly autopilot?: AutopilotView }
  | { readonly ok: false; readonly kind: ErrorKind; readonly message: string };

export const NO_LEADER_REPLY: OperatorReply = { ok: false, kind: "no-leader", message: "No cluster leader" };

export function isOperatorRequest(b: unknown): b is OperatorRequest {
  if (typeof b !== "object" || b === null) return false;
  const op = (b as { op?: unknown }).op;
  return op === "config" || op === "remove" || op === "transfer" || op === "autopilot";
}

export function isOperatorReply(b: unknown): b is OperatorReply {
  return typeof b === "object" && b !== null && typeof (b as { ok?: unknown }).ok === "boolean";
}

/** What the operator answers need of a running cluster server. */
export interface OperatorContext {
  readonly raft: RaftServer;
  readonly selfId: string;
  /** RPC addresses and node names by server id, as the LAN pool and autopilot know them. */
  readonly addrs: ReadonlyMap<string, string>;
  readonly names: ReadonlyMap<string, string>;
}

/**
 * The voter other than `selfId` with the highest match index among those `accept` lets
 * through ("" when there is none).
 */
export function mostUpToDateVoter(st: Status, selfId: string, accept: (id: string) => boolean = () => true): string {
  let target = "";
  let best = -1;
  for (const p of st.progress) {
    if (p.id === selfId || !st.config.voters.includes(p.id) || !accept(p.id)) continue;
    if (p.match > best) {
      best = p.match;
      target = p.id;
    }
  }
  return target;
}

/** The Raft configuration as /v1/operator/raft/configuration shows it. */
export function configurationReply(c: OperatorContext): OperatorReply {
  const st = c.raft.status();
  const ids = [...st.config.voters, ...st.config.staging, ...st.config.learners];
  const servers: RaftServerView[] = ids.map((id) => {
    const p = st.progress.find((x) => x.id === id);
    return {
      id,
      node: c.names.get(id) ?? id,
      address: c.addrs.get(id) ?? c.raft.addressOf(id) ?? "",
      leader: id === st.leader && st.leader !== "",
      voter: st.config.voters.includes(id),
      lastIndex: id === c.selfId ? st.lastIndex : (p?.match ?? 0),
    };
  });
  return { ok: true, config: { servers, index: st.commit } };
}

/** Removes the server named by id or RPC address from the Raft configuration. */
export async function removeReply(c: OperatorContext, req: { readonly id?: string; readonly address?: string }, log: ClusterLog): Promise<OperatorReply> {
  const raft = c.raft;
  const cfg = raft.status().config;
  const ids = [...cfg.voters, ...cfg.staging, ...cfg.learners];
  let id: string | undefined;
  if (req.id !== undefined) {
    id = ids.find((x) => x === req.id);
    if (id === undefined) return { ok: false, kind: "internal", message: `id "${req.id}" was not found in the Raft configuration` };
  } else {
    id = ids.find((x) => (c.addrs.get(x) ?? raft.addressOf(x)) === req.address);
    if (id === undefined) return { ok: false, kind: "internal", message: `address "${req.address ?? ""}" was not found in the Raft configuration` };
  }
  try {
    await raft.changeMembership({ type: "remove", id });
  } catch (e) {
    const kind: ErrorKind = e instanceof CairnError ? e.kind : "internal";
    return { ok: false, kind, message: e instanceof Error ? e.message : String(e) };
  }
  log("info", `raft: removed peer ${id}`);
  return { ok: true };
}

/** Starts a leadership transfer to voter `id` (Consul without ?id: the most up-to-date other voter). */
export function transferReply(c: OperatorContext, id: string): OperatorReply {
  const st = c.raft.status();
  let target = id;
  if (target === "") {
    target = mostUpToDateVoter(st, c.selfId);
    if (target === "") return { ok: false, kind: "internal", message: "cannot find peer" };
  } else if (!st.config.voters.includes(target)) {
    return { ok: false, kind: "internal", message: `cannot find peer ${target}` };
  }
  if (target === c.selfId) return { ok: false, kind: "internal", message: "cannot transfer leadership to itself" };
  if (!c.raft.transferLeadership(target)) return { ok: false, kind: "internal", message: `cannot transfer leadership to ${target} now` };
  return { ok: true };
}
