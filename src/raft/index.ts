/**
 * raft: the public face of the Raft core. Drivers and tests import from here.
 *
 * Must never: export internals (the log, progress tracking) for mutation.
 */

export { RaftCore } from "./core.ts";
export { consulTiming, defaultRaftConfig, devTiming, RAFT_MULTIPLIER_DEFAULT, RAFT_MULTIPLIER_MAX } from "./timing.ts";
export {
  applyChange,
  decodeMembership,
  EMPTY_MEMBERSHIP,
  encodeMembership,
  isMember,
  isVoter,
  members,
  membership,
  sameMembership,
} from "./membership.ts";
export { committedIndex, majority, quorumValue, voteResult } from "./quorum.ts";
export type { VoteResult } from "./quorum.ts";
export { bootstrapEntries } from "./bootstrap.ts";
export type * from "./types.ts";
export { RaftServer } from "./driver.ts";
export { timerSchedule, METHOD_APPLY, METHOD_MSGS, METHOD_READ_INDEX } from "./driver_types.ts";
export type { RaftRpcClient, RaftRpcServer, RaftServerDeps } from "./driver_types.ts";
