// Helpers for the RaftServer tests (not a test file): a cluster of RaftServers in one process,
// talking over real loopback TCP, with MemoryLog or WalLog (temp dirs), stop/restart and partitions.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { RaftServer, consulTiming, timerSchedule } from "../../src/raft/index.ts";
import type { Timing } from "../../src/raft/index.ts";
import { RpcClient, RpcServer } from "../../src/rpc/index.ts";
import { Store, decodeApplyResult, decodeCommand, encodeApplyResult, encodeCommand } from "../../src/state/index.ts";
import type { Command } from "../../src/state/index.ts";
import { MemoryLog, WalLog } from "../../src/wal/index.ts";
import type { LogStore } from "../../src/wal/index.ts";

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface ClusterOptions {
  readonly size: number;
  readonly wal: boolean;
  readonly timing?: Timing;
  readonly snapshotThreshold?: number;
  readonly trailingLogs?: number;
  readonly verbose?: boolean;
  /** How long writes and reads wait for a leader (default: the driver's). */
  readonly leaderWaitMs?: number;
}

export interface TestNode {
  readonly id: string;
  readonly port: number;
  readonly addr: string;
  rpcServer: RpcServer;
  rpcClient: RpcClient;
  log: LogStore;
  store: Store;
  raft: RaftServer;
  up: boolean;
  isolated: boolean;
  /** onLeadership calls, in order. */
  leadership: boolean[];
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export function setCmd(key: string, value: string): Command {
  return { type: "kv-set", key, value: enc.encode(value), flags: 0n };
}

export function valueOf(n: TestNode, key: string): string | undefined {
  const e = n.store.kvGet(key).value;
  return e === undefined ? undefined : dec.decode(e.value);
}

export class Cluster {
  readonly nodes: TestNode[] = [];
  readonly dir: string;
  readonly opts: ClusterOptions;
  readonly timing: Timing;
  private readonly memLogs = new Map<string, MemoryLog>();
  readonly logs: string[] = [];

  constructor(opts: ClusterOptions) {
    this.opts = opts;
    this.timing = opts.timing ?? consulTiming(1);
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "cairn-raft-driver-"));
  }

  get electionMs(): number {
    return this.timing.electionTicks * this.timing.tickMs;
  }

  async start(): Promise<void> {
    const ids = Array.from({ length: this.opts.size }, (_, i) => `s${i + 1}`);
    const servers: RpcServer[] = [];
    const addrs = new Map<string, string>();
    for (const id of ids) {
      const srv = new RpcServer();
      const addr = await srv.listen("127.0.0.1", 0);
      servers.push(srv);
      addrs.set(id, addr);
    }
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      const addr = addrs.get(id)!;
      const node = await this.boot(id, addr, servers[i]!, addrs, ids);
      this.nodes.push(node);
    }
  }

  private logFor(id: string): LogStore {
    if (this.opts.wal) return new WalLog(path.join(this.dir, id));
    let m = this.memLogs.get(id);
    if (m === undefined) this.memLogs.set(id, (m = new MemoryLog()));
    return m;
  }

  private async boot(id: string, addr: string, rpcServer: RpcServer, addrs: ReadonlyMap<string, string>, bootstrap: string[]): Promise<TestNode> {
    const rpcClient = new RpcClient({ reconnectMinMs: 20, reconnectMaxMs: 200, callTimeoutMs: 5000 });
    const log = this.logFor(id);
    const store = new Store();
    const leadership: boolean[] = [];
    const raft = new RaftServer({
      id,
      advertiseAddr: addr,
      addresses: addrs,
      bootstrap,
      timing: this.timing,
      log,
      store,
      encode: encodeCommand,
      decode: decodeCommand,
      encodeResult: encodeApplyResult,
      decodeResult: decodeApplyResult,
      rpcServer,
      rpcClient,
      snapshotThreshold: this.opts.snapshotThreshold ?? 0,
      trailingLogs: this.opts.trailingLogs ?? 16,
      now: () => performance.now(),
      random: Math.random,
      schedule: timerSchedule,
      logger: (level, msg) => {
        const line = `${(performance.now() / 1000).toFixed(3)} ${level} ${msg}`;
        this.logs.push(line);
        if (this.opts.verbose === true || level === "error") console.log(line);
      },
      ...(this.opts.leaderWaitMs === undefined ? {} : { leaderWaitMs: this.opts.leaderWaitMs }),
      onLeadership: (b) => leadership.push(b),
      onFatal: (e) => {
        console.error(`FATAL in ${id}:`, e);
      },
    });
    await raft.start();
    const port = Number(addr.slice(addr.lastIndexOf(":") + 1));
    return { id, port, addr, rpcServer, rpcClient, log, store, raft, up: true, isolated: false, leadership };
  }

  node(id: string): TestNode {
    const n = this.nodes.find((x) => x.id === id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  /** The leader among running, non-isolated nodes (at most one is asserted by callers). */
  leaders(): TestNode[] {
    return this.nodes.filter((n) => n.up && n.raft.isLeader());
  }

  async waitLeader(timeoutMs: number, exclude: readonly string[] = []): Promise<TestNode> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      const ls = this.leaders().filter((n) => !exclude.includes(n.id) && !n.isolated);
      if (ls.length === 1) {
        // every other running, connected node must follow it
        const l = ls[0]!;
        const followers = this.nodes.filter((n) => n.up && !n.isolated && n !== l);
        if (followers.every((f) => f.raft.leader().leaderAddr === l.addr)) return l;
      }
      await sleep(10);
    }
    throw new Error(`no leader within ${timeoutMs} ms`);
  }

  /** Stop a node as if its process died: timers, RPC and the log close. */
  async stop(id: string): Promise<void> {
    const n = this.node(id);
    n.up = false;
    n.rpcClient.close();
    await n.rpcServer.close();
    await n.raft.close();
  }

  /** Start a stopped node again from its log, on the same port. */
  async restart(id: string): Promise<void> {
    const n = this.node(id);
    const srv = new RpcServer();
    await srv.listen("127.0.0.1", n.port);
    const addrs = new Map(this.nodes.map((x) => [x.id, x.addr] as const));
    const fresh = await this.boot(id, n.addr, srv, addrs, this.nodes.map((x) => x.id));
    n.rpcServer = fresh.rpcServer;
    n.rpcClient = fresh.rpcClient;
    n.log = fresh.log;
    n.store = fresh.store;
    n.raft = fresh.raft;
    n.leadership = fresh.leadership;
    n.up = true;
  }

  /** Start a new, empty server (no bootstrap) that a leader may add to the configuration. */
  async join(id: string): Promise<TestNode> {
    const srv = new RpcServer();
    const addr = await srv.listen("127.0.0.1", 0);
    const addrs = new Map(this.nodes.map((x) => [x.id, x.addr] as const));
    const n = await this.boot(id, addr, srv, addrs, []);
    this.nodes.push(n);
    return n;
  }

  /** Drop every RPC frame to and from a node (it keeps running). */
  isolate(id: string): void {
    const n = this.node(id);
    n.isolated = true;
    n.rpcClient.faults = { drop: () => true };
    n.rpcServer.faults = { drop: () => true };
  }

  heal(id: string): void {
    const n = this.node(id);
    n.isolated = false;
    n.rpcClient.faults = undefined;
    n.rpcServer.faults = undefined;
  }

  async waitApplied(index: number, timeoutMs: number, ids?: readonly string[]): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    const set = this.nodes.filter((n) => n.up && (ids === undefined || ids.includes(n.id)));
    while (performance.now() < deadline) {
      if (set.every((n) => n.raft.appliedIndex() >= index)) return;
      await sleep(10);
    }
    throw new Error(`applied index ${index} not reached: ${set.map((n) => `${n.id}=${n.raft.appliedIndex()}`).join(" ")}`);
  }

  async close(): Promise<void> {
    for (const n of this.nodes) {
      if (!n.up) continue;
      n.up = false;
      n.rpcClient.close();
      await n.rpcServer.close();
      await n.raft.close();
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
