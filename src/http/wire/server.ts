/**
 * http/wire/server: the lean HTTP/1.1 transport on node:net (Node and Deno). Accepts
 * connections up to the cap, gives each a Conn, enforces every connection's deadline with
 * one periodic sweep (no timer per socket), counts requests in flight and closes
 * gracefully: stop accepting, answer parked work, drop idle sockets, let busy ones finish
 * within a grace period.
 *
 * Must never: let one connection's failure reach another, or keep the process alive
 * through its sweep timer.
 */

import net from "node:net";
import { HTTP_TIMEOUT_SWEEP_MS } from "../../shared/limits.ts";
import { Conn, type ConnHost } from "./conn.ts";
import { ResponseCache } from "./response.ts";
import type { ExchangeHandler, ListenAddress, ListenArg, Transport, TransportOptions } from "./types.ts";

class WireServer implements Transport, ConnHost {
  readonly handler: ExchangeHandler;
  readonly opts: TransportOptions;
  readonly cache = new ResponseCache();
  closing = false;
  private readonly conns = new Set<Conn>();
  private readonly servers: net.Server[] = [];
  private inFlight = 0;
  private drained: (() => void) | undefined;
  private sweeper: ReturnType<typeof setInterval> | undefined;

  constructor(handler: ExchangeHandler, opts: TransportOptions) {
    this.handler = handler;
    this.opts = opts;
  }

  requestStarted(): void {
    this.inFlight++;
  }

  requestDone(): void {
    this.inFlight--;
    if (this.inFlight <= 0 && this.drained !== undefined) this.drained();
  }

  connClosed(c: Conn): void {
    this.conns.delete(c);
  }

  connections(): number {
    return this.conns.size;
  }

  private sweep(): void {
    const now = Date.now();
    for (const c of this.conns) {
      if (c.deadline !== 0 && c.deadline <= now) c.onTimeout();
    }
  }

  listen(arg: ListenArg): Promise<ListenAddress | undefined> {
    const s = net.createServer({ allowHalfOpen: true });
    s.on("connection", (socket: net.Socket) => {
      if (this.closing || this.conns.size >= this.opts.maxConnections) {
        socket.on("error", () => {});
        socket.destroy();
        return;
      }
      try {
        this.conns.add(new Conn(socket, this, Date.now()));
      } catch (e) {
        this.opts.log("error", `http connection setup failed: ${String(e)}`);
        socket.destroy();
      }
    });
    this.servers.push(s);
    if (this.sweeper === undefined) {
      const o = this.opts;
      const period = Math.max(
        10,
        Math.min(HTTP_TIMEOUT_SWEEP_MS, Math.floor(Math.min(o.headersTimeoutMs, o.requestTimeoutMs, o.keepAliveTimeoutMs) / 4)),
      );
      this.sweeper = setInterval(() => {
        try {
          this.sweep();
        } catch (e) {
          this.opts.log("error", `http timeout sweep failed: ${String(e)}`);
        }
      }, period);
      this.sweeper.unref?.();
    }
    return new Promise((resolve, reject) => {
      s.once("error", reject);
      const done = (): void => {
        s.off("error", reject);
        s.on("error", (e) => this.opts.log("error", `http server error: ${String(e)}`));
        const a = s.address();
        resolve(a !== null && typeof a === "object" ? { address: a.address, family: a.family, port: a.port } : undefined);
      };
      if ("path" in arg) s.listen(arg.path, done);
      else s.listen(arg.port, arg.host, done);
    });
  }

  async close(graceMs: number, stopped: () => void): Promise<void> {
    this.closing = true;
    const serverClosed = Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    stopped();
    for (const c of [...this.conns]) if (c.idle) c.destroy();
    if (this.inFlight > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, graceMs);
        this.drained = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.drained = undefined;
    }
    for (const c of [...this.conns]) c.destroy();
    this.conns.clear();
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
    this.sweeper = undefined;
    await serverClosed;
  }
}

export function createWireTransport(handler: ExchangeHandler, opts: TransportOptions): Transport {
  return new WireServer(handler, opts);
}
