/**
 * tests/e2e/raft_helpers: shared pieces of the multi-server Raft process tests
 * (raft_cluster, raft_five, raft_membership, snapshot_cluster, client_agent_raft,
 * raft_partition): a set of server processes on loopback started the same way
 * (ServerProcs: ports, data dirs, a fast-timing config file, -retry-join of each other),
 * HTTP helpers (GET, PUT, leader, agreed leader, ?recurse listing), a bounded background
 * writer that logs every acknowledged key, and the "every acknowledged write on every
 * server" check.
 *
 * Must never: wait without a bound, or leave a process or temp dir behind (ServerProcs.destroy).
 */

import { writeFileSync } from "node:fs";
import path from "node:path";
import { freePort, removeDir, startAgent, tempDir, type AgentProc } from "./agent_proc.ts";
import { waitFor } from "./watch_helpers.ts";

/** Where a server's HTTP API answers and what /v1/status/leader calls it. */
export interface RaftNode {
  readonly name: string;
  /** "http://host:port" */
  readonly base: string;
  /** "host:port" of its RPC (server) port, as /v1/status/leader reports it */
  readonly rpcAddr: string;
}

export async function httpGet(n: RaftNode, p: string, timeoutMs = 8000): Promise<{ status: number; body: string; headers: Headers }> {
  const r = await fetch(n.base + p, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: r.status, body: await r.text(), headers: r.headers };
}

/** PUT /v1/kv/<key>; true only when acknowledged (200 "true"). */
export async function kvPut(n: RaftNode, key: string, value: string, timeoutMs = 8000): Promise<boolean> {
  try {
    const r = await fetch(`${n.base}/v1/kv/${key}`, { method: "PUT", body: value, signal: AbortSignal.timeout(timeoutMs) });
    const body = await r.text();
    return r.status === 200 && body.trim() === "true";
  } catch {
    return false;
  }
}

export async function leaderOf(n: RaftNode): Promise<string> {
  try {
    const r = await httpGet(n, "/v1/status/leader", 3000);
    return r.status === 200 ? (JSON.parse(r.body) as string) : "";
  } catch {
    return "";
  }
}

/** Waits until every given node names the same non-empty leader (other than `not`); returns that node. */
export async function agreedLeader<N extends RaftNode>(all: readonly N[], among: readonly N[], ms: number, not = ""): Promise<N> {
  let leader: N | undefined;
  let views: string[] = [];
  try {
    await waitFor(
      async () => {
        views = await Promise.all(among.map((n) => leaderOf(n)));
        const first = views[0] ?? "";
        leader = first !== "" && first !== not && views.every((l) => l === first) ? all.find((n) => n.rpcAddr === first) : undefined;
        return leader !== undefined;
      },
      ms,
      `an agreed leader among ${among.map((n) => n.name).join(",")}`,
    );
  } catch (e) {
    // Say who each node thought led, and what each logged last (an election that never settles).
    const detail = among.map((n, i) => {
      const out = (n as Partial<ServerNode>).proc?.output() ?? "";
      return `--- ${n.name} (${n.rpcAddr}) sees leader "${views[i] ?? ""}"; last log lines:\n${out.split("\n").slice(-12).join("\n")}`;
    });
    throw new Error(`${e instanceof Error ? e.message : String(e)}\n${detail.join("\n")}`);
  }
  return leader as N;
}

/** Every key under `prefix` with its value, as `n` reads it in `mode`. */
export async function kvAll(n: RaftNode, prefix: string, mode: "stale" | "consistent"): Promise<Map<string, string>> {
  const r = await httpGet(n, `/v1/kv/${prefix}?recurse&${mode}`, 15_000);
  if (r.status === 404) return new Map();
  if (r.status !== 200) throw new Error(`${n.name} ?${mode}: ${r.status} ${r.body.slice(0, 200)}`);
  const rows = JSON.parse(r.body) as Array<{ Key: string; Value: string | null }>;
  return new Map(rows.map((x) => [x.Key, x.Value === null ? "" : Buffer.from(x.Value, "base64").toString()]));
}

/**
 * Keys of `acked` that `n` does not show with the acknowledged value in `mode`, polling
 * until none are missing or `ms` has passed (a follower's ?stale view may trail a little).
 */
export async function missingOn(n: RaftNode, prefix: string, acked: ReadonlyMap<string, string>, mode: "stale" | "consistent", ms: number): Promise<string[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    let missing: string[];
    try {
      const have = await kvAll(n, prefix, mode);
      missing = [...acked].filter(([k, v]) => have.get(k) !== v).map(([k]) => k);
    } catch (e) {
      missing = [`(read failed: ${e instanceof Error ? e.message : String(e)})`];
    }
    if (missing.length === 0 || Date.now() > deadline) return missing;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * A bounded background write load: `lanes` sequential writers, each PUTting unique keys
 * `<prefix>w-<n>` through the nodes `targets()` returns (round-robin), at most `max` writes in
 * all; every acknowledged key goes into `acked` with its value.
 */
export class Writer {
  readonly acked = new Map<string, string>();
  attempts = 0;
  private stopped = false;
  private readonly lanes: Promise<void>[];

  constructor(prefix: string, targets: () => readonly RaftNode[], opts: { lanes: number; max: number; pauseMs: number }) {
    let seq = 0;
    this.lanes = Array.from({ length: opts.lanes }, async (_, lane) => {
      let rr = lane;
      while (!this.stopped && seq < opts.max) {
        const ts = targets();
        const n = ts[rr++ % Math.max(1, ts.length)];
        if (n === undefined) {
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
        const i = seq++;
        const key = `${prefix}w-${String(i).padStart(6, "0")}`;
        this.attempts++;
        if (await kvPut(n, key, `v${i}`, 5000)) this.acked.set(key, `v${i}`);
        if (opts.pauseMs > 0) await new Promise((r) => setTimeout(r, opts.pauseMs));
      }
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.lanes);
  }
}

/** Raft and gossip timing that lets a loopback cluster form and fail over within seconds. */
export const FAST_CLUSTER_CONFIG = `performance { raft_multiplier = 1 }
gossip_lan { probe_interval = "200ms" probe_timeout = "100ms" gossip_interval = "100ms" suspicion_mult = 3 }
`;

/** One server process of a ServerProcs set (proc is undefined while it is stopped). */
export interface ServerNode extends RaftNode {
  readonly dataDir: string;
  readonly httpPort: number;
  readonly serfPort: number;
  readonly serverPort: number;
  proc: AgentProc | undefined;
}

export interface ServerStart {
  /** -bootstrap-expect; null: none (a server that only joins). Default: the set's `expect`. */
  readonly expect?: number | null;
  /** The servers whose serf ports it -retry-joins (default: every server of the set). */
  readonly join?: readonly ServerNode[];
}

/**
 * `size` server nodes s1..sN (or <name>1..) on loopback with free ports, data dirs in one temp dir and one
 * config file (FAST_CLUSTER_CONFIG plus `config`); nothing runs until start().
 */
export class ServerProcs {
  readonly dir: string;
  /** The config file every server is started with (a test's client agent may use it too). */
  readonly cfgFile: string;
  readonly nodes: ServerNode[];
  private readonly expect: number;
  private readonly readyTimeoutMs: number | undefined;

  private constructor(dir: string, nodes: ServerNode[], o: { expect: number; readyTimeoutMs?: number }) {
    this.dir = dir;
    this.cfgFile = path.join(dir, "perf.hcl");
    this.nodes = nodes;
    this.expect = o.expect;
    this.readyTimeoutMs = o.readyTimeoutMs;
  }

  static async create(o: { prefix: string; size: number; name?: string; expect?: number; config?: string; readyTimeoutMs?: number }): Promise<ServerProcs> {
    const dir = tempDir(o.prefix);
    const nodes: ServerNode[] = [];
    for (let i = 1; i <= o.size; i++) {
      const httpPort = await freePort();
      const serfPort = await freePort();
      const serverPort = await freePort();
      const name = `${o.name ?? "s"}${i}`;
      nodes.push({
        name,
        base: `http://127.0.0.1:${httpPort}`,
        rpcAddr: `127.0.0.1:${serverPort}`,
        dataDir: path.join(dir, name),
        httpPort,
        serfPort,
        serverPort,
        proc: undefined,
      });
    }
    const set = new ServerProcs(dir, nodes, { expect: o.expect ?? o.size, ...(o.readyTimeoutMs === undefined ? {} : { readyTimeoutMs: o.readyTimeoutMs }) });
    writeFileSync(set.cfgFile, FAST_CLUSTER_CONFIG + (o.config ?? ""));
    return set;
  }

  /** `-retry-join <serf addr>` for each of `to`. */
  joinArgs(to: readonly ServerNode[] = this.nodes): string[] {
    return to.flatMap((x) => ["-retry-join", `127.0.0.1:${x.serfPort}`]);
  }

  /** Starts `n` from its data dir (ready once HTTP answers, leader or not). */
  async start(n: ServerNode, o: ServerStart = {}): Promise<void> {
    const expect = o.expect === undefined ? this.expect : o.expect;
    n.proc = await startAgent({
      args: [
        "-server", ...(expect === null ? [] : ["-bootstrap-expect", String(expect)]), "-data-dir", n.dataDir, "-node", n.name, "-config-file", this.cfgFile, "-retry-interval", "1s",
        ...this.joinArgs(o.join),
      ],
      httpPort: n.httpPort,
      serfLanPort: n.serfPort,
      serverPort: n.serverPort,
      readyWithoutLeader: true,
      ...(this.readyTimeoutMs === undefined ? {} : { readyTimeoutMs: this.readyTimeoutMs }),
    });
  }

  /** The servers whose process runs. */
  live(): ServerNode[] {
    return this.nodes.filter((n) => n.proc !== undefined);
  }

  /** The server whose RPC address (as /v1/status/leader names it) is `addr`. */
  byRpcAddr(addr: string): ServerNode {
    const n = this.nodes.find((x) => x.rpcAddr === addr);
    if (n === undefined) throw new Error(`no node with server address ${addr}`);
    return n;
  }

  /** SIGKILLs every server still running and removes the temp dir. */
  async destroy(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.proc?.stop("SIGKILL", 2000)));
    removeDir(this.dir);
  }
}
