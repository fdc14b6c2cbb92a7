/**
 * bench/lib/dnsperf: run one dnsperf load (a separate process) against a DNS server on loopback
 * and return qps from its summary and latency percentiles from its -v per-query lines. Open loop
 * at a fixed rate with `maxQps` (-Q), else as fast as -c 4 -q 100 allows.
 *
 * Must never: target anything but 127.0.0.1, or run without dnsperf's own time limit (-l).
 */

import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

export interface DnsperfResult {
  readonly qps: number;
  readonly p50: number;
  readonly p99: number;
  readonly lost: number;
  readonly sent: number;
}

export interface DnsperfOpts {
  readonly port: number;
  readonly name: string;
  readonly type: string;
  readonly tcp: boolean;
  /** a folder for the query file */
  readonly tmp: string;
  readonly durationS: number;
  /** -Q: cap the rate (queries per second) */
  readonly maxQps?: number;
}

function pct(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** One dnsperf run (-c 4 -q 100 -T 1 [-Q rate]); latencies in ms. */
export function dnsperf(o: DnsperfOpts): Promise<DnsperfResult> {
  const file = path.join(o.tmp, `q-${o.name}-${o.type}.txt`);
  fs.writeFileSync(file, `${o.name} ${o.type}\n`);
  const args = ["-s", "127.0.0.1", "-p", String(o.port), "-d", file, "-c", "4", "-q", "100", "-T", "1", "-l", String(o.durationS), "-v"];
  if (o.tcp) args.push("-m", "tcp");
  if (o.maxQps !== undefined) args.push("-Q", String(Math.max(1, Math.round(o.maxQps))));
  // dnsperf's per-query lines go to a file and are read after the run: parsing ~40k lines a
  // second here while the load runs would take CPU from the server under test (2 cores).
  const out = path.join(o.tmp, `dnsperf-${process.pid}-${o.port}.out`);
  const fd = fs.openSync(out, "w");
  return new Promise<DnsperfResult>((resolve, reject) => {
    const p = spawn("dnsperf", args, { stdio: ["ignore", fd, "pipe"] });
    let summary = "";
    p.stderr!.on("data", (d: Buffer) => (summary += d.toString()));
    p.on("error", reject);
    p.on("close", () => {
      const lat: number[] = [];
      for (const l of fs.readFileSync(out, "latin1").split("\n")) {
        if (l.startsWith("> ")) {
          const v = Number(l.slice(l.lastIndexOf(" ") + 1));
          if (Number.isFinite(v)) lat.push(v * 1000);
        } else summary += `${l}\n`;
      }
      const qps = Number(/Queries per second:\s+([\d.]+)/.exec(summary)?.[1] ?? NaN);
      const lost = Number(/Queries lost:\s+(\d+)/.exec(summary)?.[1] ?? 0);
      const sent = Number(/Queries sent:\s+(\d+)/.exec(summary)?.[1] ?? 0);
      lat.sort((a, b) => a - b);
      resolve({ qps, p50: pct(lat, 50), p99: pct(lat, 99), lost, sent });
    });
  }).finally(() => {
    fs.closeSync(fd);
    fs.rmSync(out, { force: true });
  });
}
