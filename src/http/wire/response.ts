/**
 * http/wire/response: response bytes for the wire transport. Builds status line, headers,
 * Date (formatted once per second), Content-Length and Connection into one string, and
 * the head plus body into one Buffer (large bodies stay separate, written together
 * corked). A small cache keeps whole responses: identical (body buffer, head) pairs in the
 * same second, e.g. thousands of woken watchers of one (query, index), reuse one Buffer.
 *
 * Must never: modify a body buffer (bodies are shared), or cache a response built for HEAD.
 */

import { HTTP_RESPONSE_CACHE_ENTRIES } from "../../shared/limits.ts";

/** Bodies up to this size are copied behind the head into one Buffer. */
const COPY_BODY_MAX = 16 * 1024;

const REASONS: Readonly<Record<number, string>> = {
  100: "Continue",
  200: "OK",
  201: "Created",
  202: "Accepted",
  204: "No Content",
  301: "Moved Permanently",
  302: "Found",
  304: "Not Modified",
  307: "Temporary Redirect",
  308: "Permanent Redirect",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  408: "Request Timeout",
  409: "Conflict",
  411: "Length Required",
  412: "Precondition Failed",
  413: "Payload Too Large",
  414: "URI Too Long",
  415: "Unsupported Media Type",
  417: "Expectation Failed",
  422: "Unprocessable Entity",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  505: "HTTP Version Not Supported",
};

const statusLines = new Map<number, string>();

export function statusLine(status: number): string {
  let s = statusLines.get(status);
  if (s === undefined) {
    s = `HTTP/1.1 ${status} ${REASONS[status] ?? "Unknown"}\r\n`;
    if (statusLines.size < 1000) statusLines.set(status, s);
  }
  return s;
}

let dateSecond = -1;
let dateText = "";

/** "Date: <IMF-fixdate>\r\n", formatted once per second. */
export function dateLine(nowMs: number): string {
  const sec = Math.floor(nowMs / 1000);
  if (sec !== dateSecond) {
    dateSecond = sec;
    dateText = "Date: " + new Date(sec * 1000).toUTCString() + "\r\n";
  }
  return dateText;
}

/** How the response speaks about the connection. */
export type ConnMode = "default" | "keep-alive" | "close";

/** The head (status line to blank line) of a response. */
export function responseHead(
  status: number,
  headers: readonly string[],
  bodyLength: number,
  mode: ConnMode,
  nowMs: number,
): string {
  let h = statusLine(status);
  for (let i = 0; i + 1 < headers.length; i += 2) h += headers[i] + ": " + headers[i + 1] + "\r\n";
  h += dateLine(nowMs) + "Content-Length: " + bodyLength + "\r\n";
  if (mode === "close") h += "Connection: close\r\n";
  else if (mode === "keep-alive") h += "Connection: keep-alive\r\n";
  return h + "\r\n";
}

/** The head of a streamed response: no Content-Length; chunked framing when `chunked`. */
export function streamHead(status: number, headers: readonly string[], chunked: boolean, mode: ConnMode, nowMs: number): string {
  let h = statusLine(status);
  for (let i = 0; i + 1 < headers.length; i += 2) h += headers[i] + ": " + headers[i + 1] + "\r\n";
  h += dateLine(nowMs);
  if (chunked) h += "Transfer-Encoding: chunked\r\n";
  if (mode === "close") h += "Connection: close\r\n";
  else if (mode === "keep-alive") h += "Connection: keep-alive\r\n";
  return h + "\r\n";
}

/** Whether a header value could split the head (CR, LF or NUL). */
export function unsafeHeaders(headers: readonly string[]): boolean {
  for (let i = 0; i < headers.length; i++) {
    const v = headers[i] as string;
    for (let j = 0; j < v.length; j++) {
      const c = v.charCodeAt(j);
      if (c === 13 || c === 10 || c === 0) return true;
    }
  }
  return false;
}

interface Cached {
  readonly status: number;
  readonly headers: readonly string[];
  readonly body: Buffer | undefined;
  readonly mode: ConnMode;
  /** The Date line it was built with (one string per second: compared by identity). */
  readonly date: string;
  readonly out: Buffer;
}

function sameHeaders(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export type Out = Buffer | readonly [Buffer, Buffer];

/**
 * Whole responses, reused while status, headers, body buffer, connection mode and the
 * second (Date) are the same: a hit costs a few comparisons, no string building.
 */
export class ResponseCache {
  private readonly ring: Cached[] = [];
  private next = 0;
  hits = 0;

  /**
   * The bytes to write: one Buffer, or head and body to write corked. Undefined when a
   * header value contains CR, LF or NUL (the caller answers 500 instead).
   */
  response(
    status: number,
    headers: readonly string[],
    body: Buffer | undefined,
    mode: ConnMode,
    nowMs: number,
    withBody: boolean,
  ): Out | undefined {
    const date = dateLine(nowMs);
    const cacheable = withBody && (body === undefined || body.length <= COPY_BODY_MAX);
    if (cacheable) {
      for (let i = 0; i < this.ring.length; i++) {
        const e = this.ring[i] as Cached;
        if (e.body === body && e.status === status && e.mode === mode && e.date === date && sameHeaders(e.headers, headers)) {
          this.hits++;
          return e.out;
        }
      }
    }
    if (unsafeHeaders(headers)) return undefined;
    const blen = body !== undefined ? body.length : 0;
    const head = responseHead(status, headers, blen, mode, nowMs);
    if (!withBody || body === undefined || blen === 0) {
      const out = Buffer.from(head, "latin1");
      if (cacheable) this.keep({ status, headers, body, mode, date, out });
      return out;
    }
    if (!cacheable) return [Buffer.from(head, "latin1"), body];
    const out = Buffer.allocUnsafe(head.length + blen);
    out.write(head, 0, "latin1");
    body.copy(out, head.length);
    this.keep({ status, headers, body, mode, date, out });
    return out;
  }

  private keep(e: Cached): void {
    if (this.ring.length < HTTP_RESPONSE_CACHE_ENTRIES) this.ring.push(e);
    else {
      this.ring[this.next] = e;
      this.next = (this.next + 1) % HTTP_RESPONSE_CACHE_ENTRIES;
    }
  }
}
