/**
 * http/respond: the one place where results and CairnErrors become HTTP responses.
 *
 * Maps error kinds to statuses (and nowhere else does), writes plain-text error bodies,
 * JSON with Content-Type application/json (pretty-printed like json.MarshalIndent when
 * asked or by default in dev mode), gzip when the client accepts it (Consul wraps every
 * endpoint in gziphandler with its DefaultMinSize of 1400 bytes, so only bodies of at
 * least that size are compressed, and every wrapped response says
 * `Vary: Accept-Encoding`), and the headers Consul's wrap() sets.
 *
 * A `Rendered` JSON body is immutable and may be shared by thousands of responses: its
 * pretty and gzip variants are computed at most once.
 *
 * Must never: touch sockets (transports write what renderReply returns), or decide business outcomes.
 */

import { gzipSync } from "node:zlib";
import { type CairnError, type ErrorKind, unreachable } from "../shared/errors.ts";
import { indentJson } from "./json.ts";
import type { StreamWriter } from "./wire/types.ts";

/** A JSON body rendered once; variants are derived lazily and kept. */
export class Rendered {
  readonly compact: Buffer;
  private prettyBuf: Buffer | undefined;
  private gzCompact: Buffer | undefined;
  private gzPretty: Buffer | undefined;

  constructor(json: string | Buffer) {
    this.compact = typeof json === "string" ? Buffer.from(json, "utf8") : json;
  }

  get size(): number {
    return this.compact.length;
  }

  variant(pretty: boolean, gzip: boolean): Buffer {
    if (!pretty) {
      if (!gzip) return this.compact;
      return (this.gzCompact ??= gzipSync(this.compact));
    }
    this.prettyBuf ??= Buffer.from(indentJson(this.compact.toString("utf8")) + "\n", "utf8");
    if (!gzip) return this.prettyBuf;
    return (this.gzPretty ??= gzipSync(this.prettyBuf));
  }
}

export type Body =
  | { readonly kind: "none" }
  | { readonly kind: "json"; readonly r: Rendered }
  | { readonly kind: "text"; readonly data: Buffer; readonly contentType: string }
  /**
   * A streamed body (e.g. /v1/agent/monitor): `start` gets the writer once the head is
   * sent and owns it until it calls end() or the client leaves (never gzipped).
   */
  | { readonly kind: "stream"; readonly contentType: string; readonly start: (w: StreamWriter) => void };

export interface Reply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Body;
  /** Close the connection after this response (e.g. an unread oversized body). */
  readonly close?: boolean;
  /**
   * Not from a wrapped endpoint (Consul's Index handler, ServeMux redirects): only the
   * configured response headers, no ACL-policy header, no gzip, no Vary.
   */
  readonly bare?: boolean;
}

/** gziphandler.DefaultMinSize: smaller bodies are sent uncompressed. */
export const GZIP_MIN_SIZE = 1400;

export const NO_BODY: Body = { kind: "none" };

export function jsonReply(json: string | Rendered, status = 200, headers: Record<string, string> = {}): Reply {
  return { status, headers, body: { kind: "json", r: typeof json === "string" ? new Rendered(json) : json } };
}

export function textReply(status: number, text: string, headers: Record<string, string> = {}): Reply {
  const data = Buffer.from(text, "utf8");
  return {
    status,
    headers,
    body: data.length === 0 ? NO_BODY : { kind: "text", data, contentType: "text/plain; charset=utf-8" },
  };
}

export function statusForKind(kind: ErrorKind): number {
  switch (kind) {
    case "bad-request": return 400;
    case "permission-denied": return 403;
    case "not-found": return 404;
    case "method-not-allowed": return 405;
    case "conflict": return 409;
    case "too-large": return 413;
    case "rate-limited": return 429;
    case "no-leader": return 500;
    case "internal": return 500;
    case "unavailable": return 503;
    default: return unreachable(kind);
  }
}

/** Plain-text error response for a CairnError, as Consul's handleErr writes it. */
export function errorReply(err: CairnError, headers: Record<string, string> = {}): Reply {
  const text = err.kind === "no-leader" && err.message === "" ? "No cluster leader" : err.message;
  const status = statusForKind(err.kind);
  // Consul answers 429 from rate limits with an empty body.
  return textReply(status, text, headers);
}

/** Whether Accept-Encoding allows gzip (q > 0), as gziphandler decides. */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  for (const part of header.split(",")) {
    const [name, ...params] = part.trim().split(";");
    if ((name ?? "").trim().toLowerCase() !== "gzip") continue;
    let q = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/.exec(p);
      if (m) q = Number(m[1]);
    }
    return q > 0;
  }
  return false;
}

export interface WriteOpts {
  readonly pretty: boolean;
  readonly gzip: boolean;
  /** Configured response headers (http_config.response_headers), set on every response. */
  readonly common: Readonly<Record<string, string>>;
  /** Headers wrap() adds on API endpoints (X-Consul-Default-ACL-Policy). */
  readonly wrapped: Readonly<Record<string, string>>;
}

/** A reply as a transport writes it: headers as flat name/value pairs, the body bytes. */
export interface WireReply {
  readonly status: number;
  /** Without Content-Length, Date and Connection (the transport adds them). */
  readonly headers: string[];
  readonly body: Buffer | undefined;
  /** Close the connection after this response (Connection: close). */
  readonly close: boolean;
  /** A streamed body: send the head with Exchange.stream and hand the writer to this. */
  readonly stream?: (w: StreamWriter) => void;
}

const lowerNames = new Map<string, string>();

function lowerName(k: string): string {
  let l = lowerNames.get(k);
  if (l === undefined) {
    l = k.toLowerCase();
    if (lowerNames.size < 1024) lowerNames.set(k, l);
  }
  return l;
}

/** node:http's setHeader on a flat list: a name set again (any case) replaces in place. */
function setHeader(out: string[], lower: string[], name: string, value: string): void {
  const l = lowerName(name);
  const i = lower.indexOf(l);
  if (i < 0) {
    lower.push(l);
    out.push(name, value);
  } else {
    out[2 * i] = name;
    out[2 * i + 1] = value;
  }
}

/**
 * The headers and body of a reply: configured headers, wrap()'s headers and Vary (unless
 * bare), the reply's own, Content-Type, gzip (Content-Encoding) when accepted and the body
 * is large enough.
 */
export function renderReply(reply: Reply, o: WriteOpts): WireReply {
  const out: string[] = [];
  const lower: string[] = [];
  for (const k in o.common) setHeader(out, lower, k, o.common[k] as string);
  const wrapped = reply.bare !== true;
  if (wrapped) {
    for (const k in o.wrapped) setHeader(out, lower, k, o.wrapped[k] as string);
    setHeader(out, lower, "Vary", "Accept-Encoding");
  }
  for (const k in reply.headers) setHeader(out, lower, k, reply.headers[k] as string);
  let data: Buffer | undefined;
  let stream: ((w: StreamWriter) => void) | undefined;
  const b = reply.body;
  switch (b.kind) {
    case "none":
      break;
    case "json": {
      const plain = b.r.variant(o.pretty, false);
      const gz = wrapped && o.gzip && plain.length >= GZIP_MIN_SIZE;
      data = gz ? b.r.variant(o.pretty, true) : plain;
      setHeader(out, lower, "Content-Type", "application/json");
      if (gz) setHeader(out, lower, "Content-Encoding", "gzip");
      break;
    }
    case "text":
      if (!("Content-Type" in reply.headers)) setHeader(out, lower, "Content-Type", b.contentType);
      if (wrapped && o.gzip && b.data.length >= GZIP_MIN_SIZE) {
        data = gzipSync(b.data);
        setHeader(out, lower, "Content-Encoding", "gzip");
      } else data = b.data;
      break;
    case "stream":
      if (!("Content-Type" in reply.headers)) setHeader(out, lower, "Content-Type", b.contentType);
      stream = b.start;
      break;
    default:
      unreachable(b);
  }
  if (stream !== undefined) return { status: reply.status, headers: out, body: undefined, close: reply.close === true, stream };
  return { status: reply.status, headers: out, body: data, close: reply.close === true };
}
