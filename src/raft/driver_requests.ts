/**
 * raft/driver_requests: the Raft driver's (RaftServer's) write and read
 * paths. Writes are proposed here when this server leads, else forwarded to
 * the leader ("Raft.Apply"), retried only while their fate is known (never
 * reached the leader, or refused by a server that is not the leader). Reads
 * get their read index from the leader's lease or a ReadIndex round, here or
 * at the leader ("Raft.ReadIndex"). Both serve the leader's side of those RPCs.
 *
 * Must never: retry a forwarded write whose fate is unknown, wait past the
 * caller's deadline, or hold more than MAX_PENDING_WRITES proposals or
 * RAFT_MAX_PENDING_READS reads.
 */

import type { ApplyResult } from "../state/types.ts";
import { CairnError } from "../shared/errors.ts";
import { MAX_PENDING_WRITES, RAFT_FORWARD_RETRY_MS, RAFT_MAX_PENDING_READS } from "../shared/limits.ts";
import type { RaftCore } from "./core.ts";
import type { Peers } from "./driver_peers.ts";
import type { RaftServerDeps } from "./driver_types.ts";
import { leadershipLost, METHOD_APPLY, METHOD_READ_INDEX, noLeader, shuttingDown } from "./driver_types.ts";
import type { Waiters } from "./driver_waiters.ts";
import type { NodeId } from "./types.ts";

/** What the request paths ask of the RaftServer they serve. */
export interface RequestsHost {
  /** The server is running (started, not closing). */
  readonly running: () => boolean;
  readonly core: () => RaftCore;
  /** Ask for a turn of the Ready loop. */
  readonly pump: () => void;
  /** The leader named by the last soft state taken ("" when none). */
  readonly softLeader: () => NodeId;
}

export class Requests {
  private readonly id: NodeId;
  private readonly deps: RaftServerDeps;
  private readonly waiters: Waiters;
  private readonly peers: Peers;
  /** How long writes and reads wait for a leader. */
  private readonly leaderWaitMs: number;
  private readonly host: RequestsHost;
  private readonly tickMs: number;
  private readSeq = 0;

  constructor(deps: RaftServerDeps, waiters: Waiters, peers: Peers, leaderWaitMs: number, host: RequestsHost) {
    this.id = deps.id;
    this.deps = deps;
    this.waiters = waiters;
    this.peers = peers;
    this.leaderWaitMs = leaderWaitMs;
    this.host = host;
    this.tickMs = deps.timing.tickMs;
  }

  // ---------------------------------------------------------------- writes

  async applyLoop(data: Uint8Array, deadline: number): Promise<ApplyResult> {
    for (;;) {
      if (!this.host.running()) throw shuttingDown();
      const local = this.proposeLocal(data);
      if (local.kind === "proposed") return local.promise;
      if (local.kind === "retry") {
        if (this.deps.now() >= deadline) throw noLeader();
        await this.waiters.waitChange(Math.min(RAFT_FORWARD_RETRY_MS, deadline - this.deps.now()));
        continue;
      }
      const lid = local.leader;
      const addr = lid === "" ? undefined : this.peers.addressOf(lid);
      if (addr === undefined) {
        if (this.deps.now() >= deadline) throw noLeader();
        await this.waiters.waitChange(Math.min(this.tickMs, deadline - this.deps.now()));
        continue;
      }
      const reply = await this.peers.forward(addr, METHOD_APPLY, { data }, deadline);
      if (reply === undefined || !reply.ok) {
        if (this.deps.now() >= deadline) throw noLeader();
        await this.waiters.waitChange(Math.min(RAFT_FORWARD_RETRY_MS, deadline - this.deps.now()));
        continue;
      }
      if (!(reply.value instanceof Uint8Array)) throw new CairnError("internal", "raft: malformed apply reply from the leader");
      return this.deps.decodeResult(reply.value);
    }
  }

  /** Propose on this server if it leads. */
  proposeLocal(
    data: Uint8Array,
  ): { kind: "proposed"; promise: Promise<ApplyResult> } | { kind: "not-leader"; leader: NodeId } | { kind: "retry" } {
    if (this.waiters.pendingApplies.size >= MAX_PENDING_WRITES) {
      throw new CairnError("rate-limited", "Too many pending writes; try again later");
    }
    const r = this.host.core().propose(data);
    if (r.ok) {
      const old = this.waiters.pendingApplies.get(r.index);
      if (old !== undefined) {
        this.waiters.pendingApplies.delete(r.index);
        old.reject(leadershipLost());
      }
      const promise = new Promise<ApplyResult>((resolve, reject) => {
        this.waiters.pendingApplies.set(r.index, { term: r.term, resolve, reject });
      });
      this.host.pump();
      return { kind: "proposed", promise };
    }
    switch (r.reason) {
      case "not-leader":
        return { kind: "not-leader", leader: r.leader };
      case "transferring":
        return { kind: "retry" };
      case "too-many":
        throw new CairnError("rate-limited", "Too many uncommitted writes; try again later");
      case "conf-pending":
      case "invalid":
        throw new CairnError("internal", `raft: proposal refused (${r.reason})`);
    }
  }


  /** "Raft.Apply" at the leader: {data} -> {ok, value: encoded result} | {ok: false, leader}. */
  async onForwardedApply(body: unknown): Promise<unknown> {
    if (!this.host.running()) throw shuttingDown();
    const data = typeof body === "object" && body !== null ? (body as Record<string, unknown>).data : undefined;
    if (!(data instanceof Uint8Array)) throw new CairnError("bad-request", "raft: Raft.Apply needs {data: bytes}");
    this.deps.decode(data); // validates before it reaches every FSM
    const local = this.proposeLocal(data);
    if (local.kind === "proposed") return { ok: true, value: this.deps.encodeResult(await local.promise) };
    return { ok: false, leader: local.kind === "not-leader" ? local.leader : this.id };
  }

  // ---------------------------------------------------------------- reads

  /** The index a read in `mode` must wait for (after the leader confirmed it). */
  async readPoint(mode: "default" | "consistent", deadline: number): Promise<number> {
    for (;;) {
      if (!this.host.running()) throw noLeader();
      const local = this.readIndexLocal(mode, deadline);
      if (local !== undefined) return local;
      const lid = this.host.core().status().leader;
      const addr = lid === "" || lid === this.id ? undefined : this.peers.addressOf(lid);
      if (addr !== undefined) {
        const reply = await this.peers.forward(addr, METHOD_READ_INDEX, { mode }, deadline);
        if (reply !== undefined && reply.ok) {
          if (typeof reply.value !== "number") throw new CairnError("internal", "raft: malformed read index reply");
          return reply.value;
        }
      }
      if (this.deps.now() >= deadline) throw noLeader();
      await this.waiters.waitChange(Math.min(addr === undefined ? this.tickMs : RAFT_FORWARD_RETRY_MS, deadline - this.deps.now()));
    }
  }

  /** On the leader: the read index (lease or ReadIndex round); undefined when not the leader. */
  readIndexLocal(mode: "default" | "consistent", deadline: number): Promise<number> | undefined {
    if (mode === "default") {
      const idx = this.host.core().leaseRead();
      if (idx !== undefined) return Promise.resolve(idx);
    }
    if (this.waiters.pendingReads.size >= RAFT_MAX_PENDING_READS) throw new CairnError("rate-limited", "Too many pending reads; try again later");
    const ctx = `${this.id}/${++this.readSeq}`;
    if (!this.host.core().readIndex(ctx)) return undefined;
    const p = new Promise<number>((resolve, reject) => this.waiters.pendingReads.set(ctx, { deadline, resolve, reject }));
    this.host.pump();
    return p;
  }

  /** "Raft.ReadIndex" at the leader: {mode} -> {ok, value: index} | {ok: false, leader}. */
  async onForwardedRead(body: unknown): Promise<unknown> {
    if (!this.host.running()) throw shuttingDown();
    const mode = typeof body === "object" && body !== null ? (body as Record<string, unknown>).mode : undefined;
    if (mode !== "default" && mode !== "consistent") throw new CairnError("bad-request", "raft: Raft.ReadIndex needs {mode}");
    const p = this.readIndexLocal(mode, this.deps.now() + this.leaderWaitMs);
    if (p === undefined) return { ok: false, leader: this.host.softLeader() === this.id ? "" : this.host.softLeader() };
    return { ok: true, value: await p };
  }
}
