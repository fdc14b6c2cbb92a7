/**
 * http/wire/parser: an incremental HTTP/1.0 and HTTP/1.1 request parser over raw socket bytes.
 *
 * Feed it whatever arrives (any split, several pipelined requests at once); it reports each
 * request head (method, target, lower-cased headers with Node's duplicate rules, keep-alive,
 * framing, Expect: 100-continue), then the body bytes (Content-Length or chunked, with chunk
 * extensions and trailers skipped) and the body's end. Framing errors end parsing with a
 * status to answer before closing: 400 (bad syntax, both Content-Length and
 * Transfer-Encoding, invalid lengths), 414 (request line too long), 431 (header section too
 * large or too many fields), 417 (unknown expectation), 505 (HTTP version).
 *
 * Must never: buffer more than the header limit for an incomplete head, copy body bytes, or
 * throw (errors are reported through the sink).
 */

import type { IncomingHttpHeaders } from "node:http";
import {
  HTTP_MAX_CHUNK_LINE,
  HTTP_MAX_HEADER_BYTES,
  HTTP_MAX_HEADER_COUNT,
  HTTP_MAX_REQUEST_LINE,
  HTTP_MAX_TRAILER_BYTES,
} from "../../shared/limits.ts";

/** Lower-cased request headers, node:http's shape (set-cookie an array, the rest strings). */
export type HeaderMap = IncomingHttpHeaders;

export interface RequestHead {
  readonly method: string;
  /** Request target as sent (origin-form, absolute-form, "*"), latin1. */
  readonly target: string;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  readonly minor: number;
  readonly headers: HeaderMap;
  /** Whether the connection may stay open after this request (Connection header, version). */
  readonly keepAlive: boolean;
  /** Declared Content-Length; -1 when absent (chunked or no body). */
  readonly contentLength: number;
  readonly chunked: boolean;
  /** Expect: 100-continue on an HTTP/1.1 request. */
  readonly expectContinue: boolean;
}

export interface ParserSink {
  onHead(head: RequestHead): void;
  /** A slice of the body (a view of the socket's buffer; keep it, never mutate it). */
  onBody(chunk: Buffer): void;
  onBodyEnd(): void;
  /** Parsing stopped for good; answer `status` and close. */
  onError(status: number, reason: string): void;
}

export interface ParserLimits {
  readonly maxHeaderBytes: number;
  readonly maxRequestLine: number;
  readonly maxHeaderCount: number;
}

const DEFAULT_LIMITS: ParserLimits = {
  maxHeaderBytes: HTTP_MAX_HEADER_BYTES,
  maxRequestLine: HTTP_MAX_REQUEST_LINE,
  maxHeaderCount: HTTP_MAX_HEADER_COUNT,
};

/** Parser states. */
const S_HEAD = 0;
const S_LENGTH = 1;
const S_CHUNK_SIZE = 2;
const S_CHUNK_DATA = 3;
const S_CHUNK_CRLF = 4;
const S_TRAILERS = 5;
const S_DEAD = 6;

const CR = 13;
const LF = 10;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const TARGET = /^[\x21-\x7e\x80-\xff]+$/;
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;
const DIGITS = /^\d{1,15}$/;
const HEX = /^[0-9a-fA-F]{1,12}$/;
const EMPTY = Buffer.alloc(0);

/** Node's IncomingMessage rule: duplicates of these are dropped (first wins). */
const SINGLE = new Set([
  "age",
  "authorization",
  "content-type",
  "etag",
  "expires",
  "from",
  "host",
  "if-modified-since",
  "if-unmodified-since",
  "last-modified",
  "location",
  "max-forwards",
  "proxy-authorization",
  "referer",
  "retry-after",
  "server",
  "user-agent",
]);

/** Trim optional whitespace (SP / HTAB only, never latin1 NBSP). */
function trimOws(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && (s.charCodeAt(a) === 32 || s.charCodeAt(a) === 9)) a++;
  while (b > a && (s.charCodeAt(b - 1) === 32 || s.charCodeAt(b - 1) === 9)) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

function addHeader(h: HeaderMap, name: string, value: string): void {
  const prev = h[name];
  if (prev === undefined) {
    h[name] = name === "set-cookie" ? [value] : value;
    return;
  }
  if (SINGLE.has(name)) return;
  if (Array.isArray(prev)) prev.push(value);
  else h[name] = prev + (name === "cookie" ? "; " : ", ") + value;
}

type HeadResult = RequestHead | { readonly status: number; readonly reason: string };

/** Parse a complete head (request line and header lines, without the final blank line). */
export function parseHead(text: string, limits: ParserLimits = DEFAULT_LIMITS): HeadResult {
  let eol = text.indexOf("\r\n");
  if (eol < 0) eol = text.length;
  if (eol > limits.maxRequestLine) return { status: 414, reason: "request line too long" };
  const line = text.slice(0, eol);
  const sp1 = line.indexOf(" ");
  const sp2 = sp1 < 0 ? -1 : line.indexOf(" ", sp1 + 1);
  if (sp1 <= 0 || sp2 < 0 || line.indexOf(" ", sp2 + 1) >= 0) return { status: 400, reason: "bad request line" };
  const method = line.slice(0, sp1);
  const target = line.slice(sp1 + 1, sp2);
  const version = line.slice(sp2 + 1);
  if (!TOKEN.test(method) || target === "" || !TARGET.test(target)) return { status: 400, reason: "bad request line" };
  let minor: number;
  if (version === "HTTP/1.1") minor = 1;
  else if (version === "HTTP/1.0") minor = 0;
  else if (/^HTTP\/\d\.\d$/.test(version)) return { status: 505, reason: "HTTP version not supported" };
  else return { status: 400, reason: "bad HTTP version" };

  const headers: HeaderMap = {};
  let count = 0;
  let cl: string | undefined;
  let te: string | undefined;
  let conn: string | undefined;
  let expect: string | undefined;
  let pos = eol + 2;
  while (pos < text.length) {
    let end = text.indexOf("\r\n", pos);
    if (end < 0) end = text.length;
    const c0 = text.charCodeAt(pos);
    if (c0 === 32 || c0 === 9) return { status: 400, reason: "obsolete line folding" };
    const colon = text.indexOf(":", pos);
    if (colon < 0 || colon > end) return { status: 400, reason: "bad header line" };
    if (++count > limits.maxHeaderCount) return { status: 431, reason: "too many header fields" };
    const rawName = text.slice(pos, colon);
    if (!TOKEN.test(rawName)) return { status: 400, reason: "bad header name" };
    const value = trimOws(text.slice(colon + 1, end));
    if (BAD_VALUE.test(value)) return { status: 400, reason: "bad header value" };
    const name = rawName.toLowerCase();
    pos = end + 2;
    switch (name) {
      case "content-length":
        if (cl !== undefined) return { status: 400, reason: "duplicate Content-Length" };
        cl = value;
        headers[name] = value;
        continue;
      case "transfer-encoding":
        te = te === undefined ? value : te + ", " + value;
        break;
      case "connection":
        conn = conn === undefined ? value : conn + ", " + value;
        break;
      case "expect":
        expect = value;
        break;
      default:
        break;
    }
    addHeader(headers, name, value);
  }

  let contentLength = -1;
  let chunked = false;
  if (te !== undefined) {
    if (cl !== undefined) return { status: 400, reason: "both Content-Length and Transfer-Encoding" };
    const codings = te.toLowerCase().split(",").map(trimOws);
    const last = codings[codings.length - 1];
    if (last !== "chunked" || codings.indexOf("chunked") !== codings.length - 1) {
      return { status: 400, reason: "unsupported Transfer-Encoding" };
    }
    chunked = true;
  } else if (cl !== undefined) {
    if (!DIGITS.test(cl)) return { status: 400, reason: "invalid Content-Length" };
    contentLength = Number(cl);
  }
  if (minor === 1 && headers.host === undefined) return { status: 400, reason: "missing required Host header" };

  let keepAlive = minor === 1;
  if (conn !== undefined) {
    const c = conn.toLowerCase();
    if (c === "close") keepAlive = false;
    else if (c === "keep-alive") keepAlive = true;
    else {
      for (const t of c.split(",")) {
        const tok = trimOws(t);
        if (tok === "close") {
          keepAlive = false;
          break;
        }
        if (tok === "keep-alive") keepAlive = true;
      }
    }
  }
  let expectContinue = false;
  if (expect !== undefined) {
    if (expect.toLowerCase() !== "100-continue") return { status: 417, reason: "unsupported expectation" };
    expectContinue = minor === 1;
  }
  return { method, target, minor, headers, keepAlive, contentLength, chunked, expectContinue };
}

/** The incremental parser; one per connection. */
export class RequestParser {
  private readonly sink: ParserSink;
  private readonly limits: ParserLimits;
  private state = S_HEAD;
  /** Unconsumed bytes of an incomplete head, chunk-size line or trailer section. */
  private pending: Buffer = EMPTY;
  /** Offset in `pending` already searched for the head's end. */
  private scanned = 0;
  private remaining = 0;
  private trailerBytes = 0;
  /** Bytes held while paused. */
  private held: Buffer[] = [];
  private pausedFlag = false;

  constructor(sink: ParserSink, limits: ParserLimits = DEFAULT_LIMITS) {
    this.sink = sink;
    this.limits = limits;
  }

  /** Between requests with nothing buffered. */
  get idle(): boolean {
    return this.state === S_HEAD && this.pending.length === 0 && this.held.length === 0;
  }

  /** Inside a request head (some bytes of it seen). */
  get inHead(): boolean {
    return this.state === S_HEAD && (this.pending.length > 0 || this.held.length > 0);
  }

  /** Inside a request body. */
  get inBody(): boolean {
    return this.state !== S_HEAD && this.state !== S_DEAD;
  }

  get dead(): boolean {
    return this.state === S_DEAD;
  }

  get paused(): boolean {
    return this.pausedFlag;
  }

  /** Stop delivering events; bytes fed meanwhile are held until resume(). */
  pause(): void {
    this.pausedFlag = true;
  }

  resume(): void {
    if (!this.pausedFlag) return;
    this.pausedFlag = false;
    while (!this.pausedFlag && this.held.length > 0 && this.state !== S_DEAD) {
      const b = this.held.shift() as Buffer;
      this.run(b);
    }
  }

  /** Stop for good (the connection is closing); later bytes are ignored. */
  kill(): void {
    this.state = S_DEAD;
    this.pending = EMPTY;
    this.held = [];
  }

  execute(data: Buffer): void {
    if (this.state === S_DEAD || data.length === 0) return;
    if (this.pausedFlag) {
      this.held.push(data);
      return;
    }
    this.run(data);
  }

  private fail(status: number, reason: string): void {
    this.kill();
    this.sink.onError(status, reason);
  }

  /** Hold the rest of `data` from `pos` when a callback paused the parser. */
  private hold(data: Buffer, pos: number): boolean {
    if (!this.pausedFlag) return false;
    if (pos < data.length) this.held.unshift(data.subarray(pos));
    return true;
  }

  private run(input: Buffer): void {
    let data = input;
    let pos = 0;
    if (this.pending.length > 0) {
      data = Buffer.concat([this.pending, input]);
      this.pending = EMPTY;
    }
    while (pos < data.length) {
      switch (this.state) {
        case S_HEAD: {
          // Ignore blank lines before a request line (RFC 9112 2.2).
          if (this.scanned === 0) {
            while (pos < data.length && (data[pos] === CR || data[pos] === LF)) pos++;
            if (pos === data.length) return;
          }
          const from = pos + (this.scanned > 3 ? this.scanned - 3 : 0);
          const end = data.indexOf("\r\n\r\n", from, "latin1");
          if (end < 0) {
            const have = data.length - pos;
            if (have > this.limits.maxHeaderBytes) {
              const firstLf = data.indexOf(LF, pos);
              const lineLong = firstLf < 0 ? have > this.limits.maxRequestLine : firstLf - pos > this.limits.maxRequestLine;
              this.fail(lineLong ? 414 : 431, "request header section too large");
              return;
            }
            if (data.indexOf(LF, pos) < 0 && have > this.limits.maxRequestLine) {
              this.fail(414, "request line too long");
              return;
            }
            this.pending = pos === 0 ? data : data.subarray(pos);
            this.scanned = have;
            return;
          }
          this.scanned = 0;
          if (end - pos > this.limits.maxHeaderBytes) {
            this.fail(431, "request header section too large");
            return;
          }
          const r = parseHead(data.toString("latin1", pos, end), this.limits);
          pos = end + 4;
          if ("status" in r) {
            this.fail(r.status, r.reason);
            return;
          }
          if (r.chunked) this.state = S_CHUNK_SIZE;
          else if (r.contentLength > 0) {
            this.state = S_LENGTH;
            this.remaining = r.contentLength;
          }
          this.sink.onHead(r);
          if (this.state === S_DEAD) return;
          if (!r.chunked && r.contentLength <= 0) {
            this.sink.onBodyEnd();
            if (this.state === S_DEAD) return;
          }
          if (this.hold(data, pos)) return;
          break;
        }
        case S_LENGTH: {
          const n = Math.min(this.remaining, data.length - pos);
          const chunk = data.subarray(pos, pos + n);
          pos += n;
          this.remaining -= n;
          if (this.remaining === 0) this.state = S_HEAD;
          this.sink.onBody(chunk);
          if (this.state === S_DEAD) return;
          if (this.remaining === 0) {
            this.sink.onBodyEnd();
            if (this.state === S_DEAD) return;
          }
          if (this.hold(data, pos)) return;
          break;
        }
        case S_CHUNK_SIZE: {
          const lf = data.indexOf(LF, pos);
          if (lf < 0) {
            if (data.length - pos > HTTP_MAX_CHUNK_LINE) {
              this.fail(400, "chunk size line too long");
              return;
            }
            this.pending = data.subarray(pos);
            return;
          }
          if (lf - pos > HTTP_MAX_CHUNK_LINE) {
            this.fail(400, "chunk size line too long");
            return;
          }
          if (lf === pos || data[lf - 1] !== CR) {
            this.fail(400, "bad chunk size line");
            return;
          }
          const line = data.toString("latin1", pos, lf - 1);
          pos = lf + 1;
          const semi = line.indexOf(";");
          const sizeText = trimOws(semi < 0 ? line : line.slice(0, semi));
          if (!HEX.test(sizeText)) {
            this.fail(400, "bad chunk size");
            return;
          }
          const size = parseInt(sizeText, 16);
          if (size === 0) {
            this.state = S_TRAILERS;
            this.trailerBytes = 0;
          } else {
            this.state = S_CHUNK_DATA;
            this.remaining = size;
          }
          break;
        }
        case S_CHUNK_DATA: {
          const n = Math.min(this.remaining, data.length - pos);
          const chunk = data.subarray(pos, pos + n);
          pos += n;
          this.remaining -= n;
          if (this.remaining === 0) {
            this.state = S_CHUNK_CRLF;
            this.remaining = 2;
          }
          this.sink.onBody(chunk);
          if (this.state === S_DEAD) return;
          if (this.hold(data, pos)) return;
          break;
        }
        case S_CHUNK_CRLF: {
          const want = this.remaining === 2 ? CR : LF;
          if (data[pos] !== want) {
            this.fail(400, "missing CRLF after chunk data");
            return;
          }
          pos++;
          if (--this.remaining === 0) this.state = S_CHUNK_SIZE;
          break;
        }
        case S_TRAILERS: {
          const lf = data.indexOf(LF, pos);
          if (lf < 0) {
            if (this.trailerBytes + data.length - pos > HTTP_MAX_TRAILER_BYTES) {
              this.fail(431, "trailer section too large");
              return;
            }
            this.pending = data.subarray(pos);
            return;
          }
          this.trailerBytes += lf + 1 - pos;
          if (this.trailerBytes > HTTP_MAX_TRAILER_BYTES) {
            this.fail(431, "trailer section too large");
            return;
          }
          if (lf === pos || data[lf - 1] !== CR) {
            this.fail(400, "bad trailer line");
            return;
          }
          const empty = lf - 1 === pos;
          pos = lf + 1;
          if (empty) {
            this.state = S_HEAD;
            this.sink.onBodyEnd();
            if (this.state === S_DEAD) return;
            if (this.hold(data, pos)) return;
          }
          break;
        }
        case S_DEAD:
          return;
        default:
          return;
      }
    }
  }
}
