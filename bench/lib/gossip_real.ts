/**
 * bench/lib/gossip_real: failure detection and dissemination measured on real processes on
 * loopback, for `npm run bench -- gossip`: a pool of 5 cairn agents (one server, four
 * clients, Consul's default gossip_lan timing) and, in the same run, a pool of 5 mlpeer
 * processes (real HashiCorp memberlist 0.2.2 / serf 0.9.4, LAN profile) as the ceiling.
 * Each trial SIGKILLs one member and takes, from the kill: the first suspect (cairn: the
 * prober's "suspect <n> has failed" log line; mlpeer: its `state` event), the first dead
 * (cairn: "marking <n> as failed"; mlpeer: `state` dead) and when every survivor lists it
 * failed/dead; then a replacement member joins one survivor (time until every survivor
 * lists it alive) and a serf user event is fired (time until every other member has it).
 * cairn's list/event times come from polling its HTTP API every REAL_POLL_MS.
 *
 * Must never: signal a process it did not start, leave one running, or bind beyond 127.0.0.1.
 */

import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { repoRoot } from "./ipc.ts";
import { freePort } from "./agent.ts";
import { MlPeer, num, str } from "../../tests/gossip/interop_mlpeer.ts";

/** How often cairn's member lists and event lists are polled, ms. */
export const REAL_POLL_MS = 25;
/** Give up on one detection / dissemination after this long, ms. */
export const REAL_STEP_TIMEOUT_MS = 40_000;
/** Members per pool. */
export const REAL_POOL_SIZE = 5;

export interface Trial {
  suspectMs: number | null;
  firstDeadMs: number | null;
  allDeadMs: number | null;
  joinMs: number | null;
  eventMs: number | null;
  /** Healthy members seen failed by anyone during the trial (false positives). */
  falseFailed: number;
}

const live = new Set<ChildProcess>();
process.on("exit", () => {
  for (const c of live) c.kill("SIGKILL");
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** "2026-11-26T12:36:58.626Z [INFO] ..." or RFC 3339 with nanoseconds -> epoch ms. */
function parseTs(s: string): number {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z/.exec(s);
  if (m === null) return NaN;
  const frac = (m[2] ?? "").padEnd(3, "0").slice(0, 3);
  return Date.parse(`${m[1]}.${frac}Z`);
}

// ------------------------------------------------------------------ cairn agents

interface CairnAgent {
  name: string;
  http: number;
  serf: number;
  proc: ChildProcess;
  /** log lines with their own timestamps */
  lines: { at: number; text: string }[];
  exited: Promise<void>;
}

async function startCairn(dir: string, name: string, server: boolean, serverPort: number): Promise<CairnAgent> {
  const [http, serf] = [await freePort(), await freePort()];
  const args = [
    path.join(repoRoot, "bin/cairn.mjs"), "agent", ...(server ? ["-server", "-bootstrap-expect", "1"] : []),
    "-data-dir", path.join(dir, name), "-node", name, "-bind", "127.0.0.1", "-client", "127.0.0.1",
    "-http-port", String(http), "-dns-port", "-1", "-server-port", server ? String(serverPort) : "-1",
    "-serf-lan-port", String(serf), "-serf-wan-port", "-1", "-log-level", "info",
  ];
  const proc = spawn(process.execPath, args, { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
  live.add(proc);
  const a: CairnAgent = {
    name, http, serf, proc, lines: [],
    exited: new Promise((r) => proc.on("exit", () => (live.delete(proc), r()))),
  };
  for (const s of [proc.stdout, proc.stderr]) {
    if (s === null) continue;
    readline.createInterface({ input: s }).on("line", (text) => {
      if (/suspect|marking|refut/.test(text)) a.lines.push({ at: parseTs(text), text });
    });
  }
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const r = await fetch(`http://127.0.0.1:${http}/v1/agent/members`, { signal: AbortSignal.timeout(1000) });
      if (r.status === 200) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`cairn agent ${name} did not start`);
    await sleep(100);
  }
  return a;
}

async function cairnMembers(a: CairnAgent): Promise<Map<string, number>> {
  const r = await fetch(`http://127.0.0.1:${a.http}/v1/agent/members`, { signal: AbortSignal.timeout(2000) });
  const ms = (await r.json()) as { Name: string; Status: number }[];
  return new Map(ms.map((m) => [m.Name, m.Status]));
}

/** Polls until pred holds on every agent; the time it first held everywhere (ms since t0) or null. */
async function pollAll(agents: CairnAgent[], t0: number, pred: (a: CairnAgent) => Promise<boolean>, what = ""): Promise<number | null> {
  const done = new Map<CairnAgent, number>();
  const end = t0 + REAL_STEP_TIMEOUT_MS;
  while (Date.now() < end && done.size < agents.length) {
    await Promise.all(agents.filter((a) => !done.has(a)).map(async (a) => {
      try {
        if (await pred(a)) done.set(a, Date.now() - t0);
      } catch {
        // a slow answer is retried
      }
    }));
    if (done.size < agents.length) await sleep(REAL_POLL_MS);
  }
  if (what !== "" && (done.size < agents.length || Math.max(...done.values()) > 2000)) {
    const slow = agents.map((a) => `${a.name}=${done.has(a) ? `${done.get(a)} ms` : "never"}`).join(" ");
    process.stderr.write(`gossip: slow ${what} (${slow})\n`);
  }
  return done.size < agents.length ? null : Math.max(...done.values());
}

function firstLine(agents: CairnAgent[], re: RegExp, after: number): number | null {
  let best: number | null = null;
  for (const a of agents) {
    for (const l of a.lines) {
      if (l.at >= after && re.test(l.text) && (best === null || l.at < best)) best = l.at;
    }
  }
  return best === null ? null : best - after;
}

/** SIGKILL trials on a pool of 5 cairn agents. */
export async function cairnTrials(trials: number, log: (s: string) => void): Promise<Trial[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cairn-bench-gossip-"));
  const agents: CairnAgent[] = [];
  const out: Trial[] = [];
  try {
    const serverPort = await freePort();
    const srv = await startCairn(dir, "s", true, serverPort);
    agents.push(srv);
    const join = `127.0.0.1:${srv.serf}`;
    const joinTo = async (a: CairnAgent): Promise<void> => {
      const r = await fetch(`http://127.0.0.1:${a.http}/v1/agent/join/${join}`, { method: "PUT" });
      if (r.status !== 200) throw new Error(`join ${a.name}: ${r.status} ${await r.text()}`);
    };
    for (let i = 1; i < REAL_POOL_SIZE; i++) {
      const c = await startCairn(dir, `c${i}`, false, serverPort);
      agents.push(c);
      await joinTo(c);
    }
    const allAlive = (names: string[]) => async (a: CairnAgent): Promise<boolean> => {
      const ms = await cairnMembers(a);
      return names.every((n) => ms.get(n) === 1);
    };
    if ((await pollAll(agents, Date.now(), allAlive(agents.map((a) => a.name)))) === null) throw new Error("cairn pool did not form");
    await sleep(3000); // a few probe rounds in a settled pool
    let next = REAL_POOL_SIZE;
    for (let t = 0; t < trials; t++) {
      const victim = agents[1 + (t % (agents.length - 1))]!;
      const survivors = agents.filter((a) => a !== victim);
      log(`gossip: cairn trial ${t + 1}/${trials}: SIGKILL ${victim.name}`);
      const healthy = survivors.map((a) => a.name);
      let falseFailed = 0;
      const t0 = Date.now();
      victim.proc.kill("SIGKILL");
      await victim.exited;
      const allDeadMs = await pollAll(survivors, t0, async (a) => {
        const ms = await cairnMembers(a);
        falseFailed += healthy.filter((n) => ms.get(n) === 4).length;
        return ms.get(victim.name) === 4;
      });
      await sleep(200); // the log lines of the last survivors
      const suspectMs = firstLine(survivors, new RegExp(`suspect ${victim.name} has failed`), t0);
      const firstDeadMs = firstLine(survivors, new RegExp(`marking ${victim.name} as failed`), t0);
      agents.splice(agents.indexOf(victim), 1);
      // a replacement joins one survivor: until every member lists it alive
      const fresh = await startCairn(dir, `c${next++}`, false, serverPort);
      const tj = Date.now();
      await joinTo(fresh);
      const joinMs = await pollAll(survivors, tj, async (a) => (await cairnMembers(a)).get(fresh.name) === 1, `join of ${fresh.name}`);
      agents.push(fresh);
      await sleep(1000);
      // a user event fired on the server: until every other agent has it
      const ev = `bench-${t}`;
      const others = agents.filter((a) => a !== srv);
      const te = Date.now();
      const fr = await fetch(`http://127.0.0.1:${srv.http}/v1/event/fire/${ev}`, { method: "PUT", body: "x" });
      if (fr.status !== 200) throw new Error(`event fire: ${fr.status}`);
      const eventMs = await pollAll(others, te, async (a) => {
        const r = await fetch(`http://127.0.0.1:${a.http}/v1/event/list?name=${ev}`, { signal: AbortSignal.timeout(2000) });
        return ((await r.json()) as unknown[]).length > 0;
      }, `user event ${ev}`);
      out.push({ suspectMs, firstDeadMs, allDeadMs, joinMs, eventMs, falseFailed });
      await sleep(2000);
    }
  } finally {
    for (const a of agents) a.proc.kill("SIGKILL");
    await Promise.all(agents.map((a) => a.exited));
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

// ------------------------------------------------------------------ mlpeer

function tsOf(e: Record<string, unknown>): number {
  return parseTs(str(e, "ts"));
}

function nameOf(p: MlPeer): string {
  return str(p.find((e) => str(e, "event") === "start")?.e, "name");
}

/** Latest of the first matching event on each peer (ms since t0), or null when one never had it. */
async function allEvents(peers: MlPeer[], t0: number, pred: (e: Record<string, unknown>) => boolean): Promise<number | null> {
  try {
    const hits = await Promise.all(peers.map((p) => p.waitFor((e) => pred(e) && tsOf(e) >= t0, REAL_STEP_TIMEOUT_MS, "bench event")));
    return Math.max(...hits.map((h) => tsOf(h.e))) - t0;
  } catch {
    return null;
  }
}

function firstEvent(peers: MlPeer[], t0: number, pred: (e: Record<string, unknown>) => boolean): number | null {
  let best: number | null = null;
  for (const p of peers) {
    for (const { e } of p.events) {
      const at = tsOf(e);
      if (at >= t0 && pred(e) && (best === null || at < best)) best = at;
    }
  }
  return best === null ? null : best - t0;
}

/** The same trials on a pool of 5 mlpeer processes (serf mode, LAN profile). */
export async function mlpeerTrials(bin: string, trials: number, log: (s: string) => void): Promise<Trial[]> {
  const peers: MlPeer[] = [];
  const out: Trial[] = [];
  const common = ["-serf", "-profile", "lan", "-lifetime", "600", "-state-poll", "10ms", "-status-interval", "60s"];
  try {
    const first = await MlPeer.start(bin, "m0", common);
    peers.push(first);
    const join = `127.0.0.1:${first.port}`;
    for (let i = 1; i < REAL_POOL_SIZE; i++) peers.push(await MlPeer.start(bin, `m${i}`, [...common, "-join", join]));
    for (const p of peers) {
      for (const q of peers) if (q !== p) await p.waitFor(p.serfEvent("member-join", nameOf(q)), 15_000, "pool join");
    }
    await sleep(3000);
    let next = REAL_POOL_SIZE;
    for (let t = 0; t < trials; t++) {
      const victim = peers[1 + (t % (peers.length - 1))]!;
      const vname = nameOf(victim);
      const survivors = peers.filter((p) => p !== victim);
      log(`gossip: mlpeer trial ${t + 1}/${trials}: SIGKILL ${vname}`);
      const t0 = Date.now();
      await victim.stop("SIGKILL");
      const isState = (s: string) => (e: Record<string, unknown>): boolean => str(e, "event") === "state" && str(e, "name") === vname && str(e, "state") === s;
      const allDeadMs = await allEvents(survivors, t0, isState("dead"));
      const suspectMs = firstEvent(survivors, t0, isState("suspect"));
      const firstDeadMs = firstEvent(survivors, t0, isState("dead"));
      const healthy = new Set(survivors.map(nameOf));
      const falseFailed = survivors.reduce((n, p) => n + p.events.filter(({ e }) =>
        tsOf(e) >= t0 && str(e, "event") === "state" && str(e, "state") === "dead" && healthy.has(str(e, "name"))).length, 0);
      peers.splice(peers.indexOf(victim), 1);
      // a replacement joins m0 and, once joined, fires a serf user event
      const fname = `m${next++}`;
      const ev = `bench-${t}`;
      const fresh = await MlPeer.start(bin, fname, [...common, "-join", join, "-event", `${ev}=x`]);
      const joined = await fresh.waitFor((e) => str(e, "event") === "joined", 10_000, "joined").catch(() => undefined);
      // the join call started took_ms before its "joined" line
      const took = joined === undefined ? NaN : num(joined.e, "took_ms");
      const tj = joined === undefined ? Date.now() : tsOf(joined.e) - (Number.isFinite(took) ? took : 0);
      const joinedEv = fresh.serfEvent("member-join", fname);
      const joinMs = await allEvents(survivors, tj - 1, joinedEv);
      const sent = await fresh.waitFor((e) => str(e, "event") === "serf_user_sent", 10_000, "event sent").catch(() => undefined);
      const eventMs = sent === undefined ? null
        : await allEvents(survivors, tsOf(sent.e), (e) => str(e, "event") === "serf_user" && str(e, "name") === ev);
      peers.push(fresh);
      out.push({ suspectMs, firstDeadMs, allDeadMs, joinMs, eventMs, falseFailed });
      await sleep(2000);
    }
  } finally {
    await Promise.all(peers.map((p) => p.stop("SIGKILL")));
  }
  return out;
}
