/**
 * agent/agent_connect: the agent's Connect CA wiring (src/connect). On a server with
 * connect.enabled: a single-voter server initialises the CA through the log at once (it is
 * always the leader); a Raft cluster server only builds the CA driver, which whichever
 * server leads initialises (agent/agent_leader.ts). Both get a leaf cache over the store.
 *
 * Must never: initialise the CA on a cluster server that is not the leader, or run on a
 * client agent.
 */

import { randomUUID } from "node:crypto";
import { CALeader, LeafCache, startConnectAgent, storeLeafSigner, systemCADeps, type ConnectAgent } from "../connect/index.ts";
import type { Store } from "../state/index.ts";
import type { AgentOptions, AgentServer } from "./agent_types.ts";
import type { ClusterServer } from "./cluster.ts";
import type { Logger } from "./log.ts";

export interface ConnectDeps {
  readonly server: AgentServer;
  readonly cluster: ClusterServer | undefined;
  readonly store: Store;
  readonly logger: Logger;
}

/** The Connect CA of this agent; undefined without connect.enabled or on a client. */
export async function startConnect(opts: AgentOptions, deps: ConnectDeps): Promise<ConnectAgent | undefined> {
  const { server, store } = deps;
  if (opts.connect?.enabled !== true) return undefined;
  const agentConnect = { ca_provider: opts.connect.caProvider, ca_config: opts.connect.caConfig };
  if (deps.cluster !== undefined) {
    // A cluster: the CA is initialised by whichever server leads.
    const caLeader = new CALeader(
      { apply: (cmd) => server.apply(cmd), reader: store, ca: systemCADeps, newClusterId: randomUUID, log: deps.logger.named("agent.connect") },
      agentConnect,
    );
    return { reader: store, leader: caLeader, leaves: new LeafCache(storeLeafSigner(store, opts.datacenter, systemCADeps)), stop: () => caLeader.stop() };
  }
  if (!opts.server) return undefined;
  return startConnectAgent({
    apply: (cmd) => server.apply(cmd),
    reader: store,
    datacenter: opts.datacenter,
    agentConnect,
    log: deps.logger.named("agent.connect"),
    newClusterId: randomUUID,
  });
}
