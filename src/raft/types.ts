/**
 * raft/types: the wire messages, the Ready batch of effects, and the
 * configuration of the pure Raft core.
 *
 * Everything the core exchanges with the outside world is a plain value
 * defined here: messages in (step), ticks in (tick), and a Ready out
 * (entries/hard state to persist, messages to send, entries to apply, a
 * snapshot to install, read states to release).
 *
 * Must never: import runtime code, do I/O, or hold functions other than deps.
 */

import type { LogEntry } from "../wal/types.ts";

export type { LogEntry, EntryType } from "../wal/types.ts";

/** A server's stable identity (Consul: the node ID). */
export type NodeId = string;

/**
 * A cluster configuration. `voters` count for elections and commitment.
 * `learners` receive the log but never vote. `staging` are learners the
 * leader promotes to voters once they have caught up.
 */
export interface Membership {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
  readonly staging: readonly NodeId[];
  /**
   * Members' RPC addresses as known when the configuration was written (Consul's
   * raft Configuration carries them too), so a restarted server can reach its
   * peers before gossip tells it anything. Absent in older entries.
   */
  readonly addresses?: Readonly<Record<NodeId, string>>;
}

export type ConfChange =
  | { readonly type: "add-voter"; readonly id: NodeId; readonly address?: string } // joins as staging, promoted when caught up
  | { readonly type: "add-learner"; readonly id: NodeId; readonly address?: string } // permanent non-voter
  | { readonly type: "promote"; readonly id: NodeId } // learner/staging -> voter now
  | { readonly type: "remove"; readonly id: NodeId };

/** Persisted with the log: term and vote must be durable before any message that depends on them leaves. */
export interface HardState {
  readonly term: number;
  readonly vote: NodeId; // "" when none
  readonly commit: number;
}

/** A snapshot as Raft sees it: the state machine image plus the configuration at its index. */
export interface RaftSnapshot {
  readonly index: number;
  readonly term: number;
  readonly config: Membership;
  readonly data: Uint8Array;
}

export type Role = "follower" | "pre-candidate" | "candidate" | "leader";

export interface SoftState {
  readonly role: Role;
  readonly leader: NodeId; // "" when unknown
  readonly term: number;
}

/** A ReadIndex request released: reads tagged `ctx` may be served once applied >= index. */
export interface ReadState {
  readonly index: number;
  readonly ctx: string;
}

interface MessageBase {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
}

/** RequestVote / PreVote. A pre-vote carries the term the sender would campaign in. */
export interface VoteMessage extends MessageBase {
  readonly type: "vote";
  readonly preVote: boolean;
  readonly lastIndex: number;
  readonly lastTerm: number;
  /** Set when the election was started by a leadership transfer: voters ignore their lease. */
  readonly transfer: boolean;
}

export interface VoteResponse extends MessageBase {
  readonly type: "vote-resp";
  readonly preVote: boolean;
  readonly granted: boolean;
}

export interface AppendMessage extends MessageBase {
  readonly type: "append";
  readonly prevIndex: number;
  readonly prevTerm: number;
  readonly entries: readonly LogEntry[];
  readonly commit: number;
}

/**
 * On success `index` is the last index the follower now matches. On reject
 * `index` is the rejected prevIndex and (hintIndex, hintTerm) let the leader
 * skip a whole term of mismatching entries at once (fast backtracking).
 */
export interface AppendResponse extends MessageBase {
  readonly type: "append-resp";
  readonly success: boolean;
  readonly index: number;
  readonly hintIndex: number;
  readonly hintTerm: number;
}

/** Heartbeats carry a sequence number: acks of it prove leadership for ReadIndex and the lease. */
export interface HeartbeatMessage extends MessageBase {
  readonly type: "heartbeat";
  readonly commit: number;
  readonly seq: number;
}

export interface HeartbeatResponse extends MessageBase {
  readonly type: "heartbeat-resp";
  readonly seq: number;
}

/** One chunk of an InstallSnapshot transfer; `done` marks the last one. */
export interface SnapshotMessage extends MessageBase {
  readonly type: "snapshot";
  readonly index: number;
  readonly snapTerm: number;
  readonly config: Membership;
  readonly offset: number;
  readonly total: number;
  readonly chunk: Uint8Array;
}

/** `offset` is the next byte the follower expects; `done` once it has installed (or already had) it. */
export interface SnapshotResponse extends MessageBase {
  readonly type: "snapshot-resp";
  readonly index: number;
  readonly offset: number;
  readonly done: boolean;
}

/** Leadership transfer: the target starts an election at once. */
export interface TimeoutNowMessage extends MessageBase {
  readonly type: "timeout-now";
}

export type Message =
  | VoteMessage
  | VoteResponse
  | AppendMessage
  | AppendResponse
  | HeartbeatMessage
  | HeartbeatResponse
  | SnapshotMessage
  | SnapshotResponse
  | TimeoutNowMessage;

export type MessageType = Message["type"];

/**
 * One batch of effects. Storage writes are asynchronous (Raft thesis §10.2.1):
 * the driver may call ready() again before an earlier Ready is durable (up to
 * a bound of its own), and each Ready hands out only what earlier ones did
 * not. For every Ready, the driver:
 *  1. queues its writes behind those of every earlier Ready: `snapshot`
 *     (replacing the log), `hardState`'s term and vote, then `entries` (if
 *     entries[0].index <= its last index, truncate from there first); they must
 *     become durable in that order (fsync when `mustSync`);
 *  2. sends `messages` at once: they depend only on state already durable
 *     (a leader's appends go out in parallel with its own log write);
 *  3. applies `committed` in order, now (they are committed and durable here;
 *     the core never hands out an entry beyond min(commit, durable)), reports
 *     it with applied(lastIndex), and serves the reads in `readStates` once
 *     applied >= their index;
 *  4. once this Ready's writes and all earlier ones are durable, in the order
 *     the Readies were handed out: restores the state machine from
 *     `snapshot`, sends `messagesAfterPersist` (votes, vote/append/snapshot
 *     responses, and anything sent at a term or vote still being written), and
 *     calls persisted(ready). A Ready without writes still waits for the earlier
 *     ones: its messages may vouch for their entries.
 * A driver with synchronous storage may do 1, 2, 4, 3 and call advance(ready).
 */
export interface Ready {
  readonly soft: SoftState | undefined;
  readonly hardState: HardState | undefined;
  readonly snapshot: RaftSnapshot | undefined;
  readonly entries: readonly LogEntry[];
  /** Send now. */
  readonly messages: readonly Message[];
  /** Send once this Ready (and every earlier one) is durable. */
  readonly messagesAfterPersist: readonly Message[];
  readonly committed: readonly LogEntry[];
  readonly readStates: readonly ReadState[];
  readonly mustSync: boolean;
}

/** Timing in ticks; the driver ticks every `tickMs` of its own clock. */
export interface Timing {
  readonly tickMs: number;
  /** Leader heartbeat interval. */
  readonly heartbeatTicks: number;
  /** Minimum election timeout; the randomized one is in [electionTicks, 2*electionTicks). */
  readonly electionTicks: number;
  /** Leader lease: a leader serves lease reads this long after a quorum acked a heartbeat. */
  readonly leaseTicks: number;
}

export interface RaftConfig {
  readonly id: NodeId;
  readonly timing: Timing;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly maxAppendEntries: number;
  readonly maxAppendBytes: number;
  readonly maxInflight: number;
  readonly maxUncommitted: number;
  readonly snapshotChunkBytes: number;
  /** Ticks without a snapshot-resp before the leader resends the current chunk. */
  readonly snapshotResendTicks: number;
}

export interface RaftDeps {
  /** Uniform float in [0, 1): election jitter. Seeded in tests. */
  readonly random: () => number;
  readonly logger?: (level: "debug" | "info" | "warn", msg: string) => void;
}

/** What the driver found on disk at start. */
export interface RaftBoot {
  readonly hardState: { readonly term: number; readonly vote: NodeId };
  readonly snapshot: RaftSnapshot | undefined;
  /** Entries after the snapshot, contiguous. */
  readonly entries: readonly LogEntry[];
}

/** The outcome of propose(): where the entry went, or why it was refused. */
export type ProposeResult =
  | { readonly ok: true; readonly index: number; readonly term: number }
  | { readonly ok: false; readonly reason: "not-leader" | "transferring" | "too-many" | "conf-pending" | "invalid"; readonly leader: NodeId };

export interface Status {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: number;
  readonly vote: NodeId;
  readonly leader: NodeId;
  readonly commit: number;
  readonly applied: number;
  readonly lastIndex: number;
  readonly firstIndex: number;
  readonly snapshotIndex: number;
  readonly config: Membership;
  readonly progress: ReadonlyArray<{ id: NodeId; match: number; next: number; state: string }>;
}
