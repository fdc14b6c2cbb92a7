/**
 * raft/quorum: majority arithmetic over a set of voters, with no Raft state.
 *
 * committedIndex: the highest index a majority of voters has acknowledged.
 * voteResult: whether an election is won, lost or still open.
 * quorumValue: the value a majority has reached (used for heartbeat acks).
 *
 * Must never: know about terms, logs or roles.
 */

import type { NodeId } from "./types.ts";

export type VoteResult = "won" | "lost" | "pending";

/** Majority size of n voters. */
export function majority(n: number): number {
  return Math.floor(n / 2) + 1;
}

/**
 * The largest value v such that a majority of voters has value >= v.
 * An empty voter set commits nothing (0).
 */
export function quorumValue(voters: readonly NodeId[], valueOf: (id: NodeId) => number): number {
  const n = voters.length;
  if (n === 0) return 0;
  const values = new Array<number>(n);
  for (let i = 0; i < n; i++) values[i] = valueOf(voters[i]!);
  values.sort((a, b) => b - a);
  return values[majority(n) - 1]!;
}

export function committedIndex(voters: readonly NodeId[], matchOf: (id: NodeId) => number): number {
  return quorumValue(voters, matchOf);
}

/** votes maps voter -> granted; voters missing from it have not answered. */
export function voteResult(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  const n = voters.length;
  if (n === 0) return "won";
  let granted = 0;
  let missing = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === undefined) missing++;
    else if (v) granted++;
  }
  const need = majority(n);
  if (granted >= need) return "won";
  if (granted + missing >= need) return "pending";
  return "lost";
}
