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
  body: Buffer | undefined;
  head: string;
  out: Buffer;
}

/** Whole responses, reused while body and head (Date included) are the same. */
export class ResponseCache {
  private readonly ring: Cached[] = [];
  private next = 0;
  hits = 0;

  /** The bytes to write: one Buffer, or head and body to write corked. */
  build(head: string, body: Buffer | undefined, withBody: boolean): Buffer | readonly [Buffer, Buffer] {
    const blen = body !== undefined && withBody ? body.length : 0;
    if (body !== undefined && blen > COPY_BODY_MAX) return [Buffer.from(head, "latin1"), body];
    if (!withBody) return Buffer.from(head, "latin1");
    for (let i = 0; i < this.ring.length; i++) {
      const e = this.ring[i] as Cached;
      if (e.body === body && e.head === head) {
        this.hits++;
        return e.out;
      }
    }
    const out = Buffer.allocUnsafe(head.length + blen);
    out.write(head, 0, "latin1");
    if (body !== undefined && blen > 0) body.copy(out, head.length);
    const entry: Cached = { body, head, out };
    if (this.ring.length < HTTP_RESPONSE_CACHE_ENTRIES) this.ring.push(entry);
    else {
      this.ring[this.next] = entry;
      this.next = (this.next + 1) % HTTP_RESPONSE_CACHE_ENTRIES;
    }
    return out;
  }
}
