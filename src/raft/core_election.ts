/**
 * raft/core_election: how the Raft core elects a leader: the follower and
 * candidate roles (their step handlers and election tick), PreVote and real
 * campaigns (and the transfer campaign TimeoutNow starts), counting votes,
 * granting votes, and becoming leader.
 *
 * Must never: campaign as a non-voter or a leader, grant a vote to a log less
 * up to date than its own, grant two real votes in one term, or change the
 * term or vote for a pre-vote.
 */

import { assert } from "../shared/errors.ts";
import { appendEntry, syncProgress } from "./core_config.ts";
import { handleLeaderMessage } from "./core_follower.ts";
import { stepLeader, tickHeartbeat } from "./core_leader.ts";
import type { CoreState, RoleHandlers } from "./core_state.ts";
import { isVoter } from "./membership.ts";
import { voteResult } from "./quorum.ts";
import { LeaderReads } from "./read_index.ts";
import type { Message, VoteMessage } from "./types.ts";

export type CampaignKind = "pre" | "real" | "transfer";

const EMPTY_DATA = new Uint8Array(0);

function becomeLeader(s: CoreState): void {
  assert(s.role === "candidate", "raft: only a candidate becomes leader");
  s.reset(s.term);
  s.role = "leader";
  s.leader = s.id;
  s.lastLeaderContact = s.ticks;
  s.reads = new LeaderReads();
  s.stepRole = (m) => stepLeader(s, m);
  s.tickRole = () => tickHeartbeat(s);
  syncProgress(s);
  for (const pr of s.progress.values()) pr.recentActive = true;
  // No configuration change until everything before this term is committed (thesis §4.1 fix).
  s.pendingConfIndex = s.log.lastIndex();
  appendEntry(s, "noop", EMPTY_DATA);
  s.deps.logger?.("info", `raft ${s.id}: leader at term ${s.term}`);
}

export function startCampaign(s: CoreState, kind: CampaignKind): void {
  if (!isVoter(s.log.config(), s.id) || s.role === "leader") return;
  let voteTerm: number;
  if (kind === "pre") {
    s.becomePreCandidate();
    voteTerm = s.term + 1;
  } else {
    s.becomeCandidate();
    voteTerm = s.term;
  }
  s.votes.set(s.id, true);
  if (tallyVotes(s, kind === "pre")) return;
  for (const id of s.log.config().voters) {
    if (id === s.id) continue;
    const m: VoteMessage = {
      type: "vote",
      from: s.id,
      to: id,
      term: voteTerm,
      preVote: kind === "pre",
      lastIndex: s.log.lastIndex(),
      lastTerm: s.log.lastTerm(),
      transfer: kind === "transfer",
    };
    s.send(m);
  }
}

/** Count votes; true when the election ended (won or lost). */
function tallyVotes(s: CoreState, preVote: boolean): boolean {
  const result = voteResult(s.log.config().voters, s.votes);
  if (result === "won") {
    if (preVote) startCampaign(s, "real");
    else becomeLeader(s);
    return true;
  }
  if (result === "lost") {
    s.becomeFollower(s.term, "");
    return true;
  }
  return false;
}

export function handleVote(s: CoreState, m: VoteMessage): void {
  const canVote =
    s.vote === m.from || (s.vote === "" && s.leader === "") || (m.preVote && m.term > s.term);
  if (canVote && s.log.isUpToDate(m.lastIndex, m.lastTerm)) {
    s.send({ type: "vote-resp", from: s.id, to: m.from, term: m.term, preVote: m.preVote, granted: true });
    if (!m.preVote) {
      s.electionElapsed = 0;
      s.vote = m.from;
    }
  } else {
    s.send({ type: "vote-resp", from: s.id, to: m.from, term: s.term, preVote: m.preVote, granted: false });
  }
}

function tickElection(s: CoreState): void {
  s.electionElapsed++;
  if (s.electionElapsed >= s.randomizedTimeout && isVoter(s.log.config(), s.id)) {
    s.electionElapsed = 0;
    startCampaign(s, s.cfg.preVote ? "pre" : "real");
  }
}

function stepFollower(s: CoreState, m: Message): void {
  switch (m.type) {
    case "append":
    case "heartbeat":
    case "snapshot":
      s.electionElapsed = 0;
      s.leader = m.from;
      s.lastLeaderContact = s.ticks;
      handleLeaderMessage(s, m);
      return;
    case "timeout-now":
      s.deps.logger?.("info", `raft ${s.id}: timeout-now from ${m.from}, campaigning`);
      startCampaign(s, "transfer");
      return;
    case "vote":
    case "vote-resp":
    case "append-resp":
    case "heartbeat-resp":
    case "snapshot-resp":
      return; // stale answers to a role we no longer have
  }
}

function stepCandidate(s: CoreState, m: Message): void {
  switch (m.type) {
    case "append":
    case "heartbeat":
    case "snapshot":
      s.becomeFollower(m.term, m.from);
      handleLeaderMessage(s, m);
      return;
    case "vote-resp": {
      const pre = s.role === "pre-candidate";
      if (m.preVote !== pre) return;
      s.votes.set(m.from, m.granted);
      tallyVotes(s, pre);
      return;
    }
    case "timeout-now":
    case "vote":
    case "append-resp":
    case "heartbeat-resp":
    case "snapshot-resp":
      return;
  }
}

/** The follower and candidate handlers CoreState switches between. */
export const electionRoles: RoleHandlers = { stepFollower, stepCandidate, tickElection };
