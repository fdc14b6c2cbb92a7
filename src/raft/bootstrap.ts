/**
 * raft/bootstrap: the first log entry of a new cluster.
 *
 * Like hashicorp/raft's BootstrapCluster, every initial server starts with the
 * same configuration entry at index 1, term 1; servers added later start
 * empty and learn the configuration from the leader.
 *
 * Must never: be used on a server that already has a log.
 */

import { encodeMembership } from "./membership.ts";
import type { LogEntry, Membership } from "./types.ts";

export function bootstrapEntries(config: Membership): LogEntry[] {
  return [{ index: 1, term: 1, type: "config", data: encodeMembership(config) }];
}
