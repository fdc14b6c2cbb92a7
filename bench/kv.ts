/**
 * bench/kv: the KV benchmark of cairn. One run measures, against the same machine's ceilings:
 *   1. the raw node:http hello-world ceiling (GET at 1/16/64 connections);
 *   2. durable PUT and GET of 256-byte values over bench/key-0..999 at 1/16/64 connections;
 *   3. blocking queries: GET throughput with 10k watchers parked on distinct keys, and the
 *      wake-all time of 10k watchers on one key (vs the naive node_kv peer) with a probe's p99;
 *   4. scale: 1M keys through /v1/txn, RSS, restart time after SIGTERM and after SIGKILL.
 * Progress goes to stderr, the Markdown report to stdout, raw results to .bench/kv-<time>.json.
 * Usage: npm run bench -- kv [--target=cairn|node_kv] [--keys=N] [--watchers=N] [--rounds=N]
 *        [--duration=S] [--only=ceiling,kv,parked,fanout,scale]
 *
 * Must never: generate load or park watchers in this process or in the server's process; leave a
 * server or helper running; touch data outside its temp dirs and .bench/.
 */

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import * as L from "./lib/index.ts";
import type { FanoutResult, LoadKind, LoadResult, LoadSpec, RunningServer, Target, TargetName } from "./lib/index.ts";

const SECTIONS = ["ceiling", "kv", "parked", "fanout", "scale"] as const;
type Section = (typeof SECTIONS)[number];

interface Options {
  readonly target: TargetName;
  readonly durationS: number;
  readonly keys: number;
  readonly watchers: number;
  readonly rounds: number;
  readonly sections: ReadonlySet<Section>;
}

const USAGE = `usage: npm run bench -- kv [--target=cairn|node_kv] [--keys=N] [--watchers=N] [--rounds=N] [--duration=S] [--only=${SECTIONS.join(",")}]
  --target=cairn    (default) node bin/cairn.mjs agent -server ... ; CAIRN_BENCH_CMD="<cmd with {port} {dataDir}>" overrides it
  --target=node_kv  the naive single-thread peer (../shared/peers/http/node_kv.mjs, durable mode)
  --keys=N          keys loaded by the scale step (default ${L.SCALE_KEYS}; 0 skips it)`;

function isSection(s: string): s is Section {
  return (SECTIONS as readonly string[]).includes(s);
}

function parseArgs(argv: readonly string[]): Options {
  let target: TargetName = "cairn";
  let durationS = L.LOAD_RUN_SECONDS;
  let keys = L.SCALE_KEYS;
  let watchers = L.BQ_WATCHERS;
  let rounds = L.BQ_ROUNDS;
  let sections = new Set<Section>(SECTIONS);
  const num = (k: string, v: string, min: number): number => {
    const n = Number(v.replaceAll("_", "").replaceAll(",", ""));
    if (!Number.isFinite(n) || n < min) throw new Error(`--${k}=${v}: expected a number >= ${min}`);
    return n;
  };
  for (const a of argv) {
    const m = /^--([a-z]+)(?:=(.*))?$/.exec(a);
    if (!m || m[1] === undefined) throw new Error(`unexpected argument ${a}\n${USAGE}`);
    const [k, v = ""] = [m[1], m[2]];
    switch (k) {
      case "help":
        process.stdout.write(`${USAGE}\n`);
        process.exit(0);
        break;
      case "target":
        if (v !== "cairn" && v !== "node_kv") throw new Error(`--target=${v}: expected cairn or node_kv`);
        target = v;
        break;
      case "duration":
        durationS = num(k, v, 1);
        break;
      case "keys":
        keys = Math.floor(num(k, v, 0));
        break;
      case "watchers":
        watchers = Math.floor(num(k, v, 1));
        break;
      case "rounds":
        rounds = Math.floor(num(k, v, 1));
        break;
      case "only": {
        const list = v.split(",").filter(Boolean);
        const bad = list.filter((s) => !isSection(s));
        if (bad.length > 0 || list.length === 0) throw new Error(`--only=${v}: sections are ${SECTIONS.join(",")}`);
        sections = new Set(list.filter(isSection));
        break;
      }
      default:
        throw new Error(`unknown option --${k}\n${USAGE}`);
    }
  }
  if (keys === 0) sections.delete("scale");
  return { target, durationS, keys, watchers, rounds, sections };
}

// ---- report ----

interface ThroughputRow {
  readonly scenario: string;
  readonly conns: number;
  readonly result: LoadResult;
  readonly reference: string;
  readonly refReqPerSec: number | null;
  readonly target: string;
  readonly minRatio: number | null;
}

interface FactRow {
  readonly scenario: string;
  readonly value: string;
  readonly reference: string;
  readonly ratio: string;
  readonly target: string;
  readonly ok: boolean | null;
}

class Report {
  readonly rows: ThroughputRow[] = [];
  readonly facts: FactRow[] = [];
  readonly problems: string[] = [];
  readonly notes: string[] = [];
  readonly raw: Record<string, unknown> = {};

  ratio(r: ThroughputRow): number {
    return r.refReqPerSec ? r.result.reqPerSec / r.refReqPerSec : Number.NaN;
  }

  ok(r: ThroughputRow): boolean | null {
    if (r.result.non2xx + r.result.errors > 0) return false;
    if (r.minRatio === null || r.refReqPerSec === null) return null;
    return this.ratio(r) >= r.minRatio;
  }

  throughputTable(): string {
    const head = ["scenario", "conns", "req/s", "p50 ms", "p99 ms", "reference", "ref req/s", "ratio", "target", "ok?", "non-2xx / errors"];
    const body = this.rows.map((r) => [
      r.scenario,
      String(r.conns),
      L.fmtInt(r.result.reqPerSec),
      L.fmtMs(r.result.p50Ms),
      L.fmtMs(r.result.p99Ms),
      r.reference,
      r.refReqPerSec === null ? "—" : L.fmtInt(r.refReqPerSec),
      L.fmtRatio(this.ratio(r)),
      r.target,
      L.fmtOk(this.ok(r)),
      `${r.result.non2xx} / ${r.result.errors}${r.result.timeouts ? ` (${r.result.timeouts} timeouts)` : ""}`,
    ]);
    return L.markdownTable(head, body);
  }

  factTable(): string {
    const head = ["scenario", "value", "reference", "ratio", "target", "ok?"];
    return L.markdownTable(head, this.facts.map((f) => [f.scenario, f.value, f.reference, f.ratio, f.target, L.fmtOk(f.ok)]));
  }
}

// ---- helpers ----

function loadSpec(kind: LoadKind, s: RunningServer, connections: number, durationS: number): LoadSpec {
  return {
    kind,
    host: s.spec.endpoint.host,
    port: s.spec.endpoint.port,
    connections,
    durationS,
    keyPrefix: L.KV_KEY_PREFIX,
    keys: L.KV_KEY_COUNT,
    valueBytes: L.KV_VALUE_BYTES,
  };
}

function describe(s: RunningServer): string {
  const args = s.spec.args.map((a) => a.replace(L.repoRoot + path.sep, "")).join(" ");
  return `\`${path.basename(s.spec.command)} ${args}\``;
}

async function startReady(spec: L.ServerSpec, timeoutMs = L.SERVER_READY_TIMEOUT_MS): Promise<{ server: RunningServer; readyMs: number }> {
  const p = L.phase(`start ${spec.name}`, 1, "");
  const server = L.startServer(spec);
  try {
    const readyMs = await L.waitReady(server, timeoutMs);
    p.done(`ready in ${Math.round(readyMs)} ms (pid ${server.pid}, port ${spec.endpoint.port})`);
    return { server, readyMs };
  } catch (e) {
    p.done("failed");
    await L.stopServer(server, "SIGKILL");
    throw e;
  }
}

async function stop(s: RunningServer, signal: NodeJS.Signals = "SIGTERM"): Promise<L.StopInfo> {
  const info = await L.stopServer(s, signal);
  if (info.forced) L.note(`  ${s.spec.name} ignored ${signal} for ${L.SERVER_STOP_TIMEOUT_MS} ms and was killed`);
  return info;
}

async function seed(s: RunningServer, useTxn: boolean, prefix: string, count: number, label: string): Promise<L.SeedResult> {
  const p = L.phase(label, count, "keys");
  const r = await L.seedKeys(s.spec.endpoint, { prefix, count, valueBytes: L.KV_VALUE_BYTES, useTxn, onProgress: (n) => p.update(n) });
  p.done(`${count} keys in ${Math.round(r.ms)} ms (${L.fmtInt((count / r.ms) * 1000)} keys/s)`);
  return r;
}

function tmpDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `cairn-bench-${tag}-`));
}

const dirs: string[] = [];
process.on("exit", () => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    L.note(`\n${sig}: stopping servers and helpers`);
    process.exit(130);
  });
}

// ---- sections ----

async function ceiling(o: Options, rep: Report, hello: Map<number, number>): Promise<void> {
  const { server } = await startReady(L.helloSpec(await L.freePort()));
  rep.notes.push(`ceiling: ${describe(server)}`);
  try {
    for (const c of L.LOAD_CONNECTIONS) {
      const r = await L.runLoad(`hello GET c=${c}`, loadSpec("hello", server, c, o.durationS));
      hello.set(c, r.reqPerSec);
      rep.rows.push({ scenario: "hello GET (ceiling)", conns: c, result: r, reference: "—", refReqPerSec: null, target: "—", minRatio: null });
    }
  } finally {
    await stop(server);
  }
}

async function kvThroughput(o: Options, tgt: Target, s: RunningServer, rep: Report, hello: Map<number, number>): Promise<void> {
  for (const [kind, verb] of [["kv-put", "PUT 256 B"], ["kv-get", "GET"]] as const) {
    for (const c of L.LOAD_CONNECTIONS) {
      const r = await L.runLoad(`${tgt.name} ${verb} c=${c}`, loadSpec(kind, s, c, o.durationS));
      const target = c === 64 ? (kind === "kv-put" ? L.TARGET_PUT64_RATIO : L.TARGET_GET64_RATIO) : null;
      rep.rows.push({
        scenario: `${tgt.label} ${verb}`,
        conns: c,
        result: r,
        reference: "hello",
        refReqPerSec: hello.get(c) ?? null,
        target: target === null ? "—" : `≥ ${target}×`,
        minRatio: target,
      });
      if (r.non2xx + r.errors > 0) rep.problems.push(`${verb} c=${c}: non-2xx ${r.non2xx}, errors ${r.errors}, codes ${JSON.stringify(r.statusCodes)}`);
    }
  }
}

function checkFds(o: Options): void {
  const need = o.watchers + L.BQ_FD_MARGIN;
  const have = L.fdLimit();
  if (have < need) {
    throw new Error(`ulimit -n is ${have}; parking ${o.watchers} watchers needs at least ${need} open files per process ` +
      `(server and watcher client each hold one socket per watcher). Raise it (ulimit -n ${need * 2}) or pass --watchers=${Math.max(1, have - L.BQ_FD_MARGIN)}.`);
  }
}

async function parked(o: Options, tgt: Target, s: RunningServer, rep: Report): Promise<void> {
  checkFds(o);
  await seed(s, tgt.caps.txn, L.BQ_DISTINCT_PREFIX, o.watchers, `seed ${o.watchers} watched keys`);
  const free = await L.runLoad(`${tgt.name} GET c=64, none parked`, loadSpec("kv-get", s, 64, o.durationS));
  const around = await L.withParkedWatchers(s.spec.endpoint, o.watchers, L.BQ_DISTINCT_PREFIX, () =>
    L.runLoad(`${tgt.name} GET c=64, ${o.watchers} parked`, loadSpec("kv-get", s, 64, o.durationS)),
  );
  const busy = around.result;
  const n = o.watchers.toLocaleString("en-US");
  rep.rows.push({ scenario: `${tgt.label} GET, no watchers`, conns: 64, result: free, reference: "—", refReqPerSec: null, target: "—", minRatio: null });
  rep.rows.push({
    scenario: `${tgt.label} GET, ${n} parked (distinct keys)`,
    conns: 64,
    result: busy,
    reference: "no watchers",
    refReqPerSec: free.reqPerSec,
    target: `≥ ${L.TARGET_PARKED_RATIO}× (soft)`,
    minRatio: L.TARGET_PARKED_RATIO,
  });
  const parkOk = around.parked.errors === 0 && around.parked.early === 0 && around.early === 0;
  rep.facts.push({
    scenario: `park ${n} watchers on ${n} distinct keys`,
    value: `${Math.round(around.parked.parkMs)} ms; errors ${around.parked.errors}; answered early ${around.early}`,
    reference: "—",
    ratio: "—",
    target: "0 errors, 0 early",
    ok: parkOk,
  });
  if (!parkOk) rep.problems.push(`parking distinct watchers: errors ${around.parked.errors} (${around.parked.firstError}), answered early ${around.early}`);
  rep.raw.parked = { unparked: free, parked: busy, park: around.parked, early: around.early };
}

async function fanoutOn(label: string, s: RunningServer, o: Options, useTxn: boolean, needSeed: boolean): Promise<FanoutResult> {
  if (needSeed) await seed(s, useTxn, L.KV_KEY_PREFIX, L.KV_KEY_COUNT, `seed probe keys (${label})`);
  return L.fanout(label, s.spec.endpoint, o.watchers, L.BQ_FANOUT_KEY, o.rounds, { prefix: L.KV_KEY_PREFIX, keys: L.KV_KEY_COUNT });
}

/** Median over rounds of the watcher client's own CPU time from the PUT to the last answer. */
function clientCpuMs(f: FanoutResult): number {
  return L.median(f.rounds.map((r) => r.fired.clientCpuMs));
}

function fanoutFacts(o: Options, tgt: Target, mine: FanoutResult, naive: FanoutResult | null, floor: FanoutResult | null, rep: Report): void {
  const n = o.watchers.toLocaleString("en-US");
  const rounds = (f: FanoutResult): string => f.rounds.map((r) => Math.round(r.fired.wakeAllMs)).join("/");
  const ratio = naive ? mine.wakeAllMedianMs / naive.wakeAllMedianMs : Number.NaN;
  rep.facts.push({
    scenario: `${tgt.label}: wake-all, ${n} watchers on 1 key (median of ${o.rounds})`,
    value: `${Math.round(mine.wakeAllMedianMs)} ms (${rounds(mine)})`,
    reference: naive ? `naive node_kv ${Math.round(naive.wakeAllMedianMs)} ms (${rounds(naive)})` : "naive peer not run",
    ratio: L.fmtRatio(ratio),
    target: `≤ ${L.TARGET_FANOUT_RATIO}× naive`,
    ok: naive ? ratio <= L.TARGET_FANOUT_RATIO : null,
  });
  if (floor !== null && naive !== null) {
    // The same client against a server that does nothing per watcher but one write of a shared
    // buffer: the part of wake-all that is the client's own (it parses every answer on one thread).
    const fr = floor.wakeAllMedianMs / naive.wakeAllMedianMs;
    rep.facts.push({
      scenario: `floor (raw server, one prebuilt reply written to every socket): wake-all, same client`,
      value: `${Math.round(floor.wakeAllMedianMs)} ms (${rounds(floor)})`,
      reference: `naive node_kv ${Math.round(naive.wakeAllMedianMs)} ms`,
      ratio: L.fmtRatio(fr),
      target: `below ${L.TARGET_FANOUT_RATIO}× naive, or no server can meet the row above`,
      ok: null,
    });
    rep.facts.push({
      scenario: `watcher client's own CPU from PUT to last answer (median)`,
      value: `${Math.round(clientCpuMs(mine))} ms with ${tgt.label}`,
      reference: `naive ${Math.round(clientCpuMs(naive))} ms; floor ${Math.round(clientCpuMs(floor))} ms`,
      ratio: L.fmtRatio(clientCpuMs(mine) / naive.wakeAllMedianMs) + " of naive wake-all",
      target: "—",
      ok: null,
    });
    if (fr > L.TARGET_FANOUT_RATIO) {
      rep.notes.push(`fan-out: the floor server's wake-all is ${L.fmtRatio(fr)} of the naive peer's with the same client, above the ${L.TARGET_FANOUT_RATIO}× target: ` +
        `the single-threaded watcher client, not the server, sets the wake-all time here.`);
    }
  }
  rep.facts.push({
    scenario: `${tgt.label}: probe GET p99 during wake-up`,
    value: `${mine.probeDuringP99Ms.toFixed(1)} ms (${mine.probeDuringSamples} samples)`,
    reference: `before PUT ${mine.probeBeforeP99Ms.toFixed(1)} ms${naive ? `; naive during ${naive.probeDuringP99Ms.toFixed(1)} ms` : ""}`,
    ratio: "—",
    target: `< ${L.TARGET_PROBE_P99_MS} ms`,
    ok: mine.probeDuringSamples > 0 ? mine.probeDuringP99Ms < L.TARGET_PROBE_P99_MS : null,
  });
  const woken = mine.rounds.map((r) => `${r.fired.ok}/${o.watchers - r.parked.early}`).join(", ");
  rep.facts.push({
    scenario: `${tgt.label}: watchers woken with new index per round`,
    value: woken,
    reference: naive ? naive.rounds.map((r) => `${r.fired.ok}`).join(", ") : "—",
    ratio: "—",
    target: "all",
    ok: mine.allWoken,
  });
  if (!mine.allWoken) rep.problems.push(`fan-out: not every watcher was woken with a newer index (${woken})`);
}

async function scale(o: Options, tgt: Target, rep: Report): Promise<void> {
  const dir = tmpDir("scale");
  dirs.push(dir);
  const port = await L.freePort();
  let { server } = await startReady(tgt.spec(port, dir));
  const raw: Record<string, unknown> = { keys: o.keys };
  rep.raw.scale = raw;
  const ep = server.spec.endpoint;
  const nKeys = o.keys.toLocaleString("en-US");
  const sampleOk = async (s: RunningServer, keys: readonly number[]): Promise<string> => {
    let ok = 0;
    await L.forEachLimited(keys.length, 16, async (k) => {
      const r = await L.httpRequest(s.spec.endpoint, "GET", `/v1/kv/${L.SCALE_KEY_PREFIX}${keys[k] ?? 0}`);
      if (r.status === 200) ok++;
    });
    return `${ok}/${keys.length}`;
  };
  try {
    const how = tgt.caps.txn ? `/v1/txn × ${L.SCALE_TXN_OPS} ops, ${L.SCALE_TXN_IN_FLIGHT} in flight` : `PUTs, ${L.SCALE_PUT_IN_FLIGHT} in flight (no /v1/txn)`;
    const p = L.phase(`load ${nKeys} keys`, o.keys, "keys");
    const load = await L.seedKeys(ep, {
      prefix: L.SCALE_KEY_PREFIX, count: o.keys, valueBytes: L.KV_VALUE_BYTES, useTxn: tgt.caps.txn,
      budgetMs: L.SCALE_LOAD_BUDGET_MS, onProgress: (n) => p.update(n),
    });
    p.done(`${load.written} keys in ${(load.ms / 1000).toFixed(1)} s (${L.fmtInt((load.written / load.ms) * 1000)} keys/s)${load.complete ? "" : " — time budget ran out"}`);
    const loaded = load.written.toLocaleString("en-US");
    if (!load.complete) rep.problems.push(`scale: only ${loaded} of ${nKeys} keys written within ${L.SCALE_LOAD_BUDGET_MS / 1000} s; RSS and restart use those`);
    const sampleKeys = load.sample(L.SCALE_SAMPLE_KEYS);
    const rss = L.rssOf(server.pid);
    raw.load = { ms: load.ms, written: load.written, complete: load.complete, requests: load.requests, lastKey: load.lastKey };
    raw.rssAfterLoad = rss;
    rep.facts.push({
      scenario: `${tgt.label}: load ${nKeys} keys × 256 B`,
      value: `${loaded} keys in ${(load.ms / 1000).toFixed(1)} s (${L.fmtInt((load.written / load.ms) * 1000)} keys/s)`,
      reference: how,
      ratio: "—",
      target: `all within ${L.SCALE_LOAD_BUDGET_MS / 1000} s`,
      ok: load.complete,
    });
    rep.facts.push({
      scenario: `${tgt.label}: RSS with ${loaded} keys`,
      value: `${L.fmtBytes(rss.bytes)} (peak ${L.fmtBytes(rss.peakBytes)})`,
      reference: `VmRSS of pid ${server.pid}${rss.processes.length > 1 ? `; with children ${L.fmtBytes(rss.treeBytes)} (${rss.processes.slice(1).map((x) => `${x.name} ${L.fmtBytes(x.bytes)}`).join(", ")})` : ""}`,
      ratio: "—",
      target: "< 1 GiB",
      ok: rss.bytes < L.TARGET_RSS_BYTES,
    });
    if (!tgt.caps.persistent) {
      rep.notes.push(`scale: ${tgt.name} keeps no data across restarts; restart timings skipped`);
      return;
    }
    for (const signal of ["SIGTERM", "SIGKILL"] as const) {
      const stopped = await stop(server, signal);
      const rp = L.phase(`restart after ${signal}`, 1, "");
      server = L.startServer(tgt.spec(port, dir));
      const readyMs = await L.waitReady(server, L.SERVER_RESTART_TIMEOUT_MS);
      const lastKeyMs = await L.waitFor(server, `GET ${load.lastKey} = 200`, L.SERVER_RESTART_TIMEOUT_MS, async () =>
        (await L.httpRequest(ep, "GET", `/v1/kv/${load.lastKey}`, { timeoutMs: 2000 })).status === 200,
      );
      const sample = await sampleOk(server, sampleKeys);
      const rssAfter = L.rssOf(server.pid);
      rp.done(`last key readable ${Math.round(lastKeyMs)} ms after spawn (ready ${Math.round(readyMs)} ms), sample ${sample}`);
      raw[`restart${signal}`] = { stopMs: stopped.ms, exit: { code: stopped.code, signal: stopped.signal }, readyMs, lastKeyMs, sample, rss: rssAfter };
      rep.facts.push({
        scenario: `${tgt.label}: restart after ${signal} (${loaded} keys)`,
        value: `${(lastKeyMs / 1000).toFixed(2)} s to GET last key = 200 (leader ${(readyMs / 1000).toFixed(2)} s); sample ${sample}; RSS ${L.fmtBytes(rssAfter.bytes)}`,
        reference: signal === "SIGTERM" ? `shutdown took ${Math.round(stopped.ms)} ms, exit ${stopped.code ?? stopped.signal}` : "no shutdown snapshot",
        ratio: "—",
        target: "< 10 s",
        ok: lastKeyMs < L.TARGET_RESTART_MS && sample === `${sampleKeys.length}/${sampleKeys.length}`,
      });
    }
  } finally {
    await stop(server);
  }
}

// ---- main ----

async function section(rep: Report, name: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    rep.problems.push(`${name}: ${msg}`);
    L.note(`  ${name} failed: ${msg.split("\n")[0]}`);
  }
}

async function main(): Promise<number> {
  const o = parseArgs(process.argv.slice(2));
  const env = L.environment();
  const tgt = L.target(o.target);
  if (o.sections.has("parked") || o.sections.has("fanout")) checkFds(o); // fail before starting anything
  const rep = new Report();
  const hello = new Map<number, number>();
  const t0 = L.monoMs();
  const loadStart = os.loadavg()[0] ?? 0;
  L.note(`cairn kv bench: target ${tgt.label}, sections ${[...o.sections].join(",")}, ${o.durationS} s per load run`);

  if (o.sections.has("ceiling")) await section(rep, "ceiling", () => ceiling(o, rep, hello));

  const wantsServer = o.sections.has("kv") || o.sections.has("parked") || o.sections.has("fanout");
  let mineFanout: FanoutResult | null = null;
  if (wantsServer) {
    await section(rep, tgt.label, async () => {
      const dir = tmpDir("kv");
      dirs.push(dir);
      const { server, readyMs } = await startReady(tgt.spec(await L.freePort(), dir));
      rep.notes.push(`target: ${describe(server)}; ready ${Math.round(readyMs)} ms after spawn (empty data dir)`);
      try {
        await seed(server, tgt.caps.txn, L.KV_KEY_PREFIX, L.KV_KEY_COUNT, "seed bench/key-0..999");
        if (o.sections.has("kv")) await section(rep, "kv throughput", () => kvThroughput(o, tgt, server, rep, hello));
        if (o.sections.has("parked")) await section(rep, "parked watchers", () => parked(o, tgt, server, rep));
        if (o.sections.has("fanout")) {
          await section(rep, "fan-out", async () => {
            checkFds(o);
            mineFanout = await fanoutOn(tgt.name, server, o, tgt.caps.txn, false);
          });
        }
      } finally {
        if (server.exited()) rep.problems.push(`${tgt.label} exited during the bench: ${JSON.stringify(await server.exit)}\n${server.output()}`);
        await stop(server);
      }
    });
  }
  if (o.sections.has("fanout") && mineFanout !== null) {
    const mine: FanoutResult = mineFanout;
    let naive: FanoutResult | null = null;
    if (fs.existsSync(L.nodeKvPath())) {
      await section(rep, "fan-out (naive node_kv)", async () => {
        const dir = tmpDir("naive");
        dirs.push(dir);
        const { server } = await startReady(L.nodeKvSpec(await L.freePort(), false, dir));
        try {
          naive = await fanoutOn("naive node_kv", server, o, false, true);
        } finally {
          await stop(server);
        }
      });
    } else {
      rep.problems.push(`fan-out reference: ${L.nodeKvPath()} not found (set CAIRN_BENCH_NODE_KV)`);
    }
    let floor: FanoutResult | null = null;
    await section(rep, "fan-out (floor: raw server, one prebuilt reply)", async () => {
      const { server } = await startReady(L.fanoutFloorSpec(await L.freePort()));
      try {
        floor = await fanoutOn("fan-out floor", server, o, false, true);
      } finally {
        await stop(server);
      }
    });
    fanoutFacts(o, tgt, mine, naive, floor, rep);
    rep.raw.fanout = { target: mine, naive, floor };
  }
  if (o.sections.has("scale")) await section(rep, "scale", () => scale(o, tgt, rep));

  const totalS = (L.monoMs() - t0) / 1000;
  const loadEnd = os.loadavg()[0] ?? 0;
  rep.notes.push(`1-min load average ${loadStart.toFixed(2)} at start, ${loadEnd.toFixed(2)} at end on ${env.cpus} CPUs` +
    (Math.max(loadStart, loadEnd) > env.cpus ? " — the machine was busy with other work; compare ratios, and re-run before trusting absolute numbers" : ""));
  const out: string[] = [];
  out.push(L.headerLine("cairn KV bench", env), "");
  out.push(`target: **${tgt.label}** · autocannon, pipelining 1, ${o.durationS} s per run, load in a separate process · ` +
    `${o.watchers.toLocaleString("en-US")} watchers · ${o.rounds} fan-out rounds · scale ${o.sections.has("scale") ? o.keys.toLocaleString("en-US") + " keys" : "skipped"} · total ${totalS.toFixed(0)} s`, "");
  if (rep.rows.length > 0) out.push("### Throughput", "", rep.throughputTable(), "");
  if (rep.facts.length > 0) out.push("### Blocking queries and scale", "", rep.factTable(), "");
  if (rep.notes.length > 0) out.push("### Notes", "", ...rep.notes.map((n) => `- ${n}`), "");
  if (rep.problems.length > 0) out.push("### Problems", "", ...rep.problems.map((p) => `- ${p.replaceAll("\n", "\n  ")}`), "");

  const benchDir = path.join(L.repoRoot, ".bench");
  fs.mkdirSync(benchDir, { recursive: true });
  const file = path.join(benchDir, `kv-${env.date.replaceAll(":", "-").replace(/\.\d+Z$/, "Z")}.json`);
  const json = { env, options: { ...o, sections: [...o.sections] }, target: tgt.label, totalS, rows: rep.rows, facts: rep.facts, notes: rep.notes, problems: rep.problems, raw: rep.raw };
  fs.writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
  out.push(`results: ${path.relative(process.cwd(), file)}`);
  process.stdout.write(`${out.join("\n")}\n`);
  return rep.problems.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`kv bench: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(2);
  },
);
