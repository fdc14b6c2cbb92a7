/**
 * bench/lib/agent: start, probe and stop the server under test (cairn, an override command, the
 * naive node_kv peer, or the hello-world ceiling) as a separate process, and read its RSS.
 *
 * Must never: signal processes it did not start, or leave one running when the bench exits.
 */

import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { repoRoot } from "./ipc.ts";
import { httpRequest, monoMs, sleep, type Endpoint } from "./http.ts";
import { READY_POLL_MS, SERVER_OUTPUT_LINES, SERVER_STOP_TIMEOUT_MS } from "./config.ts";

export type Readiness = "leader" | "http";

export interface ServerSpec {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly endpoint: Endpoint;
  readonly readiness: Readiness;
  readonly env?: Readonly<Record<string, string>>;
}

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface RunningServer {
  readonly spec: ServerSpec;
  readonly proc: ChildProcess;
  readonly pid: number;
  /** monotonic ms at spawn */
  readonly spawnedAt: number;
  readonly exit: Promise<ExitInfo>;
  exited(): boolean;
  output(): string;
}

const live = new Set<ChildProcess>();
process.on("exit", () => {
  for (const p of live) p.kill("SIGKILL");
});

export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on("error", reject);
    s.listen(0, host, () => {
      const a = s.address();
      const port = typeof a === "object" && a !== null ? a.port : 0;
      s.close(() => (port > 0 ? resolve(port) : reject(new Error("no free port"))));
    });
  });
}

export function startServer(spec: ServerSpec): RunningServer {
  const spawnedAt = monoMs();
  const proc = spawn(spec.command, [...spec.args], {
    cwd: repoRoot,
    env: { ...process.env, ...spec.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (proc.pid === undefined) throw new Error(`${spec.name}: spawn failed (${spec.command})`);
  live.add(proc);
  const lines: string[] = [];
  const keep = (c: Buffer): void => {
    for (const l of c.toString().split("\n")) if (l.trim()) lines.push(l);
    if (lines.length > SERVER_OUTPUT_LINES) lines.splice(0, lines.length - SERVER_OUTPUT_LINES);
  };
  proc.stdout?.on("data", keep);
  proc.stderr?.on("data", keep);
  let done = false;
  const exit = new Promise<ExitInfo>((resolve) => {
    proc.on("exit", (code, signal) => {
      done = true;
      live.delete(proc);
      resolve({ code, signal });
    });
  });
  return { spec, proc, pid: proc.pid, spawnedAt, exit, exited: () => done, output: () => lines.join("\n") };
}

/** Poll `check` until it returns true; fails early if the server exits. Returns ms since spawn. */
export async function waitFor(s: RunningServer, what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<number> {
  const deadline = monoMs() + timeoutMs;
  let lastErr = "";
  while (monoMs() < deadline) {
    if (s.exited()) throw new Error(`${s.spec.name} exited while waiting for ${what}:\n${s.output()}`);
    try {
      if (await check()) return monoMs() - s.spawnedAt;
    } catch (e) {
      lastErr = e instanceof Error ? e.message : String(e);
    }
    await sleep(READY_POLL_MS);
  }
  throw new Error(`${s.spec.name}: ${what} not reached within ${timeoutMs} ms (last error: ${lastErr || "none"})\n${s.output()}`);
}

export async function isReady(s: RunningServer): Promise<boolean> {
  switch (s.spec.readiness) {
    case "http": {
      await httpRequest(s.spec.endpoint, "GET", "/v1/kv/bench/ready-probe", { timeoutMs: 1000 });
      return true;
    }
    case "leader": {
      const r = await httpRequest(s.spec.endpoint, "GET", "/v1/status/leader", { timeoutMs: 1000 });
      if (r.status !== 200) return false;
      const v: unknown = JSON.parse(r.body.toString() || '""');
      return typeof v === "string" && v.length > 0;
    }
    default: {
      const never: never = s.spec.readiness;
      throw new Error(`unknown readiness ${String(never)}`);
    }
  }
}

export function waitReady(s: RunningServer, timeoutMs: number): Promise<number> {
  return waitFor(s, "readiness", timeoutMs, () => isReady(s));
}

export interface StopInfo extends ExitInfo {
  readonly ms: number;
  /** true when the server ignored the signal and had to be SIGKILLed */
  readonly forced: boolean;
}

export async function stopServer(s: RunningServer, signal: NodeJS.Signals = "SIGTERM", timeoutMs = SERVER_STOP_TIMEOUT_MS): Promise<StopInfo> {
  const t0 = monoMs();
  if (s.exited()) return { ...(await s.exit), ms: 0, forced: false };
  s.proc.kill(signal);
  let forced = false;
  const timer = setTimeout(() => {
    forced = true;
    s.proc.kill("SIGKILL");
  }, timeoutMs);
  const info = await s.exit;
  clearTimeout(timer);
  return { ...info, ms: monoMs() - t0, forced };
}

function readStatusKb(pid: number, field: string): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return m?.[1] ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push(Number(d));
    } catch {
      // the process went away while scanning
    }
  }
  return out;
}

/**
 * user + system CPU time of the given processes (all their threads) so far, in ms: /proc ticks
 * of 10 ms (CLK_TCK 100); a process that is gone counts 0.
 */
export function cpuMsOf(pids: number | readonly number[]): number {
  let ticks = 0;
  for (const pid of typeof pids === "number" ? [pids] : pids) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(f[11]) + Number(f[12]); // utime, stime (fields 14 and 15)
    } catch {
      // gone
    }
  }
  return ticks * 10;
}

export interface ProcRss {
  readonly pid: number;
  readonly name: string;
  readonly bytes: number;
  readonly peakBytes: number;
}

export interface Rss {
  /** VmRSS of the server process itself */
  readonly bytes: number;
  /** VmHWM (peak RSS) of the server process itself */
  readonly peakBytes: number;
  /** VmRSS of the process and all of its descendants (e.g. tsx's esbuild service) */
  readonly treeBytes: number;
  readonly processes: readonly ProcRss[];
}

function procName(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "?";
  }
}

/** VmRSS/VmHWM of `pid`, and of its whole process tree. */
export function rssOf(pid: number): Rss {
  const processes: ProcRss[] = [];
  const todo = [pid];
  while (todo.length > 0) {
    const p = todo.pop() as number;
    const kb = readStatusKb(p, "VmRSS");
    if (kb === 0) continue;
    processes.push({ pid: p, name: procName(p), bytes: kb * 1024, peakBytes: readStatusKb(p, "VmHWM") * 1024 });
    todo.push(...childPids(p));
  }
  const self = processes.find((x) => x.pid === pid);
  return {
    bytes: self?.bytes ?? 0,
    peakBytes: self?.peakBytes ?? 0,
    treeBytes: processes.reduce((a, x) => a + x.bytes, 0),
    processes,
  };
}

// ---- the servers the benches know ----

export type TargetName = "cairn" | "node_kv";

export interface TargetCaps {
  /** speaks /v1/txn */
  readonly txn: boolean;
  /** keeps data across restarts */
  readonly persistent: boolean;
}

export interface Target {
  readonly name: TargetName;
  readonly label: string;
  readonly caps: TargetCaps;
  /** spec for a server on `port` keeping its data in `dataDir` */
  spec(port: number, dataDir: string): ServerSpec;
}

const LOOPBACK = "127.0.0.1";

export function helloSpec(port: number): ServerSpec {
  return {
    name: "hello",
    command: process.execPath,
    args: [path.join(repoRoot, "bench/lib/hello.mjs"), String(port), LOOPBACK],
    endpoint: { host: LOOPBACK, port },
    readiness: "http",
  };
}

/** The naive single-thread KV peer (../shared/peers/http/node_kv.mjs, or CAIRN_BENCH_NODE_KV). */
export function nodeKvPath(): string {
  return process.env.CAIRN_BENCH_NODE_KV ?? path.resolve(repoRoot, "../shared/peers/http/node_kv.mjs");
}

export function nodeKvSpec(port: number, durable: boolean, dataDir: string): ServerSpec {
  return {
    name: durable ? "node_kv (durable)" : "node_kv",
    command: process.execPath,
    args: [nodeKvPath(), String(port), ...(durable ? ["durable"] : [])],
    endpoint: { host: LOOPBACK, port },
    readiness: "http",
    env: { KV_LOG: path.join(dataDir, "node_kv.log") },
  };
}

/** The fan-out floor: a raw node:net KV that writes one prebuilt reply to every parked socket. */
export function fanoutFloorSpec(port: number): ServerSpec {
  return {
    name: "fan-out floor",
    command: process.execPath,
    args: [path.join(repoRoot, "bench/lib/fanout-floor.mjs"), String(port)],
    endpoint: { host: LOOPBACK, port },
    readiness: "http",
    env: {},
  };
}

/** cairn from this tree, or CAIRN_BENCH_CMD with {port} and {dataDir} placeholders. */
export function cairnSpec(port: number, dataDir: string): ServerSpec {
  const override = process.env.CAIRN_BENCH_CMD;
  if (override) {
    const cmd = override.replaceAll("{port}", String(port)).replaceAll("{dataDir}", dataDir);
    let endpoint: Endpoint = { host: LOOPBACK, port };
    if (!override.includes("{port}")) {
      const [h, p] = (process.env.CAIRN_BENCH_ADDR ?? "127.0.0.1:8500").split(":");
      endpoint = { host: h || LOOPBACK, port: Number(p) };
    }
    return { name: "CAIRN_BENCH_CMD", command: "/bin/sh", args: ["-c", `exec ${cmd}`], endpoint, readiness: "leader" };
  }
  const args = [
    path.join(repoRoot, "bin/cairn.mjs"), "agent", "-server", "-bootstrap-expect", "1",
    "-data-dir", dataDir, "-node", "bench", "-bind", LOOPBACK, "-client", LOOPBACK,
    "-http-port", String(port), "-dns-port", "-1", "-server-port", "-1",
    "-serf-lan-port", "-1", "-serf-wan-port", "-1", "-log-level", "warn",
  ];
  return { name: "cairn", command: process.execPath, args, endpoint: { host: LOOPBACK, port }, readiness: "leader" };
}

export function target(name: TargetName): Target {
  switch (name) {
    case "cairn":
      return {
        name,
        label: process.env.CAIRN_BENCH_CMD ? "CAIRN_BENCH_CMD" : "cairn durable",
        caps: { txn: true, persistent: true },
        spec: cairnSpec,
      };
    case "node_kv":
      return {
        name,
        label: "node_kv durable",
        caps: { txn: false, persistent: false },
        spec: (port, dataDir) => nodeKvSpec(port, true, dataDir),
      };
    default: {
      const never: never = name;
      throw new Error(`unknown target ${String(never)}`);
    }
  }
}
