/**
 * bench/dns: cairn's DNS server under dnsperf — A and SRV lookups for services with 1, 10,
 * 100 and 1000 passing instances over UDP and TCP (qps, p50, p99), next to a raw dgram/net
 * responder measured in the same run (the Node ceiling), and qps while the catalog changes
 * 100 times a second. The server (over a real Store) and the ceiling each run in their own
 * process; dnsperf is the load. Then discovery at scale against a real durable agent process
 * (bench/lib/discovery.ts): a 100-instance catalog grown to 100,000 instances (1,000 services ×
 * 100) through /v1/catalog/register — RSS, health query p50/p99, 1,000 parked blocking health
 * watchers woken, DNS p99 at half the peak rate — next to the 100-instance figures.
 * Markdown to stdout, progress to stderr. About 90 s + 2-3 min.
 *
 * Usage: npm run bench -- dns [--duration=S] (default 3 s per dnsperf run) [--only=servers|scale]
 *        [--services=N] (default 1000, × 100 instances each) [--nodes=N] (default 1000 nodes share them)
 * Must never: run without a bound, or leave its child processes behind.
 */

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";
import {
  cpuMsOf, discoveryScale, dnsperf as runDnsperf, environment, fmtInt, fmtRatio, headerLine, markdownTable, note, type DnsperfResult,
} from "./lib/index.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..");
const argv = process.argv.join(" ");
const duration = Number(/--duration=(\d+)/.exec(argv)?.[1] ?? 3);
const only = /--only=(servers|scale)/.exec(argv)?.[1] ?? "all";
const services = Number(/--services=(\d+)/.exec(argv)?.[1] ?? 1000);
const nodes = Number(/--nodes=(\d+)/.exec(argv)?.[1] ?? 1000);

function dnsperf(port: number, name: string, type: string, tcp: boolean, tmp: string): Promise<Result> {
  return runDnsperf({ port, name, type, tcp, tmp, durationS: duration });
}

interface Child {
  proc: ChildProcess;
  port: number;
  lines: readline.Interface;
}

async function startChild(cmd: string, args: string[]): Promise<Child> {
  const proc = spawn(cmd, args, { cwd: root, stdio: ["pipe", "pipe", "inherit"] });
  const lines = readline.createInterface({ input: proc.stdout! });
  const port = await new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${args.join(" ")}: not ready in 60 s`)), 60_000);
    lines.once("line", (l) => {
      clearTimeout(t);
      resolve((JSON.parse(l) as { port: number }).port);
    });
    proc.once("exit", (c) => reject(new Error(`${args.join(" ")} exited ${c}`)));
  });
  return { proc, port, lines };
}

function stopChild(c: Child): Promise<void> {
  return new Promise((resolve) => {
    if (c.proc.exitCode !== null) return resolve();
    const t = setTimeout(() => c.proc.kill("SIGKILL"), 5000);
    c.proc.once("exit", () => {
      clearTimeout(t);
      resolve();
    });
    c.proc.stdin?.end();
  });
}

type Result = DnsperfResult;

/** Alternating peak runs per target for the UDP A comparison with the ceiling. */
const PEAK_RUNS = 5;
/** Alternating fixed-rate runs per target for CPU per query, and their rate. */
const CPU_RUNS = 3;
const CPU_RATE_QPS = 30_000;

const ms = (v: number): string => (Number.isFinite(v) ? v.toFixed(2) : "–");

/** One run of bench/lib/dns-tcp-load.mjs (4 connections × 10 in flight): for TCP replies dnsperf cannot read. */
function tcpLoad(port: number, name: string, type: string): Promise<Result> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [path.join(here, "lib/dns-tcp-load.mjs"), String(port), name, type, String(duration), "4", "10"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    p.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    p.on("error", reject);
    p.on("close", (code) => {
      if (code !== 0) return reject(new Error(`dns-tcp-load exited ${code}`));
      resolve(JSON.parse(out) as Result);
    });
  });
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor((s.length - 1) / 2)]!;
};

/** Half-peak latency runs per target (the median p99 is the row's figure; the machine is noisy). */
const HALF_PEAK_RUNS = 5;

/** The server-and-ceiling section (a DNS server over a real Store in a child process). */
async function serversSection(tmp: string, raw: Record<string, unknown>): Promise<string> {
  note("starting the ceiling responders and the DNS server (seeding 1111 instances into a Store)");
  const echo = await startChild(process.execPath, [path.join(here, "lib/dns-echo-child.mjs")]);
  // Same-size ceilings for large TCP answers: 1000 A records (as cairn's svc1000 A reply, ~16 KB)
  // and 4090 (~64 KB, as its 1000-instance SRV reply trimmed to Consul's TCP limit).
  const echo1k = await startChild(process.execPath, [path.join(here, "lib/dns-echo-child.mjs"), "1000"]);
  const echo64k = await startChild(process.execPath, [path.join(here, "lib/dns-echo-child.mjs"), "4090"]);
  const server = await startChild(process.execPath, ["--import", "tsx", path.join(here, "lib/dns-server-child.ts")]);
  const rows: string[][] = [];
  const ceilRow = (label: string, proto: string, r: Result): string[] => [label, proto, "A", "–", fmtInt(r.qps), ms(r.p50), ms(r.p99), "1.00×", String(r.lost)];
  try {
    const ceil: Record<string, Result> = {};
    for (const tcp of [false, true]) {
      note(`ceiling ${tcp ? "TCP" : "UDP"}`);
      ceil[tcp ? "tcp" : "udp"] = await dnsperf(echo.port, "web.service.consul", "A", tcp, tmp);
    }
    note("ceiling TCP, 1000-record reply");
    ceil["tcp1k"] = await dnsperf(echo1k.port, "web.service.consul", "A", true, tmp);
    note("ceiling TCP, 64 KB reply (own load generator)");
    ceil["tcp64k"] = await tcpLoad(echo64k.port, "web.service.consul", "A");
    raw["ceilings"] = ceil;
    rows.push(ceilRow("ceiling (raw dgram/net, fixed reply)", "UDP", ceil["udp"]!));
    rows.push(ceilRow("ceiling (raw dgram/net, fixed reply)", "TCP", ceil["tcp"]!));
    rows.push(ceilRow("ceiling (raw net, fixed 1000-A reply, 16 KB)", "TCP", ceil["tcp1k"]!));
    rows.push(ceilRow("ceiling (raw net, fixed 64 KB reply) ‡", "TCP", ceil["tcp64k"]!));
    /** The ceiling a row is compared with: same transport, and for 1000-instance TCP answers the same reply size. */
    const refOf = (n: number, type: string, tcp: boolean): Result =>
      !tcp ? ceil["udp"]! : n === 1000 ? (type === "SRV" ? ceil["tcp64k"]! : ceil["tcp1k"]!) : ceil["tcp"]!;
    const run = async (n: number, type: string, tcp: boolean, label: string): Promise<void> => {
      // dnsperf 2.10 loses every TCP reply over ~16-24 KB: the 64 KB SRV answer goes through our own generator.
      const own = tcp && type === "SRV" && n === 1000;
      note(`${label} svc${n} ${type} ${tcp ? "TCP" : "UDP"}${own ? " (own load generator)" : ""}`);
      const r = own ? await tcpLoad(server.port, `svc${n}.service.consul`, type) : await dnsperf(server.port, `svc${n}.service.consul`, type, tcp, tmp);
      raw[`${label}/${n}/${type}/${tcp ? "tcp" : "udp"}`] = r;
      rows.push([own ? `${label} ‡` : label, tcp ? "TCP" : "UDP", type, String(n), fmtInt(r.qps), ms(r.p50), ms(r.p99), fmtRatio(r.qps / refOf(n, type, tcp).qps), String(r.lost)]);
    };
    for (const tcp of [false, true]) for (const type of ["A", "SRV"]) for (const n of [1, 10, 100, 1000]) await run(n, type, tcp, "cairn");
    // Single peak runs swing by ±20% on this shared machine: the UDP A target (≥ 0.9× the ceiling)
    // is judged on PEAK_RUNS alternating runs of each, and on server CPU per query at one fixed
    // rate (CPU_RATE_QPS, both processes' user + system time from /proc), which noise moves far less.
    const peakRuns: Record<string, Result[]> = { ceiling: [], cairn: [] };
    const cpuRuns: Record<string, number[]> = { ceiling: [], cairn: [] };
    const contenders = [
      { label: "ceiling", child: echo, name: "web.service.consul" },
      { label: "cairn", child: server, name: "svc100.service.consul" },
    ];
    for (let i = 0; i < PEAK_RUNS; i++) {
      for (const t of contenders) {
        note(`${t.label} UDP A peak, run ${i + 1} of ${PEAK_RUNS}`);
        peakRuns[t.label]!.push(await dnsperf(t.child.port, t.name, "A", false, tmp));
      }
    }
    for (let i = 0; i < CPU_RUNS; i++) {
      for (const t of contenders) {
        note(`${t.label} UDP A at ${fmtInt(CPU_RATE_QPS)} qps: CPU per query, run ${i + 1} of ${CPU_RUNS}`);
        const c0 = cpuMsOf(t.child.proc.pid!);
        const r = await runDnsperf({ port: t.child.port, name: t.name, type: "A", tcp: false, tmp, durationS: duration, maxQps: CPU_RATE_QPS });
        cpuRuns[t.label]!.push(((cpuMsOf(t.child.proc.pid!) - c0) * 1000) / Math.max(1, r.qps * duration));
      }
    }
    raw["peak-alternating"] = peakRuns;
    raw["cpu-per-query-us"] = cpuRuns;
    const peakMed = (label: string): number => median(peakRuns[label]!.map((r) => r.qps));
    const cpuMed = (label: string): number => median(cpuRuns[label]!);
    for (const t of contenders) {
      const rs = peakRuns[t.label]!;
      rows.push([
        `${t.label}: peak, median of ${PEAK_RUNS} alternating ★`, "UDP", "A", t.label === "cairn" ? "100" : "–", fmtInt(peakMed(t.label)),
        ms(median(rs.map((r) => r.p50))), ms(median(rs.map((r) => r.p99))), fmtRatio(peakMed(t.label) / peakMed("ceiling")), String(rs.reduce((a, r) => a + r.lost, 0)),
      ]);
    }
    // The latency target is set at half the peak rate: the ceiling and cairn, each at half its own
    // peak (the median above; dnsperf -Q), HALF_PEAK_RUNS times each, alternating; the row gives the median p99.
    const halfRuns: Record<string, Result[]> = { ceiling: [], cairn: [] };
    const targets = [
      { label: "ceiling", port: echo.port, name: "web.service.consul", peak: peakMed("ceiling") },
      { label: "cairn", port: server.port, name: "svc100.service.consul", peak: peakMed("cairn") },
    ];
    for (let i = 0; i < HALF_PEAK_RUNS; i++) {
      for (const t of targets) {
        note(`${t.label} UDP A at half its peak (${fmtInt(t.peak / 2)} qps), run ${i + 1} of ${HALF_PEAK_RUNS}`);
        halfRuns[t.label]!.push(await runDnsperf({ port: t.port, name: t.name, type: "A", tcp: false, tmp, durationS: duration, maxQps: t.peak / 2 }));
      }
    }
    raw["half-peak"] = halfRuns;
    for (const t of targets) {
      const rs = halfRuns[t.label]!;
      rows.push([
        `${t.label} at ½ peak (-Q ${fmtInt(t.peak / 2)}), median of ${rs.length} †`, "UDP", "A", t.label === "cairn" ? "100" : "–",
        fmtInt(median(rs.map((r) => r.qps))), ms(median(rs.map((r) => r.p50))), ms(median(rs.map((r) => r.p99))),
        fmtRatio(median(rs.map((r) => r.qps)) / ceil["udp"]!.qps), String(rs.reduce((a, r) => a + r.lost, 0)),
      ]);
    }
    server.proc.stdin!.write("churn on\n");
    await new Promise((r) => setTimeout(r, 500));
    await run(100, "A", false, "cairn + 100 writes/s");
    await run(1000, "SRV", false, "cairn + 100 writes/s");
    await run(100, "SRV", true, "cairn + 100 writes/s");
    server.proc.stdin!.write("churn off\nstats\n");
    const stats = await new Promise<string>((r) => server.lines.once("line", r));
    note(`server stats: ${stats}`);
    const p99s = (label: string): string => halfRuns[label]!.map((r) => ms(r.p99)).join(" / ");
    const peaks = (label: string): string => peakRuns[label]!.map((r) => fmtInt(r.qps)).join(" / ");
    const cpus = (label: string): string => cpuRuns[label]!.map((v) => v.toFixed(1)).join(" / ");
    return [
      "### DNS server vs a raw Node responder (dnsperf -c 4 -q 100 -T 1)",
      "",
      `Each run ${duration} s. UDP queries carry no EDNS, so answers are capped at 3 records (Consul's udp_answer_limit);`,
      "TCP answers carry every instance (1000 A ≈ 16 KB; 1000 SRV + A glue trimmed to Consul's 65523-byte TCP limit ≈ 64 KB).",
      "Latency percentiles from dnsperf -v per-query times. Ratio = qps / the ceiling on the same transport; 1000-instance",
      "TCP rows are compared with a raw responder sending a fixed reply of the same size. Server and ceilings each run in",
      "their own process; the load generator in another.",
      "",
      markdownTable(["target", "proto", "type", "instances", "qps", "p50 ms", "p99 ms", "ratio", "lost"], rows),
      "",
      "‡ dnsperf 2.10 loses every TCP reply over ~16-24 KB, so the 64 KB rows use bench/lib/dns-tcp-load.mjs",
      "(4 connections × 10 queries in flight, one Node process) for both the ceiling and cairn.",
      `† UDP A replayed at half of that target's own peak rate (the issue's "p99 under 2 ms at half the peak rate"),`,
      `${HALF_PEAK_RUNS} runs each, alternating; p99 per run: ceiling ${p99s("ceiling")} ms, cairn ${p99s("cairn")} ms.`,
      `★ qps per run: ceiling ${peaks("ceiling")}, cairn ${peaks("cairn")}. Server CPU (user + system) per query at`,
      `${fmtInt(CPU_RATE_QPS)} qps, median of ${CPU_RUNS} alternating runs: ceiling ${cpuMed("ceiling").toFixed(1)} µs, cairn ${cpuMed("cairn").toFixed(1)} µs`,
      `(${fmtRatio(cpuMed("ceiling") / cpuMed("cairn"))} of the ceiling's efficiency; runs: ceiling ${cpus("ceiling")}, cairn ${cpus("cairn")}).`,
      "",
    ].join("\n");
  } finally {
    await stopChild(server);
    await stopChild(echo);
    await stopChild(echo1k);
    await stopChild(echo64k);
  }
}

async function main(): Promise<void> {
  if (spawnSync("sh", ["-c", "command -v dnsperf"]).status !== 0) {
    process.stderr.write("bench dns: needs dnsperf (sh tests/setup/ensure_packages.sh dnsperf, or apt-get install -y dnsperf)\n");
    process.exit(2);
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cairn-dns-bench-"));
  const env = environment();
  const raw: Record<string, unknown> = {};
  const sections: string[] = [];
  try {
    if (only !== "scale") {
      const servers: Record<string, unknown> = {};
      sections.push(await serversSection(tmp, servers));
      raw["servers"] = servers;
    }
    if (only !== "servers") {
      const scale = await discoveryScale({
        services, perService: 100, nodes, watchers: 1000, rounds: 3, latencyCount: 2000, dnsDurationS: duration,
        registerInFlight: 64, loadBudgetMs: 150_000, tmp,
      });
      sections.push(scale.markdown);
      raw["scale"] = scale.raw;
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  process.stdout.write(`${[headerLine("DNS and discovery", env), "", ...sections].join("\n")}\n`);
  fs.mkdirSync(path.join(root, ".bench"), { recursive: true });
  fs.writeFileSync(path.join(root, ".bench", `dns-${Date.now()}.json`), JSON.stringify({ env, raw }, null, 2));
}

await main();
