/**
 * http/operator: Consul's Raft operator endpoints (agent/operator_endpoint.go):
 * GET /v1/operator/raft/configuration (the leader's configuration unless ?stale:
 * {"Servers":[{ID, Node, Address, Leader, ProtocolVersion, Voter, LastIndex}], "Index"}),
 * DELETE /v1/operator/raft/peer?id=|?address= (exactly one of them) and
 * POST /v1/operator/raft/transfer-leader[?id=] ({"Success":true}).
 *
 * Must never: change the configuration except through the agent's RaftOps, or answer
 * before the change was committed.
 */

import { CairnError } from "../shared/errors.ts";
import type { RaftOps } from "./agent_ops.ts";
import type { Env, RequestCtx } from "./context.ts";
import { checkDatacenter } from "./query.ts";
import { NO_BODY, jsonReply, type Reply } from "./respond.ts";

function raftOps(env: Env): RaftOps {
  const r = env.ops?.raft;
  if (r === undefined) throw new CairnError("internal", "raft operator is not available on this agent");
  return r;
}

async function guard<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof CairnError) throw e;
    throw new CairnError("internal", e instanceof Error ? e.message : String(e));
  }
}

export async function operatorRaftConfiguration(ctx: RequestCtx, env: Env): Promise<Reply> {
  checkDatacenter(ctx.query, env.agent.datacenter);
  const r = raftOps(env);
  const cfg = await guard(() => r.configuration(ctx.query.has("stale")));
  const servers = cfg.servers.map((s) => ({
    ID: s.id,
    Node: s.node,
    Address: s.address,
    Leader: s.leader,
    ProtocolVersion: "3",
    Voter: s.voter,
    LastIndex: s.lastIndex,
  }));
  return jsonReply(JSON.stringify({ Servers: servers, Index: cfg.index }));
}

export async function operatorRaftPeer(ctx: RequestCtx, env: Env): Promise<Reply> {
  checkDatacenter(ctx.query, env.agent.datacenter);
  const hasId = ctx.query.has("id");
  const hasAddr = ctx.query.has("address");
  if (!hasId && !hasAddr) {
    throw new CairnError("bad-request", "Must specify either ?id with the server's ID or ?address with IP:port of peer to remove");
  }
  if (hasId && hasAddr) throw new CairnError("bad-request", "Must specify only one of ?id or ?address");
  const r = raftOps(env);
  const by = hasId ? { id: ctx.query.get("id") } : { address: ctx.query.get("address") };
  await guard(() => r.removePeer(by));
  return { status: 200, headers: {}, body: NO_BODY };
}

export async function operatorRaftTransferLeader(ctx: RequestCtx, env: Env): Promise<Reply> {
  const r = raftOps(env);
  const id = ctx.query.get("id");
  try {
    await r.transferLeader(id);
  } catch (e) {
    throw new CairnError("not-found", `Failed to transfer Leader: ${e instanceof Error ? e.message : String(e)}`);
  }
  return jsonReply(JSON.stringify({ Success: true }));
}
