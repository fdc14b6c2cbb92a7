/**
 * bench/dns: cairn's DNS server under dnsperf — A and SRV lookups for services with 1, 10,
 * 100 and 1000 passing instances over UDP and TCP (qps, p50, p99), next to a raw dgram/net
 * responder measured in the same run (the Node ceiling), and qps while the catalog changes
 * 100 times a second. The server (over a real Store) and the ceiling each run in their own
 * process; dnsperf is the load. Markdown to stdout, progress to stderr. About 90 s.
 *
 * Usage: npm run bench -- dns [--duration=S] (default 3 s per run)
 * Must never: run without a bound, or leave its child processes behind.
 */

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";
import { environment, fmtInt, fmtRatio, headerLine, markdownTable, note } from "./lib/index.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..");
const duration = Number(/--duration=(\d+)/.exec(process.argv.join(" "))?.[1] ?? 3);

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

interface Result {
  qps: number;
  p50: number;
  p99: number;
  lost: number;
}

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** One dnsperf run (-c 4 -q 100 -T 1): qps from its summary, latency percentiles from -v lines. */
function dnsperf(port: number, name: string, type: string, tcp: boolean, tmp: string): Promise<Result> {
  const file = path.join(tmp, `q-${name}-${type}.txt`);
  fs.writeFileSync(file, `${name} ${type}\n`);
  const args = ["-s", "127.0.0.1", "-p", String(port), "-d", file, "-c", "4", "-q", "100", "-T", "1", "-l", String(duration), "-v"];
  if (tcp) args.push("-m", "tcp");
  return new Promise((resolve, reject) => {
    const p = spawn("dnsperf", args, { stdio: ["ignore", "pipe", "pipe"] });
    const lat: number[] = [];
    let summary = "";
    const rl = readline.createInterface({ input: p.stdout! });
    rl.on("line", (l) => {
      if (l.startsWith("> ")) {
        const v = Number(l.slice(l.lastIndexOf(" ") + 1));
        if (Number.isFinite(v)) lat.push(v * 1000);
      } else summary += `${l}\n`;
    });
    p.stderr!.on("data", (d: Buffer) => (summary += d.toString()));
    p.on("error", reject);
    p.on("close", () => {
      const qps = Number(/Queries per second:\s+([\d.]+)/.exec(summary)?.[1] ?? NaN);
      const lost = Number(/Queries lost:\s+(\d+)/.exec(summary)?.[1] ?? 0);
      lat.sort((a, b) => a - b);
      resolve({ qps, p50: pct(lat, 50), p99: pct(lat, 99), lost });
    });
  });
}

const ms = (v: number): string => (Number.isFinite(v) ? v.toFixed(2) : "–");

async function main(): Promise<void> {
  if (spawnSync("sh", ["-c", "command -v dnsperf"]).status !== 0) {
    process.stderr.write("bench dns: needs dnsperf (apt-get install -y dnsperf)\n");
    process.exit(2);
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cairn-dns-bench-"));
  const env = environment();
  note("starting the ceiling responder and the DNS server (seeding 1111 instances into a Store)");
  const echo = await startChild(process.execPath, [path.join(here, "lib/dns-echo-child.mjs")]);
  const server = await startChild(process.execPath, ["--import", "tsx", path.join(here, "lib/dns-server-child.ts")]);
  const rows: string[][] = [];
  const raw: Record<string, Result> = {};
  try {
    const ceil: Record<string, Result> = {};
    for (const tcp of [false, true]) {
      note(`ceiling ${tcp ? "TCP" : "UDP"}`);
      ceil[tcp ? "tcp" : "udp"] = await dnsperf(echo.port, "web.service.consul", "A", tcp, tmp);
    }
    for (const tcp of [false, true]) {
      const c = ceil[tcp ? "tcp" : "udp"]!;
      rows.push([`ceiling (raw dgram/net, fixed reply)`, tcp ? "TCP" : "UDP", "A", "–", fmtInt(c.qps), ms(c.p50), ms(c.p99), "1.00×", String(c.lost)]);
    }
    const run = async (n: number, type: string, tcp: boolean, label: string): Promise<void> => {
      note(`${label} svc${n} ${type} ${tcp ? "TCP" : "UDP"}`);
      const r = await dnsperf(server.port, `svc${n}.service.consul`, type, tcp, tmp);
      raw[`${label}/${n}/${type}/${tcp ? "tcp" : "udp"}`] = r;
      const c = ceil[tcp ? "tcp" : "udp"]!;
      rows.push([label, tcp ? "TCP" : "UDP", type, String(n), fmtInt(r.qps), ms(r.p50), ms(r.p99), fmtRatio(r.qps / c.qps), String(r.lost)]);
    };
    for (const tcp of [false, true]) for (const type of ["A", "SRV"]) for (const n of [1, 10, 100, 1000]) await run(n, type, tcp, "cairn");
    server.proc.stdin!.write("churn on\n");
    await new Promise((r) => setTimeout(r, 500));
    await run(100, "A", false, "cairn + 100 writes/s");
    await run(1000, "SRV", false, "cairn + 100 writes/s");
    await run(100, "SRV", true, "cairn + 100 writes/s");
    server.proc.stdin!.write("churn off\nstats\n");
    const stats = await new Promise<string>((r) => server.lines.once("line", r));
    note(`server stats: ${stats}`);
  } finally {
    await stopChild(server);
    await stopChild(echo);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const out = [
    headerLine("DNS: cairn vs a raw Node responder (dnsperf -c 4 -q 100 -T 1)", env),
    "",
    `Each run ${duration} s. UDP queries carry no EDNS, so answers are capped at 3 records (Consul's udp_answer_limit);`,
    "TCP answers carry every instance (1000 SRV + 1000 A glue ≈ 60 KB). Latency percentiles from dnsperf -v per-query times.",
    "Ratio = qps / ceiling qps on the same transport. Server and ceiling each run in their own process; dnsperf in a third.",
    "",
    markdownTable(["target", "proto", "type", "instances", "qps", "p50 ms", "p99 ms", "ratio", "lost"], rows),
    "",
    "A row with 0 qps and every query lost at 1000 SRV over TCP is dnsperf 2.10 failing to read ~64 KB TCP replies",
    "(763 SRV + 763 A glue, trimmed to Consul's 65523-byte TCP limit); `dig +tcp` reads the same reply (tests/dns/dig.test.ts).",
    "",
  ].join("\n");
  process.stdout.write(`${out}\n`);
  fs.mkdirSync(path.join(root, ".bench"), { recursive: true });
  fs.writeFileSync(path.join(root, ".bench", `dns-${Date.now()}.json`), JSON.stringify({ env, raw }, null, 2));
}

await main();
