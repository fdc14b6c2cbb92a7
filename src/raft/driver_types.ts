/**
 * raft/driver_types: what the Raft driver (RaftServer) is given and shares
 * between its parts: the RPC method names, what it needs of the RPC layer,
 * its dependencies, the default timer and turn scheduling, the errors its
 * callers see, and the shapes of waiting callers.
 *
 * Must never: hold state or import the driver's classes (it sits below them).
 */

import type { FsmStore } from "../server/fsm_store.ts";
import type { ApplyResult, Command } from "../state/types.ts";
import type { LogStore } from "../wal/types.ts";
import { CairnError } from "../shared/errors.ts";
import { isDeno } from "../platform/runtime.ts";
import { setImmediate } from "node:timers";
import type { NodeId, RaftConfig, Timing } from "./types.ts";

export const METHOD_MSGS = "Raft.Msgs";
export const METHOD_APPLY = "Raft.Apply";
export const METHOD_READ_INDEX = "Raft.ReadIndex";

/** What the driver needs of the RPC layer (RpcServer / RpcClient satisfy it). */
export interface RaftRpcServer {
  handle(method: string, h: (body: unknown) => unknown): void;
  unhandle(method: string): void;
}
export interface RaftRpcClient {
  call(addr: string, method: string, body: unknown, opts?: { timeoutMs?: number }): Promise<unknown>;
  cast(addr: string, method: string, body: unknown): boolean;
  /** Drop the connection to addr so the next send dials afresh (RpcClient has it; optional for fakes). */
  disconnect?(addr: string): void;
}

export type Logger = (level: "debug" | "info" | "warn" | "error", msg: string) => void;

export interface RaftServerDeps {
  readonly id: NodeId;
  /** This server's RPC address "ip:port" (sent with its messages, shown as the leader address). */
  readonly advertiseAddr: string;
  /** Known servers' RPC addresses; more are learned from the traffic they send. */
  readonly addresses: ReadonlyMap<NodeId, string>;
  /** Voters of a new cluster (bootstrap); ignored when the log already holds state. */
  readonly bootstrap?: readonly NodeId[];
  readonly timing: Timing;
  /** Overrides of the core's configuration. */
  readonly raft?: Partial<RaftConfig>;
  readonly log: LogStore;
  readonly store: FsmStore;
  readonly encode: (cmd: Command) => Uint8Array;
  readonly decode: (data: Uint8Array) => Command;
  readonly encodeResult: (r: ApplyResult) => Uint8Array;
  readonly decodeResult: (data: Uint8Array) => ApplyResult;
  readonly rpcServer: RaftRpcServer;
  readonly rpcClient: RaftRpcClient;
  /** Applied entries between snapshots (raft_snapshot_threshold); 0 disables. */
  readonly snapshotThreshold: number;
  /** Entries kept behind a snapshot (raft_trailing_logs). */
  readonly trailingLogs: number;
  /** Monotonic clock, ms. */
  readonly now: () => number;
  readonly random: () => number;
  /** Run fn after ms; returns a cancel function. */
  readonly schedule: (ms: number, fn: () => void) => () => void;
  readonly logger: Logger;
  /** How long writes and reads wait for a leader (default RAFT_LEADER_WAIT_ELECTIONS election timeouts). */
  readonly leaderWaitMs?: number;
  /** Called when this server becomes leader (true) or stops being leader (false): start/stop leader-only work. */
  readonly onLeadership?: (leader: boolean) => void;
  /** A broken invariant inside the driver (default: rethrown to crash the process). */
  readonly onFatal?: (e: unknown) => void;
  /**
   * Run fn once the current batch of I/O events has been handled (default: setImmediate
   * on Node; a microtask on Deno, which runs setImmediate rarely while sockets are busy).
   * The Ready loop runs there, so the proposals, messages and fsync completions of one
   * event-loop turn share one Ready.
   */
  readonly defer?: (fn: () => void) => void;
}

export const defaultDefer = (fn: () => void): void => {
  if (isDeno) queueMicrotask(fn);
  else setImmediate(fn);
};

/** setTimeout-based schedule for deps. */
export function timerSchedule(ms: number, fn: () => void): () => void {
  const t = setTimeout(fn, ms);
  return () => clearTimeout(t);
}

export interface PendingApply {
  readonly term: number;
  readonly resolve: (r: ApplyResult) => void;
  readonly reject: (e: unknown) => void;
}

export interface Waiter {
  readonly deadline: number;
  readonly resolve: (index: number) => void;
  readonly reject: (e: unknown) => void;
}

export interface ApplyWaiter extends Waiter {
  readonly index: number;
}

export type ForwardReply = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly leader: NodeId };

export const noLeader = (): CairnError => new CairnError("no-leader", "No cluster leader");
export const shuttingDown = (): CairnError => new CairnError("unavailable", "raft: server is shutting down");
export const leadershipLost = (): CairnError => new CairnError("internal", "leadership lost while committing log");

/** RaftServer's lifecycle. */
export type State = "new" | "running" | "closing" | "closed";
