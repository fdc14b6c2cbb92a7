/**
 * raft/core_state: the Raft core's state (term, vote, role, timers, leader
 * bookkeeping, the outgoing message queues) and what every part of the core
 * does with it: role changes to follower or (pre-)candidate, queueing a
 * message at once or until the Ready carrying it is durable, the hard and soft
 * state handed out in Readies. The other core_* modules are functions over
 * this object; RaftCore (core.ts) owns it and is the only public face.
 *
 * Must never: be handed out of the core (no mutation from outside), read a
 * clock or draw randomness other than deps.random, do I/O, or put a message in
 * `msgs` (sent at once) that depends on state not yet durable.
 */

import { assert } from "../shared/errors.ts";
import { RaftLog } from "./log.ts";
import type { Progress } from "./progress.ts";
import { quorumValue } from "./quorum.ts";
import type { LeaderReads } from "./read_index.ts";
import type { HardState, Membership, Message, NodeId, RaftBoot, RaftConfig, RaftDeps, ReadState, Role, SoftState } from "./types.ts";

/** A snapshot being received in chunks. */
export interface Incoming {
  readonly index: number;
  readonly term: number;
  readonly config: Membership;
  readonly total: number;
  readonly parts: Uint8Array[];
  received: number;
}

/**
 * The follower and candidate handlers (core_election.ts). RaftCore hands them
 * over at construction so that role changes live here, below the modules that
 * define the handlers (no import cycle).
 */
export interface RoleHandlers {
  readonly stepFollower: (s: CoreState, m: Message) => void;
  readonly stepCandidate: (s: CoreState, m: Message) => void;
  readonly tickElection: (s: CoreState) => void;
}

export class CoreState {
  readonly id: NodeId;
  readonly cfg: RaftConfig;
  readonly deps: RaftDeps;
  readonly log: RaftLog;
  private readonly roles: RoleHandlers;

  term = 0;
  vote: NodeId = "";
  leader: NodeId = "";
  role: Role = "follower";

  stepRole: (m: Message) => void;
  tickRole: () => void;

  /** Logical clock: ticks since boot. */
  ticks = 0;
  electionElapsed = 0;
  heartbeatElapsed = 0;
  randomizedTimeout = 0;
  /** Tick of the last contact with a leader (boot counts: votes wait one timeout after start). */
  lastLeaderContact = 0;

  readonly progress = new Map<NodeId, Progress>();
  readonly votes = new Map<NodeId, boolean>();
  pendingConfIndex = 0;
  transferee: NodeId = "";
  /** Set once this leader started a transfer: its lease is gone for the rest of the term. */
  leaseDisabled = false;
  /** Heartbeat sequence, monotonic across terms. */
  hbSeq = 0;
  reads: LeaderReads | undefined;
  /** Reads asked for before this leader committed an entry of its term. */
  waitingReads: string[] = [];
  /** Reads asked for since the last heartbeat round was sent. */
  readRoundPending = false;
  bcastPending = false;
  /** The commit index moved: tell every follower, even without new entries. */
  commitBcastPending = false;
  incoming: Incoming | undefined;

  /** Messages that may leave at once, and those that wait until the Ready carrying them is durable. */
  msgs: Message[] = [];
  msgsAfterPersist: Message[] = [];
  readStates: ReadState[] = [];
  /** Hard state last handed out in a Ready, and the last one the driver reported durable. */
  prevHard: HardState;
  durableTerm: number;
  durableVote: NodeId;
  prevSoft: SoftState;

  constructor(cfg: RaftConfig, deps: RaftDeps, boot: RaftBoot, roles: RoleHandlers) {
    assert(cfg.timing.heartbeatTicks > 0, "raft: heartbeatTicks must be positive");
    assert(cfg.timing.electionTicks > cfg.timing.heartbeatTicks, "raft: electionTicks must exceed heartbeatTicks");
    assert(cfg.timing.leaseTicks < cfg.timing.electionTicks, "raft: leaseTicks must be below electionTicks");
    this.id = cfg.id;
    this.cfg = cfg;
    this.deps = deps;
    this.roles = roles;
    this.stepRole = (m) => roles.stepFollower(this, m);
    this.tickRole = () => roles.tickElection(this);
    this.log = new RaftLog(boot);
    this.term = boot.hardState.term;
    this.vote = boot.hardState.vote;
    assert(this.term >= 0, "raft: negative term");
    this.prevHard = { term: this.term, vote: this.vote, commit: this.log.committed };
    this.durableTerm = this.term;
    this.durableVote = this.vote;
    this.becomeFollower(this.term, "");
    // A server that took part in elections before may have acked a leader whose lease is still
    // running: it refuses votes for one election timeout after a restart. A fresh one need not.
    this.lastLeaderContact = this.term > 0 ? 0 : -cfg.timing.electionTicks;
    this.prevSoft = this.softState();
  }

  // ---------------------------------------------------------------- roles

  reset(term: number): void {
    if (term !== this.term) {
      this.term = term;
      this.vote = "";
    }
    this.leader = "";
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedTimeout = this.cfg.timing.electionTicks + Math.floor(this.deps.random() * this.cfg.timing.electionTicks);
    this.votes.clear();
    this.progress.clear();
    this.transferee = "";
    this.leaseDisabled = false;
    this.reads = undefined;
    this.waitingReads = [];
    this.readRoundPending = false;
    this.bcastPending = false;
    this.commitBcastPending = false;
    this.pendingConfIndex = 0;
  }

  becomeFollower(term: number, leader: NodeId): void {
    this.reset(term);
    this.role = "follower";
    this.leader = leader;
    if (leader !== "") this.lastLeaderContact = this.ticks;
    this.stepRole = (m) => this.roles.stepFollower(this, m);
    this.tickRole = () => this.roles.tickElection(this);
  }

  becomePreCandidate(): void {
    assert(this.role !== "leader", "raft: leader cannot pre-campaign");
    // Term, vote and timers stay: a pre-vote changes nothing durable.
    this.votes.clear();
    this.leader = "";
    this.role = "pre-candidate";
    this.stepRole = (m) => this.roles.stepCandidate(this, m);
    this.tickRole = () => this.roles.tickElection(this);
  }

  becomeCandidate(): void {
    assert(this.role !== "leader", "raft: leader cannot campaign");
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = "candidate";
    this.stepRole = (m) => this.roles.stepCandidate(this, m);
    this.tickRole = () => this.roles.tickElection(this);
  }

  // ---------------------------------------------------------------- leader views

  committedInTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  quorumAckedSeq(): number {
    return quorumValue(this.log.config().voters, (id) => (id === this.id ? this.hbSeq : this.progress.get(id)?.ackedSeq ?? 0));
  }

  // ---------------------------------------------------------------- outgoing messages

  /**
   * Queue a message: at once when it needs nothing that is not durable (a
   * leader's appends, heartbeats, snapshot chunks and transfer triggers, and a
   * follower's heartbeat acks, all at a term and vote already durable); else
   * after the Ready carrying it is durable (votes, vote and append responses:
   * they vouch for the term, vote or entries being on disk).
   */
  send(m: Message): void {
    assert(m.from === this.id && m.to !== this.id, "raft: bad message addressing");
    if (this.sendsAtOnce(m)) {
      this.msgs.push(m);
      return;
    }
    if (m.type === "append-resp" && m.success) this.dropSupersededAck(m.to, m.term, m.index);
    this.msgsAfterPersist.push(m);
  }

  /**
   * A success ack up to `index` makes an earlier success ack of the same term to
   * the same leader, still waiting in this Ready, redundant: drop it (the leader
   * learns the higher match either way). Only the latest message to that peer is looked at.
   */
  private dropSupersededAck(to: NodeId, term: number, index: number): void {
    const q = this.msgsAfterPersist;
    for (let i = q.length - 1; i >= 0; i--) {
      const p = q[i]!;
      if (p.to !== to) continue;
      if (p.type === "append-resp" && p.success && p.term === term && p.index <= index) q.splice(i, 1);
      return;
    }
  }

  private sendsAtOnce(m: Message): boolean {
    if (m.term !== this.durableTerm || this.term !== this.durableTerm || this.vote !== this.durableVote) return false;
    switch (m.type) {
      case "append":
      case "heartbeat":
      case "snapshot":
      case "timeout-now":
        return this.role === "leader";
      case "heartbeat-resp":
        return true;
      case "vote":
      case "vote-resp":
      case "append-resp":
      case "snapshot-resp":
        return false;
    }
  }

  // ---------------------------------------------------------------- ready state

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  softState(): SoftState {
    return { role: this.role, leader: this.leader, term: this.term };
  }
}

export function sameHard(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

export function sameSoft(a: SoftState, b: SoftState): boolean {
  return a.role === b.role && a.leader === b.leader && a.term === b.term;
}
