/**
 * agent/agent_sessions: the agent's session TTL timers (server/session_timers.ts). A
 * single-voter server is the leader, so its timers run from the start; a Raft cluster's run
 * on the leader only (agent/agent_leader.ts starts and stops them), and a renewal a follower
 * receives is passed on to the leader's timers over RPC (agent/cluster.ts).
 *
 * Must never: expire a session anywhere but through the log, or run a cluster's timers on
 * a follower.
 */

import { registerSessionTimers, SessionTimers } from "../server/session_timers.ts";
import type { SessionRow, Store } from "../state/index.ts";
import type { AgentServer } from "./agent_types.ts";
import type { ClusterServer } from "./cluster.ts";
import { parseGoDuration } from "./config/duration.ts";
import type { Logger } from "./log.ts";

/** A cluster's session timers: they run on the leader; a renewal at a follower is passed on to it. */
class ClusterSessionTimers extends SessionTimers {
  forward: ((id: string) => void) | undefined;
  override renew(id: string): SessionRow | undefined {
    const s = super.renew(id);
    if (s !== undefined) this.forward?.(id);
    return s;
  }
}

/** Arms a timer per TTL session from the store (2 x TTL) and stamps pending lock-delays. */
export function startSessionTimers(store: Store, server: AgentServer, cluster: ClusterServer | undefined, logger: Logger): SessionTimers {
  const sessionTimers = new (cluster === undefined ? SessionTimers : ClusterSessionTimers)(
    { store, apply: (cmd) => server.apply(cmd) },
    {
      now: () => Date.now(),
      setTimer: (fn, ms) => setTimeout(fn, ms),
      clearTimer: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
      parseDuration: parseGoDuration,
      log: logger.named("agent.server.session"),
    },
  );
  registerSessionTimers(store, sessionTimers);
  if (sessionTimers instanceof ClusterSessionTimers && cluster !== undefined) {
    const c = cluster;
    sessionTimers.forward = (id) => c.forwardSessionRenew(id);
    c.onSessionRenew((id) => void sessionTimers.renew(id));
  }
  if (cluster === undefined) sessionTimers.start(); // a cluster's leader starts them
  return sessionTimers;
}
