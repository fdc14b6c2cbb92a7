/**
 * rpc/client: calls and casts to peers by "host:port", over one long-lived
 * connection per peer, reconnecting with exponential back-off.
 *
 * A call to a peer in back-off fails at once with RpcError("unreachable")
 * (nothing was sent, so the caller may retry or try another server); casts to
 * it return false. The dial function is a dep so a TLS dialer can replace
 * node:net later. `faults` is a test hook that drops outgoing traffic.
 *
 * Must never: open more than one connection per peer at a time, retry a call
 * on its own (only the caller knows whether that is safe), or dial in a loop
 * faster than the back-off allows.
 */

import { connect as netConnect, type Socket } from "node:net";
import { RPC_CALL_TIMEOUT_MS, RPC_CONNECT_TIMEOUT_MS, RPC_RECONNECT_MAX_MS, RPC_RECONNECT_MIN_MS } from "../shared/limits.ts";
import { Conn, DEFAULT_LIMITS, type ConnLimits } from "./conn.ts";
import { rpcError } from "./errors.ts";

export interface RpcClientOptions {
  /** Dial a peer (default node:net connect). */
  readonly dial?: (host: string, port: number) => Socket;
  readonly callTimeoutMs?: number;
  readonly connectTimeoutMs?: number;
  readonly reconnectMinMs?: number;
  readonly reconnectMaxMs?: number;
  readonly limits?: Partial<ConnLimits>;
  readonly now?: () => number;
  readonly random?: () => number;
  readonly logger?: (level: "debug" | "info" | "warn", msg: string) => void;
}

/** Test hook: outgoing calls and casts for which drop() is true vanish (calls then time out). */
export interface ClientFaults {
  drop(addr: string, method: string): boolean;
}

interface Peer {
  conn: Conn | undefined;
  failures: number;
  retryAt: number;
}

/** Split "host:port" or "[v6]:port". */
export function parseAddr(addr: string): { host: string; port: number } | undefined {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(addr) ?? /^([^:]+):(\d+)$/.exec(addr);
  if (m === null) return undefined;
  const port = Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { host: m[1]!, port };
}

export class RpcClient {
  faults: ClientFaults | undefined;
  private readonly peers = new Map<string, Peer>();
  private readonly opts: RpcClientOptions;
  private readonly limits: ConnLimits;
  private readonly now: () => number;
  private closed = false;

  constructor(opts: RpcClientOptions = {}) {
    this.opts = opts;
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.now = opts.now ?? (() => performance.now());
  }

  call(addr: string, method: string, body: unknown, opts: { timeoutMs?: number } = {}): Promise<unknown> {
    const timeoutMs = opts.timeoutMs ?? this.opts.callTimeoutMs ?? RPC_CALL_TIMEOUT_MS;
    if (this.faults?.drop(addr, method) === true) {
      return new Promise((_, reject) => {
        setTimeout(() => reject(rpcError("timeout", `rpc: ${method} to ${addr} timed out after ${timeoutMs} ms`)), timeoutMs);
      });
    }
    const conn = this.conn(addr);
    if (typeof conn === "string") return Promise.reject(rpcError("unreachable", conn));
    return conn.call(method, body, timeoutMs);
  }

  /** Queue a one-way message; false when it could not be (unreachable, back-off, buffer full). */
  cast(addr: string, method: string, body: unknown): boolean {
    if (this.faults?.drop(addr, method) === true) return true; // lost on the way, as far as the sender can tell
    const conn = this.conn(addr);
    if (typeof conn === "string") return false;
    return conn.cast(method, body);
  }

  /** Is there an established connection to addr? */
  isConnected(addr: string): boolean {
    const c = this.peers.get(addr)?.conn;
    return c !== undefined && !c.closed && c.connected;
  }

  /** Drop the connection to addr (it is re-dialled on next use). */
  disconnect(addr: string): void {
    this.peers.get(addr)?.conn?.close();
  }

  close(): void {
    this.closed = true;
    for (const p of this.peers.values()) p.conn?.close();
    this.peers.clear();
  }

  /** The live connection to addr, a new one, or why there is none. */
  private conn(addr: string): Conn | string {
    if (this.closed) return "rpc: client is closed";
    let p = this.peers.get(addr);
    if (p === undefined) {
      p = { conn: undefined, failures: 0, retryAt: 0 };
      this.peers.set(addr, p);
    }
    if (p.conn !== undefined && !p.conn.closed) return p.conn;
    const now = this.now();
    if (now < p.retryAt) return `rpc: ${addr} is unreachable (next attempt in ${Math.ceil(p.retryAt - now)} ms)`;
    const hp = parseAddr(addr);
    if (hp === undefined) return `rpc: bad address ${JSON.stringify(addr)}`;
    let socket: Socket;
    try {
      socket = (this.opts.dial ?? ((h: string, port: number) => netConnect({ host: h, port })))(hp.host, hp.port);
    } catch (e) {
      this.backoff(p);
      return `rpc: cannot dial ${addr}: ${e instanceof Error ? e.message : String(e)}`;
    }
    const peer = p;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const conn = new Conn(socket, {
      role: "client",
      label: addr,
      limits: this.limits,
      ...(this.opts.logger === undefined ? {} : { logger: this.opts.logger }),
      onClose: (c) => {
        clearTimeout(timer);
        if (peer.conn === c) peer.conn = undefined;
        if (c.connected) {
          peer.failures = 0;
          peer.retryAt = this.now() + (this.opts.reconnectMinMs ?? RPC_RECONNECT_MIN_MS);
        } else this.backoff(peer);
      },
    });
    timer = setTimeout(() => {
      if (!conn.connected) conn.close();
    }, this.opts.connectTimeoutMs ?? RPC_CONNECT_TIMEOUT_MS);
    conn.onConnect(() => {
      clearTimeout(timer);
      peer.failures = 0;
    });
    p.conn = conn;
    return conn;
  }

  private backoff(p: Peer): void {
    p.failures++;
    const min = this.opts.reconnectMinMs ?? RPC_RECONNECT_MIN_MS;
    const max = this.opts.reconnectMaxMs ?? RPC_RECONNECT_MAX_MS;
    const base = Math.min(max, min * 2 ** Math.min(p.failures - 1, 30));
    const jitter = 0.5 + 0.5 * (this.opts.random ?? Math.random)();
    p.retryAt = this.now() + base * jitter;
  }
}
