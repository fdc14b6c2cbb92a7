/**
 * bench/lib/cluster: multi-server clusters for the raft bench — three (or more) durable cairn
 * servers on loopback (-bootstrap-expect N, -retry-join, a config file with
 * `performance { raft_multiplier = 1 }`), and a 3-member etcd cluster as the side-by-side reference.
 * Each member is a separate process started through startServer (tracked, killed at exit).
 *
 * Must never: bind anything but 127.0.0.1, signal processes it did not start, or leave one running.
 */

import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { repoRoot } from "./ipc.ts";
import { freePort, startServer, stopServer, type RunningServer, type ServerSpec, type StopInfo } from "./agent.ts";
import { httpRequest, monoMs, sleep, type Endpoint } from "./http.ts";

const LOOPBACK = "127.0.0.1";

/** Config every bench cairn server gets: Consul's production timing recommendation. */
export const CAIRN_CLUSTER_CONFIG = "performance { raft_multiplier = 1 }\n";

export interface CairnMember {
  readonly name: string;
  readonly dataDir: string;
  readonly http: Endpoint;
  readonly serfPort: number;
  readonly serverPort: number;
  /** "127.0.0.1:<serverPort>", what /v1/status/leader reports */
  readonly rpcAddr: string;
  proc: RunningServer | undefined;
}

export interface CairnClusterOptions {
  readonly size: number;
  readonly dir: string;
  /** extra node flags for every server (e.g. --cpu-prof ...) */
  readonly nodeFlags?: readonly string[];
}

/** Builds the bundle once up front, so N servers starting together do not race to build it. */
export function prebuildCairn(): void {
  const r = spawnSync(process.execPath, [path.join(repoRoot, "bin/cairn.mjs"), "version"], { cwd: repoRoot, encoding: "utf8", timeout: 120_000 });
  if (r.status !== 0) throw new Error(`cairn version failed: ${r.stderr || r.error?.message || r.status}`);
}

export class CairnCluster {
  readonly members: CairnMember[] = [];
  readonly cfgFile: string;
  readonly opts: CairnClusterOptions;

  private constructor(opts: CairnClusterOptions, members: CairnMember[]) {
    this.opts = opts;
    this.members = members;
    this.cfgFile = path.join(opts.dir, "perf.hcl");
    fs.writeFileSync(this.cfgFile, CAIRN_CLUSTER_CONFIG);
  }

  static async create(opts: CairnClusterOptions): Promise<CairnCluster> {
    const members: CairnMember[] = [];
    for (let i = 1; i <= opts.size; i++) {
      const serverPort = await freePort();
      members.push({
        name: `s${i}`,
        dataDir: path.join(opts.dir, `s${i}`),
        http: { host: LOOPBACK, port: await freePort() },
        serfPort: await freePort(),
        serverPort,
        rpcAddr: `${LOOPBACK}:${serverPort}`,
        proc: undefined,
      });
    }
    return new CairnCluster(opts, members);
  }

  spec(m: CairnMember): ServerSpec {
    const join = this.members.flatMap((x) => ["-retry-join", `${LOOPBACK}:${x.serfPort}`]);
    const args = [
      ...(this.opts.nodeFlags ?? []),
      path.join(repoRoot, "bin/cairn.mjs"), "agent", "-server", "-bootstrap-expect", String(this.opts.size),
      "-data-dir", m.dataDir, "-node", m.name, "-config-file", this.cfgFile, "-retry-interval", "1s", ...join,
      "-bind", LOOPBACK, "-client", LOOPBACK, "-http-port", String(m.http.port), "-dns-port", "-1",
      "-server-port", String(m.serverPort), "-serf-lan-port", String(m.serfPort), "-serf-wan-port", "-1", "-log-level", "warn",
    ];
    return { name: `cairn ${m.name}`, command: process.execPath, args, endpoint: m.http, readiness: "http" };
  }

  /** Spawns the member and waits until its HTTP API answers /v1/status/leader (leader or not). */
  async start(m: CairnMember, timeoutMs: number): Promise<void> {
    const p = startServer(this.spec(m));
    m.proc = p;
    const deadline = monoMs() + timeoutMs;
    while (monoMs() < deadline) {
      if (p.exited()) throw new Error(`${m.name} exited during start:\n${p.output()}`);
      try {
        const r = await httpRequest(m.http, "GET", "/v1/status/leader", { timeoutMs: 1000 });
        if (r.status === 200) return;
      } catch {
        // not listening yet
      }
      await sleep(25);
    }
    throw new Error(`${m.name}: HTTP not up within ${timeoutMs} ms\n${p.output()}`);
  }

  live(): CairnMember[] {
    return this.members.filter((m) => m.proc !== undefined && !m.proc.exited());
  }

  byRpc(addr: string): CairnMember | undefined {
    return this.members.find((m) => m.rpcAddr === addr);
  }

  /** The member every given member names as leader, or undefined (disagreement, none, error). */
  async agreedLeader(among: readonly CairnMember[] = this.live()): Promise<CairnMember | undefined> {
    const ls = await Promise.all(among.map((m) => leaderOf(m.http)));
    const first = ls[0] ?? "";
    if (first === "" || !ls.every((l) => l === first)) return undefined;
    return this.byRpc(first);
  }

  async waitLeader(timeoutMs: number, among?: readonly CairnMember[], not?: CairnMember): Promise<CairnMember> {
    const deadline = monoMs() + timeoutMs;
    while (monoMs() < deadline) {
      const l = await this.agreedLeader(among ?? this.live());
      if (l !== undefined && l !== not && l.proc !== undefined && !l.proc.exited()) return l;
      await sleep(50);
    }
    throw new Error(`no agreed leader within ${timeoutMs} ms`);
  }

  async stopAll(signal: NodeJS.Signals = "SIGTERM"): Promise<StopInfo[]> {
    return Promise.all(this.live().map((m) => stopServer(m.proc as RunningServer, signal)));
  }
}

async function leaderOf(ep: Endpoint): Promise<string> {
  try {
    const r = await httpRequest(ep, "GET", "/v1/status/leader", { timeoutMs: 2000 });
    if (r.status !== 200) return "";
    const v: unknown = JSON.parse(r.body.toString() || '""');
    return typeof v === "string" ? v : "";
  } catch {
    return "";
  }
}

// ---- etcd ----

/** Runs bench/setup/ensure_etcd.sh (installs Debian's etcd-server/etcd-client when missing); null when ok, else why not. */
export function ensureEtcd(): string | null {
  const r = spawnSync("sh", [path.join(repoRoot, "bench/setup/ensure_etcd.sh")], { cwd: repoRoot, encoding: "utf8", timeout: 300_000 });
  if (r.status === 0) return null;
  return (r.stderr || r.stdout || r.error?.message || `exit ${r.status}`).trim();
}

/** "etcd 3.4.23" from `etcd --version`, or "etcd". */
export function etcdVersion(): string {
  const r = spawnSync("etcd", ["--version"], { encoding: "utf8", timeout: 10_000 });
  const m = /etcd Version:\s*(\S+)/.exec(`${r.stdout ?? ""}`);
  return m?.[1] ? `etcd ${m[1]}` : "etcd";
}

export interface EtcdMember {
  readonly name: string;
  readonly client: Endpoint;
  readonly peerPort: number;
  proc: RunningServer | undefined;
}

export class EtcdCluster {
  readonly members: EtcdMember[];
  readonly dir: string;

  private constructor(dir: string, members: EtcdMember[]) {
    this.dir = dir;
    this.members = members;
  }

  static async create(dir: string, size = 3): Promise<EtcdCluster> {
    const members: EtcdMember[] = [];
    for (let i = 1; i <= size; i++) members.push({ name: `m${i}`, client: { host: LOOPBACK, port: await freePort() }, peerPort: await freePort(), proc: undefined });
    return new EtcdCluster(dir, members);
  }

  spec(m: EtcdMember): ServerSpec {
    const initial = this.members.map((x) => `${x.name}=http://${LOOPBACK}:${x.peerPort}`).join(",");
    const client = `http://${LOOPBACK}:${m.client.port}`;
    const peer = `http://${LOOPBACK}:${m.peerPort}`;
    const args = [
      "--name", m.name, "--data-dir", path.join(this.dir, m.name),
      "--listen-client-urls", client, "--advertise-client-urls", client,
      "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
      "--initial-cluster", initial, "--initial-cluster-state", "new", "--initial-cluster-token", "cairn-bench",
      "--quota-backend-bytes", String(4 * 2 ** 30), "--log-level", "warn",
    ];
    return { name: `etcd ${m.name}`, command: "etcd", args, endpoint: m.client, readiness: "http" };
  }

  startAll(): void {
    for (const m of this.members) m.proc = startServer(this.spec(m));
  }

  /** Waits until every member reports the same leader; returns the leader member. */
  async waitLeader(timeoutMs: number): Promise<EtcdMember> {
    const deadline = monoMs() + timeoutMs;
    let last = "";
    while (monoMs() < deadline) {
      for (const m of this.members) if (m.proc?.exited()) throw new Error(`${m.name} exited:\n${m.proc.output()}`);
      try {
        const st = await Promise.all(this.members.map((m) => etcdStatus(m.client)));
        const leader = st[0]?.leader ?? "";
        if (leader !== "" && leader !== "0" && st.every((s) => s.leader === leader)) {
          const i = st.findIndex((s) => s.memberId === leader);
          const m = this.members[i];
          if (m !== undefined) return m;
        }
      } catch (e) {
        last = e instanceof Error ? e.message : String(e);
      }
      await sleep(100);
    }
    throw new Error(`etcd: no agreed leader within ${timeoutMs} ms (${last})`);
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.members.map((m) => (m.proc ? stopServer(m.proc, "SIGTERM") : Promise.resolve())));
  }
}

async function etcdStatus(ep: Endpoint): Promise<{ leader: string; memberId: string }> {
  const r = await httpRequest(ep, "POST", "/v3/maintenance/status", { body: "{}", contentType: "application/json", timeoutMs: 2000 });
  if (r.status !== 200) throw new Error(`status ${r.status}`);
  const v = JSON.parse(r.body.toString()) as { leader?: unknown; header?: { member_id?: unknown } };
  return { leader: String(v.leader ?? ""), memberId: String(v.header?.member_id ?? "") };
}

/** One etcd v3 gateway PUT (base64 key/value); true on 200. */
export async function etcdPut(ep: Endpoint, key: string, value: string): Promise<boolean> {
  const body = JSON.stringify({ key: Buffer.from(key).toString("base64"), value: Buffer.from(value).toString("base64") });
  const r = await httpRequest(ep, "POST", "/v3/kv/put", { body, contentType: "application/json", timeoutMs: 5000 });
  return r.status === 200;
}
