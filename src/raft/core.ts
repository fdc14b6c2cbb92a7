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
 * Must never: read a clock, draw randomness other than deps.random, do I/O,
 * put a message in Ready.messages (sent at once) that depends on state not yet
 * durable, count its own non-durable entries towards commitment, or commit an
 * entry of a previous term by counting replicas.
 */

import { assert } from "../shared/errors.ts";
import { RAFT_MAX_APPLY_BATCH } from "../shared/limits.ts";
import { RaftLog } from "./log.ts";
import { applyChange, encodeMembership, isMember, isVoter, members } from "./membership.ts";
import { Progress } from "./progress.ts";
import { committedIndex, quorumValue, voteResult } from "./quorum.ts";
import { LeaderReads } from "./read_index.ts";
import type {
  AppendMessage,
  AppendResponse,
  ConfChange,
  EntryType,
  HardState,
  HeartbeatMessage,
  LogEntry,
  Membership,
  Message,
  NodeId,
  ProposeResult,
  RaftBoot,
  RaftConfig,
  RaftDeps,
  RaftSnapshot,
  ReadState,
  Ready,
  Role,
  SnapshotMessage,
  SnapshotResponse,
  SoftState,
  Status,
  VoteMessage,
} from "./types.ts";

type CampaignKind = "pre" | "real" | "transfer";

/** A snapshot being received in chunks. */
interface Incoming {
  readonly index: number;
  readonly term: number;
  readonly config: Membership;
  readonly total: number;
  readonly parts: Uint8Array[];
  received: number;
}

const EMPTY_DATA = new Uint8Array(0);

export class RaftCore {
  readonly id: NodeId;
  private readonly cfg: RaftConfig;
  private readonly deps: RaftDeps;
  private readonly log: RaftLog;

  private term = 0;
  private vote: NodeId = "";
  private leader: NodeId = "";
  private role: Role = "follower";

  private stepRole: (m: Message) => void = (m) => this.stepFollower(m);
  private tickRole: () => void = () => this.tickElection();

  /** Logical clock: ticks since boot. */
  private ticks = 0;
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedTimeout = 0;
  /** Tick of the last contact with a leader (boot counts: votes wait one timeout after start). */
  private lastLeaderContact = 0;

  private readonly progress = new Map<NodeId, Progress>();
  private readonly votes = new Map<NodeId, boolean>();
  private pendingConfIndex = 0;
  private transferee: NodeId = "";
  /** Set once this leader started a transfer: its lease is gone for the rest of the term. */
  private leaseDisabled = false;
  /** Heartbeat sequence, monotonic across terms. */
  private hbSeq = 0;
  private reads: LeaderReads | undefined;
  /** Reads asked for before this leader committed an entry of its term. */
  private waitingReads: string[] = [];
  /** Reads asked for since the last heartbeat round was sent. */
  private readRoundPending = false;
  private bcastPending = false;
  /** The commit index moved: tell every follower, even without new entries. */
  private commitBcastPending = false;
  private incoming: Incoming | undefined;

  /** Messages that may leave at once, and those that wait until the Ready carrying them is durable. */
  private msgs: Message[] = [];
  private msgsAfterPersist: Message[] = [];
  private readStates: ReadState[] = [];
  /** Hard state last handed out in a Ready, and the last one the driver reported durable. */
  private prevHard: HardState;
  private durableTerm: number;
  private durableVote: NodeId;
  private prevSoft: SoftState;

  constructor(cfg: RaftConfig, deps: RaftDeps, boot: RaftBoot) {
    assert(cfg.timing.heartbeatTicks > 0, "raft: heartbeatTicks must be positive");
    assert(cfg.timing.electionTicks > cfg.timing.heartbeatTicks, "raft: electionTicks must exceed heartbeatTicks");
    assert(cfg.timing.leaseTicks < cfg.timing.electionTicks, "raft: leaseTicks must be below electionTicks");
    this.id = cfg.id;
    this.cfg = cfg;
    this.deps = deps;
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

  // ---------------------------------------------------------------- inputs

  tick(): void {
    this.ticks++;
    this.tickRole();
  }

  step(m: Message): void {
    assert(m.to === this.id, `raft: message for ${m.to} stepped into ${this.id}`);
    if (m.term > this.term) {
      if (m.type === "vote") {
        const inLease = this.cfg.checkQuorum && this.ticks - this.lastLeaderContact < this.cfg.timing.electionTicks;
        if (inLease && !m.transfer) return; // a leader is alive as far as we know: ignore disruptors
      }
      if (m.type === "vote" && m.preVote) {
        // A pre-vote never changes our term.
      } else if (m.type === "vote-resp" && m.preVote && m.granted) {
        // Granted pre-votes carry the future term; counted below.
      } else if (m.type === "append" || m.type === "heartbeat" || m.type === "snapshot") {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, "");
      }
    } else if (m.term < this.term) {
      if ((this.cfg.checkQuorum || this.cfg.preVote) && (m.type === "append" || m.type === "heartbeat")) {
        // Tell a stale leader about the newer term so it steps down.
        this.send({ type: "append-resp", from: this.id, to: m.from, term: this.term, success: false, index: 0, hintIndex: 0, hintTerm: 0 });
      } else if (m.type === "vote" && m.preVote) {
        this.send({ type: "vote-resp", from: this.id, to: m.from, term: this.term, preVote: true, granted: false });
      }
      return;
    }
    if (m.type === "vote") this.handleVote(m);
    else this.stepRole(m);
  }

  /** Start an election now (tests, bootstrap of a single server). */
  campaign(): void {
    this.startCampaign(this.cfg.preVote ? "pre" : "real");
  }

  propose(data: Uint8Array, type: EntryType = "command"): ProposeResult {
    assert(type !== "config", "raft: configuration entries go through proposeConfChange");
    const refusal = this.refuseProposal();
    if (refusal !== undefined) return refusal;
    return this.appendEntry(type, data);
  }

  proposeConfChange(c: ConfChange): ProposeResult {
    const refusal = this.refuseProposal();
    if (refusal !== undefined) return refusal;
    if (this.pendingConfIndex > this.log.committed) return { ok: false, reason: "conf-pending", leader: this.leader };
    const next = applyChange(this.log.config(), c);
    if (next === undefined) return { ok: false, reason: "invalid", leader: this.leader };
    const r = this.appendEntry("config", encodeMembership(next));
    if (r.ok) this.pendingConfIndex = r.index;
    return r;
  }

  /** Ask for a linearizable read point; the answer comes as a ReadState with this ctx. */
  readIndex(ctx: string): boolean {
    if (this.role !== "leader" || this.reads === undefined) return false;
    const voters = this.log.config().voters;
    if (!this.committedInTerm()) {
      this.waitingReads.push(ctx);
      return true;
    }
    if (voters.length === 1 && voters[0] === this.id) {
      this.readStates.push({ index: this.log.committed, ctx });
      return true;
    }
    this.reads.request(this.hbSeq + 1, this.log.committed, ctx);
    this.readRoundPending = true;
    return true;
  }

  /**
   * The commit index when this leader holds a valid lease, else undefined.
   * The lease needs CheckQuorum: only then do voters refuse to elect anyone
   * while they hear from this leader.
   */
  leaseRead(): number | undefined {
    if (this.role !== "leader" || this.reads === undefined || !this.cfg.checkQuorum) return undefined;
    if (this.leaseDisabled || this.transferee !== "" || !this.committedInTerm()) return undefined;
    const voters = this.log.config().voters;
    if (voters.length === 1 && voters[0] === this.id) return this.log.committed;
    const start = this.reads.roundTick(this.quorumAckedSeq());
    if (start === undefined || this.ticks - start >= this.cfg.timing.leaseTicks) return undefined;
    return this.log.committed;
  }

  transferLeadership(to: NodeId): boolean {
    if (this.role !== "leader" || to === this.id || !isVoter(this.log.config(), to)) return false;
    const pr = this.progress.get(to);
    if (pr === undefined) return false;
    this.transferee = to;
    this.electionElapsed = 0; // the transfer is abandoned after one election timeout
    this.leaseDisabled = true;
    if (pr.match === this.log.lastIndex()) this.sendTimeoutNow(to);
    else this.sendAppend(to, true);
    return true;
  }

  /** The driver could not reach `id`: fall back to probing it. */
  reportUnreachable(id: NodeId): void {
    const pr = this.progress.get(id);
    if (this.role === "leader" && pr !== undefined && pr.state === "replicate") pr.becomeProbe();
  }

  /** The state machine took a snapshot at `index` (<= applied): remember it, trim the log. */
  compact(index: number, data: Uint8Array, trailing: number): RaftSnapshot {
    return this.log.compact(index, data, trailing);
  }

  // ---------------------------------------------------------------- ready / advance

  hasReady(): boolean {
    this.flush();
    return (
      this.msgs.length > 0 ||
      this.msgsAfterPersist.length > 0 ||
      this.readStates.length > 0 ||
      this.log.hasUnwritten() ||
      this.log.pendingSnapshot !== undefined ||
      this.log.hasNextCommitted() ||
      !this.sameHard(this.hardState(), this.prevHard) ||
      !this.sameSoft(this.softState(), this.prevSoft)
    );
  }

  /**
   * The next batch of effects. May be called again before earlier Readies are
   * durable: each hands out only what the earlier ones did not (see Ready).
   */
  ready(): Ready {
    this.flush();
    const hard = this.hardState();
    const soft = this.softState();
    const snapshot = this.log.takePendingSnapshot();
    const entries = this.log.takeUnwritten();
    const committed = this.log.nextCommitted(RAFT_MAX_APPLY_BATCH);
    const hardChanged = !this.sameHard(hard, this.prevHard);
    const rd: Ready = {
      soft: this.sameSoft(soft, this.prevSoft) ? undefined : soft,
      hardState: hardChanged ? hard : undefined,
      snapshot,
      entries,
      messages: this.msgs,
      messagesAfterPersist: this.msgsAfterPersist,
      committed,
      readStates: this.readStates,
      mustSync: entries.length > 0 || hard.term !== this.prevHard.term || hard.vote !== this.prevHard.vote,
    };
    if (committed.length > 0) this.log.markApplying(committed[committed.length - 1]!.index);
    this.msgs = [];
    this.msgsAfterPersist = [];
    this.readStates = [];
    this.prevHard = hard;
    this.prevSoft = soft;
    return rd;
  }

  /**
   * The writes of `rd` (and of every Ready handed out before it) are durable,
   * and its snapshot, if any, is installed in the state machine. Call once per
   * Ready, in the order ready() returned them. On the leader the durable index
   * is its own match index: this may commit entries.
   */
  persisted(rd: Ready): void {
    if (rd.snapshot !== undefined) this.log.snapshotPersisted(rd.snapshot);
    if (rd.hardState !== undefined) {
      this.durableTerm = rd.hardState.term;
      this.durableVote = rd.hardState.vote;
    }
    if (rd.entries.length > 0) {
      const last = rd.entries[rd.entries.length - 1]!;
      this.log.stableTo(last.index, last.term);
    }
    if (this.role !== "leader") return;
    const self = this.progress.get(this.id);
    if (self !== undefined && self.maybeUpdate(this.log.stableIndex) && this.maybeCommit()) this.commitBcastPending = true;
  }

  /** The driver applied committed entries (handed out in Readies) up to `index`. */
  applied(index: number): void {
    this.log.appliedTo(index);
  }

  /** For drivers whose writes are synchronous: persisted(rd) and applied(rd.committed) at once. */
  advance(rd: Ready): void {
    if (rd.committed.length > 0) this.applied(rd.committed[rd.committed.length - 1]!.index);
    this.persisted(rd);
  }

  // ---------------------------------------------------------------- views

  status(): Status {
    const progress = [...this.progress.entries()].map(([id, p]) => ({ id, match: p.match, next: p.next, state: p.state }));
    return {
      id: this.id,
      role: this.role,
      term: this.term,
      vote: this.vote,
      leader: this.leader,
      commit: this.log.committed,
      applied: this.log.applied,
      lastIndex: this.log.lastIndex(),
      firstIndex: this.log.firstIndex(),
      snapshotIndex: this.log.snapshot?.index ?? 0,
      config: this.log.config(),
      progress,
    };
  }

  /** Read-only access to the in-memory log (checkers, the driver's snapshotting). */
  entry(i: number): LogEntry | undefined {
    return this.log.entry(i);
  }

  termAt(i: number): number | undefined {
    return this.log.term(i);
  }

  firstIndex(): number {
    return this.log.firstIndex();
  }

  lastIndex(): number {
    return this.log.lastIndex();
  }

  config(): Membership {
    return this.log.config();
  }

  // ---------------------------------------------------------------- roles

  private reset(term: number): void {
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

  private becomeFollower(term: number, leader: NodeId): void {
    this.reset(term);
    this.role = "follower";
    this.leader = leader;
    if (leader !== "") this.lastLeaderContact = this.ticks;
    this.stepRole = (m) => this.stepFollower(m);
    this.tickRole = () => this.tickElection();
  }

  private becomePreCandidate(): void {
    assert(this.role !== "leader", "raft: leader cannot pre-campaign");
    // Term, vote and timers stay: a pre-vote changes nothing durable.
    this.votes.clear();
    this.leader = "";
    this.role = "pre-candidate";
    this.stepRole = (m) => this.stepCandidate(m);
    this.tickRole = () => this.tickElection();
  }

  private becomeCandidate(): void {
    assert(this.role !== "leader", "raft: leader cannot campaign");
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = "candidate";
    this.stepRole = (m) => this.stepCandidate(m);
    this.tickRole = () => this.tickElection();
  }

  private becomeLeader(): void {
    assert(this.role === "candidate", "raft: only a candidate becomes leader");
    this.reset(this.term);
    this.role = "leader";
    this.leader = this.id;
    this.lastLeaderContact = this.ticks;
    this.reads = new LeaderReads();
    this.stepRole = (m) => this.stepLeader(m);
    this.tickRole = () => this.tickHeartbeat();
    this.syncProgress();
    for (const pr of this.progress.values()) pr.recentActive = true;
    // No configuration change until everything before this term is committed (thesis §4.1 fix).
    this.pendingConfIndex = this.log.lastIndex();
    this.appendEntry("noop", EMPTY_DATA);
    this.deps.logger?.("info", `raft ${this.id}: leader at term ${this.term}`);
  }

  private startCampaign(kind: CampaignKind): void {
    if (!isVoter(this.log.config(), this.id) || this.role === "leader") return;
    let voteTerm: number;
    if (kind === "pre") {
      this.becomePreCandidate();
      voteTerm = this.term + 1;
    } else {
      this.becomeCandidate();
      voteTerm = this.term;
    }
    this.votes.set(this.id, true);
    if (this.tallyVotes(kind === "pre")) return;
    for (const id of this.log.config().voters) {
      if (id === this.id) continue;
      const m: VoteMessage = {
        type: "vote",
        from: this.id,
        to: id,
        term: voteTerm,
        preVote: kind === "pre",
        lastIndex: this.log.lastIndex(),
        lastTerm: this.log.lastTerm(),
        transfer: kind === "transfer",
      };
      this.send(m);
    }
  }

  /** Count votes; true when the election ended (won or lost). */
  private tallyVotes(preVote: boolean): boolean {
    const result = voteResult(this.log.config().voters, this.votes);
    if (result === "won") {
      if (preVote) this.startCampaign("real");
      else this.becomeLeader();
      return true;
    }
    if (result === "lost") {
      this.becomeFollower(this.term, "");
      return true;
    }
    return false;
  }

  private handleVote(m: VoteMessage): void {
    const canVote =
      this.vote === m.from || (this.vote === "" && this.leader === "") || (m.preVote && m.term > this.term);
    if (canVote && this.log.isUpToDate(m.lastIndex, m.lastTerm)) {
      this.send({ type: "vote-resp", from: this.id, to: m.from, term: m.term, preVote: m.preVote, granted: true });
      if (!m.preVote) {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send({ type: "vote-resp", from: this.id, to: m.from, term: this.term, preVote: m.preVote, granted: false });
    }
  }

  // ---------------------------------------------------------------- ticks

  private tickElection(): void {
    this.electionElapsed++;
    if (this.electionElapsed >= this.randomizedTimeout && isVoter(this.log.config(), this.id)) {
      this.electionElapsed = 0;
      this.startCampaign(this.cfg.preVote ? "pre" : "real");
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    this.lastLeaderContact = this.ticks;
    if (this.electionElapsed >= this.cfg.timing.electionTicks) {
      this.electionElapsed = 0;
      if (this.cfg.checkQuorum && !this.quorumActive()) {
        this.deps.logger?.("info", `raft ${this.id}: lost contact with a quorum, stepping down`);
        this.becomeFollower(this.term, "");
        return;
      }
      this.transferee = "";
    }
    if (this.heartbeatElapsed >= this.cfg.timing.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat();
    }
    for (const [id, pr] of this.progress) {
      if (id === this.id || pr.state !== "snapshot") continue;
      pr.snapshotIdleTicks++;
      if (pr.snapshotIdleTicks >= this.cfg.snapshotResendTicks) this.sendSnapshotChunk(id, pr);
    }
    this.maybePromote();
  }

  /** CheckQuorum: did a quorum of voters talk to us since the last round? Resets the marks. */
  private quorumActive(): boolean {
    const voters = this.log.config().voters;
    let active = 0;
    for (const id of voters) {
      if (id === this.id || this.progress.get(id)?.recentActive === true) active++;
    }
    for (const [id, pr] of this.progress) if (id !== this.id) pr.recentActive = false;
    return voters.length === 0 || active >= Math.floor(voters.length / 2) + 1;
  }

  // ---------------------------------------------------------------- step handlers

  private stepFollower(m: Message): void {
    switch (m.type) {
      case "append":
      case "heartbeat":
      case "snapshot":
        this.electionElapsed = 0;
        this.leader = m.from;
        this.lastLeaderContact = this.ticks;
        this.handleLeaderMessage(m);
        return;
      case "timeout-now":
        this.deps.logger?.("info", `raft ${this.id}: timeout-now from ${m.from}, campaigning`);
        this.startCampaign("transfer");
        return;
      case "vote":
      case "vote-resp":
      case "append-resp":
      case "heartbeat-resp":
      case "snapshot-resp":
        return; // stale answers to a role we no longer have
    }
  }

  private stepCandidate(m: Message): void {
    switch (m.type) {
      case "append":
      case "heartbeat":
      case "snapshot":
        this.becomeFollower(m.term, m.from);
        this.handleLeaderMessage(m);
        return;
      case "vote-resp": {
        const pre = this.role === "pre-candidate";
        if (m.preVote !== pre) return;
        this.votes.set(m.from, m.granted);
        this.tallyVotes(pre);
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

  private stepLeader(m: Message): void {
    switch (m.type) {
      case "append":
      case "heartbeat":
      case "snapshot":
        assert(false, `raft ${this.id}: two leaders in term ${this.term} (${m.from} sent ${m.type})`);
        return;
      case "append-resp":
        this.handleAppendResponse(m);
        return;
      case "heartbeat-resp": {
        const pr = this.progress.get(m.from);
        if (pr === undefined) return;
        pr.recentActive = true;
        pr.probeSent = false;
        // A lost append would keep a full window closed forever: free one slot per heartbeat so
        // the next append goes out, is rejected for the gap, and the follower drops to probe.
        if (pr.state === "replicate" && pr.inflights.full()) pr.inflights.freeFirst();
        if (m.seq > pr.ackedSeq) pr.ackedSeq = m.seq;
        if (pr.match < this.log.lastIndex()) this.sendAppend(m.from, true);
        if (this.reads !== undefined) for (const rs of this.reads.release(this.quorumAckedSeq())) this.readStates.push(rs);
        return;
      }
      case "snapshot-resp":
        this.handleSnapshotResponse(m);
        return;
      case "vote":
      case "vote-resp":
      case "timeout-now":
        return;
    }
  }

  private handleLeaderMessage(m: AppendMessage | HeartbeatMessage | SnapshotMessage): void {
    if (m.type === "append") this.handleAppend(m);
    else if (m.type === "heartbeat") {
      this.log.commitTo(m.commit);
      this.send({ type: "heartbeat-resp", from: this.id, to: m.from, term: this.term, seq: m.seq });
    } else this.handleSnapshot(m);
  }

  private handleAppend(m: AppendMessage): void {
    const reply = (success: boolean, index: number, hintIndex: number, hintTerm: number): void =>
      this.send({ type: "append-resp", from: this.id, to: m.from, term: this.term, success, index, hintIndex, hintTerm });
    if (m.prevIndex < this.log.committed) {
      reply(true, this.log.committed, 0, 0);
      return;
    }
    const configBefore = this.log.configIndex();
    const lastNew = this.log.maybeAppend(m.prevIndex, m.prevTerm, m.commit, m.entries);
    if (this.log.configIndex() !== configBefore) this.syncProgress();
    if (lastNew !== undefined) {
      reply(true, lastNew, 0, 0);
      return;
    }
    // Fast backtracking: point the leader at the last index whose term could match.
    const hintIndex = this.log.findConflictByTerm(Math.min(m.prevIndex, this.log.lastIndex()), m.prevTerm);
    reply(false, m.prevIndex, hintIndex, this.log.term(hintIndex) ?? 0);
  }

  private handleSnapshot(m: SnapshotMessage): void {
    const reply = (offset: number, done: boolean): void =>
      this.send({ type: "snapshot-resp", from: this.id, to: m.from, term: this.term, index: m.index, offset, done });
    if (m.index <= this.log.committed) {
      this.incoming = undefined;
      reply(m.total, true);
      return;
    }
    let inc = this.incoming;
    if (m.offset === 0) {
      inc = { index: m.index, term: m.snapTerm, config: m.config, total: m.total, parts: [], received: 0 };
      this.incoming = inc;
    } else if (inc === undefined || inc.index !== m.index || inc.term !== m.snapTerm || inc.received !== m.offset) {
      reply(inc !== undefined && inc.index === m.index && inc.term === m.snapTerm ? inc.received : 0, false);
      return;
    }
    inc.parts.push(m.chunk);
    inc.received += m.chunk.byteLength;
    assert(inc.received <= inc.total, "raft: snapshot chunks exceed the announced size");
    if (inc.received < inc.total) {
      reply(inc.received, false);
      return;
    }
    this.incoming = undefined;
    if (this.log.matchTerm(inc.index, inc.term)) {
      this.log.commitTo(inc.index); // we already have the prefix: fast-forward
    } else {
      const data = new Uint8Array(inc.total);
      let off = 0;
      for (const p of inc.parts) {
        data.set(p, off);
        off += p.byteLength;
      }
      this.log.restore({ index: inc.index, term: inc.term, config: inc.config, data });
      this.syncProgress();
      this.deps.logger?.("info", `raft ${this.id}: installed snapshot at ${inc.index}`);
    }
    reply(inc.total, true);
  }

  private handleAppendResponse(m: AppendResponse): void {
    const pr = this.progress.get(m.from);
    if (pr === undefined) return;
    pr.recentActive = true;
    if (!m.success) {
      let nextProbe = m.hintIndex;
      if (m.hintTerm > 0) nextProbe = this.log.findConflictByTerm(m.hintIndex, m.hintTerm);
      if (pr.maybeDecrTo(m.index, nextProbe)) {
        if (pr.state === "replicate") pr.becomeProbe();
        this.sendAppend(m.from, true);
      }
      return;
    }
    const wasProbe = pr.state === "probe";
    if (!pr.maybeUpdate(m.index) && !(pr.match === m.index && wasProbe)) return;
    if (pr.state === "probe") pr.becomeReplicate();
    else if (pr.state === "snapshot" && pr.match >= pr.pendingSnapshot) {
      pr.becomeProbe();
      pr.becomeReplicate();
    } else if (pr.state === "replicate") pr.inflights.freeLE(m.index);
    if (this.maybeCommit()) {
      this.commitBcastPending = true;
    } else {
      while (this.sendAppend(m.from, false)) {
        // keep the pipeline full
      }
      // Its pipeline drained without telling it the latest commit (see flush): tell it now.
      if (this.role === "leader" && pr.inflights.count === 0 && pr.sentCommit < this.log.committed) this.sendAppend(m.from, true);
    }
    if (this.role !== "leader") return;
    if (m.from === this.transferee && pr.match === this.log.lastIndex()) this.sendTimeoutNow(m.from);
    this.maybePromote();
  }

  private handleSnapshotResponse(m: SnapshotResponse): void {
    const pr = this.progress.get(m.from);
    if (pr === undefined) return;
    pr.recentActive = true;
    if (m.done) {
      pr.maybeUpdate(m.index);
      if (pr.state === "snapshot" && pr.match >= pr.pendingSnapshot) pr.becomeProbe();
      if (pr.state !== "snapshot") this.sendAppend(m.from, true);
      return;
    }
    if (pr.state === "snapshot" && m.index === pr.pendingSnapshot) {
      pr.snapshotOffset = m.offset;
      this.sendSnapshotChunk(m.from, pr);
    }
  }

  // ---------------------------------------------------------------- leader machinery

  private refuseProposal(): ProposeResult | undefined {
    if (this.role !== "leader") return { ok: false, reason: "not-leader", leader: this.leader };
    if (this.transferee !== "") return { ok: false, reason: "transferring", leader: this.leader };
    if (this.log.lastIndex() - this.log.committed >= this.cfg.maxUncommitted) {
      return { ok: false, reason: "too-many", leader: this.leader };
    }
    return undefined;
  }

  private appendEntry(type: EntryType, data: Uint8Array): ProposeResult {
    assert(this.role === "leader", "raft: append on a non-leader");
    const e: LogEntry = { index: this.log.lastIndex() + 1, term: this.term, type, data };
    this.log.append(e);
    if (type === "config") this.syncProgress();
    // The leader's own match moves when the entry is durable here (persisted()), not now.
    this.bcastPending = true;
    return { ok: true, index: e.index, term: e.term };
  }

  /** Commit the highest index a quorum matches, but only if it is of the current term (§5.4.2). */
  private maybeCommit(): boolean {
    const voters = this.log.config().voters;
    const mci = committedIndex(voters, (id) => this.progress.get(id)?.match ?? 0);
    if (mci <= this.log.committed || this.log.term(mci) !== this.term) return false;
    this.log.commitTo(mci);
    this.afterCommit();
    return true;
  }

  private afterCommit(): void {
    if (this.waitingReads.length > 0 && this.committedInTerm()) {
      const waiting = this.waitingReads;
      this.waitingReads = [];
      for (const ctx of waiting) this.readIndex(ctx);
    }
    // A leader removed from the configuration steps down once the removal is committed.
    if (!isMember(this.log.config(), this.id) && this.log.configIndex() <= this.log.committed) {
      this.deps.logger?.("info", `raft ${this.id}: removed from the configuration, stepping down`);
      this.becomeFollower(this.term, "");
    }
  }

  private committedInTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  private quorumAckedSeq(): number {
    return quorumValue(this.log.config().voters, (id) => (id === this.id ? this.hbSeq : this.progress.get(id)?.ackedSeq ?? 0));
  }

  /** Make the progress map match the configuration (leader) after the config changed. */
  private syncProgress(): void {
    if (this.role !== "leader") return;
    const cfg = this.log.config();
    const last = this.log.lastIndex();
    for (const id of members(cfg)) {
      if (this.progress.has(id)) continue;
      const pr = new Progress(last + 1, this.cfg.maxInflight);
      if (id === this.id) pr.match = Math.min(this.log.stableIndex, last);
      pr.recentActive = true;
      this.progress.set(id, pr);
    }
    for (const id of [...this.progress.keys()]) {
      if (!isMember(cfg, id)) this.progress.delete(id);
    }
    if (this.transferee !== "" && !isVoter(cfg, this.transferee)) this.transferee = "";
  }

  /** Promote one caught-up staging server when no change is pending. */
  private maybePromote(): void {
    if (this.role !== "leader" || this.pendingConfIndex > this.log.committed) return;
    for (const id of this.log.config().staging) {
      const pr = this.progress.get(id);
      if (pr !== undefined && pr.match >= this.log.committed && this.log.committed > 0) {
        this.proposeConfChange({ type: "promote", id });
        return;
      }
    }
  }

  /** Pending broadcasts and read rounds go out once per driver turn: this batches proposals. */
  private flush(): void {
    if (this.role !== "leader") return;
    if (this.bcastPending || this.commitBcastPending) {
      const always = this.commitBcastPending;
      this.bcastPending = false;
      this.commitBcastPending = false;
      for (const [id, pr] of this.progress) {
        if (id === this.id) continue;
        // A commit-only (empty) append goes to a follower only when nothing is in flight to
        // it: an ack still to come brings the next chance (handleAppendResponse), and
        // under load the commit rides on the next append with entries. Heartbeats carry it too.
        let first = always && pr.sentCommit < this.log.committed && !(pr.state === "replicate" && pr.inflights.count > 0);
        while (this.sendAppend(id, first)) {
          first = false;
          // fill the window
        }
      }
    }
    if (this.readRoundPending) {
      this.readRoundPending = false;
      this.bcastHeartbeat();
    }
  }

  /** Send the next AppendEntries (or snapshot chunk) to `to`; false when nothing was sent. */
  private sendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.progress.get(to);
    if (pr === undefined || to === this.id || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    const ents = this.log.slice(pr.next, this.log.lastIndex() + 1, this.cfg.maxAppendEntries, this.cfg.maxAppendBytes);
    if (prevTerm === undefined || ents === undefined) {
      const snap = this.log.snapshot;
      assert(snap !== undefined, `raft ${this.id}: entries for ${to} compacted but no snapshot`);
      pr.becomeSnapshot(snap.index);
      this.sendSnapshotChunk(to, pr);
      return true;
    }
    if (ents.length === 0 && !sendIfEmpty) return false;
    const m: AppendMessage = { type: "append", from: this.id, to, term: this.term, prevIndex, prevTerm, entries: ents, commit: this.log.committed };
    this.send(m);
    pr.sentEntries(prevIndex + ents.length, ents.length);
    if (m.commit > pr.sentCommit) pr.sentCommit = m.commit;
    return true;
  }

  private sendSnapshotChunk(to: NodeId, pr: Progress): void {
    const snap = this.log.snapshot;
    assert(snap !== undefined, "raft: snapshot state without a snapshot");
    if (snap.index !== pr.pendingSnapshot) pr.becomeSnapshot(snap.index); // a newer snapshot: start over
    const offset = Math.min(pr.snapshotOffset, snap.data.byteLength);
    const chunk = snap.data.subarray(offset, offset + this.cfg.snapshotChunkBytes);
    pr.snapshotIdleTicks = 0;
    this.send({
      type: "snapshot",
      from: this.id,
      to,
      term: this.term,
      index: snap.index,
      snapTerm: snap.term,
      config: snap.config,
      offset,
      total: snap.data.byteLength,
      chunk,
    });
  }

  private bcastHeartbeat(): void {
    this.hbSeq++;
    this.reads?.roundSent(this.hbSeq, this.ticks);
    for (const [id, pr] of this.progress) {
      if (id === this.id) continue;
      const m: HeartbeatMessage = {
        type: "heartbeat",
        from: this.id,
        to: id,
        term: this.term,
        commit: Math.min(pr.match, this.log.committed),
        seq: this.hbSeq,
      };
      this.send(m);
    }
    // A lone voter acknowledges its own rounds.
    if (this.reads !== undefined) for (const rs of this.reads.release(this.quorumAckedSeq())) this.readStates.push(rs);
  }

  private sendTimeoutNow(to: NodeId): void {
    this.leaseDisabled = true;
    this.send({ type: "timeout-now", from: this.id, to, term: this.term });
  }

  /**
   * Queue a message: at once when it needs nothing that is not durable (a
   * leader's appends, heartbeats, snapshot chunks and transfer triggers, and a
   * follower's heartbeat acks, all at a term and vote already durable); else
   * after the Ready carrying it is durable (votes, vote and append responses:
   * they vouch for the term, vote or entries being on disk).
   */
  private send(m: Message): void {
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

  private hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  private softState(): SoftState {
    return { role: this.role, leader: this.leader, term: this.term };
  }

  private sameHard(a: HardState, b: HardState): boolean {
    return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
  }

  private sameSoft(a: SoftState, b: SoftState): boolean {
    return a.role === b.role && a.leader === b.leader && a.term === b.term;
  }
}
