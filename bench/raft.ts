/**
 * bench/raft: the Raft benchmark of cairn. One run measures, on this machine:
 *   1. ceiling: raw node:http hello world GET at 1/16/64 connections (same run, same box);
 *   2. three durable cairn servers on loopback (-bootstrap-expect 3, raft_multiplier = 1):
 *      PUT /v1/kv (256 B) through the leader at 1/16/64 connections (req/s, p50, p99);
 *   3. the same load against a 3-member etcd cluster (v3 JSON gateway POST /v3/kv/put) through its
 *      leader; target: cairn ≥ 2× etcd at 64 connections (etcd is installed by
 *      bench/setup/ensure_etcd.sh; when it cannot be had, its rows say "unavailable");
 *   4. failover: SIGKILL the leader N times (default 20) under a background write load, restart it
 *      from its data dir each time; time from the kill to the first successful write through a
 *      survivor (p50 < 2 s, p99 < 4 s), and every acknowledged write checked on every server with
 *      ?stale and ?consistent at the end (target: 0 lost).
 * Progress goes to stderr, the Markdown report to stdout, raw results and the acknowledged-key log
 * to .bench/raft-<time>.{json,acked.log}.
 * Usage: npm run bench -- raft [--duration=S] [--kills=N] [--only=ceiling,cairn,etcd,failover] [--cpu-prof]
 *
 * Must never: generate measured load in this process or a server's; leave a server running (every
 * process is stopped in finally blocks and SIGKILLed at exit); run longer than its time budget.
 */

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import * as L from "./lib/index.ts";
import type { LoadResult, LoadSpec } from "./lib/index.ts";
import { CairnCluster, EtcdCluster, ensureEtcd, etcdVersion, prebuildCairn, type CairnMember } from "./lib/cluster.ts";

const SECTIONS = ["ceiling", "cairn", "etcd", "failover"] as const;
type Section = (typeof SECTIONS)[number];

/** Targets from issue 5 §5. */
const TARGET_ETCD_RATIO = 2;
const TARGET_FAILOVER_P50_MS = 2000;
const TARGET_FAILOVER_P99_MS = 4000;
/** Bounds of the run. */
const CLUSTER_FORM_TIMEOUT_MS = 60_000;
const MEMBER_START_TIMEOUT_MS = 60_000;
const FAILOVER_GIVE_UP_MS = 30_000;
const CATCH_UP_TIMEOUT_MS = 60_000;
const PROBE_EVERY_MS = 50;
const PROBE_TIMEOUT_MS = 10_000;
const WRITERS = 4;
const WRITER_PAUSE_MS = 10;
const VERIFY_TIMEOUT_MS = 30_000;
/** The whole run is aborted (all processes stopped) after this long. */
const BUDGET_MS = 15 * 60_000;
const KILL_PREFIX = "fo/";

interface Options {
  readonly durationS: number;
  readonly kills: number;
  readonly sections: ReadonlySet<Section>;
  readonly cpuProf: boolean;
  readonly repeat: number;
}

const USAGE = `usage: npm run bench -- raft [--duration=S] [--repeat=N] [--kills=N] [--only=${SECTIONS.join(",")}] [--cpu-prof]
  --duration=S   seconds per load run (default ${L.LOAD_RUN_SECONDS})
  --repeat=N     runs per system and connection count, cairn and etcd alternating (default 3; rows show the median run)
  --kills=N      leader SIGKILLs in the failover section (default 20)
  --cpu-prof     run the cairn servers under node --cpu-prof (profiles in .bench/prof-<time>/, written when
                 a server exits gracefully — the killed leaders of the failover section write none)`;

function parseArgs(argv: readonly string[]): Options {
  let durationS = L.LOAD_RUN_SECONDS;
  let kills = 20;
  let cpuProf = false;
  let repeat = 3;
  let sections = new Set<Section>(SECTIONS);
  for (const a of argv) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    if (!m || m[1] === undefined) throw new Error(`unexpected argument ${a}\n${USAGE}`);
    const [k, v = ""] = [m[1], m[2]];
    switch (k) {
      case "help":
        process.stdout.write(`${USAGE}\n`);
        process.exit(0);
        break;
      case "duration":
        durationS = Number(v);
        if (!Number.isFinite(durationS) || durationS < 1) throw new Error(`--duration=${v}: expected a number >= 1`);
        break;
      case "kills":
        kills = Math.floor(Number(v));
        if (!Number.isFinite(kills) || kills < 0) throw new Error(`--kills=${v}: expected a number >= 0`);
        break;
      case "repeat":
        repeat = Math.floor(Number(v));
        if (!Number.isFinite(repeat) || repeat < 1) throw new Error(`--repeat=${v}: expected a number >= 1`);
        break;
      case "cpu-prof":
        cpuProf = true;
        break;
      case "only": {
        const list = v.split(",").filter(Boolean);
        const ok = (s: string): s is Section => (SECTIONS as readonly string[]).includes(s);
        if (list.length === 0 || !list.every(ok)) throw new Error(`--only=${v}: sections are ${SECTIONS.join(",")}`);
        sections = new Set(list.filter(ok));
        break;
      }
      default:
        throw new Error(`unknown option --${k}\n${USAGE}`);
    }
  }
  if (kills === 0) sections.delete("failover");
  return { durationS, kills, sections, cpuProf, repeat };
}

// ---- report ----

interface Row {
  readonly scenario: string;
  readonly conns: number;
  readonly result: LoadResult | null;
  /** why there is no result */
  readonly unavailable?: string;
  /** CPU time (user + system, all threads) the cluster's server processes used per request, µs */
  readonly cpuUsPerReq?: number;
  /** req/s of every run when the scenario was repeated (the row shows the median run) */
  readonly runs?: readonly number[];
}

interface Fact {
  readonly scenario: string;
  readonly value: string;
  readonly target: string;
  readonly ok: boolean | null;
}

class Report {
  readonly ceiling: Row[] = [];
  readonly cairn: Row[] = [];
  readonly etcd: Row[] = [];
  readonly facts: Fact[] = [];
  readonly notes: string[] = [];
  readonly problems: string[] = [];
  readonly raw: Record<string, unknown> = {};

  table(): string {
    const head = ["scenario", "conns", "req/s", "p50 ms", "p99 ms", "server CPU µs/req", "non-2xx / errors", "vs etcd", "target", "ok?"];
    const rows: string[][] = [];
    const line = (r: Row, vs: string, target: string, ok: boolean | null): string[] => {
      if (r.result === null) return [r.scenario, String(r.conns), "unavailable", "—", "—", "—", r.unavailable ?? "", vs, target, L.fmtOk(ok)];
      const x = r.result;
      const cpu = r.cpuUsPerReq === undefined ? "—" : L.fmtInt(r.cpuUsPerReq);
      const rps = r.runs !== undefined && r.runs.length > 1 ? `${L.fmtInt(x.reqPerSec)} (${r.runs.map((v) => L.fmtInt(v)).join(" / ")})` : L.fmtInt(x.reqPerSec);
      return [r.scenario, String(r.conns), rps, L.fmtMs(x.p50Ms), L.fmtMs(x.p99Ms), cpu, `${x.non2xx} / ${x.errors}`, vs, target, L.fmtOk(ok)];
    };
    for (const r of this.ceiling) rows.push(line(r, "—", "—", null));
    for (const r of this.cairn) {
      const e = this.etcd.find((x) => x.conns === r.conns)?.result ?? null;
      const ratio = e !== null && r.result !== null ? r.result.reqPerSec / e.reqPerSec : Number.NaN;
      const clean = r.result !== null && r.result.non2xx + r.result.errors === 0;
      const target = r.conns === 64 ? `≥ ${TARGET_ETCD_RATIO}× etcd` : "—";
      const ok = r.conns === 64 ? (Number.isFinite(ratio) ? clean && ratio >= TARGET_ETCD_RATIO : null) : r.result === null ? null : clean ? null : false;
      rows.push(line(r, L.fmtRatio(ratio), target, ok));
    }
    for (const r of this.etcd) rows.push(line(r, "—", "—", null));
    return L.markdownTable(head, rows);
  }

  factTable(): string {
    return L.markdownTable(["scenario", "value", "target", "ok?"], this.facts.map((f) => [f.scenario, f.value, f.target, L.fmtOk(f.ok)]));
  }
}

// ---- helpers ----

const dirs: string[] = [];
process.on("exit", () => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    L.note(`\n${sig}: stopping servers`);
    process.exit(130); // bench/lib/agent SIGKILLs every server it started on exit
  });
}

function tmpDir(tag: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `cairn-bench-${tag}-`));
  dirs.push(d);
  return d;
}

function spec(host: string, port: number, kind: LoadSpec["kind"], connections: number, durationS: number): LoadSpec {
  return { kind, host, port, connections, durationS, keyPrefix: L.KV_KEY_PREFIX, keys: L.KV_KEY_COUNT, valueBytes: L.KV_VALUE_BYTES };
}

async function section(rep: Report, name: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    rep.problems.push(`${name}: ${msg}`);
    L.note(`  ${name} failed: ${msg.split("\n")[0]}`);
  }
}

async function put(ep: L.Endpoint, key: string, value: string, timeoutMs: number): Promise<boolean> {
  try {
    const r = await L.httpRequest(ep, "PUT", `/v1/kv/${key}`, { body: value, timeoutMs });
    return r.status === 200 && r.body.toString().trim() === "true";
  } catch {
    return false;
  }
}

async function formCluster(size: number, profDir: string | null): Promise<CairnCluster> {
  const p = L.phase(`start ${size} cairn servers`, 1, "");
  const nodeFlags = profDir !== null ? ["--cpu-prof", "--cpu-prof-dir", profDir] : [];
  const c = await CairnCluster.create({ size, dir: tmpDir("raft"), nodeFlags });
  const t0 = L.monoMs();
  try {
    await Promise.all(c.members.map((m) => c.start(m, MEMBER_START_TIMEOUT_MS)));
    const leader = await c.waitLeader(CLUSTER_FORM_TIMEOUT_MS);
    // the first write also proves the leader is serving (barrier done)
    const deadline = L.monoMs() + CLUSTER_FORM_TIMEOUT_MS;
    while (!(await put(leader.http, "bench/ready", "1", 5000))) {
      if (L.monoMs() > deadline) throw new Error("leader did not accept a write");
      await L.sleep(100);
    }
    p.done(`leader ${leader.name} (${leader.rpcAddr}) ${Math.round(L.monoMs() - t0)} ms after spawn`);
  } catch (e) {
    p.done("failed");
    await c.stopAll("SIGKILL");
    throw e;
  }
  return c;
}

// ---- sections ----

async function ceiling(o: Options, rep: Report): Promise<void> {
  const s = L.startServer(L.helloSpec(await L.freePort()));
  try {
    await L.waitReady(s, L.SERVER_READY_TIMEOUT_MS);
    for (const c of L.LOAD_CONNECTIONS) {
      const r = await L.runLoad(`hello GET c=${c}`, spec(s.spec.endpoint.host, s.spec.endpoint.port, "hello", c, o.durationS));
      rep.ceiling.push({ scenario: "hello GET (node:http ceiling)", conns: c, result: r });
    }
  } finally {
    await L.stopServer(s);
  }
}

async function cairnRun(o: Options, c: CairnCluster, conns: number, rep: Report): Promise<void> {
  const leader = await c.waitLeader(CLUSTER_FORM_TIMEOUT_MS);
  const pids = c.live().map((m) => m.proc?.pid ?? 0);
  const cpu0 = L.cpuMsOf(pids);
  const r = await L.runLoad(`cairn 3× PUT c=${conns} → ${leader.name}`, spec(leader.http.host, leader.http.port, "kv-put", conns, o.durationS));
  const cpuUsPerReq = ((L.cpuMsOf(pids) - cpu0) * 1000) / Math.max(1, r.requests);
  rep.cairn.push({ scenario: "cairn 3 servers PUT 256 B via leader", conns, result: r, cpuUsPerReq });
  if (r.non2xx + r.errors > 0) rep.problems.push(`cairn PUT c=${conns}: non-2xx ${r.non2xx}, errors ${r.errors}, codes ${JSON.stringify(r.statusCodes)}`);
  const after = await c.agreedLeader();
  if (after !== leader) rep.notes.push(`cairn PUT c=${conns}: leadership moved during the run (${leader.name} → ${after?.name ?? "none"})`);
}

const ETCD_SCENARIO = "etcd 3 members PUT 256 B via leader";

/** Installs (if needed) and starts the 3-member etcd reference; null (rows marked unavailable) when it cannot be had. */
async function startEtcd(rep: Report): Promise<EtcdCluster | null> {
  const why = ensureEtcd();
  if (why !== null) {
    for (const conns of L.LOAD_CONNECTIONS) rep.etcd.push({ scenario: ETCD_SCENARIO, conns, result: null, unavailable: `etcd not available: ${why.split("\n")[0]}` });
    rep.problems.push(`etcd unavailable: ${why}`);
    return null;
  }
  const e = await EtcdCluster.create(tmpDir("etcd"));
  const p = L.phase("start 3 etcd members", 1, "");
  try {
    e.startAll();
    const leader = await e.waitLeader(CLUSTER_FORM_TIMEOUT_MS);
    p.done(`leader ${leader.name} (client port ${leader.client.port})`);
  } catch (err) {
    p.done("failed");
    await e.stopAll();
    throw err;
  }
  rep.notes.push(`etcd reference: ${etcdVersion()}, 3 members on loopback, default durability (fsync per batch), v3 JSON gateway POST /v3/kv/put with base64 key/value; its run at each connection count follows cairn's directly`);
  return e;
}

async function etcdRun(o: Options, e: EtcdCluster, conns: number, rep: Report): Promise<void> {
  const l = await e.waitLeader(CLUSTER_FORM_TIMEOUT_MS);
  const pids = e.members.map((m) => m.proc?.pid ?? 0);
  const cpu0 = L.cpuMsOf(pids);
  const r = await L.runLoad(`etcd 3× PUT c=${conns} → ${l.name}`, spec(l.client.host, l.client.port, "etcd-put", conns, o.durationS));
  const cpuUsPerReq = ((L.cpuMsOf(pids) - cpu0) * 1000) / Math.max(1, r.requests);
  rep.etcd.push({ scenario: ETCD_SCENARIO, conns, result: r, cpuUsPerReq });
  if (r.non2xx + r.errors > 0) rep.problems.push(`etcd PUT c=${conns}: non-2xx ${r.non2xx}, errors ${r.errors}`);
}

/** Replaces the runs of each connection count by the median run (by req/s), keeping every run's req/s. */
function medianRows(rows: Row[]): void {
  const out: Row[] = [];
  for (const conns of L.LOAD_CONNECTIONS) {
    const runs = rows.filter((r) => r.conns === conns);
    const ok = runs.filter((r) => r.result !== null).sort((a, b) => (a.result?.reqPerSec ?? 0) - (b.result?.reqPerSec ?? 0));
    const mid = ok[Math.floor((ok.length - 1) / 2)];
    if (mid === undefined) {
      if (runs[0] !== undefined) out.push(runs[0]);
      continue;
    }
    out.push({ ...mid, runs: runs.flatMap((r) => (r.result === null ? [] : [r.result.reqPerSec])) });
  }
  rows.splice(0, rows.length, ...out);
}

/** cairn and etcd at each connection count back to back, so both see the same machine load. */
async function throughput(o: Options, c: CairnCluster | null, rep: Report): Promise<void> {
  const box: { etcd: EtcdCluster | null } = { etcd: null };
  try {
    if (o.sections.has("etcd")) {
      await section(rep, "etcd start", async () => {
        box.etcd = await startEtcd(rep);
      });
    }
    for (let i = 0; i < o.repeat; i++) {
      for (const conns of L.LOAD_CONNECTIONS) {
        if (c !== null && o.sections.has("cairn")) await section(rep, `cairn c=${conns}`, () => cairnRun(o, c, conns, rep));
        const etcd = box.etcd;
        if (etcd !== null) await section(rep, `etcd c=${conns}`, () => etcdRun(o, etcd, conns, rep));
      }
    }
  } finally {
    await box.etcd?.stopAll();
  }
  medianRows(rep.cairn);
  medianRows(rep.etcd);
  if (!o.sections.has("etcd") && o.sections.has("cairn")) {
    for (const conns of L.LOAD_CONNECTIONS) rep.etcd.push({ scenario: ETCD_SCENARIO, conns, result: null, unavailable: "not run (--only)" });
  }
}

interface KillRound {
  readonly round: number;
  readonly killed: string;
  /** SIGKILL → first acknowledged write through a survivor, ms (null: none within FAILOVER_GIVE_UP_MS) */
  readonly firstWriteMs: number | null;
  /** SIGKILL → both survivors name the same new leader, ms */
  readonly leaderMs: number | null;
  readonly newLeader: string;
  /** restart of the killed server → it serves the last acknowledged key with ?stale, ms */
  readonly catchUpMs: number | null;
}

class AckLog {
  readonly keys = new Map<string, string>();
  private readonly fd: number;
  constructor(file: string) {
    this.fd = fs.openSync(file, "w");
  }
  add(key: string, value: string): void {
    this.keys.set(key, value);
    fs.writeSync(this.fd, `${key} ${value}\n`);
  }
  close(): void {
    fs.closeSync(this.fd);
  }
}

/** Background writers: unique keys through live servers (round-robin), each ack logged. */
function startWriters(c: CairnCluster, log: AckLog): { stop: () => Promise<void>; attempts: () => number } {
  let stopped = false;
  let seq = 0;
  let attempts = 0;
  const lanes = Array.from({ length: WRITERS }, async (_, lane) => {
    let rr = lane;
    while (!stopped) {
      const live = c.live();
      const m = live[rr++ % Math.max(1, live.length)];
      if (m === undefined) {
        await L.sleep(50);
        continue;
      }
      const n = seq++;
      const key = `${KILL_PREFIX}w-${String(n).padStart(7, "0")}`;
      const value = `v${n}`;
      attempts++;
      if (await put(m.http, key, value, PROBE_TIMEOUT_MS)) log.add(key, value);
      await L.sleep(WRITER_PAUSE_MS);
    }
  });
  return {
    stop: async () => {
      stopped = true;
      await Promise.all(lanes);
    },
    attempts: () => attempts,
  };
}

/** From `t0`, starts a PUT through a survivor every PROBE_EVERY_MS; resolves with the first success time. */
async function firstWrite(survivors: readonly CairnMember[], round: number, t0: number, log: AckLog): Promise<number | null> {
  let done: number | null = null;
  let i = 0;
  const inFlight: Promise<void>[] = [];
  while (done === null && L.monoMs() - t0 < FAILOVER_GIVE_UP_MS) {
    const m = survivors[i % survivors.length] as CairnMember;
    const key = `${KILL_PREFIX}probe-${round}-${i++}`;
    inFlight.push(
      put(m.http, key, "p", PROBE_TIMEOUT_MS).then((ok) => {
        if (!ok) return;
        log.add(key, "p");
        const t = L.monoMs() - t0;
        if (done === null || t < done) done = t;
      }),
    );
    await L.sleep(PROBE_EVERY_MS);
  }
  await Promise.all(inFlight);
  return done;
}

async function failover(o: Options, c: CairnCluster, rep: Report, ackFile: string): Promise<void> {
  const log = new AckLog(ackFile);
  const rounds: KillRound[] = [];
  const writers = startWriters(c, log);
  try {
    await L.sleep(500);
    for (let round = 1; round <= o.kills; round++) {
      const leader = await c.waitLeader(CLUSTER_FORM_TIMEOUT_MS);
      const survivors = c.members.filter((m) => m !== leader);
      const proc = leader.proc;
      if (proc === undefined) throw new Error(`leader ${leader.name} has no process`);
      const t0 = L.monoMs();
      proc.proc.kill("SIGKILL");
      const [firstWriteMs, leaderMs] = await Promise.all([
        firstWrite(survivors, round, t0, log),
        c.waitLeader(FAILOVER_GIVE_UP_MS, survivors, leader).then((l) => ({ l, ms: L.monoMs() - t0 }), () => null),
      ]);
      await proc.exit;
      // restart from its data dir and wait until it serves the newest acknowledged write
      const r0 = L.monoMs();
      await c.start(leader, MEMBER_START_TIMEOUT_MS);
      const lastKey = [...log.keys.keys()].at(-1) ?? "bench/ready";
      let catchUpMs: number | null = null;
      const deadline = r0 + CATCH_UP_TIMEOUT_MS;
      while (L.monoMs() < deadline) {
        try {
          const r = await L.httpRequest(leader.http, "GET", `/v1/kv/${lastKey}?stale`, { timeoutMs: 2000 });
          if (r.status === 200) {
            catchUpMs = L.monoMs() - r0;
            break;
          }
        } catch {
          // starting
        }
        await L.sleep(50);
      }
      const kr: KillRound = { round, killed: leader.name, firstWriteMs, leaderMs: leaderMs?.ms ?? null, newLeader: leaderMs?.l.name ?? "none", catchUpMs };
      rounds.push(kr);
      L.note(`  kill ${round}/${o.kills}: ${leader.name} → first write ${firstWriteMs === null ? "NONE" : `${Math.round(firstWriteMs)} ms`}, ` +
        `leader ${kr.newLeader} at ${kr.leaderMs === null ? "—" : `${Math.round(kr.leaderMs)} ms`}, restarted and caught up in ${catchUpMs === null ? "—" : `${Math.round(catchUpMs)} ms`}; ${log.keys.size} acked`);
      if (catchUpMs === null) throw new Error(`${leader.name} did not catch up within ${CATCH_UP_TIMEOUT_MS} ms after restart`);
    }
  } finally {
    await writers.stop();
    log.close();
    rep.raw.failover = { rounds, acked: log.keys.size, attempts: writers.attempts() };
  }
  const fw = rounds.map((r) => r.firstWriteMs ?? Number.POSITIVE_INFINITY);
  const p50 = L.percentile(fw, 50);
  const p99 = L.percentile(fw, 99);
  const missing = rounds.filter((r) => r.firstWriteMs === null).length;
  const lm = rounds.map((r) => r.leaderMs ?? Number.POSITIVE_INFINITY);
  const cu = rounds.map((r) => r.catchUpMs ?? Number.POSITIVE_INFINITY);
  const sec = (ms: number): string => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : "none");
  rep.facts.push({ scenario: `failover: SIGKILL leader → first acked write via a survivor, p50 (${rounds.length} kills)`, value: sec(p50), target: `< ${TARGET_FAILOVER_P50_MS / 1000} s`, ok: p50 < TARGET_FAILOVER_P50_MS });
  rep.facts.push({
    scenario: `failover: same, p99 (max of ${rounds.length}; min ${sec(Math.min(...fw))})`,
    value: `${sec(p99)}${missing ? ` (${missing} kills with no write within ${FAILOVER_GIVE_UP_MS / 1000} s)` : ""}`,
    target: `< ${TARGET_FAILOVER_P99_MS / 1000} s`,
    ok: p99 < TARGET_FAILOVER_P99_MS,
  });
  rep.facts.push({ scenario: "failover: SIGKILL → survivors agree on a new leader, p50 / p99", value: `${sec(L.percentile(lm, 50))} / ${sec(L.percentile(lm, 99))}`, target: "—", ok: null });
  rep.facts.push({ scenario: "killed server restarted from its data dir → serves the newest acked key, p50 / p99", value: `${sec(L.percentile(cu, 50))} / ${sec(L.percentile(cu, 99))}`, target: "—", ok: null });
  const t = rep.raw.failover as { rounds: KillRound[]; acked: number; attempts: number };
  await verify(c, log, rep, t.attempts);
}

async function listAll(m: CairnMember, mode: "stale" | "consistent"): Promise<Map<string, string>> {
  const r = await L.httpRequest(m.http, "GET", `/v1/kv/${KILL_PREFIX}?recurse&${mode}`, { timeoutMs: 20_000 });
  if (r.status === 404) return new Map();
  if (r.status !== 200) throw new Error(`${m.name} ?${mode}: ${r.status} ${r.body.toString().slice(0, 200)}`);
  const rows = JSON.parse(r.body.toString()) as Array<{ Key: string; Value: string | null }>;
  return new Map(rows.map((x) => [x.Key, x.Value === null ? "" : Buffer.from(x.Value, "base64").toString()]));
}

async function verify(c: CairnCluster, log: AckLog, rep: Report, attempts: number): Promise<void> {
  const p = L.phase(`verify ${log.keys.size} acked keys on every server`, 1, "");
  await c.waitLeader(CLUSTER_FORM_TIMEOUT_MS);
  const lost: string[] = [];
  const detail: string[] = [];
  for (const m of c.members) {
    for (const mode of ["stale", "consistent"] as const) {
      // a follower's ?stale view may trail by a few entries: poll until complete or the deadline
      const deadline = L.monoMs() + VERIFY_TIMEOUT_MS;
      let missing: string[] = [];
      for (;;) {
        const have = await listAll(m, mode);
        missing = [...log.keys].filter(([k, v]) => have.get(k) !== v).map(([k]) => k);
        if (missing.length === 0 || L.monoMs() > deadline) break;
        await L.sleep(250);
      }
      detail.push(`${m.name} ?${mode}: ${missing.length} missing`);
      for (const k of missing.slice(0, 5)) lost.push(`${m.name}?${mode}:${k}`);
      if (missing.length > 0) rep.problems.push(`${m.name} ?${mode}: ${missing.length} acknowledged keys missing or wrong, e.g. ${missing.slice(0, 5).join(", ")}`);
    }
  }
  const ok = lost.length === 0;
  p.done(ok ? "all present everywhere" : `LOST: ${lost.join(", ")}`);
  rep.facts.push({
    scenario: `acknowledged writes lost (${log.keys.size} acked of ${attempts} attempts, checked on ${c.members.length} servers × ?stale/?consistent)`,
    value: ok ? "0" : `${lost.length}+ (${detail.join("; ")})`,
    target: "0",
    ok,
  });
}

// ---- main ----

async function main(): Promise<number> {
  const o = parseArgs(process.argv.slice(2));
  const env = L.environment();
  const rep = new Report();
  const t0 = L.monoMs();
  const loadStart = os.loadavg()[0] ?? 0;
  const stamp = env.date.replaceAll(":", "-").replace(/\.\d+Z$/, "Z");
  const benchDir = path.join(L.repoRoot, ".bench");
  fs.mkdirSync(benchDir, { recursive: true });
  const budget = setTimeout(() => {
    L.note(`raft bench: time budget of ${BUDGET_MS / 1000} s exhausted; stopping every server`);
    process.exit(3);
  }, BUDGET_MS);
  budget.unref();
  L.note(`cairn raft bench: sections ${[...o.sections].join(",")}, ${o.durationS} s per load run, ${o.kills} kills`);

  if (o.sections.has("ceiling")) await section(rep, "ceiling", () => ceiling(o, rep));
  const profDir = o.cpuProf ? path.join(benchDir, `prof-${stamp}`) : null;
  if (o.sections.has("cairn") || o.sections.has("failover")) {
    prebuildCairn();
    await section(rep, "cairn cluster", async () => {
      const c = await formCluster(3, profDir);
      rep.notes.push(`cairn: 3 × \`node bin/cairn.mjs agent -server -bootstrap-expect 3 -data-dir … -retry-join … -config-file perf.hcl\` with \`performance { raft_multiplier = 1 }\` (heartbeat/election 1 s, lease 500 ms), loopback, durable (WAL fsync)`);
      try {
        if (o.sections.has("cairn") || o.sections.has("etcd")) await throughput(o, c, rep);
        if (o.sections.has("failover")) await section(rep, "failover", () => failover(o, c, rep, path.join(benchDir, `raft-${stamp}.acked.log`)));
      } finally {
        for (const m of c.members) if (m.proc?.exited() === true && (await m.proc.exit).signal !== "SIGKILL") rep.problems.push(`${m.name} exited on its own: ${m.proc.output()}`);
        await c.stopAll("SIGTERM");
      }
    });
    if (profDir !== null) rep.notes.push(`CPU profiles: ${path.relative(process.cwd(), profDir)} (open in Chrome DevTools or speedscope)`);
  } else if (o.sections.has("etcd")) {
    await throughput(o, null, rep);
  }
  clearTimeout(budget);

  const totalS = (L.monoMs() - t0) / 1000;
  const loadEnd = os.loadavg()[0] ?? 0;
  rep.notes.push(`1-min load average ${loadStart.toFixed(2)} at start, ${loadEnd.toFixed(2)} at end on ${env.cpus} CPUs` +
    (Math.max(loadStart, loadEnd) > env.cpus ? " — the machine was busy with other work; re-run before trusting absolute numbers" : ""));
  const out: string[] = [];
  out.push(L.headerLine("cairn Raft bench", env), "");
  out.push(`autocannon, pipelining 1, ${o.durationS} s per run, ${o.repeat} run(s) per row (cairn and etcd alternating; median shown, all runs in brackets), load in a separate process, keys bench/key-0..999, 256 B values · ${o.kills} leader kills · total ${totalS.toFixed(0)} s`, "");
  if (rep.ceiling.length + rep.cairn.length + rep.etcd.length > 0) out.push("### Throughput (3 servers, through the leader)", "", rep.table(), "");
  if (rep.facts.length > 0) out.push("### Failover and safety", "", rep.factTable(), "");
  if (rep.notes.length > 0) out.push("### Notes", "", ...rep.notes.map((n) => `- ${n}`), "");
  if (rep.problems.length > 0) out.push("### Problems", "", ...rep.problems.map((p) => `- ${p.replaceAll("\n", "\n  ")}`), "");
  const file = path.join(benchDir, `raft-${stamp}.json`);
  const json = { env, options: { ...o, sections: [...o.sections] }, totalS, ceiling: rep.ceiling, cairn: rep.cairn, etcd: rep.etcd, facts: rep.facts, notes: rep.notes, problems: rep.problems, raw: rep.raw };
  fs.writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
  out.push(`results: ${path.relative(process.cwd(), file)}`);
  process.stdout.write(`${out.join("\n")}\n`);
  const missed = rep.facts.some((f) => f.ok === false) || rep.cairn.some((r) => r.conns === 64 && r.result !== null && rep.etcd.some((e) => e.conns === 64 && e.result !== null && r.result !== null && r.result.reqPerSec < TARGET_ETCD_RATIO * e.result.reqPerSec));
  return rep.problems.length > 0 ? 1 : missed ? 4 : 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`raft bench: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(2);
  },
);
