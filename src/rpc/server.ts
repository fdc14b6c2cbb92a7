/**
 * rpc/server: the server port. Accepts connections on host:port, hands each
 * to a server-role Conn that dispatches requests and casts by method name to
 * the registered handlers.
 *
 * Bounded: connections at once (RPC_MAX_CONNECTIONS; beyond it new ones are
 * closed at once), requests in flight and write buffer per connection (Conn).
 * close() stops accepting and closes every connection. `faults` is a test
 * hook that drops incoming traffic (a partition as the peers see it).
 *
 * Must never: let one connection's bad input affect another, or keep the
 * process alive after close().
 */

import { createServer, type Server, type Socket } from "node:net";
import { assert } from "../shared/errors.ts";
import { RPC_MAX_CONNECTIONS } from "../shared/limits.ts";
import { Conn, DEFAULT_LIMITS, type ConnLimits, type Handler } from "./conn.ts";

export interface RpcServerOptions {
  readonly maxConnections?: number;
  readonly limits?: Partial<ConnLimits>;
  readonly logger?: (level: "debug" | "info" | "warn", msg: string) => void;
}

/** Test hook: incoming requests/casts for which drop() is true are ignored (never answered). */
export interface ServerFaults {
  drop(method: string): boolean;
}

export class RpcServer {
  faults: ServerFaults | undefined;
  private readonly handlers = new Map<string, Handler>();
  private readonly conns = new Set<Conn>();
  private readonly opts: RpcServerOptions;
  private readonly limits: ConnLimits;
  private server: Server | undefined;
  private addr = "";

  constructor(opts: RpcServerOptions = {}) {
    this.opts = opts;
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
  }

  /** Register the handler of a method (requests and casts). */
  handle(method: string, h: Handler): void {
    assert(!this.handlers.has(method), `rpc: handler for ${method} registered twice`);
    this.handlers.set(method, h);
  }

  unhandle(method: string): void {
    this.handlers.delete(method);
  }

  /** Listen; resolves with the bound "host:port" (port 0 picks a free one). */
  listen(host: string, port: number): Promise<string> {
    assert(this.server === undefined, "rpc: listen called twice");
    const srv = createServer((s) => this.accept(s));
    this.server = srv;
    return new Promise<string>((resolve, reject) => {
      srv.once("error", reject);
      srv.listen({ host, port }, () => {
        srv.off("error", reject);
        srv.on("error", (e: Error) => this.opts.logger?.("warn", `rpc server: ${e.message}`));
        const a = srv.address();
        assert(a !== null && typeof a === "object", "rpc: no address after listen");
        this.addr = a.family === "IPv6" ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
        resolve(this.addr);
      });
    });
  }

  /** The bound "host:port" ("" before listen). */
  address(): string {
    return this.addr;
  }

  connections(): number {
    return this.conns.size;
  }

  /** Stop accepting, close every connection. */
  close(): Promise<void> {
    const srv = this.server;
    for (const c of [...this.conns]) c.close();
    this.conns.clear();
    if (srv === undefined || !srv.listening) return Promise.resolve();
    return new Promise<void>((resolve) => srv.close(() => resolve()));
  }

  private accept(s: Socket): void {
    if (this.conns.size >= (this.opts.maxConnections ?? RPC_MAX_CONNECTIONS)) {
      this.opts.logger?.("warn", `rpc server: connection limit reached, closing ${s.remoteAddress}:${s.remotePort}`);
      s.destroy();
      return;
    }
    const conn = new Conn(s, {
      role: "server",
      label: `${s.remoteAddress ?? "?"}:${s.remotePort ?? 0}`,
      limits: this.limits,
      handlers: this.handlers,
      dropIncoming: (m) => this.faults?.drop(m) === true,
      onClose: (c) => this.conns.delete(c),
      ...(this.opts.logger === undefined ? {} : { logger: this.opts.logger }),
    });
    this.conns.add(conn);
  }
}
