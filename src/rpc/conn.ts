/**
 * rpc/conn: one long-lived RPC connection over a stream socket.
 *
 * A "client" connection sends requests (multiplexed by id, each with its own
 * timeout) and casts, and receives responses. A "server" connection checks the
 * protocol byte, receives requests and casts, runs the handler of the method
 * and writes the response. Writes of one event-loop turn are corked into one
 * syscall. Bounds: calls in flight per connection (both sides) and bytes
 * queued for writing; at a bound a call is refused with RpcError("overloaded")
 * and a cast is dropped (returns false). A server connection stops reading
 * while its write buffer is over the bound (the peer reads responses, so this
 * cannot deadlock). A malformed frame closes this connection only.
 *
 * The socket is any node:net-like duplex, so a TLS socket can replace it later.
 *
 * Must never: let a peer's input throw out of an event handler, answer a
 * request twice, keep a timer for a settled call, or grow a queue unbounded.
 */

import type { Socket } from "node:net";
import { nextTick } from "node:process";
import { CairnError, isCairnError } from "../shared/errors.ts";
import { RPC_MAX_FRAME_BYTES, RPC_MAX_INFLIGHT_CALLS, RPC_MAX_WRITE_BUFFER_BYTES } from "../shared/limits.ts";
import { RpcError, rpcError } from "./errors.ts";
import { FrameDecoder, FrameError, PROTOCOL_CAIRN, encodeFrame, parseFrame, type Frame } from "./frame.ts";

export interface CallContext {
  /** "ip:port" of the peer socket. */
  readonly remote: string;
}

export type Handler = (body: unknown, ctx: CallContext) => unknown;

export interface ConnLimits {
  readonly maxInflight: number;
  readonly maxWriteBuffer: number;
  readonly maxFrame: number;
}

export const DEFAULT_LIMITS: ConnLimits = {
  maxInflight: RPC_MAX_INFLIGHT_CALLS,
  maxWriteBuffer: RPC_MAX_WRITE_BUFFER_BYTES,
  maxFrame: RPC_MAX_FRAME_BYTES,
};

export interface ConnOptions {
  readonly role: "client" | "server";
  /** Names the peer in error messages. */
  readonly label: string;
  readonly limits: ConnLimits;
  /** Server role: method -> handler. */
  readonly handlers?: ReadonlyMap<string, Handler>;
  /** Server role, test hook: incoming requests/casts for which this is true are dropped unanswered. */
  readonly dropIncoming?: (method: string) => boolean;
  readonly onClose?: (conn: Conn) => void;
  readonly logger?: (level: "debug" | "info" | "warn", msg: string) => void;
}

interface PendingCall {
  readonly method: string;
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: Error) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

export class Conn {
  readonly label: string;
  private readonly socket: Socket;
  private readonly opts: ConnOptions;
  private readonly decoder: FrameDecoder;
  private readonly pending = new Map<number, PendingCall>();
  private nextId = 1;
  private inflightIn = 0;
  private corked = false;
  private paused = false;
  private needProto: boolean;
  private closed_ = false;
  private connected_: boolean;
  private readonly remote: string;
  private readonly connectWaiters: Array<() => void> = [];

  constructor(socket: Socket, opts: ConnOptions) {
    this.socket = socket;
    this.opts = opts;
    this.label = opts.label;
    this.decoder = new FrameDecoder(opts.limits.maxFrame);
    this.needProto = opts.role === "server";
    // A server socket is connected already; a client socket emits "connect".
    this.connected_ = opts.role === "server";
    this.remote = `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? 0}`;
    socket.setNoDelay(true);
    socket.on("data", (d: Buffer) => this.onData(d));
    socket.on("error", (e: Error) => this.opts.logger?.("debug", `rpc ${this.label}: ${e.message}`));
    socket.on("close", () => this.onClosed());
    socket.on("drain", () => this.onDrain());
    if (opts.role === "client") {
      socket.once("connect", () => {
        this.connected_ = true;
        socket.setKeepAlive(true, 30_000);
        for (const w of this.connectWaiters.splice(0)) w();
      });
      this.writeRaw(Buffer.of(PROTOCOL_CAIRN));
    }
  }

  get closed(): boolean {
    return this.closed_;
  }

  /** The TCP connection was established (client) or accepted (server). */
  get connected(): boolean {
    return this.connected_;
  }

  onConnect(cb: () => void): void {
    if (this.connected_) cb();
    else this.connectWaiters.push(cb);
  }

  /** Calls waiting for an answer. */
  inflight(): number {
    return this.pending.size;
  }

  /** Bytes queued for the socket. */
  writeBuffered(): number {
    return this.socket.writableLength;
  }

  call(method: string, body: unknown, timeoutMs: number): Promise<unknown> {
    if (this.closed_) return Promise.reject(rpcError("unreachable", `rpc: connection to ${this.label} is closed`));
    if (this.pending.size >= this.opts.limits.maxInflight) {
      return Promise.reject(rpcError("overloaded", `rpc: ${this.pending.size} calls in flight to ${this.label}; try again later`));
    }
    if (this.socket.writableLength > this.opts.limits.maxWriteBuffer) {
      return Promise.reject(rpcError("overloaded", `rpc: write buffer to ${this.label} is full; try again later`));
    }
    const id = this.nextId++;
    let frame: [Buffer, Buffer];
    try {
      frame = encodeFrame({ t: "request", id, method, body });
    } catch (e) {
      return Promise.reject(new CairnError("too-large", e instanceof Error ? e.message : String(e)));
    }
    return new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.pending.delete(id)) reject(rpcError("timeout", `rpc: ${method} to ${this.label} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { method, resolve, reject, timer });
      this.writeFrame(frame);
    });
  }

  /** One-way message; false when it was not queued (closed, buffer full, too large). */
  cast(method: string, body: unknown): boolean {
    if (this.closed_ || this.socket.writableLength > this.opts.limits.maxWriteBuffer) return false;
    let frame: [Buffer, Buffer];
    try {
      frame = encodeFrame({ t: "cast", method, body });
    } catch {
      return false;
    }
    this.writeFrame(frame);
    return true;
  }

  close(): void {
    if (this.closed_) return;
    this.socket.destroy();
    this.onClosed();
  }

  // ---------------------------------------------------------------- internals

  private writeFrame(f: [Buffer, Buffer]): void {
    this.writeRaw(f[0]);
    this.writeRaw(f[1]);
  }

  private writeRaw(b: Buffer): void {
    if (this.closed_) return;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      nextTick(() => {
        this.corked = false;
        if (!this.closed_) this.socket.uncork();
      });
    }
    this.socket.write(b);
  }

  private onData(d: Buffer): void {
    if (this.closed_) return;
    let data = d;
    if (this.needProto) {
      if (data.length === 0) return;
      if (data[0] !== PROTOCOL_CAIRN) {
        this.fail(`unknown protocol byte ${data[0]}`);
        return;
      }
      this.needProto = false;
      data = data.subarray(1);
    }
    let bodies: Buffer[];
    try {
      bodies = this.decoder.push(data);
    } catch (e) {
      this.fail(e instanceof Error ? e.message : String(e));
      return;
    }
    for (const b of bodies) {
      if (this.closed_) return;
      let f: Frame;
      try {
        f = parseFrame(b);
      } catch (e) {
        this.fail(e instanceof FrameError ? e.message : String(e));
        return;
      }
      this.onFrame(f);
    }
  }

  private onFrame(f: Frame): void {
    switch (f.t) {
      case "ok":
      case "error": {
        if (this.opts.role !== "client") {
          this.fail("response frame sent to a server");
          return;
        }
        const p = this.pending.get(f.id);
        if (p === undefined) return; // answered after its timeout
        this.pending.delete(f.id);
        clearTimeout(p.timer);
        if (f.t === "ok") p.resolve(f.body);
        else p.reject(new RpcError("remote", f.kind, f.message));
        return;
      }
      case "request":
      case "cast": {
        if (this.opts.role !== "server") {
          this.fail(`${f.t} frame sent to a client`);
          return;
        }
        if (this.opts.dropIncoming?.(f.method) === true) return;
        this.dispatch(f);
        return;
      }
    }
  }

  private dispatch(f: Extract<Frame, { t: "request" | "cast" }>): void {
    const h = this.opts.handlers?.get(f.method);
    const ctx: CallContext = { remote: this.remote };
    if (f.t === "cast") {
      if (h === undefined) return;
      try {
        const r = h(f.body, ctx);
        if (r instanceof Promise) r.catch((e: unknown) => this.logHandlerError(f.method, e));
      } catch (e) {
        this.logHandlerError(f.method, e);
      }
      return;
    }
    const id = f.id;
    if (h === undefined) {
      this.respond({ t: "error", id, kind: "bad-request", message: `rpc: unknown method ${f.method}` });
      return;
    }
    if (this.inflightIn >= this.opts.limits.maxInflight) {
      this.respond({ t: "error", id, kind: "rate-limited", message: `rpc: ${this.inflightIn} requests in flight; try again later` });
      return;
    }
    this.inflightIn++;
    let result: Promise<unknown>;
    try {
      result = Promise.resolve(h(f.body, ctx));
    } catch (e) {
      result = Promise.reject(e);
    }
    result.then(
      (body) => {
        this.inflightIn--;
        this.respond({ t: "ok", id, body });
      },
      (e: unknown) => {
        this.inflightIn--;
        if (isCairnError(e)) this.respond({ t: "error", id, kind: e.kind, message: e.message });
        else {
          this.logHandlerError(f.method, e);
          this.respond({ t: "error", id, kind: "internal", message: e instanceof Error ? e.message : String(e) });
        }
      },
    );
  }

  private respond(f: Frame): void {
    if (this.closed_) return;
    let frame: [Buffer, Buffer];
    try {
      frame = encodeFrame(f);
    } catch (e) {
      if (f.t === "error") return;
      frame = encodeFrame({ t: "error", id: f.t === "ok" ? f.id : 0, kind: "too-large", message: e instanceof Error ? e.message : String(e) });
    }
    this.writeFrame(frame);
    if (!this.paused && this.socket.writableLength > this.opts.limits.maxWriteBuffer) {
      // The peer does not read its answers: stop reading its requests until it does.
      this.paused = true;
      this.socket.pause();
    }
  }

  private onDrain(): void {
    if (this.paused && !this.closed_) {
      this.paused = false;
      this.socket.resume();
    }
  }

  private logHandlerError(method: string, e: unknown): void {
    this.opts.logger?.("warn", `rpc ${this.label}: handler ${method} failed: ${e instanceof Error ? e.message : String(e)}`);
  }

  private fail(reason: string): void {
    this.opts.logger?.("warn", `rpc ${this.label}: closing connection: ${reason}`);
    this.close();
  }

  private onClosed(): void {
    if (this.closed_) return;
    this.closed_ = true;
    if (!this.socket.destroyed) this.socket.destroy();
    const neverConnected = !this.connected_;
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(
        neverConnected
          ? rpcError("unreachable", `rpc: could not connect to ${this.label}`)
          : rpcError("closed", `rpc: connection to ${this.label} closed during ${p.method}`),
      );
    }
    this.pending.clear();
    this.connectWaiters.length = 0;
    this.opts.onClose?.(this);
  }
}
