/**
 * tests/e2e/lock_helpers: run `cairn lock` processes against an agent, and act as a lock
 * holder on another (fake) node through the HTTP API with Consul's lock layout.
 *
 * Must never: leave a process running (every process is killed at exit).
 */

import { readFileSync } from "node:fs";
import type { ChildProcess } from "node:child_process";
import { cairnCommand, spawnProc } from "./agent_proc.ts";

export interface LockProc {
  readonly child: ChildProcess;
  readonly exited: Promise<number | string>;
  output(): string;
  signal(sig: NodeJS.Signals): void;
}

export function runLock(port: number, args: string[], env: Record<string, string> = {}): LockProc {
  const { cmd, args: pre } = cairnCommand();
  return spawnProc(cmd, [...pre, "lock", "-http-addr", `127.0.0.1:${port}`, ...args], { SHELL: "/bin/sh", ...env });
}

export async function api(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; text: string; index: number }> {
  const r = await fetch(base + path, {
    method,
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
  return { status: r.status, text: await r.text(), index: Number(r.headers.get("x-consul-index") ?? 0) };
}

export const LOCK_FLAGS = "3304740253564472344"; // 0x2ddccbc058a50c18

/** A node with serfHealth and c1 passing (another machine in the cluster). */
export async function registerNode(base: string, node: string, c1 = "passing"): Promise<void> {
  const r = await api(base, "PUT", "/v1/catalog/register", {
    Node: node,
    Address: "127.0.0.2",
    Checks: [
      { CheckID: "serfHealth", Name: "Serf Health Status", Status: "passing" },
      { CheckID: "c1", Name: "c1", Status: c1 },
    ],
  });
  if (r.status !== 200) throw new Error(`register ${node}: ${r.status} ${r.text}`);
}

/** Waits until the key's Session differs from `from`; resolves with the time it was seen. */
export async function waitHolderChange(base: string, key: string, from: string, timeoutMs: number): Promise<{ at: number; session: string }> {
  const deadline = Date.now() + timeoutMs;
  let index = 0;
  while (Date.now() < deadline) {
    const r = await api(base, "GET", `/v1/kv/${key}${index > 0 ? `?index=${index}&wait=2s` : ""}`);
    const session = r.status === 200 ? ((JSON.parse(r.text) as Array<{ Session?: string }>)[0]?.Session ?? "") : "";
    if (session !== from) return { at: Date.now(), session };
    index = r.index;
  }
  throw new Error(`holder of ${key} still ${JSON.stringify(from)}`);
}

export async function until(cond: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

/** The non-empty lines of a file a test's child process appends to ([] while it does not exist). */
export function fileLines(f: string): string[] {
  try {
    return readFileSync(f, "utf8").split("\n").filter((l) => l !== "");
  } catch {
    return [];
  }
}
