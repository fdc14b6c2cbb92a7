/**
 * tests/e2e/netns_lab: a small network of Linux network namespaces for partition tests.
 *
 * One "switch" namespace holds a bridge; each member namespace has a `clus` veth on that
 * bridge (cluster traffic: Raft RPC and gossip, on 172.31.<k>.(10+i)/24) and a `mgmt` veth
 * pair to the test's own namespace (10.<a>.<i>.2, reached from here through 10.<a>.<i>.1) so
 * the test can always talk HTTP to every member, even an isolated one. isolate(i) takes the
 * member's bridge port down (it reaches nobody and nobody reaches it); heal(i) brings it up.
 * Agents run inside their namespace with `ip netns exec`, on the runtime of the test.
 *
 * Must never: touch interfaces, addresses or namespaces it did not create; leave a namespace
 * or process behind (both are removed at exit, also when a test fails).
 */

import { spawnSync, type ChildProcess } from "node:child_process";
import { cairnCommand, spawnProc } from "./agent_proc.ts";

const live = new Set<ChildProcess>();
const namespaces = new Set<string>();

function cleanupAll(): void {
  for (const c of live) c.kill("SIGKILL");
  for (const ns of namespaces) spawnSync("ip", ["netns", "del", ns], { stdio: "ignore" });
  namespaces.clear();
}
process.on("exit", cleanupAll);

function ip(args: readonly string[]): void {
  const r = spawnSync("ip", args, { encoding: "utf8", timeout: 10_000 });
  if (r.status !== 0) throw new Error(`ip ${args.join(" ")}: ${(r.stderr || r.error?.message || String(r.status)).trim()}`);
}

/** null when namespaces can be made here, else why not (the test skips with this reason). */
export function netnsUnavailable(): string | null {
  if (process.platform !== "linux") return `network namespaces need Linux (this is ${process.platform})`;
  if (typeof process.getuid === "function" && process.getuid() !== 0) return "network namespaces need root (CAP_NET_ADMIN, CAP_SYS_ADMIN)";
  const probe = `cairnprobe${process.pid}`;
  const r = spawnSync("ip", ["netns", "add", probe], { encoding: "utf8", timeout: 10_000 });
  if (r.error !== undefined) return `\`ip\` (iproute2) is not available: ${r.error.message}`;
  if (r.status !== 0) return `\`ip netns add\` failed: ${(r.stderr ?? "").trim()}`;
  const v = spawnSync("ip", ["-n", probe, "link", "add", "v0", "type", "veth", "peer", "name", "v1"], { encoding: "utf8", timeout: 10_000 });
  const b = spawnSync("ip", ["-n", probe, "link", "add", "b0", "type", "bridge"], { encoding: "utf8", timeout: 10_000 });
  spawnSync("ip", ["netns", "del", probe], { stdio: "ignore" });
  if (v.status !== 0) return `veth pairs unavailable: ${(v.stderr ?? "").trim()}`;
  if (b.status !== 0) return `bridges unavailable: ${(b.stderr ?? "").trim()}`;
  return null;
}

export interface LabMember {
  readonly index: number;
  readonly ns: string;
  /** cluster address (bind address for RPC and gossip) */
  readonly clusterIp: string;
  /** management address (HTTP), reachable from the test's namespace */
  readonly mgmtIp: string;
}

export interface LabProc {
  readonly child: ChildProcess;
  readonly exited: Promise<number | string>;
  output(): string;
  kill(signal: NodeJS.Signals): void;
}

export class NetnsLab {
  readonly members: LabMember[] = [];
  private readonly sw: string;

  constructor(size: number) {
    const tag = `cairn${process.pid}`;
    const a = 100 + (process.pid % 100);
    const k = process.pid % 200;
    this.sw = `${tag}sw`;
    this.addNs(this.sw);
    ip(["-n", this.sw, "link", "add", "br0", "type", "bridge"]);
    ip(["-n", this.sw, "link", "set", "br0", "up"]);
    for (let i = 1; i <= size; i++) {
      const ns = `${tag}n${i}`;
      const m: LabMember = { index: i, ns, clusterIp: `172.31.${k}.${10 + i}`, mgmtIp: `10.${a}.${i}.2` };
      this.addNs(ns);
      ip(["-n", ns, "link", "add", "clus", "type", "veth", "peer", "name", `p${i}`, "netns", this.sw]);
      ip(["-n", ns, "addr", "add", `${m.clusterIp}/24`, "dev", "clus"]);
      ip(["-n", ns, "link", "set", "clus", "up"]);
      ip(["-n", this.sw, "link", "set", `p${i}`, "master", "br0"]);
      ip(["-n", this.sw, "link", "set", `p${i}`, "up"]);
      const host = `c${process.pid % 100000}m${i}`;
      ip(["link", "add", host, "type", "veth", "peer", "name", "mgmt", "netns", ns]);
      ip(["addr", "add", `10.${a}.${i}.1/24`, "dev", host]);
      ip(["link", "set", host, "up"]);
      ip(["-n", ns, "addr", "add", `${m.mgmtIp}/24`, "dev", "mgmt"]);
      ip(["-n", ns, "link", "set", "mgmt", "up"]);
      this.members.push(m);
    }
  }

  private addNs(ns: string): void {
    ip(["netns", "add", ns]);
    namespaces.add(ns);
    ip(["-n", ns, "link", "set", "lo", "up"]);
  }

  /** Cuts member i off the cluster network (both directions). */
  isolate(i: number): void {
    ip(["-n", this.sw, "link", "set", `p${i}`, "down"]);
  }

  heal(i: number): void {
    ip(["-n", this.sw, "link", "set", `p${i}`, "up"]);
  }

  /** Runs `cairn <args>` inside member m's namespace on the test's runtime. */
  spawnCairn(m: LabMember, args: readonly string[]): LabProc {
    const { cmd, args: pre } = cairnCommand();
    const p = spawnProc("ip", ["netns", "exec", m.ns, cmd, ...pre, ...args], {}, live);
    return { child: p.child, exited: p.exited, output: p.output, kill: p.signal };
  }

  /** Kills every process started here and removes every namespace (and with them all veths). */
  destroy(): void {
    cleanupAll();
  }
}
