/**
 * tests/e2e/watch_helpers: running cairn CLI commands as child processes next to a real
 * agent (collect output, run to exit, or start and stop by signal), and polling helpers.
 */

import { spawn, type ChildProcess } from "node:child_process";
import { cairnCommand, ROOT } from "./agent_proc.ts";

export interface Cli {
  readonly child: ChildProcess;
  out(): string;
  err(): string;
  readonly exited: Promise<number | string>;
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

export function startCli(args: string[], env: Record<string, string> = {}, stdin = ""): Cli {
  const { cmd, args: pre } = cairnCommand();
  const child = spawn(cmd, [...pre, ...args], {
    cwd: ROOT,
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1", ...env },
  });
  let out = "";
  let err = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString("utf8")));
  child.stderr?.on("data", (d: Buffer) => (err += d.toString("utf8")));
  const exited = new Promise<number | string>((resolve) => child.on("exit", (code, sig) => resolve(code ?? sig ?? -1)));
  const kill = setTimeout(() => child.kill("SIGKILL"), 20_000);
  void exited.then(() => clearTimeout(kill));
  child.stdin?.end(stdin);
  return {
    child,
    out: () => out,
    err: () => err,
    exited,
    stop: async (signal = "SIGTERM") => {
      if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, signal);
      const t = setTimeout(() => child.kill("SIGKILL"), 5000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}

export async function runCli(args: string[], env: Record<string, string> = {}, stdin = ""): Promise<{ code: number | string; out: string; err: string }> {
  const c = startCli(args, env, stdin);
  const code = await c.exited;
  return { code, out: c.out(), err: c.err() };
}

export async function waitFor(cond: () => boolean | Promise<boolean>, ms = 10_000, what = "condition"): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}
