/**
 * raft/driver_ready: the Raft driver's (RaftServer's) Ready loop, storage
 * half. A turn completes the Readies whose writes are durable (in order:
 * install the snapshot, send messagesAfterPersist, persisted()), then takes
 * what the core has ready while fewer than RAFT_MAX_INFLIGHT_READIES are being
 * written: the host carries out a Ready's effects (soft state, messages,
 * apply, reads), and its writes are queued to the LogStore (snapshot, hard
 * state, entries; the WAL keeps their order). A Ready that truncates the log
 * or installs a snapshot is held until every earlier Ready is durable.
 *
 * Must never: complete Readies out of order, send a Ready's
 * messagesAfterPersist before it and every earlier Ready are durable, start a
 * rewriting Ready's writes while earlier ones are in flight, or run turns
 * re-entrantly.
 */

import { RAFT_MAX_INFLIGHT_READIES } from "../shared/limits.ts";
import type { RaftCore } from "./core.ts";
import type { RaftServerDeps, State } from "./driver_types.ts";
import { defaultDefer } from "./driver_types.ts";
import type { Waiters } from "./driver_waiters.ts";
import { encodeSnapshotEnvelope } from "./driver_wire.ts";
import type { Message, RaftSnapshot, Ready } from "./types.ts";

/** A Ready taken from the core whose completion (durable, then messagesAfterPersist, persisted()) is pending. */
interface InFlight {
  readonly rd: Ready;
  /** This Ready's own writes are durable. */
  done: boolean;
}

/** What the Ready loop uses of the RaftServer it runs for. */
export interface ReadyHost {
  readonly state: () => State;
  readonly core: () => RaftCore;
  /** Steps 1-3 of the Ready contract but for the writes: soft state, messages now, apply, reads. */
  readonly takeEffects: (rd: Ready) => void;
  readonly installSnapshot: (s: RaftSnapshot) => void;
  readonly send: (msgs: readonly Message[]) => void;
  readonly releaseApplied: () => void;
  /** After each turn (snapshots). */
  readonly afterReady: () => void;
  readonly fatal: (e: unknown) => void;
}

export class ReadyLoop {
  private readonly deps: RaftServerDeps;
  private readonly waiters: Waiters;
  private readonly host: ReadyHost;
  /** The hard state last written and the WAL's last index (set from recovery before the first turn). */
  hard = { term: 0, vote: "" };
  walLast = 0;
  /** Readies taken, in order, not yet completed; a held one waits for all of them before its writes start. */
  private inflight: InFlight[] = [];
  private held: Ready | undefined;
  private turning = false;
  private turnAgain = false;
  private turnScheduled = false;

  constructor(deps: RaftServerDeps, waiters: Waiters, host: ReadyHost) {
    this.deps = deps;
    this.waiters = waiters;
    this.host = host;
  }

  /** No Ready in flight or held. */
  idle(): boolean {
    return this.inflight.length === 0 && this.held === undefined;
  }

  /** Run a turn once the current I/O events are handled (one turn for all of them). */
  scheduleTurn(): void {
    if (this.turnScheduled) return;
    this.turnScheduled = true;
    (this.deps.defer ?? defaultDefer)(this.deferredTurn);
  }

  private readonly deferredTurn = (): void => {
    this.turnScheduled = false;
    if (this.host.state() === "closed") return;
    this.turn();
  };

  /**
   * Complete what is durable, take what the core has ready (within the bound),
   * repeat until nothing moves. Re-entrant calls (from callbacks run inside)
   * only ask for another round.
   */
  turn(): void {
    if (this.turning) {
      this.turnAgain = true;
      return;
    }
    this.turning = true;
    try {
      do {
        this.turnAgain = false;
        this.completeDurable();
        while (this.host.state() === "running" && this.held === undefined && this.inflight.length < RAFT_MAX_INFLIGHT_READIES && this.host.core().hasReady()) {
          this.take(this.host.core().ready());
          this.completeDurable();
        }
      } while (this.turnAgain);
    } catch (e) {
      this.turning = false;
      this.host.fatal(e);
      return;
    }
    this.turning = false;
    this.host.afterReady();
    if (this.inflight.length === 0 && this.held === undefined) this.waiters.notifyIdle();
  }

  /** Steps 1-3 of the Ready contract: soft state, messages now, apply, reads (the host), queue the writes. */
  private take(rd: Ready): void {
    this.host.takeEffects(rd);
    const rewrites = rd.snapshot !== undefined || (rd.entries.length > 0 && rd.entries[0]!.index <= this.walLast);
    if (rewrites && this.inflight.length > 0) {
      this.held = rd;
      return;
    }
    this.issue(rd);
  }

  /** Queue a Ready's writes; it completes (in order) once they are durable. */
  private issue(rd: Ready): void {
    const d = this.deps;
    const f: InFlight = { rd, done: false };
    this.inflight.push(f);
    const waits: Array<Promise<void>> = [];
    if (rd.snapshot !== undefined) {
      const s = rd.snapshot;
      if (this.walLast > s.index) waits.push(d.log.truncateSuffix(s.index + 1));
      waits.push(d.log.saveSnapshot({ index: s.index, term: s.term, data: encodeSnapshotEnvelope(s.config, s.data) }, 0, { owned: true }));
      this.walLast = s.index;
    }
    const hs = rd.hardState;
    if (hs !== undefined && (hs.term !== this.hard.term || hs.vote !== this.hard.vote)) {
      waits.push(d.log.setHardState(hs.term, hs.vote));
      this.hard = { term: hs.term, vote: hs.vote };
    }
    if (rd.entries.length > 0) {
      const first = rd.entries[0]!.index;
      const last = rd.entries[rd.entries.length - 1]!.index;
      if (first <= this.walLast) waits.push(d.log.truncateSuffix(first));
      d.log.append(rd.entries);
      this.walLast = last;
      waits.push(this.waiters.waitDurable(last));
    }
    if (waits.length === 0) {
      f.done = true;
      return;
    }
    const settled = waits.length === 1 ? waits[0]! : Promise.all(waits);
    settled.then(
      () => {
        f.done = true;
        this.scheduleTurn();
      },
      (e: unknown) => this.host.fatal(e),
    );
  }

  /**
   * Step 4 of the Ready contract for every Ready at the head of the queue whose
   * writes are durable; their messages leave together (one batch per peer).
   */
  private completeDurable(): void {
    for (;;) {
      let out: Message[] | undefined;
      while (this.inflight.length > 0 && this.inflight[0]!.done) {
        const { rd } = this.inflight.shift()!;
        if (rd.snapshot !== undefined) this.host.installSnapshot(rd.snapshot);
        if (rd.messagesAfterPersist.length > 0) {
          if (out === undefined) out = [...rd.messagesAfterPersist];
          else for (const m of rd.messagesAfterPersist) out.push(m);
        }
        this.host.core().persisted(rd);
        this.host.releaseApplied();
      }
      if (out !== undefined) this.host.send(out);
      if (this.inflight.length > 0 || this.held === undefined) return;
      const rd = this.held;
      this.held = undefined;
      this.issue(rd);
    }
  }
}
