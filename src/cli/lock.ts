/**
 * cli/lock: `consul lock [options] prefix child...` (command/lock/lock.go): acquire a
 * lock (-n 1, key <prefix>/.lock) or a semaphore slot (-n N), run the child while it is
 * held (env CONSUL_LOCK_HELD=true, through $SHELL -c unless -shell=false), stop the child
 * (SIGTERM, SIGKILL after 5 s) when the lock is lost or on SIGINT/SIGTERM, then release
 * and clean up. Consul's texts, flags and exit codes (0; 1 on errors; 2 with
 * -child-exit-code when the child failed).
 *
 * Must never: leave the child running when the lock is gone, or keep the lock after exit.
 */

import { spawn, type ChildProcess } from "node:child_process";
import type { CliIO, Command } from "./command.ts";
import { error, info } from "./command.ts";
import { FlagSet, renderUsage } from "./flags.ts";
import { addHttpFlags, clientOptions } from "./http_client.ts";
import { EXIT_ERROR, EXIT_OK, parseFlags } from "./parse.ts";
import { ERR_LOCK_IN_USE, ERR_SEMAPHORE_IN_USE, LockError, Locker, LockHttp, joinPath } from "./lock_api.ts";
import { parseGoDuration } from "../agent/config/duration.ts";

/** lockKillGracePeriod. */
const KILL_GRACE_MS = 5000;
/** defaultMonitorRetryTime. */
const MONITOR_RETRY_MS = 1000;

function flagSet(): FlagSet {
  const fs = new FlagSet();
  fs.bool(
    "child-exit-code",
    "Exit 2 if the child process exited with an error if this is true, otherwise this doesn't " +
      "propagate an error from the child. The default value is false.",
  );
  fs.int(
    "n",
    1,
    "Optional limit on the number of concurrent lock holders. The underlying implementation " +
      "switches from a lock to a semaphore when the value is greater than 1. The default value is 1.",
  );
  fs.int(
    "monitor-retry",
    3,
    "Number of times to retry if Consul returns a 500 error while monitoring the lock. This " +
      "allows riding out brief periods of unavailability without causing leader elections, but " +
      "increases the amount of time required to detect a lost lock in some cases. The default " +
      "value is 3, with a 1s wait between retries. Set this value to 0 to disable retires.",
  );
  fs.string(
    "name",
    "",
    "Optional name to associate with the lock session. It not provided, one is generated based on the provided child command.",
  );
  fs.bool("pass-stdin", "Pass stdin to the child process.");
  fs.add({
    name: "shell",
    kind: "bool",
    section: "command",
    defaultValue: "true",
    usage: "Use a shell to run the command (can set a custom shell via the SHELL environment variable).",
  });
  fs.string(
    "timeout",
    "0s",
    'Maximum amount of time to wait to acquire the lock, specified as a duration like "1s" or "3h". The default value is 0.',
  );
  fs.bool("verbose", "Enable verbose (debugging) output.");
  fs.string("try", "0s", "DEPRECATED. Use -timeout instead.");
  addHttpFlags(fs);
  return fs;
}

function helpText(prog: string): string {
  return `
Usage: ${prog} lock [options] prefix child...

  Acquires a lock or semaphore at a given path, and invokes a child process
  when successful. The child process can assume the lock is held while it
  executes. If the lock is lost or communication is disrupted the child
  process will be sent a SIGTERM signal and given time to gracefully exit.
  After the grace period expires the process will be hard terminated.

  For Consul agents on Windows, the child process is always hard terminated
  with a SIGKILL, since Windows has no POSIX compatible notion for SIGTERM.

  When -n=1, only a single lock holder or leader exists providing mutual
  exclusion. Setting a higher value switches to a semaphore allowing multiple
  holders to coordinate.

  The prefix provided must have write privileges.
`;
}

/** Resolves on the first SIGINT/SIGTERM (Consul's ShutdownCh); `off` removes the handlers. */
function shutdownSignal(): { promise: Promise<void>; fired: () => boolean; off: () => void } {
  let fired = false;
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  const on = (): void => {
    fired = true;
    resolve();
  };
  process.on("SIGINT", on);
  process.on("SIGTERM", on);
  return {
    promise,
    fired: () => fired,
    off: () => {
      process.off("SIGINT", on);
      process.off("SIGTERM", on);
    },
  };
}

interface Child {
  readonly proc: ChildProcess;
  /** Resolves with true when the child exited with an error. */
  readonly done: Promise<boolean>;
}

function startChild(args: string[], io: CliIO, passStdin: boolean, shell: boolean, verbose: boolean): Child | undefined {
  if (verbose) info(io, "Starting handler");
  const env = { ...io.env, CONSUL_LOCK_HELD: "true" };
  const stdio: ["inherit" | "ignore", "pipe", "pipe"] = [passStdin ? "inherit" : "ignore", "pipe", "pipe"];
  let proc: ChildProcess;
  try {
    proc = shell
      ? spawn(io.env["SHELL"] || "/bin/sh", ["-c", args.join(" ")], { env, stdio })
      : spawn(args[0] ?? "", args.slice(1), { env, stdio });
  } catch (e) {
    error(io, `Error executing handler: ${(e as Error).message}`);
    return undefined;
  }
  proc.stdout?.on("data", (d: Buffer) => io.out(new Uint8Array(d)));
  proc.stderr?.on("data", (d: Buffer) => io.err(d.toString("utf8")));
  const done = new Promise<boolean>((resolve) => {
    proc.on("error", (e) => {
      error(io, `Error starting handler: ${e.message}`);
      resolve(true);
    });
    proc.on("exit", (code, signal) => {
      const failed = code !== 0;
      if (failed) error(io, `Error running handler: ${signal !== null ? `signal: ${signal === "SIGKILL" ? "killed" : signal === "SIGTERM" ? "terminated" : signal}` : `exit status ${code}`}`);
      resolve(failed);
    });
  });
  return { proc, done };
}

async function killChild(child: Child | undefined, io: CliIO, verbose: boolean): Promise<void> {
  if (child === undefined || child.proc.pid === undefined) {
    if (verbose) info(io, "No child process to kill");
    return;
  }
  const pid = child.proc.pid;
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  if (verbose) info(io, `Terminating child pid ${pid}`);
  child.proc.kill("SIGTERM");
  let timer: ReturnType<typeof setTimeout> | undefined;
  const graced = await Promise.race([
    child.done.then(() => true),
    new Promise<boolean>((r) => (timer = setTimeout(() => r(false), KILL_GRACE_MS))),
  ]);
  if (timer !== undefined) clearTimeout(timer);
  if (graced) {
    if (verbose) info(io, "Child terminated");
    return;
  }
  if (verbose) info(io, `Child did not exit after grace period of ${KILL_GRACE_MS / 1000}s`);
  if (verbose) info(io, `Killing child pid ${pid}`);
  child.proc.kill("SIGKILL");
  await child.done;
}

export const lockCommand: Command = {
  help: (prog) => renderUsage(helpText(prog), flagSet()),
  async run(argv: string[], io: CliIO): Promise<number> {
    const fs = flagSet();
    const p = parseFlags(fs, argv, io, helpText(io.prog));
    if (!p.ok) return p.code;
    const limit = fs.getInt("n");
    if (limit <= 0) {
      error(io, "Lock holder limit must be positive");
      return EXIT_ERROR;
    }
    const extra = p.args;
    if (extra.length < 2) {
      error(io, "Key prefix and child command must be specified");
      return EXIT_ERROR;
    }
    const prefix = (extra[0] ?? "").replace(/^\//, "");
    const childArgs = extra.slice(1);
    const timeoutText = fs.isSet("timeout") ? fs.getString("timeout") : fs.getString("try");
    const timeoutMs = parseGoDuration(timeoutText);
    if (timeoutMs === undefined) {
      error(io, `invalid value "${timeoutText}" for flag -timeout: parse error`);
      return EXIT_ERROR;
    }
    if (timeoutMs < 0) {
      error(io, "Timeout must be positive");
      return EXIT_ERROR;
    }
    const name = fs.getString("name") || `Consul lock for '${childArgs.join(" ")}' at '${prefix}'`;
    const monitorRetry = fs.getInt("monitor-retry");
    if (monitorRetry < 0) {
      error(io, "Number for 'monitor-retry' must be >= 0");
      return EXIT_ERROR;
    }
    const verbose = fs.getBool("verbose");
    const http = new LockHttp(await clientOptions(fs, io.env));
    try {
      await http.ok("GET", "/v1/agent/self", [], undefined, new AbortController().signal);
    } catch (e) {
      error(io, `Error querying Consul agent: ${(e as Error).message}`);
      return EXIT_ERROR;
    }
    if (verbose) {
      info(io, limit === 1 ? `Setting up lock at path: ${joinPath(prefix, ".lock")}` : `Setting up semaphore (limit ${limit}) at prefix: ${prefix}`);
    }
    const locker = new Locker(http, {
      limit,
      prefix,
      sessionName: name,
      waitMs: timeoutMs,
      monitorRetries: monitorRetry,
      monitorRetryMs: MONITOR_RETRY_MS,
    });
    const shutdown = shutdownSignal();
    void shutdown.promise.then(() => locker.stop());
    try {
      if (verbose) info(io, "Attempting lock acquisition");
      let held: boolean;
      try {
        held = await locker.acquire();
      } catch (e) {
        await locker.release().catch(() => undefined);
        error(io, `Lock acquisition failed: ${(e as Error).message}`);
        return EXIT_ERROR;
      }
      if (!held) {
        await locker.release().catch(() => undefined);
        error(io, "Shutdown triggered or timeout during lock acquisition");
        return EXIT_ERROR;
      }
      let childCode = 0;
      if (shutdown.fired()) {
        error(io, "Shutdown triggered during lock acquisition");
      } else {
        const child = startChild(childArgs, io, fs.getBool("pass-stdin"), fs.getBool("shell"), verbose);
        const outcome = await Promise.race([
          shutdown.promise.then(() => "shutdown" as const),
          locker.lost.then(() => "lost" as const),
          (child?.done ?? Promise.resolve(true)).then((failed) => (failed ? ("failed" as const) : ("exited" as const))),
        ]);
        if (outcome === "shutdown" || outcome === "lost") {
          if (verbose) info(io, outcome === "shutdown" ? "Shutdown triggered, killing child" : "Lock lost, killing child");
          await killChild(child, io, verbose);
        } else {
          if (outcome === "failed") childCode = 2;
          if (verbose) info(io, "Child terminated, releasing lock");
        }
      }
      try {
        await locker.release();
      } catch (e) {
        error(io, `Lock release failed: ${(e as Error).message}`);
        return EXIT_ERROR;
      }
      try {
        await locker.cleanup();
        if (verbose) info(io, "Cleanup succeeded");
      } catch (e) {
        const inUse = e instanceof LockError && (e.message === ERR_LOCK_IN_USE || e.message === ERR_SEMAPHORE_IN_USE);
        if (!inUse) {
          error(io, `Lock cleanup failed: ${(e as Error).message}`);
          return EXIT_ERROR;
        }
        if (verbose) info(io, "Cleanup aborted, lock in use");
      }
      return fs.getBool("child-exit-code") ? childCode : EXIT_OK;
    } finally {
      shutdown.off();
    }
  },
};
