/**
 * http/status: /v1/status/leader (the leader's RPC address as a JSON string, "" when none)
 * and /v1/status/peers (Raft voters as a JSON array of "ip:port").
 *
 * Must never: block, or report anything but the backend's own view.
 */

import type { Env, RequestCtx } from "./context.ts";
import { jsonString, renderStrings } from "./json.ts";
import { checkDatacenter } from "./query.ts";
import { jsonReply, type Reply } from "./respond.ts";

export function statusLeader(ctx: RequestCtx, env: Env): Reply {
  checkDatacenter(ctx.query, env.agent.datacenter);
  return jsonReply(jsonString(env.backend.leader().leaderAddr));
}

export function statusPeers(ctx: RequestCtx, env: Env): Reply {
  checkDatacenter(ctx.query, env.agent.datacenter);
  return jsonReply(renderStrings(env.backend.peers()));
}
