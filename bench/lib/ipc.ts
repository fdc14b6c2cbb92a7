/**
 * bench/lib/ipc: fork a bench helper (.ts under tsx) as a separate Node process and talk to it
 * with small JSON messages that carry a `type` field.
 *
 * Must never: run measured load in the calling process, or leave a child running after the
 * bench exits (children exit when their IPC channel closes; see `childChannel`).
 */

import { fork, type ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot: string = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export interface Msg {
  readonly type: string;
}

export function isMsg(m: unknown): m is Msg {
  return typeof m === "object" && m !== null && "type" in m && typeof m.type === "string";
}

const live = new Set<ChildProcess>();
process.on("exit", () => {
  for (const c of live) c.kill("SIGKILL");
});

/** A forked helper process: send messages, await the next message of a given type. */
export class HelperProcess {
  readonly proc: ChildProcess;
  readonly name: string;
  private readonly queue: Msg[] = [];
  private waiter: { type: string; resolve: (m: Msg) => void; reject: (e: Error) => void } | null = null;
  private listeners: Array<(m: Msg) => void> = [];
  private exitError: Error | null = null;
  private stderrTail = "";

  constructor(rel: string, config: unknown, name: string) {
    this.name = name;
    this.proc = fork(path.join(repoRoot, rel), [JSON.stringify(config)], {
      cwd: repoRoot,
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "inherit", "pipe", "ipc"],
    });
    live.add(this.proc);
    this.proc.stderr?.on("data", (c: Buffer) => {
      this.stderrTail = (this.stderrTail + c.toString()).slice(-4000);
    });
    this.proc.on("message", (m: unknown) => {
      if (!isMsg(m)) return;
      for (const l of this.listeners) l(m);
      if (this.waiter && m.type === this.waiter.type) {
        const w = this.waiter;
        this.waiter = null;
        w.resolve(m);
      } else if (m.type === "fatal") {
        this.fail(new Error(`${this.name}: ${JSON.stringify(m)}`));
      } else if (m.type !== "progress") {
        this.queue.push(m);
      }
    });
    this.proc.on("exit", (code, signal) => {
      live.delete(this.proc);
      this.fail(new Error(`${this.name} exited (code ${code}, signal ${signal})${this.stderrTail ? `: ${this.stderrTail.trim()}` : ""}`));
    });
  }

  private fail(e: Error): void {
    if (!this.exitError) this.exitError = e;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w.reject(e);
    }
  }

  onMessage(fn: (m: Msg) => void): void {
    this.listeners.push(fn);
  }

  send<M extends Msg>(m: M): void {
    this.proc.send(m);
  }

  /** The next message of `type` (queued ones first); rejects on timeout or child exit. */
  next(type: string, timeoutMs: number): Promise<Msg> {
    const i = this.queue.findIndex((m) => m.type === type);
    if (i >= 0) return Promise.resolve(this.queue.splice(i, 1)[0] as Msg);
    if (this.exitError) return Promise.reject(this.exitError);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiter = null;
        reject(new Error(`${this.name}: no '${type}' within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = {
        type,
        resolve: (m) => {
          clearTimeout(t);
          resolve(m);
        },
        reject: (e) => {
          clearTimeout(t);
          reject(e);
        },
      };
    });
  }

  /** Ask the child to leave, then make sure it is gone. */
  async close(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const gone = new Promise<void>((r) => this.proc.once("exit", () => r()));
    if (this.proc.connected) this.proc.disconnect();
    const t = setTimeout(() => this.proc.kill("SIGKILL"), 10_000);
    await gone;
    clearTimeout(t);
  }
}

/** Child side: read the config from argv, exit when the parent goes away. */
export function childChannel(): { config: unknown; send: <M extends Msg>(m: M) => void; onMessage: (fn: (m: Msg) => void) => void } {
  const raw = process.argv[2];
  if (raw === undefined || !process.send) throw new Error("bench helper must be started by HelperProcess");
  process.on("disconnect", () => process.exit(0));
  return {
    config: JSON.parse(raw) as unknown,
    send: (m) => {
      if (process.connected) process.send?.(m);
    },
    onMessage: (fn) => {
      process.on("message", (m: unknown) => {
        if (isMsg(m)) fn(m);
      });
    },
  };
}
