/**
 * agent/cluster: the replicated server of a multi-server cluster (a server with
 * bootstrap_expect > 1): a RaftServer over the server-port RPC and a WAL in
 * <data_dir>/raft, formed as Consul forms a cluster.
 *
 * Formation: a server whose data dir holds no Raft state waits until the LAN pool
 * shows bootstrap_expect alive servers of its datacenter with the same `expect` tag,
 * then starts Raft bootstrapped with those servers' ids (serf tag `id`) — every one of
 * them computes the same voter set, so they all write the same first entry. A marker
 * file (data_dir/raft-bootstrapped) and a non-empty WAL directory both mean "never
 * bootstrap again": such a server starts Raft at once from its log and rejoins as
 * itself. RPC addresses come from the members' addr + `port` tag and are kept current
 * from member events (setAddress).
 *
 * Until Raft runs, writes and non-stale reads fail with "No cluster leader". The
 * operator views (configuration, remove-peer, transfer-leader) run on the leader; a
 * follower forwards them over RPC ("Operator.Raft"), and session renewals too
 * ("Session.Renew": the TTL timers run on the leader only).
 *
 * Must never: bootstrap a server that already has Raft state, bootstrap with fewer
 * than bootstrap_expect servers, or throw from a member-event callback.
 */

import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Backend, Consistency, LeaderView, MemberView } from "../server/types.ts";
import type { RaftConfigurationView, RaftOps, RaftServerView } from "../http/agent_ops.ts";
import { RaftServer, consulTiming, timerSchedule } from "../raft/index.ts";
import { RpcClient, RpcServer } from "../rpc/index.ts";
import { decodeApplyResult, decodeCommand, encodeApplyResult, encodeCommand, type Store } from "../state/index.ts";
import type { ApplyResult, Command } from "../state/types.ts";
import { WalLog } from "../wal/index.ts";
import { CairnError, type ErrorKind } from "../shared/errors.ts";
import { CLUSTER_OPERATOR_RPC_TIMEOUT_MS, RPC_RECONNECT_MAX_MS, RPC_RECONNECT_MIN_MS } from "../shared/limits.ts";

export const METHOD_OPERATOR_RAFT = "Operator.Raft";
export const METHOD_SESSION_RENEW = "Session.Renew";
export const BOOTSTRAP_MARKER = "raft-bootstrapped";

type ClusterLog = (level: "debug" | "info" | "warn" | "error", msg: string) => void;

export interface ClusterOptions {
  readonly nodeId: string;
  readonly nodeName: string;
  readonly datacenter: string;
  readonly dataDir: string;
  /** Where the RPC server listens (bind address). */
  readonly bindAddr: string;
  readonly advertiseAddr: string;
  readonly serverPort: number;
  readonly bootstrapExpect: number;
  /** performance.raft_multiplier (1..10). */
  readonly raftMultiplier: number;
  readonly snapshotThreshold: number;
  readonly trailingLogs: number;
}

export interface ClusterDeps {
  readonly store: Store;
  readonly log: ClusterLog;
  /** Gained (true) or lost (false) leadership: start or stop leader-only duties. */
  readonly onLeadership: (leader: boolean) => void;
}

type OperatorRequest =
  | { readonly op: "config" }
  | { readonly op: "remove"; readonly id?: string; readonly address?: string }
  | { readonly op: "transfer"; readonly id: string };

type OperatorReply =
  | { readonly ok: true; readonly config?: RaftConfigurationView }
  | { readonly ok: false; readonly kind: ErrorKind; readonly message: string };

const noLeader = (): CairnError => new CairnError("no-leader", "No cluster leader");

function isOperatorRequest(b: unknown): b is OperatorRequest {
  if (typeof b !== "object" || b === null) return false;
  const op = (b as { op?: unknown }).op;
  return op === "config" || op === "remove" || op === "transfer";
}

function isOperatorReply(b: unknown): b is OperatorReply {
  return typeof b === "object" && b !== null && typeof (b as { ok?: unknown }).ok === "boolean";
}

/** Whether the data dir already holds Raft state (then the cluster is never bootstrapped again). */
export function hasRaftState(dataDir: string): boolean {
  if (existsSync(path.join(dataDir, BOOTSTRAP_MARKER))) return true;
  const dir = path.join(dataDir, "raft");
  try {
    return readdirSync(dir).length > 0;
  } catch {
    return false;
  }
}

/** The servers a bootstrap would use: alive, role=consul, same dc and expect tag (id -> "addr:port"). */
export function bootstrapServers(members: readonly MemberView[], dc: string, expect: number): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of members) {
    if (m.status !== 1 || m.tags.role !== "consul" || m.tags.dc !== dc) continue;
    if (m.tags.expect !== String(expect)) continue;
    const id = m.tags.id ?? "";
    const port = Number(m.tags.port ?? "");
    if (id === "" || !Number.isInteger(port) || port <= 0) continue;
    out.set(id, `${m.addr}:${port}`);
  }
  return out;
}

export class ClusterServer implements Backend, RaftOps {
  readonly store: Store;
  private readonly opts: ClusterOptions;
  private readonly deps: ClusterDeps;
  private readonly rpcServer = new RpcServer();
  private readonly rpcClient = new RpcClient({ reconnectMinMs: RPC_RECONNECT_MIN_MS, reconnectMaxMs: RPC_RECONNECT_MAX_MS });
  private raft: RaftServer | undefined;
  private starting: Promise<void> | undefined;
  private closed = false;
  private readonly addrs = new Map<string, string>();
  private readonly names = new Map<string, string>();
  private readonly advertise: string;
  private readonly startedAt = performance.now();

  constructor(opts: ClusterOptions, deps: ClusterDeps) {
    this.opts = opts;
    this.deps = deps;
    this.store = deps.store;
    this.advertise = `${opts.advertiseAddr}:${opts.serverPort}`;
    this.addrs.set(opts.nodeId, this.advertise);
    this.names.set(opts.nodeId, opts.nodeName);
  }

  /** Listen on the server port; with Raft state on disk, start Raft right away. */
  async listen(): Promise<void> {
    mkdirSync(this.opts.dataDir, { recursive: true });
    const bind = this.opts.bindAddr === "" ? "0.0.0.0" : this.opts.bindAddr;
    await this.rpcServer.listen(bind, this.opts.serverPort);
    this.rpcServer.handle(METHOD_OPERATOR_RAFT, (b) => this.onOperator(b));
    if (hasRaftState(this.opts.dataDir)) {
      this.deps.log("info", "raft: existing Raft state found; starting from the log (no bootstrap)");
      this.beginStart(undefined);
    } else {
      this.deps.log("info", `raft: waiting for ${this.opts.bootstrapExpect} servers (bootstrap_expect) before bootstrapping`);
    }
  }

  /** The LAN pool's members changed: update addresses; bootstrap once enough servers are alive. */
  onMembers(members: readonly MemberView[]): void {
    if (this.closed) return;
    for (const m of members) {
      if (m.tags.role !== "consul" || m.tags.dc !== this.opts.datacenter) continue;
      const id = m.tags.id ?? "";
      const port = Number(m.tags.port ?? "");
      if (id === "" || id === this.opts.nodeId || !Number.isInteger(port) || port <= 0) continue;
      const addr = `${m.addr}:${port}`;
      this.names.set(id, m.name);
      if (this.addrs.get(id) !== addr) {
        this.addrs.set(id, addr);
        this.raft?.setAddress(id, addr);
      }
    }
    if (this.starting !== undefined) return;
    const servers = bootstrapServers(members, this.opts.datacenter, this.opts.bootstrapExpect);
    if (servers.size < this.opts.bootstrapExpect || !servers.has(this.opts.nodeId)) return;
    const ids = [...servers.keys()].sort();
    this.deps.log("info", `raft: found ${ids.length} servers (expect ${this.opts.bootstrapExpect}); bootstrapping with ${ids.join(", ")}`);
    this.beginStart(ids);
  }

  private beginStart(bootstrap: readonly string[] | undefined): void {
    this.starting = this.startRaft(bootstrap).catch((e: unknown) => {
      this.deps.log("error", `raft: failed to start: ${e instanceof Error ? e.message : String(e)}`);
    });
  }

  private async startRaft(bootstrap: readonly string[] | undefined): Promise<void> {
    const o = this.opts;
    const raft = new RaftServer({
      id: o.nodeId,
      advertiseAddr: this.advertise,
      addresses: this.addrs,
      ...(bootstrap === undefined ? {} : { bootstrap }),
      timing: consulTiming(o.raftMultiplier),
      log: new WalLog(path.join(o.dataDir, "raft")),
      store: this.store,
      encode: encodeCommand,
      decode: decodeCommand,
      encodeResult: encodeApplyResult,
      decodeResult: decodeApplyResult,
      rpcServer: this.rpcServer,
      rpcClient: this.rpcClient,
      snapshotThreshold: o.snapshotThreshold,
      trailingLogs: o.trailingLogs,
      now: () => performance.now(),
      random: Math.random,
      schedule: timerSchedule,
      logger: (level, msg) => this.deps.log(level, msg),
      onLeadership: (leader) => {
        this.deps.log("info", leader ? "raft: cluster leadership acquired" : "raft: cluster leadership lost");
        try {
          this.deps.onLeadership(leader);
        } catch (e) {
          this.deps.log("error", `raft: leadership hook failed: ${String(e)}`);
        }
      },
    });
    if (this.closed) return;
    const rec = await raft.start();
    for (const n of rec.notes) this.deps.log("warn", `wal: ${n}`);
    this.raft = raft;
    if (this.closed) {
      await raft.close({ snapshot: false });
      return;
    }
    writeFileSync(path.join(o.dataDir, BOOTSTRAP_MARKER), `${new Date().toISOString()}\n`);
    this.deps.log(
      "info",
      `raft: started (snapshot index=${rec.snapshotIndex}, ${rec.entries} log entries, applied=${raft.appliedIndex()})`,
    );
  }

  // ---------------------------------------------------------------- Backend

  apply(cmd: Command): Promise<ApplyResult> {
    if (this.raft === undefined) return Promise.reject(noLeader());
    return this.raft.apply(cmd);
  }

  async readBarrier(mode: Consistency): Promise<LeaderView> {
    if (this.raft === undefined) {
      if (mode === "stale") return this.leader();
      throw noLeader();
    }
    return this.raft.readBarrier(mode);
  }

  leader(): LeaderView {
    if (this.raft === undefined) return { knownLeader: false, lastContactMs: Math.max(1, performance.now() - this.startedAt), leaderAddr: "" };
    return this.raft.leader();
  }

  peers(): string[] {
    return this.raft?.peers() ?? [];
  }

  appliedIndex(): number {
    return this.raft?.appliedIndex() ?? 0;
  }

  isLeader(): boolean {
    return this.raft?.isLeader() ?? false;
  }

  async close(opts: { snapshot: boolean }): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.starting !== undefined) await this.starting;
    await this.raft?.close(opts);
    this.rpcClient.close();
    await this.rpcServer.close();
  }

  // ---------------------------------------------------------------- session renewals

  /** On the leader: renewals forwarded by followers go to fn (the leader's session timers). */
  onSessionRenew(fn: (id: string) => void): void {
    this.rpcServer.handle(METHOD_SESSION_RENEW, (b) => {
      const id = typeof b === "object" && b !== null ? (b as { id?: unknown }).id : undefined;
      if (typeof id === "string" && this.isLeader()) fn(id);
      return true;
    });
  }

  /** On a follower: pass a renewal on to the leader (best effort; the client renews again). */
  forwardSessionRenew(id: string): void {
    if (this.raft === undefined || this.isLeader()) return;
    const addr = this.leader().leaderAddr;
    if (addr === "") return;
    this.rpcClient.call(addr, METHOD_SESSION_RENEW, { id }, { timeoutMs: CLUSTER_OPERATOR_RPC_TIMEOUT_MS }).catch((e: unknown) => {
      this.deps.log("warn", `session: forwarding renew of ${id} to the leader failed: ${e instanceof Error ? e.message : String(e)}`);
    });
  }

  // ---------------------------------------------------------------- operator (RaftOps)

  async configuration(stale: boolean): Promise<RaftConfigurationView> {
    const r = stale || this.isLeader() ? this.localOperator({ op: "config" }) : await this.forwardOperator({ op: "config" });
    if (!r.ok) throw new CairnError(r.kind, r.message);
    if (r.config === undefined) throw new CairnError("internal", "raft: no configuration in the reply");
    return r.config;
  }

  async removePeer(by: { readonly id?: string; readonly address?: string }): Promise<void> {
    const req: OperatorRequest = { op: "remove", ...by };
    const r = this.isLeader() ? await this.localRemove(req) : await this.forwardOperator(req);
    if (!r.ok) throw new CairnError(r.kind, r.message);
  }

  async transferLeader(id: string): Promise<void> {
    const req: OperatorRequest = { op: "transfer", id };
    const r = this.isLeader() ? this.localTransfer(id) : await this.forwardOperator(req);
    if (!r.ok) throw new CairnError(r.kind, r.message);
  }

  private async forwardOperator(req: OperatorRequest): Promise<OperatorReply> {
    const addr = this.leader().leaderAddr;
    if (addr === "") throw noLeader();
    const r = await this.rpcClient.call(addr, METHOD_OPERATOR_RAFT, req, { timeoutMs: CLUSTER_OPERATOR_RPC_TIMEOUT_MS });
    if (!isOperatorReply(r)) throw new CairnError("internal", "raft: malformed operator reply");
    return r;
  }

  private async onOperator(body: unknown): Promise<OperatorReply> {
    if (!isOperatorRequest(body)) return { ok: false, kind: "bad-request", message: "malformed operator request" };
    if (!this.isLeader()) return { ok: false, kind: "no-leader", message: "No cluster leader" };
    switch (body.op) {
      case "config":
        return this.localOperator(body);
      case "remove":
        return this.localRemove(body);
      case "transfer":
        return this.localTransfer(body.id);
    }
  }

  private localOperator(_req: { readonly op: "config" }): OperatorReply {
    const raft = this.raft;
    if (raft === undefined) return { ok: false, kind: "no-leader", message: "No cluster leader" };
    const st = raft.status();
    const ids = [...st.config.voters, ...st.config.staging, ...st.config.learners];
    const servers: RaftServerView[] = ids.map((id) => {
      const p = st.progress.find((x) => x.id === id);
      return {
        id,
        node: this.names.get(id) ?? id,
        address: this.addrs.get(id) ?? raft.addressOf(id) ?? "",
        leader: id === st.leader && st.leader !== "",
        voter: st.config.voters.includes(id),
        lastIndex: id === this.opts.nodeId ? st.lastIndex : (p?.match ?? 0),
      };
    });
    return { ok: true, config: { servers, index: st.commit } };
  }

  private async localRemove(req: { readonly id?: string; readonly address?: string }): Promise<OperatorReply> {
    const raft = this.raft;
    if (raft === undefined) return { ok: false, kind: "no-leader", message: "No cluster leader" };
    const cfg = raft.status().config;
    const ids = [...cfg.voters, ...cfg.staging, ...cfg.learners];
    let id: string | undefined;
    if (req.id !== undefined) {
      id = ids.find((x) => x === req.id);
      if (id === undefined) return { ok: false, kind: "internal", message: `id "${req.id}" was not found in the Raft configuration` };
    } else {
      id = ids.find((x) => (this.addrs.get(x) ?? raft.addressOf(x)) === req.address);
      if (id === undefined) return { ok: false, kind: "internal", message: `address "${req.address ?? ""}" was not found in the Raft configuration` };
    }
    try {
      await raft.changeMembership({ type: "remove", id });
    } catch (e) {
      const kind: ErrorKind = e instanceof CairnError ? e.kind : "internal";
      return { ok: false, kind, message: e instanceof Error ? e.message : String(e) };
    }
    this.deps.log("info", `raft: removed peer ${id}`);
    return { ok: true };
  }

  private localTransfer(id: string): OperatorReply {
    const raft = this.raft;
    if (raft === undefined) return { ok: false, kind: "no-leader", message: "No cluster leader" };
    const st = raft.status();
    let target = id;
    if (target === "") {
      // Consul without ?id: the most up-to-date other voter.
      let best = -1;
      for (const p of st.progress) {
        if (p.id === this.opts.nodeId || !st.config.voters.includes(p.id)) continue;
        if (p.match > best) {
          best = p.match;
          target = p.id;
        }
      }
      if (target === "") return { ok: false, kind: "internal", message: "cannot find peer" };
    } else if (!st.config.voters.includes(target)) {
      return { ok: false, kind: "internal", message: `cannot find peer ${target}` };
    }
    if (target === this.opts.nodeId) return { ok: false, kind: "internal", message: "cannot transfer leadership to itself" };
    if (!raft.transferLeadership(target)) return { ok: false, kind: "internal", message: `cannot transfer leadership to ${target} now` };
    return { ok: true };
  }
}
