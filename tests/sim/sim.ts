/**
 * tests/sim/sim: the deterministic cluster simulator.
 *
 * Everything comes from one seed: the cluster shape (voters, spare servers),
 * feature switches, clock drift, network and disk behaviour, the fault
 * schedule and the clients' operations. A run has a safety phase (faults:
 * partitions, crashes that lose unsynced writes, drops, duplicates, long
 * delays, leadership transfers, membership changes, while clients write and
 * read) and then a liveness phase (everything healed: the cluster must elect
 * a leader, serve a client and converge). Checkers watch election safety,
 * state machine safety, leader completeness and log matching during the run;
 * the clients' history is checked for linearizability at the end.
 *
 * Must never: read the wall clock or Math.random; a seed replays exactly.
 */

import { bootstrapEntries, membership, isMember } from "../../src/raft/index.ts";
import type { ConfChange, Message, RaftConfig } from "../../src/raft/index.ts";
import { createRng } from "../../src/shared/rng.ts";
import { SafetyChecker } from "./checkers.ts";
import { kvModel } from "./kv.ts";
import type { KvInput, KvOutput } from "./kv.ts";
import { checkHistory } from "./linearizability.ts";
import type { Operation } from "./linearizability.ts";
import { CALM, SimNetwork } from "./network.ts";
import type { NetworkFaults } from "./network.ts";
import { EventQueue } from "./queue.ts";
import { SimServer } from "./server.ts";
import type { ClientReply, ClientRequest, ReadMode } from "./server.ts";

export interface SimOptions {
  readonly seed: number;
  /** Simulated ms of the safety phase (faults). */
  readonly safetyMs?: number;
  /** Simulated ms the healed cluster has to converge. */
  readonly livenessMs?: number;
  /** Overrides of every core's config (used to inject bugs in tests). */
  readonly raft?: Partial<RaftConfig>;
  readonly log?: (line: string) => void;
}

export interface SimResult {
  readonly seed: number;
  readonly ok: boolean;
  readonly failures: string[];
  readonly summary: string;
  readonly stats: {
    readonly events: number;
    readonly simMs: number;
    readonly ops: number;
    readonly unknownOps: number;
    readonly leaders: number;
    readonly maxCommitted: number;
    readonly crashes: number;
    readonly messages: number;
    readonly linearizability: string;
  };
}

const TIMING = { tickMs: 100, heartbeatTicks: 1, electionTicks: 10, leaseTicks: 5 };
const CLIENT_TIMEOUT_MS = 3000;
const MAX_EVENTS = 3_000_000;
const MAX_NOT_LEADER_RETRIES = 6;

interface Client {
  readonly id: number;
  target: string;
  reqId: number;
  current: { input: KvInput; call: number; tries: number; readMode: ReadMode } | undefined;
}

export function runSimulation(opts: SimOptions): SimResult {
  const rng = createRng(opts.seed);
  const safetyMs = opts.safetyMs ?? 20_000;
  const livenessMs = opts.livenessMs ?? 30_000;
  const log = opts.log ?? ((): void => {});
  const queue = new EventQueue();
  let now = 0;
  let stampCounter = 0;
  const stamp = (): number => ++stampCounter;
  const schedule = (delay: number, run: () => void): void => queue.push(now + Math.max(0, delay), run);

  // ---- cluster shape and knobs, all from the seed
  const voterCount = rng.pick([3, 3, 5]);
  const spareCount = rng.int(0, 2);
  const ids = Array.from({ length: voterCount + spareCount }, (_, i) => `s${i + 1}`);
  const initialVoters = ids.slice(0, voterCount);
  const preVote = rng.chance(0.8);
  const maxDrift = rng.pick([0, 0.02, 0.05, 0.1]);
  const snapshotThreshold = rng.pick([0, 15, 30, 60]);
  const maxAppendEntries = rng.pick([1, 2, 8, 64]);
  const maxInflight = rng.pick([1, 4, 256]);
  /** Chance that a new leader crashes within a few hundred ms (flaky leaders, Figure 8 shapes). */
  const leaderCrashRate = rng.pick([0, 0, 0.15, 0.4]);
  const netRng = rng.fork();
  const leaderCrashRng = rng.fork();
  /**
   * Chance that a server crashes right after answering a write (its later fsyncs still in
   * flight): aims at the window of pipelined storage writes, where an answer must rest only
   * on entries durable on a quorum.
   */
  const replyCrashRate = rng.pick([0, 0, 0.01, 0.05]);
  const replyCrashRng = rng.fork();
  const net = new SimNetwork(netRng);
  const checker = new SafetyChecker();
  const servers = new Map<string, SimServer>();
  const failures: string[] = [];
  let crashes = 0;

  const sendRaft = (m: Message): void => {
    for (const d of net.route(m.from, m.to)) schedule(d, () => servers.get(m.to)?.receive(m));
  };

  // ---- clients
  const history: Operation<KvInput, KvOutput>[] = [];
  let clientsActive = true;
  let unknownOps = 0;
  const keys = ["a", "b", "c", "d"].slice(0, rng.int(1, 4));
  const clientRng = rng.fork();
  const clients: Client[] = Array.from({ length: rng.int(2, 5) }, (_, i) => ({ id: i, target: clientRng.pick(ids), reqId: 0, current: undefined }));
  const clientLink = (d: () => void): void => {
    // Client traffic is delayed and may be lost, but never duplicated (requests are not idempotent).
    if (netRng.chance(net.faults.dropRate / 2)) return;
    schedule(net.faults.delayMinMs + netRng.float() * (net.faults.delayMaxMs - net.faults.delayMinMs), d);
  };
  let valueCounter = 0;
  const leaseAllowed = opts.raft?.checkQuorum !== false;
  const nextInput = (): { input: KvInput; readMode: ReadMode } => {
    const key = clientRng.pick(keys);
    const r = clientRng.float();
    const modes: ReadMode[] = leaseAllowed ? ["log", "readindex", "lease", "lease"] : ["log", "readindex"];
    if (r < 0.4) return { input: { op: "put", key, value: `v${++valueCounter}` }, readMode: "log" };
    if (r < 0.55) {
      const expect = clientRng.chance(0.3) ? null : `v${clientRng.int(Math.max(1, valueCounter - 3), Math.max(1, valueCounter))}`;
      return { input: { op: "cas", key, expect, value: `v${++valueCounter}` }, readMode: "log" };
    }
    return { input: { op: "get", key }, readMode: clientRng.pick(modes) };
  };
  const sendRequest = (c: Client): void => {
    const cur = c.current!;
    const req: ClientRequest = { client: c.id, reqId: c.reqId, input: cur.input, readMode: cur.readMode };
    const target = c.target;
    clientLink(() => servers.get(target)?.request(req));
  };
  const issue = (c: Client): void => {
    if (!clientsActive) return;
    const { input, readMode } = nextInput();
    c.reqId++;
    c.current = { input, call: stamp(), tries: 0, readMode };
    const reqId = c.reqId;
    sendRequest(c);
    schedule(CLIENT_TIMEOUT_MS, () => {
      if (c.reqId !== reqId || c.current === undefined) return;
      // Unknown outcome: the op may take effect at any later time, or never.
      if (c.current.input.op !== "get") {
        history.push({ client: c.id, input: c.current.input, output: undefined, call: c.current.call, ret: Infinity });
        unknownOps++;
      }
      c.current = undefined;
      c.target = clientRng.pick(ids);
      schedule(clientRng.int(1, 50), () => issue(c));
    });
  };
  const onReply = (clientId: number, r: ClientReply): void => {
    const c = clients[clientId]!;
    if (c.current === undefined || r.reqId !== c.reqId) return;
    const next = (): void => {
      c.current = undefined;
      c.reqId++; // retire the timeout of this op
      schedule(clientRng.int(1, 100), () => issue(c));
    };
    switch (r.kind) {
      case "ok":
        history.push({ client: c.id, input: c.current.input, output: r.output, call: c.current.call, ret: stamp() });
        next();
        return;
      case "failed": // definitely not applied: drop from the history
        next();
        return;
      case "not-leader":
        c.target = r.leader !== "" && r.leader !== c.target ? r.leader : clientRng.pick(ids);
        if (++c.current.tries > MAX_NOT_LEADER_RETRIES) {
          next();
          return;
        }
        schedule(clientRng.int(5, 60), () => {
          if (c.current !== undefined && c.reqId === r.reqId) sendRequest(c);
        });
        return;
    }
  };

  // ---- servers
  for (const id of ids) {
    const s = new SimServer(
      id,
      {
        now: () => now,
        schedule,
        sendRaft,
        reply: (client, r) => {
          clientLink(() => onReply(client, r));
          if (r.kind === "ok" && now < safetyMs && replyCrashRng.chance(replyCrashRate)) {
            schedule(0, () => {
              const s = servers.get(id)!;
              if (!s.up || now >= safetyMs) return;
              s.crash();
              crashes++;
              log(`${now.toFixed(0)}ms crash ${id} after a reply`);
              schedule(replyCrashRng.int(50, 3000), () => {
                if (!s.up) s.start();
              });
            });
          }
        },
        onApply: (sid, e) => checker.onApply(sid, e),
        onReady: (sid, core, rd) => {
          if (rd.soft === undefined || rd.soft.role !== "leader") return;
          checker.onLeader(sid, rd.soft.term, core);
          if (now < safetyMs && leaderCrashRng.chance(leaderCrashRate)) {
            const s = servers.get(sid)!;
            const term = rd.soft.term;
            schedule(leaderCrashRng.int(1, 300), () => {
              if (!s.up || s.core!.status().term !== term || now >= safetyMs) return;
              s.crash();
              crashes++;
              log(`${now.toFixed(0)}ms crash new leader ${sid}`);
              schedule(leaderCrashRng.int(50, 3000), () => {
                if (!s.up) s.start();
              });
            });
          }
        },
        rng: rng.fork(),
      },
      {
        timing: TIMING,
        drift: (rng.float() * 2 - 1) * maxDrift,
        snapshotThreshold,
        trailing: rng.int(2, 10),
        snapshotChunkBytes: rng.pick([16, 64, 256]),
        fsyncMinMs: 0.5,
        fsyncMaxMs: rng.pick([2, 10, 30]),
        raft: { preVote, maxAppendEntries, maxInflight, ...opts.raft },
      },
    );
    if (initialVoters.includes(id)) {
      s.disk.write({ type: "entries", entries: bootstrapEntries(membership(initialVoters)) });
      s.disk.fsync();
    }
    servers.set(id, s);
  }
  const summary =
    `seed=${opts.seed} servers=${ids.length} voters=${voterCount} preVote=${preVote} drift=${maxDrift} ` +
    `snapshotEvery=${snapshotThreshold} batch=${maxAppendEntries} inflight=${maxInflight} leaderCrash=${leaderCrashRate} replyCrash=${replyCrashRate} keys=${keys.length} clients=${clients.length}`;
  log(summary);
  for (const s of servers.values()) s.start();
  for (const c of clients) schedule(clientRng.int(0, 200), () => issue(c));

  // ---- faults (safety phase)
  const faultRng = rng.fork();
  const upServers = (): SimServer[] => [...servers.values()].filter((s) => s.up);
  const currentLeader = (): SimServer | undefined => {
    let best: SimServer | undefined;
    for (const s of upServers()) {
      const st = s.core!.status();
      if (st.role === "leader" && (best === undefined || st.term > best.core!.status().term)) best = s;
    }
    return best;
  };
  const randomFaults = (): NetworkFaults => ({
    dropRate: faultRng.pick([0, 0.01, 0.05, 0.15]),
    duplicateRate: faultRng.pick([0, 0.01, 0.05]),
    delayMinMs: faultRng.int(0, 5),
    delayMaxMs: faultRng.int(5, 60),
    longDelayRate: faultRng.pick([0, 0.01, 0.05]),
    longDelayMs: faultRng.int(100, 2000),
  });
  net.faults = randomFaults();
  const injectFault = (): void => {
    if (now >= safetyMs) return;
    const r = faultRng.float();
    const up = upServers();
    if (r < 0.2) {
      const side = ids.filter(() => faultRng.chance(0.5));
      const oneWay = faultRng.chance(0.3);
      for (const a of side) for (const b of ids) if (!side.includes(b)) {
        net.block(a, b);
        if (!oneWay) net.block(b, a);
      }
      log(`${now.toFixed(0)}ms partition [${side.join(",")}]${oneWay ? " one-way" : ""}`);
    } else if (r < 0.35) {
      net.heal();
      log(`${now.toFixed(0)}ms heal`);
    } else if (r < 0.5 && up.length > 0) {
      const victims = faultRng.chance(0.2) ? up.filter(() => faultRng.chance(0.6)) : [faultRng.pick(up)];
      for (const v of victims) {
        v.crash();
        crashes++;
        const downFor = faultRng.int(100, 4000);
        schedule(downFor, () => {
          if (!v.up) {
            v.restarts++;
            v.start();
          }
        });
      }
      log(`${now.toFixed(0)}ms crash [${victims.map((v) => v.id).join(",")}]`);
    } else if (r < 0.6) {
      net.faults = randomFaults();
    } else if (r < 0.7) {
      const l = currentLeader();
      if (l !== undefined) {
        for (const b of ids) if (b !== l.id) {
          net.block(l.id, b);
          net.block(b, l.id);
        }
        log(`${now.toFixed(0)}ms isolate leader ${l.id}`);
      }
    } else if (r < 0.8) {
      const l = currentLeader();
      if (l !== undefined) {
        const to = faultRng.pick(ids.filter((x) => x !== l.id));
        const started = l.core!.transferLeadership(to);
        log(`${now.toFixed(0)}ms transfer ${l.id} -> ${to}: ${started}`);
        l.pump();
      }
    } else if (r < 0.92) {
      const l = currentLeader();
      if (l !== undefined) {
        const cfg = l.core!.config();
        const spare = ids.filter((x) => !isMember(cfg, x));
        let change: ConfChange | undefined;
        if (spare.length > 0 && faultRng.chance(0.6)) change = { type: "add-voter", id: faultRng.pick(spare) };
        else if (cfg.voters.length > 3) change = { type: "remove", id: faultRng.pick(cfg.voters) };
        else if (cfg.staging.length + cfg.learners.length > 0) change = { type: "remove", id: faultRng.pick([...cfg.staging, ...cfg.learners]) };
        if (change !== undefined) {
          const res = l.core!.proposeConfChange(change);
          log(`${now.toFixed(0)}ms conf ${change.type} ${change.id} on ${l.id}: ${res.ok ? `index ${res.index}` : res.reason}`);
          l.pump();
        }
      }
    } else {
      net.heal();
      net.faults = { ...CALM };
      log(`${now.toFixed(0)}ms calm`);
    }
    schedule(faultRng.int(100, 2500), injectFault);
  };
  schedule(faultRng.int(200, 1500), injectFault);

  // ---- periodic log matching
  const checkLogs = (): void => {
    checker.checkLogs(upServers().map((s) => s.core!));
    schedule(1000, checkLogs);
  };
  schedule(1000, checkLogs);

  // ---- liveness phase
  let converged = false;
  let healedAt = Infinity;
  let opsAtHeal = 0;
  schedule(safetyMs, () => {
    healedAt = now;
    net.heal();
    net.faults = { ...CALM };
    for (const s of servers.values()) if (!s.up) s.start();
    opsAtHeal = history.length;
    log(`${now.toFixed(0)}ms liveness phase: healed`);
  });
  const livenessCheck = (): void => {
    if (now < healedAt) {
      schedule(500, livenessCheck);
      return;
    }
    const served = history.slice(opsAtHeal).some((o) => o.ret !== Infinity && o.call > 0);
    if (served) clientsActive = false;
    const l = currentLeader();
    if (served && l !== undefined) {
      const st = l.core!.status();
      const cfg = st.config;
      const all = [...cfg.voters, ...cfg.learners, ...cfg.staging];
      const caughtUp = all.every((id) => {
        const s = servers.get(id)!;
        return s.up && s.applied === st.commit;
      });
      if (caughtUp && l.core!.termAt(st.commit) === st.term && clients.every((c) => c.current === undefined)) {
        converged = true;
        return;
      }
    }
    schedule(500, livenessCheck);
  };
  schedule(safetyMs, livenessCheck);

  // ---- run
  const deadline = safetyMs + livenessMs;
  let events = 0;
  try {
    while (queue.size > 0 && !converged && checker.violations.length === 0) {
      if (queue.peekTime() > deadline) break;
      if (++events > MAX_EVENTS) {
        failures.push(`runaway: more than ${MAX_EVENTS} events`);
        break;
      }
      const e = queue.pop()!;
      now = e.at;
      e.run();
    }
  } catch (e) {
    failures.push(`crash at ${now.toFixed(0)}ms: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  }
  checker.checkLogs(upServers().map((s) => s.core!));
  failures.push(...checker.violations);
  if (failures.length === 0 && !converged) {
    const l = currentLeader();
    const state = [...servers.values()].map((s) => (s.up ? `${s.id}:${s.core!.status().role}/t${s.core!.status().term}/c${s.core!.status().commit}/a${s.applied}` : `${s.id}:down`));
    failures.push(`liveness: no convergence ${livenessMs}ms after healing (leader ${l?.id ?? "none"}; ${state.join(" ")})`);
  }
  let lin = "skipped";
  if (failures.length === 0) {
    const r = checkHistory(kvModel, history, (i) => i.key);
    lin = r.result;
    if (r.result === "illegal") failures.push(`linearizability: history of key ${r.key} is not linearizable`);
  }
  return {
    seed: opts.seed,
    ok: failures.length === 0,
    failures,
    summary,
    stats: {
      events,
      simMs: Math.round(now),
      ops: history.length,
      unknownOps,
      leaders: checker.leaderChanges,
      maxCommitted: checker.maxCommitted,
      crashes,
      messages: net.sent,
      linearizability: lin,
    },
  };
}
