/**
 * raft/core: the Raft protocol as a synchronous, deterministic state machine.
 *
 * Inputs: step(message), tick(), propose(), proposeConfChange(), readIndex(),
 * transferLeadership(), compact(). Output: ready() returns a batch of effects
 * (see Ready in types.ts). Storage writes are asynchronous (Raft thesis
 * §10.2.1, etcd raft's async storage writes): the driver may take further
 * Readies while earlier ones are being written, reports each Ready durable
 * with persisted() (in order) and what it applied with applied(); advance()
 * is both at once for a driver whose writes are synchronous. Roles are handler
 * swaps (stepLeader/stepCandidate/stepFollower, tickHeartbeat/tickElection),
 * as in etcd-io/raft.
 *
 * Durability rules kept here: the leader's own match index is its durable
 * index, so an entry counts towards commitment on the leader only once it is
 * durable locally; committed entries are handed out for applying only up to
 * min(commit, durable); a message that depends on state not yet durable
 * (votes, vote and append responses, anything sent at a term or vote still
 * being written) goes in the Ready's messagesAfterPersist, which the driver
 * sends only once that Ready is durable.
 *
 * Implemented: randomized election timeouts, PreVote, CheckQuorum (with
 * in-lease vote rejection), pipelined replication with per-follower flow
 * control, commitment of current-term entries by counting, fast log
 * backtracking, chunked InstallSnapshot, leadership transfer, one-at-a-time
 * membership changes with staging non-voters, ReadIndex and leader lease.
 *
 * Layout: RaftCore (this file) is the public face: inputs, Ready handling and
 * views. Its state is a CoreState (core_state.ts: fields, role changes to
 * follower/candidate, the message queues); the rest are functions over it:
 * core_election.ts (follower and candidate roles, PreVote, votes, becoming
 * leader), core_leader.ts (the leader role: answers, commitment, its tick,
 * transfer), core_replicate.ts (appends, snapshot chunks, heartbeats),
 * core_follower.ts (taking appends, heartbeats, snapshots), core_config.ts
 * (proposals, membership changes, staging promotion), core_reads.ts
 * (ReadIndex and lease).
 *
 * Must never: read a clock, draw randomness other than deps.random, do I/O,
 * put a message in Ready.messages (sent at once) that depends on state not yet
 * durable, count its own non-durable entries towards commitment, or commit an
 * entry of a previous term by counting replicas.
 */

import { RAFT_MAX_APPLY_BATCH } from "../shared/limits.ts";
import { assert } from "../shared/errors.ts";
import { appendEntry, proposeConfChange, refuseProposal } from "./core_config.ts";
import { electionRoles, handleVote, startCampaign } from "./core_election.ts";
import { maybeCommit, transferLeadership } from "./core_leader.ts";
import { leaseRead, readIndex } from "./core_reads.ts";
import { flush } from "./core_replicate.ts";
import { CoreState, sameHard, sameSoft } from "./core_state.ts";
import type {
  ConfChange,
  EntryType,
  LogEntry,
  Membership,
  Message,
  NodeId,
  ProposeResult,
  RaftBoot,
  RaftConfig,
  RaftDeps,
  RaftSnapshot,
  Ready,
  Status,
} from "./types.ts";

export class RaftCore {
  readonly id: NodeId;
  private readonly s: CoreState;

  constructor(cfg: RaftConfig, deps: RaftDeps, boot: RaftBoot) {
    this.s = new CoreState(cfg, deps, boot, electionRoles);
    this.id = cfg.id;
  }

  // ---------------------------------------------------------------- inputs

  tick(): void {
    const s = this.s;
    s.ticks++;
    s.tickRole();
  }

  step(m: Message): void {
    const s = this.s;
    assert(m.to === s.id, `raft: message for ${m.to} stepped into ${s.id}`);
    if (m.term > s.term) {
      if (m.type === "vote") {
        const inLease = s.cfg.checkQuorum && s.ticks - s.lastLeaderContact < s.cfg.timing.electionTicks;
        if (inLease && !m.transfer) return; // a leader is alive as far as we know: ignore disruptors
      }
      if (m.type === "vote" && m.preVote) {
        // A pre-vote never changes our term.
      } else if (m.type === "vote-resp" && m.preVote && m.granted) {
        // Granted pre-votes carry the future term; counted below.
      } else if (m.type === "append" || m.type === "heartbeat" || m.type === "snapshot") {
        s.becomeFollower(m.term, m.from);
      } else {
        s.becomeFollower(m.term, "");
      }
    } else if (m.term < s.term) {
      if ((s.cfg.checkQuorum || s.cfg.preVote) && (m.type === "append" || m.type === "heartbeat")) {
        // Tell a stale leader about the newer term so it steps down.
        s.send({ type: "append-resp", from: s.id, to: m.from, term: s.term, success: false, index: 0, hintIndex: 0, hintTerm: 0 });
      } else if (m.type === "vote" && m.preVote) {
        s.send({ type: "vote-resp", from: s.id, to: m.from, term: s.term, preVote: true, granted: false });
      }
      return;
    }
    if (m.type === "vote") handleVote(s, m);
    else s.stepRole(m);
  }

  /** Start an election now (tests, bootstrap of a single server). */
  campaign(): void {
    startCampaign(this.s, this.s.cfg.preVote ? "pre" : "real");
  }

  propose(data: Uint8Array, type: EntryType = "command"): ProposeResult {
    assert(type !== "config", "raft: configuration entries go through proposeConfChange");
    const refusal = refuseProposal(this.s);
    if (refusal !== undefined) return refusal;
    return appendEntry(this.s, type, data);
  }

  proposeConfChange(c: ConfChange): ProposeResult {
    return proposeConfChange(this.s, c);
  }

  /** Ask for a linearizable read point; the answer comes as a ReadState with this ctx. */
  readIndex(ctx: string): boolean {
    return readIndex(this.s, ctx);
  }

  /**
   * The commit index when this leader holds a valid lease, else undefined.
   * The lease needs CheckQuorum: only then do voters refuse to elect anyone
   * while they hear from this leader.
   */
  leaseRead(): number | undefined {
    return leaseRead(this.s);
  }

  transferLeadership(to: NodeId): boolean {
    return transferLeadership(this.s, to);
  }

  /** The driver could not reach `id`: fall back to probing it. */
  reportUnreachable(id: NodeId): void {
    const pr = this.s.progress.get(id);
    if (this.s.role === "leader" && pr !== undefined && pr.state === "replicate") pr.becomeProbe();
  }

  /** The state machine took a snapshot at `index` (<= applied): remember it, trim the log. */
  compact(index: number, data: Uint8Array, trailing: number): RaftSnapshot {
    return this.s.log.compact(index, data, trailing);
  }

  // ---------------------------------------------------------------- ready / advance

  hasReady(): boolean {
    const s = this.s;
    flush(s);
    return (
      s.msgs.length > 0 ||
      s.msgsAfterPersist.length > 0 ||
      s.readStates.length > 0 ||
      s.log.hasUnwritten() ||
      s.log.pendingSnapshot !== undefined ||
      s.log.hasNextCommitted() ||
      !sameHard(s.hardState(), s.prevHard) ||
      !sameSoft(s.softState(), s.prevSoft)
    );
  }

  /**
   * The next batch of effects. May be called again before earlier Readies are
   * durable: each hands out only what the earlier ones did not (see Ready).
   */
  ready(): Ready {
    const s = this.s;
    flush(s);
    const hard = s.hardState();
    const soft = s.softState();
    const snapshot = s.log.takePendingSnapshot();
    const entries = s.log.takeUnwritten();
    const committed = s.log.nextCommitted(RAFT_MAX_APPLY_BATCH);
    const hardChanged = !sameHard(hard, s.prevHard);
    const rd: Ready = {
      soft: sameSoft(soft, s.prevSoft) ? undefined : soft,
      hardState: hardChanged ? hard : undefined,
      snapshot,
      entries,
      messages: s.msgs,
      messagesAfterPersist: s.msgsAfterPersist,
      committed,
      readStates: s.readStates,
      mustSync: entries.length > 0 || hard.term !== s.prevHard.term || hard.vote !== s.prevHard.vote,
    };
    if (committed.length > 0) s.log.markApplying(committed[committed.length - 1]!.index);
    s.msgs = [];
    s.msgsAfterPersist = [];
    s.readStates = [];
    s.prevHard = hard;
    s.prevSoft = soft;
    return rd;
  }

  /**
   * The writes of `rd` (and of every Ready handed out before it) are durable,
   * and its snapshot, if any, is installed in the state machine. Call once per
   * Ready, in the order ready() returned them. On the leader the durable index
   * is its own match index: this may commit entries.
   */
  persisted(rd: Ready): void {
    const s = this.s;
    if (rd.snapshot !== undefined) s.log.snapshotPersisted(rd.snapshot);
    if (rd.hardState !== undefined) {
      s.durableTerm = rd.hardState.term;
      s.durableVote = rd.hardState.vote;
    }
    if (rd.entries.length > 0) {
      const last = rd.entries[rd.entries.length - 1]!;
      s.log.stableTo(last.index, last.term);
    }
    if (s.role !== "leader") return;
    const self = s.progress.get(s.id);
    if (self !== undefined && self.maybeUpdate(s.log.stableIndex) && maybeCommit(s)) s.commitBcastPending = true;
  }

  /** The driver applied committed entries (handed out in Readies) up to `index`. */
  applied(index: number): void {
    this.s.log.appliedTo(index);
  }

  /** For drivers whose writes are synchronous: persisted(rd) and applied(rd.committed) at once. */
  advance(rd: Ready): void {
    if (rd.committed.length > 0) this.applied(rd.committed[rd.committed.length - 1]!.index);
    this.persisted(rd);
  }

  // ---------------------------------------------------------------- views

  status(): Status {
    const s = this.s;
    const progress = [...s.progress.entries()].map(([id, p]) => ({ id, match: p.match, next: p.next, state: p.state }));
    return {
      id: s.id,
      role: s.role,
      term: s.term,
      vote: s.vote,
      leader: s.leader,
      commit: s.log.committed,
      applied: s.log.applied,
      lastIndex: s.log.lastIndex(),
      firstIndex: s.log.firstIndex(),
      snapshotIndex: s.log.snapshot?.index ?? 0,
      config: s.log.config(),
      progress,
    };
  }

  /** Read-only access to the in-memory log (checkers, the driver's snapshotting). */
  entry(i: number): LogEntry | undefined {
    return this.s.log.entry(i);
  }

  termAt(i: number): number | undefined {
    return this.s.log.term(i);
  }

  firstIndex(): number {
    return this.s.log.firstIndex();
  }

  lastIndex(): number {
    return this.s.log.lastIndex();
  }

  config(): Membership {
    return this.s.log.config();
  }
}
