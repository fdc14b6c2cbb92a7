/**
 * http/wire/conn: one client connection of the wire transport. Feeds socket bytes to the
 * parser, queues requests (pipelining) and answers them strictly in order, hands bodies to
 * handlers on request (100 Continue only then), tracks the header/request/keep-alive
 * deadlines the server's sweep enforces, and applies backpressure: reading pauses while
 * the client leaves too many responses unread, too many requests are queued, or an
 * unclaimed body grows past its pre-buffer.
 *
 * Must never: throw out of a socket event handler, write a response out of order, keep a
 * request alive after its socket closed (its abort hooks run), or buffer a body past the
 * limit its handler gave.
 */

import type { Socket } from "node:net";
import type { BodyResult } from "../context.ts";
import {
  HTTP_BODY_PREBUFFER_BYTES,
  HTTP_MAX_DISCARD_BYTES,
  HTTP_MAX_PIPELINED,
  HTTP_WRITE_HIGH_WATER,
} from "../../shared/limits.ts";
import { type HeaderMap, type ParserSink, type RequestHead, RequestParser } from "./parser.ts";
import { type ConnMode, type Out, type ResponseCache, statusLine, streamHead, unsafeHeaders } from "./response.ts";
import type { Exchange, ExchangeHandler, StreamWriter, TransportOptions } from "./types.ts";

/** What a connection needs from its server. */
export interface ConnHost {
  readonly handler: ExchangeHandler;
  readonly opts: TransportOptions;
  readonly cache: ResponseCache;
  readonly closing: boolean;
  requestStarted(): void;
  requestDone(): void;
  connClosed(c: Conn): void;
}

const PAUSE_PIPELINE = 1;
const PAUSE_BODY = 2;
const PAUSE_WRITE = 4;

const EMPTY_BODY: BodyResult = { ok: true, data: Buffer.alloc(0) };
const CONTINUE = Buffer.from("HTTP/1.1 100 Continue\r\n\r\n", "latin1");
const CRLF = Buffer.from("\r\n", "latin1");
const LAST_CHUNK = Buffer.from("0\r\n\r\n", "latin1");

/** A streamed response: its head and body bytes wait until the request heads the queue. */
interface StreamState {
  readonly head: Buffer;
  readonly chunked: boolean;
  started: boolean;
  ended: boolean;
  pending: Buffer[];
  drain: (() => void)[];
}


interface Reader {
  readonly limit: number;
  readonly resolve: (r: BodyResult) => void;
}

/** One request on a connection; the Exchange its handler sees. */
export class WireRequest implements Exchange {
  readonly method: string;
  readonly target: string;
  readonly headers: HeaderMap;
  readonly contentLength: number;
  readonly minor: number;
  readonly keepAlive: boolean;
  readonly chunked: boolean;
  readonly expectContinue: boolean;
  private readonly conn: Conn;
  /** Body bytes received so far (kept while not discarded). */
  private chunks: Buffer[] = [];
  bodySize = 0;
  bodyDone: boolean;
  private bodyTaken = false;
  private discarding = false;
  private reader: Reader | undefined;
  continueSent = false;
  wantContinue = false;
  private hooks: (() => void)[] | undefined;
  private abortedFlag = false;
  replied = false;
  out: Out | undefined;
  outClose = false;
  /** Set when the reply is a stream (see Conn.startStream). */
  streaming: StreamState | undefined;

  constructor(conn: Conn, h: RequestHead) {
    this.conn = conn;
    this.method = h.method;
    this.target = h.target;
    this.headers = h.headers;
    this.contentLength = h.contentLength;
    this.minor = h.minor;
    this.keepAlive = h.keepAlive;
    this.chunked = h.chunked;
    this.expectContinue = h.expectContinue;
    this.bodyDone = !h.chunked && h.contentLength <= 0;
  }

  get aborted(): boolean {
    return this.abortedFlag;
  }

  readBody(limit: number): Promise<BodyResult> {
    if (this.bodyTaken) return Promise.resolve(EMPTY_BODY);
    this.bodyTaken = true;
    if (this.contentLength > limit) {
      return Promise.resolve({ ok: false, received: this.contentLength, declared: true });
    }
    if (this.abortedFlag || this.bodySize > limit) {
      this.discard();
      return Promise.resolve({ ok: false, received: this.bodySize, declared: false });
    }
    if (this.bodyDone) return Promise.resolve({ ok: true, data: this.take() });
    return new Promise<BodyResult>((resolve) => {
      this.reader = { limit, resolve };
      this.conn.bodyClaimed(this);
    });
  }

  onAbort(cb: () => void): void {
    if (this.abortedFlag) {
      cb();
      return;
    }
    (this.hooks ??= []).push(cb);
  }

  reply(status: number, headers: readonly string[], body: Buffer | undefined, close: boolean): void {
    this.conn.respond(this, status, headers, body, close);
  }

  stream(status: number, headers: readonly string[], close: boolean): StreamWriter | undefined {
    return this.conn.startStream(this, status, headers, close);
  }

  private take(): Buffer {
    const c = this.chunks;
    this.chunks = [];
    return c.length === 1 ? (c[0] as Buffer) : Buffer.concat(c, this.bodySize);
  }

  /** Drop buffered and future body bytes. */
  discard(): void {
    this.discarding = true;
    this.chunks = [];
  }

  /** Body bytes are unclaimed and past the pre-buffer: the connection should stop reading. */
  get overPrebuffer(): boolean {
    return !this.discarding && this.reader === undefined && this.bodySize > HTTP_BODY_PREBUFFER_BYTES;
  }

  onBodyChunk(chunk: Buffer): void {
    this.bodySize += chunk.length;
    if (this.discarding) return;
    const rd = this.reader;
    if (rd !== undefined && this.bodySize > rd.limit) {
      this.reader = undefined;
      this.discard();
      rd.resolve({ ok: false, received: this.bodySize, declared: false });
      return;
    }
    this.chunks.push(chunk);
  }

  onBodyEnd(): void {
    this.bodyDone = true;
    const rd = this.reader;
    if (rd !== undefined) {
      this.reader = undefined;
      rd.resolve({ ok: true, data: this.take() });
    }
  }

  /** The client left before this request was answered. */
  abort(): void {
    if (this.abortedFlag || (this.replied && (this.streaming === undefined || this.streaming.ended))) return;
    this.abortedFlag = true;
    const rd = this.reader;
    if (rd !== undefined) {
      this.reader = undefined;
      rd.resolve({ ok: false, received: this.bodySize, declared: false });
    }
    this.chunks = [];
    const hs = this.hooks;
    this.hooks = undefined;
    if (hs === undefined) return;
    for (const h of hs) {
      try {
        h();
      } catch (e) {
        this.conn.log("error", `abort hook failed: ${String(e)}`);
      }
    }
  }
}

export class Conn implements ParserSink {
  private readonly socket: Socket;
  private readonly host: ConnHost;
  private readonly parser: RequestParser;
  private queue: WireRequest[] = [];
  /** The request whose body the parser is reading. */
  private parsing: WireRequest | undefined;
  private pauseBits = 0;
  /** When the current (or next) request head began (ms). */
  private headStart: number;
  /** When the request whose body is being read began (ms). */
  private bodyStart = 0;
  /** Last time the connection became idle (ms). */
  private idleSince: number;
  private fresh = true;
  private peerEnded = false;
  /** No more requests are read or answered; the socket is ending. */
  private ending = false;
  private closed = false;
  /** When the client stopped reading its responses (ms); 0: it reads. */
  private writeStalled = 0;
  /** Sweep deadline (ms since epoch); 0: none. */
  deadline = 0;

  constructor(socket: Socket, host: ConnHost, now: number) {
    this.socket = socket;
    this.host = host;
    this.parser = new RequestParser(this);
    this.headStart = now;
    this.idleSince = now;
    this.deadline = now + host.opts.headersTimeoutMs;
    try {
      socket.setNoDelay(true);
    } catch {
      /* not a TCP socket */
    }
    socket.on("data", (d: Buffer) => this.onData(d));
    socket.on("end", () => this.onEnd());
    socket.on("close", () => this.onClose());
    socket.on("error", () => {
      /* 'close' follows */
    });
    socket.on("drain", () =>
      this.guard(() => {
        this.unpause(PAUSE_WRITE);
        const s = this.queue[0]?.streaming;
        if (s !== undefined && s.drain.length > 0) for (const cb of s.drain.splice(0)) cb();
      }),
    );
  }

  log(level: "warn" | "error", msg: string): void {
    this.host.opts.log(level, msg);
  }

  /** No request in flight: closing the server may drop this connection at once. */
  get idle(): boolean {
    return this.queue.length === 0;
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.log("error", `http connection error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      this.destroy();
    }
  }

  destroy(): void {
    if (this.closed) return;
    this.ending = true;
    this.parser.kill();
    this.socket.destroy();
  }

  private onData(d: Buffer): void {
    if (this.ending) return;
    this.guard(() => {
      const data = Buffer.isBuffer(d) ? d : Buffer.from((d as Uint8Array).buffer, (d as Uint8Array).byteOffset, (d as Uint8Array).byteLength);
      const now = Date.now();
      if (this.parser.idle) this.headStart = now;
      this.fresh = false;
      this.parser.execute(data);
      this.updateDeadline(now);
    });
  }

  private onEnd(): void {
    this.guard(() => {
      this.peerEnded = true;
      if (this.ending) return;
      if (!this.parser.idle) {
        // A request was cut off mid-way.
        this.destroy();
        return;
      }
      // As node:http (no half-open) and Go: a client that shut its side has left; what is
      // answered already is sent, the rest is aborted (parked queries released).
      this.flush();
      if (this.closed || this.ending) return;
      for (const r of this.queue) {
        r.abort();
        this.host.requestDone();
      }
      this.queue = [];
      this.endSocket();
    });
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.ending = true;
    this.deadline = 0;
    this.parser.kill();
    const q = this.queue;
    this.queue = [];
    for (const r of q) {
      r.abort();
      this.host.requestDone();
    }
    this.host.connClosed(this);
  }

  private endSocket(): void {
    this.ending = true;
    this.parser.kill();
    try {
      this.socket.end();
    } catch {
      this.socket.destroy();
    }
    // A client that never reads must not keep the socket forever.
    this.deadline = Date.now() + this.host.opts.headersTimeoutMs;
  }

  // --- parser sink ---

  onHead(h: RequestHead): void {
    const r = new WireRequest(this, h);
    this.queue.push(r);
    this.parsing = r.bodyDone ? undefined : r;
    this.bodyStart = this.headStart;
    this.headStart = Date.now();
    this.host.requestStarted();
    if (this.queue.length >= HTTP_MAX_PIPELINED) this.pause(PAUSE_PIPELINE);
    try {
      this.host.handler(r);
    } catch (e) {
      this.log("error", `request handler threw: ${String(e)}`);
      r.reply(500, [], undefined, true);
    }
  }

  onBody(chunk: Buffer): void {
    const r = this.parsing;
    if (r === undefined) return;
    r.onBodyChunk(chunk);
    if (r.overPrebuffer) this.pause(PAUSE_BODY);
  }

  onBodyEnd(): void {
    const r = this.parsing;
    this.parsing = undefined;
    if (r !== undefined) r.onBodyEnd();
  }

  onError(status: number, reason: string): void {
    // Answer what is ready in order, drop the rest, then the error, then close.
    this.parsing?.abort();
    this.parsing = undefined;
    this.flush();
    if (this.closed || this.ending) return;
    for (const r of this.queue) {
      r.abort();
      this.host.requestDone();
    }
    this.queue = [];
    const text = `${status} ${reason}`;
    const head =
      statusLine(status) +
      "Content-Type: text/plain; charset=utf-8\r\nContent-Length: " +
      Buffer.byteLength(text) +
      "\r\nConnection: close\r\n\r\n";
    this.write(Buffer.from(head + text, "latin1"));
    this.endSocket();
  }

  // --- flow control ---

  private pause(bit: number): void {
    if (this.pauseBits === 0) {
      this.parser.pause();
      this.socket.pause();
    }
    if ((this.pauseBits & bit) !== 0) return;
    this.pauseBits |= bit;
    this.updateDeadline(Date.now());
  }

  private unpause(bit: number): void {
    if ((this.pauseBits & bit) === 0) return;
    this.pauseBits &= ~bit;
    if (this.pauseBits !== 0 || this.ending) return;
    this.parser.resume();
    if (this.pauseBits === 0 && !this.ending) this.socket.resume();
    this.updateDeadline(Date.now());
  }

  /** A handler asked for a body: send 100 Continue if due, read on. */
  bodyClaimed(r: WireRequest): void {
    if (r.expectContinue && !r.continueSent && !r.bodyDone) {
      if (this.queue[0] === r) {
        r.continueSent = true;
        this.write(CONTINUE);
      } else r.wantContinue = true;
    }
    this.unpause(PAUSE_BODY);
  }

  private updateDeadline(now: number): void {
    if (this.ending) return;
    const o = this.host.opts;
    if (this.pauseBits !== 0) {
      // Waiting on us (queued requests, an unclaimed body) or on the client to read its
      // responses: only the latter has a clock, the request timeout from when it stalled.
      if ((this.pauseBits & PAUSE_WRITE) === 0) this.deadline = 0;
      else if (this.writeStalled === 0) {
        this.writeStalled = now;
        this.deadline = now + o.requestTimeoutMs;
      }
      return;
    }
    this.writeStalled = 0;
    if (this.parser.inHead) this.deadline = this.headStart + o.headersTimeoutMs;
    else if (this.parser.inBody) this.deadline = this.bodyStart + o.requestTimeoutMs;
    else if (this.queue.length === 0) {
      this.deadline = this.fresh ? this.headStart + o.headersTimeoutMs : this.idleSince + o.keepAliveTimeoutMs;
    } else this.deadline = 0;
    if (this.deadline !== 0 && this.deadline < now) this.deadline = now;
  }

  /** Called by the sweep once `deadline` passed. */
  onTimeout(): void {
    this.guard(() => {
      if (this.closed) return;
      if (this.ending) {
        this.destroy(); // ended, but the client does not read or close
        return;
      }
      if (this.pauseBits !== 0) {
        if ((this.pauseBits & PAUSE_WRITE) !== 0) this.destroy(); // stopped reading its responses
        else this.deadline = 0;
        return;
      }
      const inBody = this.parser.inBody;
      if (!this.parser.inHead && !inBody) {
        if (this.queue.length > 0) {
          this.deadline = 0; // requests in flight (blocking queries may wait for minutes)
          return;
        }
        this.destroy(); // idle keep-alive, or connected and never sent a byte
        return;
      }
      // Headers or body too slow. Answer 408 when nothing else is owed first.
      if (this.queue.length > (inBody ? 1 : 0)) {
        this.destroy();
        return;
      }
      const r = this.queue[0];
      if (r !== undefined) {
        r.abort();
        this.queue = [];
        this.host.requestDone();
      }
      this.parsing = undefined;
      this.parser.kill();
      const text = "408 Request Timeout";
      this.write(
        Buffer.from(
          statusLine(408) +
            `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${text.length}\r\nConnection: close\r\n\r\n${text}`,
          "latin1",
        ),
      );
      this.endSocket();
    });
  }

  // --- responses ---

  respond(r: WireRequest, status: number, headers: readonly string[], body: Buffer | undefined, close: boolean): void {
    if (r.replied || r.aborted || this.closed) return;
    r.replied = true;
    let keep = r.keepAlive && !close && !this.host.closing && !this.ending;
    if (!r.bodyDone) {
      if ((r.expectContinue && !r.continueSent) || r.chunked || r.contentLength - r.bodySize > HTTP_MAX_DISCARD_BYTES) {
        keep = false;
      } else r.discard();
    }
    const mode: ConnMode = keep ? (r.minor === 0 ? "keep-alive" : "default") : "close";
    const withBody = r.method !== "HEAD" && status !== 204 && status !== 304;
    const now = Date.now();
    let out = this.host.cache.response(status, headers, body, mode, now, withBody);
    if (out === undefined) {
      this.log("error", `response headers for ${r.method} ${r.target} contain CR, LF or NUL; answering 500`);
      out = this.host.cache.response(500, [], undefined, mode, now, withBody) as Out;
    }
    r.out = out;
    r.outClose = !keep;
    if (this.queue[0] === r) this.flush();
    if (keep) this.unpause(PAUSE_BODY); // a discarded body is read on
  }

  /** Start a streamed response for `r` (see Exchange.stream). */
  startStream(r: WireRequest, status: number, headers: readonly string[], close: boolean): StreamWriter | undefined {
    if (r.replied || r.aborted || this.closed || unsafeHeaders(headers)) return undefined;
    r.replied = true;
    const chunked = r.minor >= 1;
    let keep = chunked && r.keepAlive && !close && !this.host.closing && !this.ending;
    if (!r.bodyDone) {
      if ((r.expectContinue && !r.continueSent) || r.chunked || r.contentLength - r.bodySize > HTTP_MAX_DISCARD_BYTES) {
        keep = false;
      } else r.discard();
    }
    const mode: ConnMode = keep ? "default" : "close";
    const s: StreamState = {
      head: Buffer.from(streamHead(status, headers, chunked, mode, Date.now()), "latin1"),
      chunked,
      started: false,
      ended: false,
      pending: [],
      drain: [],
    };
    r.streaming = s;
    r.outClose = !keep;
    if (this.queue[0] === r) this.flush();
    const isClosed = (): boolean => s.ended || r.aborted || this.closed;
    const send = (b: Buffer): void => {
      if (s.started) {
        this.write(b);
        if (this.socket.writableLength > HTTP_WRITE_HIGH_WATER) this.pause(PAUSE_WRITE);
      } else s.pending.push(b);
    };
    return {
      write: (data: Buffer): boolean => {
        if (isClosed()) return false;
        if (data.length > 0) send(chunked ? Buffer.concat([Buffer.from(data.length.toString(16) + "\r\n", "latin1"), data, CRLF]) : data);
        return this.socket.writableLength <= HTTP_WRITE_HIGH_WATER;
      },
      onDrain: (cb: () => void): void => {
        if (isClosed() || this.socket.writableLength <= HTTP_WRITE_HIGH_WATER) cb();
        else s.drain.push(cb);
      },
      end: (): void => {
        if (isClosed()) return;
        s.ended = true;
        if (chunked) send(LAST_CHUNK);
        s.drain = [];
        if (this.queue[0] === r) this.guard(() => this.flush());
      },
      get closed(): boolean {
        return isClosed();
      },
    };
  }

  private write(out: Out): void {
    if (this.closed) return;
    try {
      if (Buffer.isBuffer(out)) this.socket.write(out);
      else {
        const pair = out as readonly [Buffer, Buffer];
        this.socket.cork();
        this.socket.write(pair[0]);
        this.socket.write(pair[1]);
        this.socket.uncork();
      }
    } catch {
      this.destroy();
    }
  }

  /** Write every answered request at the head of the queue, in order. */
  private flush(): void {
    const q = this.queue;
    let n = 0;
    while (q.length > 0 && !this.closed) {
      const r = q[0] as WireRequest;
      const st = r.streaming;
      if (st !== undefined) {
        // A stream holds the head of the queue until it ends.
        if (!st.started) {
          st.started = true;
          this.write(st.head);
        }
        for (const b of st.pending.splice(0)) this.write(b);
        if (!st.ended) break;
        q.shift();
        r.streaming = undefined;
      } else {
        const out = r.out;
        if (out === undefined) break;
        q.shift();
        r.out = undefined;
        this.write(out);
      }
      this.host.requestDone();
      n++;
      if (r.outClose) {
        for (const rest of q) {
          rest.abort();
          this.host.requestDone();
        }
        this.queue = [];
        this.endSocket();
        return;
      }
    }
    if (n === 0) return;
    const next = this.queue[0];
    if (next !== undefined && next.wantContinue && !next.continueSent && !next.bodyDone) {
      next.continueSent = true;
      this.write(CONTINUE);
    }
    if (this.queue.length === 0) {
      this.idleSince = Date.now();
      if (this.host.closing || this.peerEnded) {
        if (this.parser.idle) {
          this.endSocket();
          return;
        }
      }
    }
    if (this.queue.length < HTTP_MAX_PIPELINED) this.unpause(PAUSE_PIPELINE);
    if (this.socket.writableLength > HTTP_WRITE_HIGH_WATER) this.pause(PAUSE_WRITE);
    this.updateDeadline(Date.now());
  }
}
