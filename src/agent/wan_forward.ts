/**
 * agent/wan_forward: requests for another datacenter, as Consul's servers forward RPCs with
 * a `dc` of a remote datacenter (agent/consul/rpc.go forwardDC through the WAN router).
 *
 * A server's HTTP listeners (and the in-process handler that answers its client agents)
 * hand every request to intercept(): one whose `?dc=` names another datacenter that has an
 * alive server in the WAN pool (tags role=consul, dc, port = its server RPC port) is sent
 * whole to one of those servers as Client.HTTP over the server port (the same call client
 * agents use), and the remote server's reply (status, headers, body) is written back as is;
 * the remote server answers it as a request for its own datacenter. Agent-local paths
 * (/v1/agent/*, /v1/event/*, /v1/operator/keyring) are never forwarded. A datacenter that is
 * not in the WAN pool is left to the local handler, which answers Consul's "No path to
 * datacenter". A failed server is skipped for the next call; a read is retried once on
 * another server of that datacenter. DNS questions for another datacenter
 * (`<svc>.service.<dc>.consul`, `<node>.node.<dc>.consul`) go the same way as Client.DNS
 * (dnsFor), answered by the remote server's resolver. Keyring operations reach other
 * datacenters' LAN pools through one of their servers (keyringIn, Internal.KeyringOperation).
 *
 * Must never: forward an agent-local path or a request for this datacenter, or retry a
 * write that may have reached a server.
 */

import { randomUUID } from "node:crypto";
import { Buffer } from "node:buffer";
import type { Exchange } from "../http/index.ts";
import type { MemberView } from "../server/types.ts";
import { RpcClient, isRpcError } from "../rpc/index.ts";
import { CairnError } from "../shared/errors.ts";
import {
  CLIENT_RPC_MAX_BODY_BYTES,
  CLIENT_RPC_MAX_INFLIGHT,
  CLIENT_RPC_TIMEOUT_MS,
  RPC_RECONNECT_MAX_MS,
  RPC_RECONNECT_MIN_MS,
} from "../shared/limits.ts";
import {
  bytesField,
  isAgentLocal,
  isHttpForwardReply,
  keyringResultsOf,
  METHOD_CLIENT_DNS,
  METHOD_CLIENT_HTTP,
  METHOD_CLIENT_HTTP_CANCEL,
  METHOD_INTERNAL_KEYRING,
  splitTarget,
  type HttpForwardRequest,
  type KeyringForwardRequest,
  type KeyringWireResult,
} from "../server/rpc_endpoints_wire.ts";
import { forwardTimeoutMs } from "./client.ts";

export type WanForwardLog = (level: "debug" | "info" | "warn" | "error", msg: string) => void;

/** Hop-by-hop and transport headers that are not forwarded. */
const SKIP_HEADERS: ReadonlySet<string> = new Set([
  "connection", "keep-alive", "transfer-encoding", "content-length", "upgrade", "te", "trailer", "proxy-connection", "host",
]);

/** The servers of `dc` in the WAN pool that can take a forwarded request: alive, with a port tag. */
export function remoteServers(members: readonly MemberView[], dc: string): { name: string; addr: string }[] {
  const out: { name: string; addr: string }[] = [];
  for (const m of members) {
    if (m.status !== 1 || m.tags.role !== "consul" || m.tags.dc !== dc) continue;
    const port = Number(m.tags.port ?? "");
    if (!Number.isInteger(port) || port <= 0 || port > 65535) continue;
    out.push({ name: m.name, addr: m.addr.includes(":") ? `[${m.addr}]:${port}` : `${m.addr}:${port}` });
  }
  return out;
}

/** The `dc` query parameter of a raw query string ("" when absent). */
export function dcParam(rawQuery: string): string {
  if (!rawQuery.includes("dc=")) return "";
  return new URLSearchParams(rawQuery).get("dc") ?? "";
}

export interface WanForwarderOptions {
  readonly datacenter: string;
  /** The WAN pool's members now. */
  readonly members: () => readonly MemberView[];
  readonly log: WanForwardLog;
  readonly random?: () => number;
}

export class WanForwarder {
  readonly #o: WanForwarderOptions;
  readonly #rpc: RpcClient;
  readonly #prefix = "wan-" + randomUUID().slice(0, 8);
  /** Servers that failed lately: tried last. */
  readonly #failed = new Map<string, number>();
  #seq = 0;
  #closed = false;

  constructor(o: WanForwarderOptions) {
    this.#o = o;
    this.#rpc = new RpcClient({
      reconnectMinMs: RPC_RECONNECT_MIN_MS,
      reconnectMaxMs: RPC_RECONNECT_MAX_MS,
      limits: { maxInflight: CLIENT_RPC_MAX_INFLIGHT },
    });
  }

  /** The HTTP intercept hook: true when the request was taken (forwarded to another datacenter). */
  readonly intercept = (ex: Exchange): boolean => {
    if (this.#closed) return false;
    const t = splitTarget(ex.target);
    if (isAgentLocal(t.path)) return false;
    const dc = dcParam(t.query);
    if (dc === "" || dc === this.#o.datacenter) return false;
    const servers = this.#order(remoteServers(this.#o.members(), dc));
    if (servers.length === 0) return false; // the local handler answers "No path to datacenter"
    void this.#forward(ex, t.origin, t.query, dc, servers);
    return true;
  };

  /** Random order, servers that failed lately last (Consul's manager puts a failed server at the end). */
  #order(servers: { name: string; addr: string }[]): { name: string; addr: string }[] {
    const rnd = this.#o.random ?? Math.random;
    return servers
      .map((s) => ({ s, k: (this.#failed.get(s.addr) ?? 0) * 2 + rnd() }))
      .sort((a, b) => a.k - b.k)
      .map((x) => x.s);
  }

  async #forward(ex: Exchange, target: string, rawQuery: string, dc: string, servers: { name: string; addr: string }[]): Promise<void> {
    const id = `${this.#prefix}-${++this.#seq}`;
    let sentTo: string | undefined;
    const fail = (status: number, msg: string): void => ex.reply(status, ["Content-Type", "text/plain; charset=utf-8"], Buffer.from(msg), false);
    try {
      const rb = await ex.readBody(CLIENT_RPC_MAX_BODY_BYTES);
      if (ex.aborted) return;
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(ex.headers)) {
        if (v === undefined || SKIP_HEADERS.has(k)) continue;
        headers[k] = Array.isArray(v) ? v.join(", ") : v;
      }
      const req: HttpForwardRequest = {
        id,
        method: ex.method,
        target,
        headers,
        contentLength: ex.contentLength,
        body: rb.ok && rb.data.length > 0 ? new Uint8Array(rb.data.buffer, rb.data.byteOffset, rb.data.length) : null,
        tooLarge: rb.ok ? null : { received: rb.received, declared: rb.declared },
      };
      ex.onAbort(() => {
        if (sentTo !== undefined) this.#rpc.cast(sentTo, METHOD_CLIENT_HTTP_CANCEL, { id });
      });
      const idempotent = ex.method === "GET" || ex.method === "HEAD";
      const timeoutMs = forwardTimeoutMs(rawQuery);
      let r: unknown;
      let lastErr: unknown;
      for (const [i, s] of servers.slice(0, 2).entries()) {
        try {
          sentTo = s.addr;
          this.#o.log("debug", `agent: forwarding ${ex.method} ${splitTarget(target).path} to datacenter ${dc} (server ${s.name} at ${s.addr})`);
          r = await this.#rpc.call(s.addr, METHOD_CLIENT_HTTP, req, { timeoutMs });
          this.#failed.delete(s.addr);
          lastErr = undefined;
          break;
        } catch (e) {
          lastErr = e;
          if (!isRpcError(e) || e.code === "remote") break;
          this.#failed.set(s.addr, 1);
          const safe = e.code === "unreachable" || e.code === "overloaded" || idempotent;
          if (!safe || i > 0) break;
        }
      }
      if (lastErr !== undefined) throw lastErr;
      if (!isHttpForwardReply(r)) throw new CairnError("internal", "malformed forwarded HTTP reply");
      ex.reply(r.status, r.headers, r.body === null ? undefined : Buffer.from(r.body.buffer, r.body.byteOffset, r.body.length), false);
    } catch (e) {
      fail(isRpcError(e) && e.code === "remote" && e.kind === "bad-request" ? 400 : 500, e instanceof Error ? e.message : String(e));
    }
  }

  /** A forwarder of raw DNS queries to a server of `dc`, or undefined when the WAN pool has none. */
  readonly dnsFor = (dc: string): ((msg: Buffer, tcp: boolean) => Promise<Buffer | null>) | undefined => {
    if (this.#closed || dc === this.#o.datacenter.toLowerCase()) return undefined;
    const servers = this.#order(remoteServers(this.#o.members(), dc));
    if (servers.length === 0) return undefined;
    return async (msg, tcp) => {
      let lastErr: unknown;
      for (const s of servers.slice(0, 2)) {
        try {
          const r = await this.#rpc.call(s.addr, METHOD_CLIENT_DNS, { query: new Uint8Array(msg.buffer, msg.byteOffset, msg.length), tcp }, { timeoutMs: CLIENT_RPC_TIMEOUT_MS });
          this.#failed.delete(s.addr);
          const a = bytesField(r, "answer");
          return a === undefined ? null : Buffer.from(a.buffer, a.byteOffset, a.length);
        } catch (e) {
          lastErr = e;
          if (!isRpcError(e) || e.code === "remote") break;
          this.#failed.set(s.addr, 1);
        }
      }
      throw lastErr instanceof Error ? lastErr : new Error(String(lastErr));
    };
  };

  /** The other datacenters that have an alive server in the WAN pool, sorted. */
  otherDatacenters(): string[] {
    const dcs = new Set<string>();
    for (const m of this.#o.members()) {
      if (m.status === 1 && m.tags.role === "consul" && m.tags.dc !== undefined && m.tags.dc !== this.#o.datacenter) dcs.add(m.tags.dc);
    }
    return [...dcs].sort();
  }

  /**
   * Run a keyring operation on the LAN pool of `dc` through one of its servers
   * (Internal.KeyringOperation; a server that cannot be reached is skipped for the next one).
   */
  async keyringIn(dc: string, req: KeyringForwardRequest): Promise<KeyringWireResult[]> {
    const servers = this.#order(remoteServers(this.#o.members(), dc));
    if (servers.length === 0) throw new Error(`No path to datacenter`);
    let lastErr: unknown;
    for (const s of servers.slice(0, 2)) {
      try {
        const r = await this.#rpc.call(s.addr, METHOD_INTERNAL_KEYRING, req, { timeoutMs: CLIENT_RPC_TIMEOUT_MS });
        this.#failed.delete(s.addr);
        const results = keyringResultsOf(r);
        if (results === undefined) throw new Error(`malformed keyring reply from ${s.name}`);
        return results;
      } catch (e) {
        lastErr = e;
        if (!isRpcError(e) || e.code === "remote") break;
        this.#failed.set(s.addr, 1);
      }
    }
    throw lastErr instanceof Error ? lastErr : new Error(String(lastErr));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#rpc.close();
  }
}
