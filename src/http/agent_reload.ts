/**
 * http/agent_reload: PUT /v1/agent/reload (AgentReload): re-reads the agent's config
 * files and applies what can change at run time. A failed reload answers 500 with the
 * reason and leaves the running config as it was.
 *
 * Must never: apply part of a config that failed to validate (agent/reload.ts decides).
 */

import { CairnError } from "../shared/errors.ts";
import type { Env, RequestCtx } from "./context.ts";
import { NO_BODY, type Reply } from "./respond.ts";

export async function agentReload(_ctx: RequestCtx, env: Env): Promise<Reply> {
  const reload = env.ops?.reload;
  if (reload === undefined) throw new CairnError("internal", "config reload is not available on this agent");
  try {
    await reload();
  } catch (e) {
    throw new CairnError("internal", e instanceof Error ? e.message : String(e));
  }
  return { status: 200, headers: {}, body: NO_BODY };
}
