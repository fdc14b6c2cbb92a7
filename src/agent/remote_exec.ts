/**
 * agent/remote_exec: the agent side of `consul exec` (agent/remote_exec.go). On a "_rexec"
 * user event (payload {"Prefix","Session"}) it reads the job spec from
 * <prefix>/<session>/job ({Command, Args, Script (base64), Wait (ns)}), acknowledges with
 * <prefix>/<session>/<node>/ack, runs the command (Args directly, else Command or the
 * spilled Script through the shell), uploads output in chunks of up to 4 KiB to
 * <node>/out/<%05x> (a partial chunk after 500 ms of silence, an empty key as heartbeat
 * when there is no output for Wait), and finally writes the exit code to <node>/exit.
 * Every key is written with ?acquire=<session>, so nothing lands once the session is gone.
 *
 * Only registered when disable_remote_exec = false.
 *
 * Must never: run a job whose spec is missing or malformed, or outlive the agent (stop()).
 */

import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { REXEC_OUTPUT_CHUNK_BYTES, REXEC_OUTPUT_IDLE_MS } from "../shared/limits.ts";
import type { UserEvent } from "./events.ts";
import type { AgentClient } from "../watch/client.ts";

export type RexecLogFn = (level: "debug" | "info" | "warn" | "error", msg: string) => void;

export interface RemoteExecDeps {
  readonly nodeName: string;
  /** A client for this agent's own HTTP API (undefined: no HTTP listener). */
  client(): AgentClient | undefined;
  readonly log: RexecLogFn;
}

interface Spec {
  readonly command: string;
  readonly args: string[];
  readonly script: Buffer | undefined;
  readonly waitMs: number;
}

function decodeSpec(v: unknown): Spec | undefined {
  if (typeof v !== "object" || v === null) return undefined;
  const o = v as Record<string, unknown>;
  const command = typeof o["Command"] === "string" ? o["Command"] : "";
  const args = Array.isArray(o["Args"]) ? (o["Args"] as unknown[]).map(String) : [];
  const script = typeof o["Script"] === "string" && o["Script"] !== "" ? Buffer.from(o["Script"], "base64") : undefined;
  const waitNs = typeof o["Wait"] === "number" ? o["Wait"] : 0;
  return { command, args, script, waitMs: Math.max(100, waitNs / 1e6) };
}

export class RemoteExec {
  private readonly deps: RemoteExecDeps;
  private readonly children = new Set<ChildProcess>();
  private stopped = false;

  constructor(deps: RemoteExecDeps) {
    this.deps = deps;
  }

  /** The "_rexec" event handler. */
  handle(e: UserEvent): void {
    void this.run(e).catch((err: unknown) => this.deps.log("error", `remote exec failed: ${String(err)}`));
  }

  stop(): void {
    this.stopped = true;
    for (const c of this.children) c.kill("SIGKILL");
  }

  private async run(e: UserEvent): Promise<void> {
    const log = this.deps.log;
    log("debug", `received remote exec event (ID: ${e.id})`);
    let ev: { Prefix?: unknown; Session?: unknown };
    try {
      ev = JSON.parse(Buffer.from(e.payload ?? new Uint8Array()).toString("utf8")) as typeof ev;
    } catch (err) {
      log("error", `failed to decode remote exec event: ${String(err)}`);
      return;
    }
    const prefix = typeof ev.Prefix === "string" ? ev.Prefix : "";
    const session = typeof ev.Session === "string" ? ev.Session : "";
    const client = this.deps.client();
    if (client === undefined || session === "") {
      log("error", "failed to get remote exec job: no HTTP endpoint or session");
      return;
    }
    // Read the job spec: stale first, then consistent.
    let spec: Spec | undefined;
    const jobKey = path.posix.join(prefix, session, "job");
    for (const mode of ["stale", "consistent"] as const) {
      const r = await client.request("GET", `/v1/kv/${jobKey}`, [[mode, ""]]);
      if (r.status === 404) {
        if (mode === "stale") log("debug", "trying consistent fetch of remote exec job spec");
        else log("debug", "remote exec aborted, job spec missing");
        continue;
      }
      if (r.status !== 200) {
        log("error", `failed to get remote exec job: Unexpected response code: ${r.status}`);
        return;
      }
      try {
        const entries = JSON.parse(r.body.toString("utf8")) as Array<{ Value?: string | null }>;
        const raw = Buffer.from(entries[0]?.Value ?? "", "base64").toString("utf8");
        spec = decodeSpec(JSON.parse(raw));
      } catch (err) {
        log("error", `failed to decode remote exec spec: ${String(err)}`);
        return;
      }
      break;
    }
    if (spec === undefined) return;
    const writeKey = async (suffix: string, val: Uint8Array | undefined): Promise<boolean> => {
      const key = path.posix.join(prefix, session, this.deps.nodeName, suffix);
      try {
        const r = await client.request("PUT", `/v1/kv/${key}`, [["acquire", session]], val ?? new Uint8Array());
        if (r.status === 200 && r.body.toString("utf8").trim() === "true") return true;
        log("error", `failed to write remote exec key ${key}: write failed`);
      } catch (err) {
        log("error", `failed to write remote exec key ${key}: ${String(err)}`);
      }
      return false;
    };
    if (!(await writeKey("ack", undefined))) return;
    let exitCode = 0;
    let tmpDir: string | undefined;
    try {
      let cmd: string;
      let argv: string[];
      const shell = process.env["SHELL"] || "/bin/sh";
      if (spec.args.length > 0) {
        cmd = spec.args[0] as string;
        argv = spec.args.slice(1);
      } else if (spec.script !== undefined) {
        tmpDir = mkdtempSync(path.join(os.tmpdir(), "rexec"));
        const file = path.join(tmpDir, "script");
        writeFileSync(file, spec.script);
        chmodSync(file, 0o750);
        cmd = shell;
        argv = ["-c", file];
      } else {
        cmd = shell;
        argv = ["-c", spec.command];
      }
      log("info", `remote exec '${spec.args.length > 0 ? spec.args.join(" ") : spec.script !== undefined ? "<script>" : spec.command}'`);
      if (this.stopped) return;
      exitCode = await this.execute(cmd, argv, spec.waitMs, (n, chunk) => writeKey(`out/${n.toString(16).padStart(5, "0")}`, chunk));
    } catch (err) {
      log("debug", `failed to start remote exec: ${String(err)}`);
      exitCode = 255;
    } finally {
      if (tmpDir !== undefined) rmSync(tmpDir, { recursive: true, force: true });
      await writeKey("exit", Buffer.from(String(exitCode)));
    }
  }

  /** Runs the command, uploading output chunks and heartbeats in order; resolves with the exit code. */
  private execute(cmd: string, argv: string[], waitMs: number, upload: (n: number, chunk: Uint8Array | undefined) => Promise<boolean>): Promise<number> {
    return new Promise<number>((resolve) => {
      const child = spawn(cmd, argv, { stdio: ["ignore", "pipe", "pipe"] });
      this.children.add(child);
      let num = 0;
      let failed = false;
      let chain: Promise<void> = Promise.resolve();
      let buf: Buffer[] = [];
      let bufLen = 0;
      let idle: ReturnType<typeof setTimeout> | undefined;
      let heartbeat: ReturnType<typeof setTimeout> | undefined;
      const send = (chunk: Uint8Array | undefined): void => {
        const n = num++;
        chain = chain.then(async () => {
          if (failed) return;
          if (!(await upload(n, chunk))) {
            failed = true;
            child.kill("SIGKILL");
          }
        });
        armHeartbeat();
      };
      const armHeartbeat = (): void => {
        if (heartbeat !== undefined) clearTimeout(heartbeat);
        heartbeat = setTimeout(() => send(undefined), waitMs);
      };
      const flush = (): void => {
        if (idle !== undefined) clearTimeout(idle);
        idle = undefined;
        if (bufLen === 0) return;
        const data = Buffer.concat(buf, bufLen);
        buf = [];
        bufLen = 0;
        send(data);
      };
      const onData = (d: Buffer): void => {
        let rest = d;
        while (rest.length > 0) {
          const room = REXEC_OUTPUT_CHUNK_BYTES - bufLen;
          const part = rest.subarray(0, room);
          buf.push(part);
          bufLen += part.length;
          rest = rest.subarray(part.length);
          if (bufLen >= REXEC_OUTPUT_CHUNK_BYTES) flush();
        }
        if (idle !== undefined) clearTimeout(idle);
        if (bufLen > 0) idle = setTimeout(flush, REXEC_OUTPUT_IDLE_MS);
      };
      child.stdout?.on("data", onData);
      child.stderr?.on("data", onData);
      armHeartbeat();
      let spawnError = false;
      child.on("error", () => {
        spawnError = true;
      });
      child.on("close", (code) => {
        this.children.delete(child);
        flush();
        if (heartbeat !== undefined) clearTimeout(heartbeat);
        heartbeat = undefined;
        void chain.then(() => {
          if (heartbeat !== undefined) clearTimeout(heartbeat);
          resolve(failed || spawnError ? 255 : (code ?? 1));
        });
      });
    });
  }
}
