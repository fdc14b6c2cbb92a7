/**
 * tests/e2e/agent_proc: start a real cairn agent process for end-to-end tests.
 *
 * Runs src/main.ts on the same runtime as the test (Node through tsx, or Deno),
 * on loopback with free ports, waits until /v1/status/leader answers, and stops
 * it by signal. Every process started is tracked and killed at exit. spawnProc() is
 * the one way e2e helpers start a child process (agents here, `cairn lock` in
 * lock_helpers.ts, agents inside network namespaces in netns_lab.ts).
 *
 * Must never: bind anything but 127.0.0.1, or leave a process running.
 */

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { isDeno } from "../../src/platform/runtime.ts";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

const live = new Set<ChildProcess>();
process.on("exit", () => {
  for (const c of live) c.kill("SIGKILL");
});

/** The argv prefix that runs the cairn CLI on this runtime. */
export function cairnCommand(): { cmd: string; args: string[] } {
  if (isDeno) {
    return { cmd: path.join(ROOT, "node_modules/.bin/deno"), args: ["run", "-A", path.join(ROOT, "src/main.ts")] };
  }
  // What users run: bin/cairn.mjs (an esbuild bundle of src/, rebuilt when src changes).
  return { cmd: process.execPath, args: [path.join(ROOT, "bin/cairn.mjs")] };
}

function anyFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      const port = typeof a === "object" && a !== null ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

// Ports already handed out in this process: the kernel can offer a just-closed port again, and
// one agent once got the same port for HTTP and serf LAN (EADDRINUSE in CI).
const handedOut = new Set<number>();

export async function freePort(): Promise<number> {
  if (handedOut.size > 10_000) handedOut.clear();
  for (let i = 0; ; i++) {
    const port = await anyFreePort();
    if (!handedOut.has(port) || i >= 20) {
      handedOut.add(port);
      return port;
    }
  }
}

export function tempDir(prefix = "cairn-e2e-"): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** A child process started by spawnProc(). */
export interface SpawnedProc {
  readonly child: ChildProcess;
  /** Resolves with the exit code (or signal name) when the process exits. */
  readonly exited: Promise<number | string>;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** Sends `sig` while it runs (process.kill: Deno's child.kill() would change the exit it reports). */
  signal(sig: NodeJS.Signals): void;
}

/**
 * Starts `cmd args` in the repo root with output captured and the test's environment plus
 * `env`; the process is killed at exit, and also listed in `track` while it runs.
 */
export function spawnProc(cmd: string, args: readonly string[], env: Record<string, string> = {}, track?: Set<ChildProcess>): SpawnedProc {
  const child = spawn(cmd, args, {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1", ...env },
  });
  live.add(child);
  track?.add(child);
  let out = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | string>((resolve) => {
    child.on("exit", (code, sig) => {
      live.delete(child);
      track?.delete(child);
      resolve(code ?? sig ?? -1);
    });
  });
  return {
    child,
    exited,
    output: () => out,
    signal: (sig) => {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(child.pid, sig);
    },
  };
}

export interface AgentProc {
  readonly child: ChildProcess;
  readonly httpPort: number;
  /** The DNS port (UDP and TCP) when started with `dnsPort`, else -1 (DNS disabled). */
  readonly dnsPort: number;
  /** The serf LAN port when started with `serfLanPort`, else -1. */
  readonly serfLanPort: number;
  /** The server (RPC) port when started with `serverPort`, else -1. */
  readonly serverPort: number;
  /** The serf WAN port when started with `serfWanPort`, else -1. */
  readonly serfWanPort: number;
  readonly base: string;
  output(): string;
  /** Resolves with the exit code (or signal name) when the process exits. */
  readonly exited: Promise<number | string>;
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | string>;
}

export interface StartOpts {
  /** Extra agent args, e.g. ["-dev"] or ["-server", "-bootstrap-expect", "1", "-data-dir", dir]. */
  args: string[];
  httpPort?: number;
  /** Serve DNS on this port (0 picks a free one); DNS is disabled (-1) when absent. */
  dnsPort?: number;
  readyTimeoutMs?: number;
  env?: Record<string, string>;
  /** Serf LAN port (0 picks a free one); the LAN pool is disabled (-1) when absent. */
  serfLanPort?: number;
  /** Server (RPC) port (0 picks a free one); disabled (-1) when absent. */
  serverPort?: number;
  /** Serf WAN port (0 picks a free one); the WAN pool is disabled (-1) when absent. */
  serfWanPort?: number;
  /** Ready once HTTP answers, without waiting for a known leader (cluster members before bootstrap, client agents before they know a server). */
  readyWithoutLeader?: boolean;
}

export async function startAgent(opts: StartOpts): Promise<AgentProc> {
  const httpPort = opts.httpPort ?? (await freePort());
  const dnsPort = opts.dnsPort === undefined ? -1 : opts.dnsPort === 0 ? await freePort() : opts.dnsPort;
  const serfLanPort = opts.serfLanPort === undefined ? -1 : opts.serfLanPort === 0 ? await freePort() : opts.serfLanPort;
  const serverPort = opts.serverPort === undefined ? -1 : opts.serverPort === 0 ? await freePort() : opts.serverPort;
  const serfWanPort = opts.serfWanPort === undefined ? -1 : opts.serfWanPort === 0 ? await freePort() : opts.serfWanPort;
  const { cmd, args } = cairnCommand();
  const full = [
    ...args,
    "agent",
    ...opts.args,
    "-bind",
    "127.0.0.1",
    "-client",
    "127.0.0.1",
    "-http-port",
    String(httpPort),
    "-dns-port",
    String(dnsPort),
    "-server-port",
    String(serverPort),
    "-serf-lan-port",
    String(serfLanPort),
    "-serf-wan-port",
    String(serfWanPort),
  ];
  const { child, exited, output } = spawnProc(cmd, full, opts.env ?? {});
  const base = `http://127.0.0.1:${httpPort}`;
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 20_000);
  let ready = false;
  let gone = false;
  void exited.then(() => (gone = true));
  while (Date.now() < deadline && !gone) {
    try {
      const r = await fetch(`${base}/v1/status/leader`);
      const body = await r.text();
      // readyWithoutLeader: any answer will do (a client agent that knows no server answers 500).
      if ((r.status === 200 && body.length > 2) || opts.readyWithoutLeader === true) {
        ready = true;
        break;
      }
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const proc: AgentProc = {
    child,
    httpPort,
    dnsPort,
    serfLanPort,
    serverPort,
    serfWanPort,
    base,
    output,
    exited,
    stop: async (signal = "SIGTERM", timeoutMs = 15_000) => {
      // process.kill, not child.kill: Deno's child.kill() makes the exit event report the
      // signal instead of the exit code the child chose after handling it.
      if (!gone && child.pid !== undefined) process.kill(child.pid, signal);
      const t = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
  if (!ready) {
    child.kill("SIGKILL");
    await exited;
    throw new Error(`agent did not become ready on ${base}; output:\n${output()}`);
  }
  return proc;
}
