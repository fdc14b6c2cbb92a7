/**
 * agent/client: client-agent mode (`cairn agent` without -server, not -dev), as Consul's
 * client agents work: no store of their own; servers are found through the LAN pool
 * (members tagged role=consul, same dc, `port` = their server RPC port, agent/client_pool.ts)
 * and everything that is not agent-local goes to one of them over the server port
 * (server/rpc_endpoints.ts):
 *
 * - HTTP: the listener's intercept hook takes every request outside /v1/agent/* (except
 *   /v1/agent/connect/*), /v1/event/* and /v1/operator/keyring and forwards it whole
 *   (method, target, headers, body) as Client.HTTP; the reply (status, headers, body as the
 *   server rendered them) is written back as is. Blocking queries get a call timeout of
 *   their wait + wait/16 + a margin; a caller that leaves cancels the parked query there.
 *   With no server known the answer is Consul's 500 "No known Consul servers".
 * - Writes of the local agent (anti-entropy) go through ClientBackend.apply → Client.Apply;
 *   the server applies them through its own backend (a follower forwards to the leader).
 * - The catalog rows of this agent's own node are mirrored from the servers with a blocking
 *   Client.NodeState watch (MirrorStore), so anti-entropy compares against the servers' view;
 *   when a server shows up, a full anti-entropy sync runs (Consul's ServerUp trigger).
 * - DNS questions are forwarded raw as Client.DNS (forwardDns).
 *
 * Fail-over: a call goes to the pool's current server; a failure moves that server to the
 * end of the list and the call is retried once on the next server when that is safe (the
 * request was never sent, or it is an idempotent read). The list is shuffled every
 * CLIENT_POOL_REBALANCE_MS (+ jitter) to spread load.
 *
 * Must never: write to a local store, retry a non-idempotent request that may have reached
 * a server, or keep a timer running after close().
 */

import { randomUUID } from "node:crypto";
import type { Exchange } from "../http/index.ts";
import type { LeaderView, MemberView, Consistency } from "../server/types.ts";
import { RpcClient, isRpcError } from "../rpc/index.ts";
import { CairnError } from "../shared/errors.ts";
import { Store, decodeApplyResult, encodeCommand } from "../state/index.ts";
import type { ApplyResult, Command, Indexed } from "../state/types.ts";
import type { CheckRow, NodeRow, ServiceRow } from "../state/catalog_types.ts";
import {
  BLOCKING_DEFAULT_WAIT_MS,
  BLOCKING_JITTER_FRACTION,
  BLOCKING_MAX_WAIT_MS,
  CLIENT_NODE_WATCH_RETRY_MS,
  CLIENT_NODE_WATCH_WAIT_MS,
  CLIENT_POOL_REBALANCE_MS,
  CLIENT_RPC_BLOCKING_MARGIN_MS,
  CLIENT_RPC_MAX_BODY_BYTES,
  CLIENT_RPC_MAX_INFLIGHT,
  CLIENT_RPC_TIMEOUT_MS,
  RPC_RECONNECT_MAX_MS,
  RPC_RECONNECT_MIN_MS,
} from "../shared/limits.ts";
import { parseGoDuration } from "./config/duration.ts";
import { ServerPool, type PoolServer } from "./client_pool.ts";
import {
  bytesField,
  isHttpForwardReply,
  isNodeStateReply,
  METHOD_CLIENT_APPLY,
  METHOD_CLIENT_DNS,
  METHOD_CLIENT_HTTP,
  METHOD_CLIENT_HTTP_CANCEL,
  METHOD_CLIENT_NODE_STATE,
  isAgentLocal,
  splitTarget,
  type HttpForwardRequest,
} from "../server/rpc_endpoints_wire.ts";

export { isAgentLocal, splitTarget };

/** Consul's error text when a client agent knows no server (agent/router ErrNoServers). */
export const NO_KNOWN_SERVERS = "No known Consul servers";

export type ClientLog = (level: "debug" | "info" | "warn" | "error", msg: string) => void;

export interface ClientAgentOptions {
  readonly nodeName: string;
  readonly datacenter: string;
  readonly log: ClientLog;
  readonly random?: () => number;
  /** Shuffle period of the server list (tests shorten it). */
  readonly rebalanceMs?: number;
  /** Blocking wait of the own-node watch (tests shorten it). */
  readonly nodeWatchWaitMs?: number;
  /** This agent's http_config.response_headers: set on forwarded replies too (over the server's). */
  readonly responseHeaders?: Readonly<Record<string, string>>;
}

/** Go's http.CanonicalHeaderKey. */
function canonicalHeader(k: string): string {
  return k.toLowerCase().split("-").map((p) => (p.length > 0 ? (p[0] as string).toUpperCase() + p.slice(1) : p)).join("-");
}

/** Flat reply headers with `own` set over them (same names replaced). */
export function withOwnHeaders(headers: readonly string[], own: Readonly<Record<string, string>>): string[] {
  const names = Object.keys(own);
  if (names.length === 0) return [...headers];
  const drop = new Set(names.map((n) => n.toLowerCase()));
  const out: string[] = [];
  for (let i = 0; i + 1 < headers.length; i += 2) {
    if (!drop.has((headers[i] as string).toLowerCase())) out.push(headers[i] as string, headers[i + 1] as string);
  }
  for (const n of names) out.push(canonicalHeader(n), own[n] as string);
  return out;
}

/** Hop-by-hop and transport headers that are not forwarded. */
const SKIP_HEADERS: ReadonlySet<string> = new Set([
  "connection", "keep-alive", "transfer-encoding", "content-length", "upgrade", "te", "trailer", "proxy-connection", "host",
]);

/**
 * What a client agent fills in before forwarding, as Consul's client HTTP layer does: a
 * session created without a Node belongs to this agent's node, and `near=_agent` means this
 * agent's node (the server would otherwise use its own name for both).
 */
export function agentDefaults(nodeName: string, method: string, path: string, target: string, body: Buffer | null): { target: string; body: Buffer | null } {
  let t = target;
  const qi = t.indexOf("?");
  if (qi >= 0 && t.includes("_agent", qi)) {
    const parts = t.slice(qi + 1).split("&").map((kv) => {
      const eq = kv.indexOf("=");
      if (eq < 0) return kv;
      let k: string;
      let v: string;
      try {
        k = decodeURIComponent(kv.slice(0, eq).replace(/\+/g, " "));
        v = decodeURIComponent(kv.slice(eq + 1).replace(/\+/g, " "));
      } catch {
        return kv;
      }
      return k === "near" && v === "_agent" ? `near=${encodeURIComponent(nodeName)}` : kv;
    });
    t = `${t.slice(0, qi)}?${parts.join("&")}`;
  }
  let b = body;
  if (method === "PUT" && path === "/v1/session/create") {
    const text = b === null ? "" : b.toString("utf8");
    const node = `"Node":${JSON.stringify(nodeName)}`;
    if (text.trim() === "") b = Buffer.from(`{${node}}`);
    else {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined; // the server answers the decode error
      }
      if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) && !Object.keys(parsed).some((k) => k.toLowerCase() === "node")) {
        // Insert rather than re-encode, so the rest of the body reaches the server byte for byte.
        const open = text.indexOf("{");
        const rest = text.slice(open + 1);
        b = Buffer.from(`${text.slice(0, open + 1)}${node}${rest.trim().startsWith("}") ? "" : ","}${rest}`);
      }
    }
  }
  return { target: t, body: b };
}

/** The forwarded call's timeout: a blocking query's wait (capped) + its jitter + a margin. */
export function forwardTimeoutMs(rawQuery: string): number {
  const q = new URLSearchParams(rawQuery);
  const index = q.get("index");
  if (index === null || index === "" || index === "0") return CLIENT_RPC_TIMEOUT_MS;
  const w = q.get("wait");
  let wait = w === null || w === "" ? BLOCKING_DEFAULT_WAIT_MS : (parseGoDuration(w) ?? BLOCKING_DEFAULT_WAIT_MS);
  if (wait <= 0) wait = BLOCKING_DEFAULT_WAIT_MS;
  if (wait > BLOCKING_MAX_WAIT_MS) wait = BLOCKING_MAX_WAIT_MS;
  return wait + Math.ceil(wait / BLOCKING_JITTER_FRACTION) + CLIENT_RPC_BLOCKING_MARGIN_MS;
}

function flatHeaders(h: Exchange["headers"]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined || SKIP_HEADERS.has(k)) continue;
    out[k] = Array.isArray(v) ? v.join(", ") : v;
  }
  return out;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The store a client agent's local state compares against: its own node's rows, mirrored from the servers. */
export class MirrorStore extends Store {
  private readonly nodeName: string;
  private nodeValue: { node: NodeRow; services: ServiceRow[] } | undefined;
  private checks: CheckRow[] = [];
  private index = 0;

  constructor(nodeName: string) {
    super();
    this.nodeName = nodeName;
  }

  /** Replace the mirrored rows (from a Client.NodeState reply). */
  set(index: number, node: NodeRow | undefined, services: ServiceRow[], checks: CheckRow[]): void {
    this.index = index;
    this.nodeValue = node === undefined ? undefined : { node, services };
    this.checks = node === undefined ? [] : checks;
  }

  mirroredIndex(): number {
    return this.index;
  }

  private own(name: string): boolean {
    return name.toLowerCase() === this.nodeName.toLowerCase();
  }

  override catalogNode(name: string): Indexed<{ node: NodeRow; services: ServiceRow[] } | undefined> {
    if (!this.own(name)) return super.catalogNode(name);
    return { index: Math.max(1, this.index), value: this.nodeValue };
  }

  override healthNode(node: string): Indexed<CheckRow[]> {
    if (!this.own(node)) return super.healthNode(node);
    return { index: Math.max(1, this.index), value: this.checks };
  }
}

export class ClientAgent {
  readonly pool: ServerPool;
  readonly rpc: RpcClient;
  readonly mirror: MirrorStore;
  /** Set by the agent: run a full anti-entropy sync (a server showed up, the mirror is loaded). */
  onServerUp: (() => void) | undefined;
  private readonly opts: ClientAgentOptions;
  private readonly random: () => number;
  private readonly prefix = randomUUID().slice(0, 8);
  private seq = 0;
  private closed = false;
  private rebalanceTimer: ReturnType<typeof setTimeout> | undefined;
  private sleepTimer: ReturnType<typeof setTimeout> | undefined;
  private wakeLoop: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private mirrorLoaded = false;
  private fullSyncPending = false;
  private lastContact = 0;
  private active = "";
  /** Forwarded requests in flight: id -> answer them now (shutdown). */
  private readonly forwards = new Map<string, () => void>();
  private stopping = false;

  constructor(opts: ClientAgentOptions) {
    this.opts = opts;
    this.random = opts.random ?? Math.random;
    this.pool = new ServerPool(opts.datacenter, { random: this.random });
    this.rpc = new RpcClient({
      reconnectMinMs: RPC_RECONNECT_MIN_MS,
      reconnectMaxMs: RPC_RECONNECT_MAX_MS,
      limits: { maxInflight: CLIENT_RPC_MAX_INFLIGHT },
    });
    this.mirror = new MirrorStore(opts.nodeName);
  }

  /** Start the own-node watch and the periodic rebalance. */
  start(): void {
    this.loop ??= this.nodeWatch();
    this.scheduleRebalance();
  }

  /** The LAN pool's members changed. */
  onMembers(members: readonly MemberView[]): void {
    if (this.closed) return;
    const before = this.pool.size;
    const added = this.pool.update(members);
    if (added.length === 0) return;
    this.opts.log("info", `client: adding server(s) ${added.map((s) => `${s.name} (${s.addr})`).join(", ")}`);
    if (before === 0) this.wake();
    if (this.mirrorLoaded) this.onServerUp?.();
    else this.fullSyncPending = true;
  }

  /**
   * Call the current server; on a transport failure move on to the next server and retry
   * once when safe (nothing was sent, or `idempotent`). `sent` learns which server got it.
   */
  async call(method: string, body: unknown, o: { timeoutMs: number; idempotent: boolean; sent?: (addr: string) => void }): Promise<unknown> {
    const first = this.pool.current();
    if (first === undefined) throw new CairnError("internal", NO_KNOWN_SERVERS);
    try {
      return await this.callOne(first, method, body, o);
    } catch (e) {
      if (!isRpcError(e) || e.code === "remote") throw e;
      this.pool.notifyFailed(first.addr);
      const safe = e.code === "unreachable" || e.code === "overloaded" || o.idempotent;
      const next = this.pool.current();
      if (!safe || next === undefined || next.addr === first.addr) throw e;
      this.opts.log("debug", `client: ${method} to ${first.name} failed (${e.message}); retrying on ${next.name}`);
      try {
        return await this.callOne(next, method, body, o);
      } catch (e2) {
        if (isRpcError(e2) && e2.code !== "remote") this.pool.notifyFailed(next.addr);
        throw e2;
      }
    }
  }

  private async callOne(s: PoolServer, method: string, body: unknown, o: { timeoutMs: number; sent?: (addr: string) => void }): Promise<unknown> {
    o.sent?.(s.addr);
    if (s.addr !== this.active) {
      this.active = s.addr;
      // Consul's router manager logs its next active server the same way.
      this.opts.log("info", `client: next active server is ${s.name} (Addr: ${s.addr})`);
    }
    const r = await this.rpc.call(s.addr, method, body, { timeoutMs: o.timeoutMs });
    this.lastContact = performance.now();
    return r;
  }

  // ---------------------------------------------------------------- HTTP forwarding

  /** The HTTP listener's intercept hook: true when the request was taken (forwarded). */
  readonly intercept = (ex: Exchange): boolean => {
    const t = splitTarget(ex.target);
    if (isAgentLocal(t.path)) return false;
    void this.forwardHttp(ex, t.origin, t.query);
    return true;
  };

  /**
   * Shutdown: answer every forwarded request in flight at once (parked blocking queries would
   * otherwise hold the listener's close for its grace period), cancel them on their servers,
   * and answer new ones 500.
   */
  stopForwarding(): void {
    this.stopping = true;
    for (const stop of [...this.forwards.values()]) stop();
    this.forwards.clear();
  }

  private async forwardHttp(ex: Exchange, target: string, rawQuery: string): Promise<void> {
    const id = `${this.prefix}-${++this.seq}`;
    let sentTo: string | undefined;
    const fail = (status: number, msg: string): void => ex.reply(status, ["Content-Type", "text/plain; charset=utf-8"], Buffer.from(msg), false);
    if (this.stopping) {
      fail(500, "agent is shutting down");
      return;
    }
    this.forwards.set(id, () => {
      if (sentTo !== undefined) this.rpc.cast(sentTo, METHOD_CLIENT_HTTP_CANCEL, { id });
      fail(500, "agent is shutting down");
    });
    try {
      const rb = await ex.readBody(CLIENT_RPC_MAX_BODY_BYTES);
      if (ex.aborted) return;
      const fixed = rb.ok ? agentDefaults(this.opts.nodeName, ex.method, splitTarget(target).path, target, rb.data.length === 0 ? null : rb.data) : { target, body: null };
      const body = fixed.body;
      const req: HttpForwardRequest = {
        id,
        method: ex.method,
        target: fixed.target,
        headers: flatHeaders(ex.headers),
        contentLength: body === null || (rb.ok && body === rb.data) ? ex.contentLength : body.length,
        body: body === null ? null : new Uint8Array(body.buffer, body.byteOffset, body.length),
        tooLarge: rb.ok ? null : { received: rb.received, declared: rb.declared },
      };
      ex.onAbort(() => {
        if (sentTo !== undefined) this.rpc.cast(sentTo, METHOD_CLIENT_HTTP_CANCEL, { id });
      });
      const idempotent = ex.method === "GET" || ex.method === "HEAD";
      const r = await this.call(METHOD_CLIENT_HTTP, req, { timeoutMs: forwardTimeoutMs(rawQuery), idempotent, sent: (a) => (sentTo = a) });
      if (!isHttpForwardReply(r)) throw new CairnError("internal", "malformed forwarded HTTP reply");
      ex.reply(r.status, withOwnHeaders(r.headers, this.opts.responseHeaders ?? {}), r.body === null ? undefined : Buffer.from(r.body.buffer, r.body.byteOffset, r.body.length), false);
    } catch (e) {
      fail(isRpcError(e) && e.code === "remote" && e.kind === "bad-request" ? 400 : 500, errorText(e));
    } finally {
      this.forwards.delete(id);
    }
  }

  // ---------------------------------------------------------------- DNS forwarding

  /** Answer a raw DNS query through a server; null when it gives none. Throws when no server answers. */
  async forwardDns(query: Buffer, tcp: boolean): Promise<Buffer | null> {
    const r = await this.call(METHOD_CLIENT_DNS, { query: new Uint8Array(query.buffer, query.byteOffset, query.length), tcp }, {
      timeoutMs: CLIENT_RPC_TIMEOUT_MS,
      idempotent: true,
    });
    const a = bytesField(r, "answer");
    return a === undefined ? null : Buffer.from(a.buffer, a.byteOffset, a.length);
  }

  // ---------------------------------------------------------------- writes

  async apply(cmd: Command): Promise<ApplyResult> {
    // Anti-entropy writes are idempotent (they state what the catalog should hold).
    const r = await this.call(METHOD_CLIENT_APPLY, { cmd: encodeCommand(cmd) }, { timeoutMs: CLIENT_RPC_TIMEOUT_MS, idempotent: true });
    const b = bytesField(r, "result");
    if (b === undefined) throw new CairnError("internal", "malformed forwarded apply reply");
    return decodeApplyResult(b);
  }

  leader(): LeaderView {
    return {
      knownLeader: this.pool.size > 0,
      lastContactMs: this.lastContact === 0 ? 0 : Math.max(0, Math.round(performance.now() - this.lastContact)),
      leaderAddr: "",
    };
  }

  // ---------------------------------------------------------------- own-node watch

  private wake(): void {
    const w = this.wakeLoop;
    this.wakeLoop = undefined;
    if (this.sleepTimer !== undefined) clearTimeout(this.sleepTimer);
    this.sleepTimer = undefined;
    w?.();
  }

  private sleep(ms: number | undefined): Promise<void> {
    return new Promise((resolve) => {
      this.wakeLoop = resolve;
      if (ms !== undefined) this.sleepTimer = setTimeout(() => this.wake(), ms);
    });
  }

  private async nodeWatch(): Promise<void> {
    const waitMs = this.opts.nodeWatchWaitMs ?? CLIENT_NODE_WATCH_WAIT_MS;
    let minIndex = 0;
    while (!this.closed) {
      if (this.pool.size === 0) {
        await this.sleep(undefined);
        continue;
      }
      try {
        const r = await this.call(METHOD_CLIENT_NODE_STATE, { node: this.opts.nodeName, minIndex, waitMs }, {
          timeoutMs: waitMs + CLIENT_RPC_BLOCKING_MARGIN_MS,
          idempotent: true,
        });
        if (this.closed) return;
        if (!isNodeStateReply(r)) throw new CairnError("internal", "malformed node state reply");
        const rows = decodeApplyResult(r.rows);
        if (rows.type !== "txn") throw new CairnError("internal", "malformed node state rows");
        let node: NodeRow | undefined;
        const services: ServiceRow[] = [];
        const checks: CheckRow[] = [];
        for (const x of rows.results) {
          if (x.kind === "node") node = x.node;
          else if (x.kind === "service") services.push(x.service);
          else if (x.kind === "check") checks.push(x.check);
        }
        this.mirror.set(r.index, node, services, checks);
        minIndex = r.index;
        if (!this.mirrorLoaded || this.fullSyncPending) {
          this.mirrorLoaded = true;
          this.fullSyncPending = false;
          this.onServerUp?.();
        }
      } catch (e) {
        if (this.closed) return;
        this.opts.log("debug", `client: watching this node's catalog entry failed: ${errorText(e)}`);
        minIndex = 0;
        await this.sleep(CLIENT_NODE_WATCH_RETRY_MS);
      }
    }
  }

  private scheduleRebalance(): void {
    if (this.closed) return;
    const base = this.opts.rebalanceMs ?? CLIENT_POOL_REBALANCE_MS;
    this.rebalanceTimer = setTimeout(() => {
      this.pool.rebalance();
      this.scheduleRebalance();
    }, base + Math.floor(this.random() * base));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.rebalanceTimer !== undefined) clearTimeout(this.rebalanceTimer);
    this.wake();
    this.rpc.close();
    await this.loop;
  }
}

/** The Backend a client agent's local state and HTTP layer see (agent.ts AgentServer). */
export class ClientBackend {
  readonly store: MirrorStore;
  private readonly client: ClientAgent;

  constructor(client: ClientAgent) {
    this.client = client;
    this.store = client.mirror;
  }

  apply(cmd: Command): Promise<ApplyResult> {
    return this.client.apply(cmd);
  }

  readBarrier(_mode: Consistency): Promise<LeaderView> {
    if (this.client.pool.size === 0) return Promise.reject(new CairnError("internal", NO_KNOWN_SERVERS));
    return Promise.resolve(this.client.leader());
  }

  leader(): LeaderView {
    return this.client.leader();
  }

  peers(): string[] {
    return this.client.pool.servers().map((s) => s.addr);
  }

  appliedIndex(): number {
    return this.store.mirroredIndex();
  }

  async close(_opts: { snapshot: boolean }): Promise<void> {
    await this.client.close();
  }
}
