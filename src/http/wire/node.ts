/**
 * http/wire/node: the node:http fallback transport (CAIRN_HTTP_TRANSPORT=node), with the
 * same Exchange face as the wire transport: header/request/keep-alive timeouts, the
 * connection cap, bounded body reads, abort hooks, 400/408/431 on client errors, graceful
 * close.
 *
 * Must never: let one client's socket cost more than its own resources, or throw out of
 * an event handler.
 */

import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { BodyResult } from "../context.ts";
import type { HeaderMap } from "./parser.ts";
import type { Exchange, ExchangeHandler, ListenAddress, ListenArg, StreamWriter, Transport, TransportOptions } from "./types.ts";

const EMPTY_BODY: BodyResult = { ok: true, data: Buffer.alloc(0) };

interface Tracker {
  readonly sockets: Map<Socket, number>;
  readonly closing: boolean;
  readonly log: TransportOptions["log"];
  done(socket: Socket): void;
}

class NodeExchange implements Exchange {
  readonly method: string;
  readonly target: string;
  readonly headers: HeaderMap;
  readonly contentLength: number;
  private readonly req: IncomingMessage;
  private readonly res: ServerResponse;
  private readonly t: Tracker;
  private hooks: (() => void)[] = [];
  private abortedFlag = false;
  private finished = false;
  private bodyTaken = false;

  constructor(req: IncomingMessage, res: ServerResponse, t: Tracker) {
    this.req = req;
    this.res = res;
    this.t = t;
    this.method = req.method ?? "GET";
    this.target = req.url ?? "/";
    this.headers = req.headers;
    const cl = req.headers["content-length"];
    this.contentLength = cl !== undefined && /^\d+$/.test(cl) ? Number(cl) : -1;
    const socket = req.socket;
    t.sockets.set(socket, (t.sockets.get(socket) ?? 0) + 1);
    res.on("finish", () => this.finish());
    res.on("close", () => {
      if (!res.writableFinished && !this.abortedFlag) {
        this.abortedFlag = true;
        for (const h of this.hooks.splice(0)) {
          try {
            h();
          } catch (e) {
            t.log("error", `abort hook failed: ${String(e)}`);
          }
        }
      }
      this.finish();
    });
    req.on("error", () => {
      /* the client went away mid-body; res 'close' handles cleanup */
    });
    res.on("error", () => {
      /* write after the peer closed */
    });
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.t.done(this.req.socket);
  }

  get aborted(): boolean {
    return this.abortedFlag;
  }

  onAbort(cb: () => void): void {
    if (this.abortedFlag) cb();
    else this.hooks.push(cb);
  }

  readBody(limit: number): Promise<BodyResult> {
    if (this.bodyTaken) return Promise.resolve(EMPTY_BODY);
    this.bodyTaken = true;
    const contentLength = this.contentLength;
    if (contentLength > limit) return Promise.resolve({ ok: false, received: contentLength, declared: true });
    const req = this.req;
    return new Promise<BodyResult>((resolve) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let settled = false;
      const settle = (r: BodyResult): void => {
        if (settled) return;
        settled = true;
        req.off("data", onData);
        req.off("end", onEnd);
        resolve(r);
      };
      const onData = (c: Buffer): void => {
        size += c.length;
        if (size > limit) {
          req.pause();
          settle({ ok: false, received: size, declared: false });
          return;
        }
        chunks.push(c);
      };
      const onEnd = (): void => settle({ ok: true, data: Buffer.concat(chunks, size) });
      req.on("data", onData);
      req.on("end", onEnd);
      this.hooks.push(() => settle({ ok: false, received: size, declared: false }));
      if (this.abortedFlag) settle({ ok: false, received: size, declared: false });
    });
  }

  reply(status: number, headers: readonly string[], body: Buffer | undefined, close: boolean): void {
    const res = this.res;
    if (res.headersSent || res.writableEnded || res.destroyed) return;
    try {
      for (let i = 0; i + 1 < headers.length; i += 2) res.setHeader(headers[i] as string, headers[i + 1] as string);
      if (close || this.t.closing) res.setHeader("Connection", "close");
      res.setHeader("Content-Length", body ? body.length : 0);
      res.statusCode = status;
      if (body && body.length > 0 && this.method !== "HEAD") res.end(body);
      else res.end();
    } catch {
      // The socket went away between the check and the write, or a header was invalid.
    }
  }

  stream(status: number, headers: readonly string[], close: boolean): StreamWriter | undefined {
    const res = this.res;
    if (res.headersSent || res.writableEnded || res.destroyed || this.abortedFlag) return undefined;
    try {
      for (let i = 0; i + 1 < headers.length; i += 2) res.setHeader(headers[i] as string, headers[i + 1] as string);
      if (close || this.t.closing) res.setHeader("Connection", "close");
      res.statusCode = status;
      res.flushHeaders();
    } catch {
      return undefined;
    }
    const closed = (): boolean => res.writableEnded || res.destroyed || this.abortedFlag;
    return {
      write: (data: Buffer): boolean => {
        if (closed()) return false;
        try {
          return res.write(data);
        } catch {
          return false;
        }
      },
      onDrain: (cb: () => void): void => {
        if (closed() || !res.writableNeedDrain) cb();
        else res.once("drain", cb);
      },
      end: (): void => {
        if (closed()) return;
        try {
          res.end();
        } catch {
          /* gone */
        }
      },
      get closed(): boolean {
        return closed();
      },
    };
  }
}

class NodeTransport implements Transport, Tracker {
  readonly sockets = new Map<Socket, number>(); // socket -> requests in flight on it
  closing = false;
  readonly log: TransportOptions["log"];
  private readonly handler: ExchangeHandler;
  private readonly opts: TransportOptions;
  private readonly servers: http.Server[] = [];
  private inFlight = 0;
  private drained: (() => void) | undefined;

  constructor(handler: ExchangeHandler, opts: TransportOptions) {
    this.handler = handler;
    this.opts = opts;
    this.log = opts.log;
  }

  done(socket: Socket): void {
    this.inFlight--;
    const n = (this.sockets.get(socket) ?? 1) - 1;
    if (this.sockets.has(socket)) this.sockets.set(socket, n);
    if (this.closing && n <= 0) socket.destroySoon?.() ?? socket.destroy();
    if (this.closing && this.inFlight === 0) this.drained?.();
  }

  connections(): number {
    return this.sockets.size;
  }

  listen(arg: ListenArg): Promise<ListenAddress | undefined> {
    const o = this.opts;
    const s = http.createServer({ keepAliveTimeout: o.keepAliveTimeoutMs });
    s.headersTimeout = o.headersTimeoutMs;
    s.requestTimeout = o.requestTimeoutMs;
    s.keepAliveTimeout = o.keepAliveTimeoutMs;
    s.timeout = 0; // blocking queries idle for minutes by design
    s.on("connection", (socket: Socket) => {
      if (this.closing || this.sockets.size >= o.maxConnections) {
        socket.destroy();
        return;
      }
      this.sockets.set(socket, 0);
      socket.on("error", () => {});
      socket.on("close", () => this.sockets.delete(socket));
    });
    s.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) => {
      if (!socket.writable || err.code === "ECONNRESET") {
        socket.destroy();
        return;
      }
      const status =
        err.code === "ERR_HTTP_REQUEST_TIMEOUT"
          ? "408 Request Timeout"
          : err.code === "HPE_HEADER_OVERFLOW"
            ? "431 Request Header Fields Too Large"
            : "400 Bad Request";
      try {
        socket.end(`HTTP/1.1 ${status}\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n${status}`);
      } catch {
        socket.destroy();
      }
    });
    s.on("request", (req: IncomingMessage, res: ServerResponse) => {
      this.inFlight++;
      try {
        this.handler(new NodeExchange(req, res, this));
      } catch (e) {
        this.log("error", `request handler threw: ${String(e)}`);
        res.destroy();
      }
    });
    this.servers.push(s);
    return new Promise((resolve, reject) => {
      s.once("error", reject);
      const done = (): void => {
        s.off("error", reject);
        s.on("error", (e) => this.log("error", `http server error: ${String(e)}`));
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
    for (const [socket, n] of this.sockets) {
      if (n === 0) {
        this.sockets.delete(socket);
        socket.destroy();
      }
    }
    if (this.inFlight > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, graceMs);
        this.drained = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    for (const socket of [...this.sockets.keys()]) {
      this.sockets.delete(socket);
      socket.destroy();
    }
    await serverClosed;
  }
}

export function createNodeTransport(handler: ExchangeHandler, opts: TransportOptions): Transport {
  return new NodeTransport(handler, opts);
}
