/**
 * bench/gossip: the pure SWIM core simulated at 10, 100 and 1,000 members in one
 * process (seeded network with loss and 1-10 ms delay; packets through the real
 * codec). For each size: how long one new member's alive takes to reach everyone
 * (dissemination), and after a SIGKILL-like stop how long until the first member
 * suspects it, the first declares it dead, and all know it is dead; false positives.
 * memberlist's/SWIM's expected figures are printed next to them.
 *
 * Then, on real processes on loopback (bench/lib/gossip_real.ts): 5 cairn agents and, in the
 * same run, 5 mlpeer processes (real memberlist 0.2.2 / serf 0.9.4) as the ceiling; a member
 * is SIGKILLed per trial (time to first suspect, first dead, all see it dead), a replacement
 * joins (time until all list it) and a user event is fired (time until all have it). Targets:
 * suspected within 2 probe intervals, dead within memberlist's suspicion timeout, matching mlpeer.
 *
 * Usage: npm run bench -- gossip [--sizes=10,100,1000] [--loss=0.05] [--seed=1] [--profile=lan|wan|local]
 *                                [--real=1|0] [--trials=3]
 * Must never: use sockets or real time in the simulated part (only the wall clock for its own
 * run time), or leave a real process running.
 */

import { lanConfig, localConfig, retransmitLimit, suspicionTimeoutMs, wanConfig } from "../src/gossip/index.ts";
import type { GossipConfig } from "../src/gossip/index.ts";
import { measureFailure, SimCluster } from "../tests/gossip/sim_network.ts";
import { ensureMlpeer } from "../tests/gossip/interop_mlpeer.ts";
import { cairnTrials, mlpeerTrials, REAL_POLL_MS, REAL_POOL_SIZE, type Trial } from "./lib/gossip_real.ts";

const arg = (name: string, dflt: string): string =>
  new RegExp(`--${name}=([^ ]+)`).exec(process.argv.slice(2).join(" "))?.[1] ?? dflt;
const sizes = arg("sizes", "10,100,1000").split(",").map(Number);
const loss = Number(arg("loss", "0.05"));
const seed = Number(arg("seed", "1"));
const profile = arg("profile", "lan");
const config: GossipConfig = profile === "wan" ? wanConfig() : profile === "local" ? localConfig() : lanConfig();
const real = arg("real", "1") !== "0";
const trials = Number(arg("trials", "3"));

const s = (ms: number | null): string => (ms === null ? "—" : `${(ms / 1000).toFixed(2)} s`);

interface Row {
  n: number;
  join: number | null;
  suspect: number | null;
  dead: number | null;
  allDead: number | null;
  falseDead: number;
  falseSuspect: number;
  packets: number;
  wallMs: number;
}

function runSize(n: number): Row {
  const t0 = performance.now();
  const sim = new SimCluster({ n: n + 1, seed, config, loss, delayMinMs: 1, delayMaxMs: 10, tickMs: 10 });
  for (let i = 0; i < n; i++) sim.start(i, []);
  const all = sim.cores.flatMap((c) => (c ? c.localState().filter((x) => x.name === c.name) : []));
  sim.cores.forEach((c) => c?.seedState(sim.nowMs, all));
  sim.run(3 * config.probeIntervalMs);
  sim.states.length = 0;
  // dissemination of one join: node n push/pulls with node 0, its alive then spreads by gossip
  const j0 = sim.nowMs;
  sim.start(n, [0]);
  const joined = sim.run(j0 + 120_000, () => sim.converged(n + 1), 10) ? sim.nowMs - j0 : null;
  sim.run(sim.nowMs + 3 * config.probeIntervalMs);
  const victim = Math.floor(n / 2);
  const f = measureFailure(sim, victim, 40 * config.probeIntervalMs + 30 * suspicionTimeoutMs(config.suspicionMult, n, config.probeIntervalMs));
  return { n, join: joined, suspect: f.firstSuspectMs, dead: f.firstDeadMs, allDead: f.allDeadMs, falseDead: f.falseDead, falseSuspect: f.falseSuspect, packets: sim.packetsSent, wallMs: performance.now() - t0 };
}

function expected(n: number): { suspect: string; dead: string; spread: string; retransmits: number } {
  const T = config.probeIntervalMs;
  const min = suspicionTimeoutMs(config.suspicionMult, n, T);
  const max = config.suspicionMaxTimeoutMult * min;
  const f = config.gossipNodes;
  const rounds = Math.log(n) / Math.log(1 + f) + Math.log(n) / f;
  return {
    suspect: `${((Math.E / (Math.E - 1)) * T / 1000).toFixed(2)} s`,
    dead: `suspect + ${(min / 1000).toFixed(1)}…${(max / 1000).toFixed(0)} s`,
    spread: `≈ ${(rounds * config.gossipIntervalMs / 1000).toFixed(2)} s`,
    retransmits: retransmitLimit(config.retransmitMult, n),
  };
}

console.log(`# gossip: simulated SWIM + Lifeguard (${profile} preset, ${(loss * 100).toFixed(1)}% UDP loss, 1–10 ms delay, seed ${seed})\n`);
console.log("| members | join reaches all | expected (epidemic) | first suspect | expected (SWIM e/(e−1)·T) | first dead | expected (memberlist) | all know dead | false dead | refuted suspicions | retransmit limit | packets | wall |");
console.log("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
for (const n of sizes) {
  process.stderr.write(`gossip: simulating ${n} members…\n`);
  const r = runSize(n);
  const e = expected(n);
  console.log(`| ${n} | ${s(r.join)} | ${e.spread} | ${s(r.suspect)} | ${e.suspect} | ${s(r.dead)} | ${e.dead} | ${s(r.allDead)} | ${r.falseDead} | ${r.falseSuspect} | ${e.retransmits} | ${r.packets} | ${(r.wallMs / 1000).toFixed(1)} s |`);
}
console.log(`
Expected figures: first detection after e/(e−1) protocol periods (SWIM paper, §3.1) with
T = ProbeInterval ${config.probeIntervalMs} ms; memberlist then holds the node suspect for
SuspicionMult·max(1, log10 n)·T (min) up to SuspicionMaxTimeoutMult × that (max), shrinking
towards min as k = SuspicionMult − 2 independent confirmations arrive; dissemination by push
gossip to GossipNodes = ${config.gossipNodes} peers every ${config.gossipIntervalMs} ms takes about
log_{1+f} n + ln n / f rounds (piggybacking on probes and acks speeds it up). Real memberlist
0.2.2 peers (interop README, 2–4 nodes, LAN) measured suspect after 1.4–3.0 s and dead after 5.4–7.0 s.`);

// ---------------------------------------------------------------- real processes

function stats(xs: (number | null)[]): { med: number | null; min: number | null; max: number | null; missing: number } {
  const v = xs.filter((x): x is number => x !== null).sort((a, b) => a - b);
  if (v.length === 0) return { med: null, min: null, max: null, missing: xs.length };
  const mid = Math.floor(v.length / 2);
  const med = v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
  return { med, min: v[0]!, max: v[v.length - 1]!, missing: xs.length - v.length };
}

function cell(xs: (number | null)[]): string {
  const st = stats(xs);
  if (st.med === null) return "—";
  const miss = st.missing > 0 ? ` (${st.missing} missed)` : "";
  return xs.length === 1 ? `${s(st.med)}${miss}` : `${s(st.med)} [${((st.min ?? 0) / 1000).toFixed(2)}–${((st.max ?? 0) / 1000).toFixed(2)}]${miss}`;
}

function cols(ts: Trial[]): string[] {
  return [
    cell(ts.map((t) => t.suspectMs)),
    cell(ts.map((t) => t.firstDeadMs)),
    cell(ts.map((t) => t.allDeadMs)),
    cell(ts.map((t) => (t.firstDeadMs === null || t.suspectMs === null ? null : t.firstDeadMs - t.suspectMs))),
    cell(ts.map((t) => t.joinMs)),
    cell(ts.map((t) => t.eventMs)),
    String(ts.reduce((n, t) => n + t.falseFailed, 0)),
  ];
}

async function realRows(): Promise<void> {
  const lan = lanConfig();
  const T = lan.probeIntervalMs;
  const min = suspicionTimeoutMs(lan.suspicionMult, REAL_POOL_SIZE, T);
  const max = lan.suspicionMaxTimeoutMult * min;
  const log = (m: string): void => void process.stderr.write(`${m}\n`);
  const ml = ensureMlpeer();
  const mlRows = "bin" in ml ? await mlpeerTrials(ml.bin, trials, log) : null;
  const cairn = await cairnTrials(trials, log);
  console.log(`\n# gossip: real processes on loopback, ${REAL_POOL_SIZE} members per pool, ${trials} SIGKILL trials each (LAN preset: ProbeInterval ${T} ms, ProbeTimeout ${lan.probeTimeoutMs} ms, SuspicionMult ${lan.suspicionMult})\n`);
  console.log("median [min–max] from the SIGKILL (join: from the join call; event: from the fire)\n");
  console.log("| pool | first suspect | first dead | all see dead | dead − suspect | join reaches all | user event reaches all | healthy seen failed |");
  console.log("|---|---:|---:|---:|---:|---:|---:|---:|");
  console.log(`| ${REAL_POOL_SIZE} cairn agents (1 server, 4 clients; Node) | ${cols(cairn).join(" | ")} |`);
  if (mlRows !== null) console.log(`| ${REAL_POOL_SIZE} mlpeer (memberlist 0.2.2 / serf 0.9.4) | ${cols(mlRows).join(" | ")} |`);
  else console.log(`| mlpeer | skipped: ${"skip" in ml ? ml.skip : ""} | | | | | | |`);
  console.log(`| target | ≤ ${s(2 * T)} (2 × ProbeInterval) | | | ≤ ${s(max)} (memberlist: ${s(min)} with ${lan.suspicionMult - 2} confirmations … ${s(max)} with none) | ≤ mlpeer | ≤ mlpeer | 0 |`);
  const med = (ts: Trial[], f: (t: Trial) => number | null): number | null => stats(ts.map(f)).med;
  const verdict = (ok: boolean | null): string => (ok === null ? "n/a" : ok ? "met" : "NOT met");
  const cs = med(cairn, (t) => t.suspectMs);
  const cd = med(cairn, (t) => (t.firstDeadMs === null || t.suspectMs === null ? null : t.firstDeadMs - t.suspectMs));
  const ratio = (f: (t: Trial) => number | null): string => {
    if (mlRows === null) return "n/a";
    const a = med(cairn, f);
    const b = med(mlRows, f);
    return a === null || b === null || b === 0 ? "n/a" : `${(a / b).toFixed(2)}× mlpeer`;
  };
  console.log(`| cairn vs target | ${verdict(cs === null ? null : cs <= 2 * T)} | ${ratio((t) => t.firstDeadMs)} | ${ratio((t) => t.allDeadMs)} | ${verdict(cd === null ? null : cd <= max)} | ${ratio((t) => t.joinMs)} | ${ratio((t) => t.eventMs)} | ${verdict(cairn.every((t) => t.falseFailed === 0))} |`);
  console.log(`
cairn's first suspect and first dead are the probers' own log lines ("suspect <n> has failed",
"marking <n> as failed"); "all see dead", joins and events are polled over HTTP every ${REAL_POLL_MS} ms
(so they carry up to ~${REAL_POLL_MS} ms of polling delay and the HTTP round trip). mlpeer's figures are its
own event timestamps (state poll 10 ms). The two pools run one after the other in the same run, on the same 2 cores.`);
}

if (real) await realRows();
