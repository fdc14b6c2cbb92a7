/**
 * tests/gossip/interop_mlpeer: runs mlpeer (a real HashiCorp memberlist 0.2.2 / serf 0.9.4
 * peer, see /work/shared/interop/memberlist/README.md) for the interop tests: builds it
 * once through tests/setup/ensure_mlpeer.sh (offline, from Debian packages), starts it on
 * 127.0.0.1 with -port 0, collects its JSON event lines, and stops it by PID.
 *
 * Must never: stop a process it did not start, or leave one running after stop().
 */

import { execFileSync, spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import readline from "node:readline";

export type MlEvent = Record<string, unknown>;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** The mlpeer binary, or the reason it cannot be had (the tests skip with it). */
export function ensureMlpeer(): { bin: string } | { skip: string } {
  try {
    const out = execFileSync("sh", [path.join(root, "tests/setup/ensure_mlpeer.sh")], {
      cwd: root, timeout: 300_000, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"],
    });
    const bin = out.trim().split("\n").pop() ?? "";
    if (bin === "") return { skip: "ensure_mlpeer.sh printed no path" };
    return { bin };
  } catch (e) {
    const err = e as { stderr?: unknown; message?: string };
    const text = typeof err.stderr === "string" && err.stderr.trim() !== "" ? err.stderr.trim() : (err.message ?? String(e));
    return { skip: `mlpeer cannot be built: ${text}` };
  }
}

export function str(e: MlEvent | undefined, key: string): string {
  const v = e?.[key];
  return typeof v === "string" ? v : "";
}

export function num(e: MlEvent | undefined, key: string): number {
  const v = e?.[key];
  return typeof v === "number" ? v : NaN;
}

/** serf_member events: the members list of the event. */
export function serfMembers(e: MlEvent): { name: string; status: string; tags: Record<string, string> }[] {
  const ms = e["members"];
  if (!Array.isArray(ms)) return [];
  return ms.map((m: unknown) => {
    const o = (typeof m === "object" && m !== null ? m : {}) as Record<string, unknown>;
    const tags: Record<string, string> = {};
    if (typeof o["tags"] === "object" && o["tags"] !== null) {
      for (const [k, v] of Object.entries(o["tags"] as Record<string, unknown>)) if (typeof v === "string") tags[k] = v;
    }
    return { name: typeof o["name"] === "string" ? o["name"] : "", status: typeof o["status"] === "string" ? o["status"] : "", tags };
  });
}

export class MlPeer {
  readonly events: { at: number; e: MlEvent }[] = [];
  readonly proc: ChildProcess;
  port = 0;
  readonly exited: Promise<number | null>;
  #waiters = new Set<() => void>();

  private constructor(proc: ChildProcess) {
    this.proc = proc;
    this.exited = new Promise((r) => proc.on("exit", (code) => r(code)));
    const rl = readline.createInterface({ input: proc.stdout! });
    rl.on("line", (line) => {
      let e: unknown;
      try {
        e = JSON.parse(line);
      } catch {
        return;
      }
      if (typeof e !== "object" || e === null) return;
      const ev = e as MlEvent;
      if (str(ev, "event") === "start") this.port = num(ev, "port");
      this.events.push({ at: Date.now(), e: ev });
      for (const w of this.#waiters) w();
    });
    proc.stderr?.resume();
  }

  /** Starts mlpeer with `-bind 127.0.0.1 -port 0 -log -` plus args; resolves after its start line. */
  static async start(bin: string, name: string, args: string[]): Promise<MlPeer> {
    const proc = spawn(bin, ["-name", name, "-bind", "127.0.0.1", "-port", "0", "-lifetime", "60", "-status-interval", "1s", "-log", "/dev/null", ...args], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const p = new MlPeer(proc);
    await p.waitFor((e) => str(e, "event") === "start", 10_000, "mlpeer start");
    return p;
  }

  find(pred: (e: MlEvent) => boolean): { at: number; e: MlEvent } | undefined {
    return this.events.find((x) => pred(x.e));
  }

  /** Resolves with the first (past or future) event matching pred and its arrival time. */
  waitFor(pred: (e: MlEvent) => boolean, timeoutMs: number, what: string): Promise<{ at: number; e: MlEvent }> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const hit = this.find(pred);
        if (hit === undefined) return false;
        cleanup();
        resolve(hit);
        return true;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for mlpeer ${what}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(w);
      };
      const w = (): void => void check();
      this.#waiters.add(w);
      check();
    });
  }

  /** serf_member event of the given type about node. */
  serfEvent(type: string, node: string): (e: MlEvent) => boolean {
    return (e) => str(e, "event") === "serf_member" && str(e, "type") === type && serfMembers(e).some((m) => m.name === node);
  }

  /** Stops the process by PID (SIGKILL = crash, SIGTERM = graceful leave) and waits for it. */
  async stop(signal: "SIGKILL" | "SIGTERM" = "SIGKILL"): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill(signal);
    const t = setTimeout(() => this.proc.kill("SIGKILL"), 5000);
    await this.exited;
    clearTimeout(t);
  }
}
