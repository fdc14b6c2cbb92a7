/**
 * http/agent_gossip: LAN membership operations of the local agent (agent_endpoint.go):
 * PUT /v1/agent/join/<address> (`?wan=<non-empty>` joins the WAN pool, which cairn
 * does not run: 500 with Consul's text), PUT /v1/agent/leave (graceful leave, then the
 * agent shuts down) and PUT /v1/agent/force-leave/<node> (`?prune`, `?wan`).
 * Errors are 500 with the error's text, as Consul answers them.
 *
 * Must never: hold gossip logic (agent/lan.ts does), or answer before the operation ended.
 */

import { CairnError } from "../shared/errors.ts";
import type { GossipOps } from "./agent_ops.ts";
import type { Env, RequestCtx } from "./context.ts";
import { NO_BODY, type Reply } from "./respond.ts";

const OK: Reply = { status: 200, headers: {}, body: NO_BODY };

function ops(env: Env): GossipOps {
  const g = env.ops?.gossip;
  if (g === undefined) throw new CairnError("internal", "gossip is not available on this agent");
  return g;
}

async function run(fn: () => Promise<unknown>): Promise<Reply> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof CairnError) throw e;
    throw new CairnError("internal", e instanceof Error ? e.message : String(e));
  }
  return OK;
}

export function agentJoin(ctx: RequestCtx, env: Env): Promise<Reply> {
  const addr = ctx.path.slice("/v1/agent/join/".length);
  // Consul: `wan` counts only with a non-empty value (the API client sends wan=1).
  const wan = (ctx.query.get("wan") ?? "") !== "";
  const g = ops(env);
  return run(() => g.join(addr, wan));
}

export function agentLeave(_ctx: RequestCtx, env: Env): Promise<Reply> {
  const g = ops(env);
  return run(() => g.leave());
}

export function agentForceLeave(ctx: RequestCtx, env: Env): Promise<Reply> {
  const node = ctx.path.slice("/v1/agent/force-leave/".length);
  const g = ops(env);
  return run(() => g.forceLeave(node, ctx.query.has("prune"), ctx.query.has("wan")));
}
