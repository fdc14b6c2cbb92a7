/**
 * raft/timing: Consul's Raft timing defaults, expressed in ticks.
 *
 * Consul scales hashicorp/raft's defaults by raft_multiplier (default 5,
 * range 1-10): heartbeat timeout and election timeout 1000 ms x multiplier,
 * leader lease 500 ms x multiplier. The core counts ticks: one tick is a
 * tenth of the election timeout (hashicorp/raft also heartbeats at a tenth of
 * its heartbeat timeout), so electionTicks = 10, heartbeatTicks = 1 and
 * leaseTicks = 5, whatever the multiplier.
 *
 * Must never: read a clock.
 */

import { assert } from "../shared/errors.ts";
import {
  RAFT_MAX_APPEND_BYTES,
  RAFT_MAX_APPEND_ENTRIES,
  RAFT_MAX_INFLIGHT,
  RAFT_MAX_UNCOMMITTED,
  RAFT_SNAPSHOT_CHUNK_BYTES,
} from "../shared/limits.ts";
import type { NodeId, RaftConfig, Timing } from "./types.ts";

export const RAFT_MULTIPLIER_DEFAULT = 5;
export const RAFT_MULTIPLIER_MAX = 10;

/** Consul timing for a raft_multiplier. */
export function consulTiming(multiplier: number = RAFT_MULTIPLIER_DEFAULT): Timing {
  assert(Number.isInteger(multiplier) && multiplier >= 1 && multiplier <= RAFT_MULTIPLIER_MAX, "raft: raft_multiplier must be 1..10");
  const electionTimeoutMs = 1000 * multiplier;
  const leaseMs = 500 * multiplier;
  const tickMs = electionTimeoutMs / 10;
  return { tickMs, heartbeatTicks: 1, electionTicks: 10, leaseTicks: leaseMs / tickMs };
}

/** Consul -dev timing: heartbeat 35 ms, election 52 ms, lease 20 ms (rounded to 5 ms ticks). */
export function devTiming(): Timing {
  return { tickMs: 5, heartbeatTicks: 1, electionTicks: 10, leaseTicks: 4 };
}

export function defaultRaftConfig(id: NodeId, timing: Timing = consulTiming()): RaftConfig {
  return {
    id,
    timing,
    preVote: true,
    checkQuorum: true,
    maxAppendEntries: RAFT_MAX_APPEND_ENTRIES,
    maxAppendBytes: RAFT_MAX_APPEND_BYTES,
    maxInflight: RAFT_MAX_INFLIGHT,
    maxUncommitted: RAFT_MAX_UNCOMMITTED,
    snapshotChunkBytes: RAFT_SNAPSHOT_CHUNK_BYTES,
    snapshotResendTicks: 3,
  };
}
