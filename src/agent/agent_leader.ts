/**
 * agent/agent_leader: the duties a Raft cluster server takes on while it leads —
 * registering itself in the catalog, the session TTL timers, reconciling the LAN pool's
 * members into the catalog, and the Connect CA (initialise, prune). On gaining leadership
 * they start after a read barrier (the store has then applied everything the previous
 * leader committed); on losing it the timers and the CA driver stop.
 *
 * Must never: start a duty for a leadership term that has already ended, or after the agent
 * began shutting down.
 */

import type { ConnectAgent } from "../connect/index.ts";
import type { SessionTimers } from "../server/session_timers.ts";
import type { AgentServer } from "./agent_types.ts";
import type { LanPool } from "./lan.ts";

export interface LeaderDutiesDeps {
  readonly server: AgentServer;
  readonly registerSelf: () => Promise<void>;
  readonly sessionTimers: SessionTimers;
  readonly lan: LanPool | undefined;
  readonly connect: ConnectAgent | undefined;
  readonly shuttingDown: () => boolean;
  readonly log: (level: "error", msg: string) => void;
}

/** The leadership hook of a cluster server: start or stop the leader-only duties. */
export function leaderDuties(deps: LeaderDutiesDeps): (leader: boolean) => void {
  const { server, sessionTimers, lan, connect } = deps;
  let leaderGen = 0;
  return (leader) => {
    const gen = ++leaderGen;
    if (!leader) {
      sessionTimers.stop();
      void connect?.leader?.stop();
      return;
    }
    void (async () => {
      try {
        await server.readBarrier("consistent");
        if (gen !== leaderGen || deps.shuttingDown()) return;
        await deps.registerSelf();
        sessionTimers.start();
        lan?.reconcileAll();
        if (connect?.leader !== undefined) {
          await connect.leader.initialize();
          connect.leader.startPruning();
        }
      } catch (e) {
        deps.log("error", `leader duties failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    })();
  };
}
