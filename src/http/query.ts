/**
 * http/query: URL query strings and the query parameters every Consul read shares.
 *
 * Parses the raw query like Go's url.ParseQuery (presence matters: `?recurse` with no
 * value is "set"), Go durations ("1m30s", "500ms"), uint64 indexes, consistency flags,
 * dc and the request token, with Consul's error texts.
 *
 * Must never: touch sockets or the store; it only turns text into values or CairnErrors.
 */

import type { IncomingHttpHeaders } from "node:http";
import { CairnError, badRequest } from "../shared/errors.ts";
import type { Consistency } from "../server/types.ts";

/** Decode %XX escapes to bytes, then UTF-8 (invalid sequences become U+FFFD). Undefined on a bad escape. */
export function percentDecode(s: string, plusIsSpace: boolean): string | undefined {
  if (s.indexOf("%") < 0) return plusIsSpace && s.indexOf("+") >= 0 ? s.replace(/\+/g, " ") : s;
  const bytes: number[] = [];
  const enc = new TextEncoder();
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c === "%") {
      const h = s.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(h)) return undefined;
      bytes.push(parseInt(h, 16));
      i += 2;
    } else if (c === "+" && plusIsSpace) {
      bytes.push(0x20);
    } else {
      const code = c.charCodeAt(0);
      if (code < 0x80) bytes.push(code);
      else {
        // Keep a surrogate pair together.
        let ch = c;
        if (code >= 0xd800 && code <= 0xdbff && i + 1 < s.length) ch += s[++i];
        for (const b of enc.encode(ch)) bytes.push(b);
      }
    }
  }
  return new TextDecoder("utf-8", { fatal: false }).decode(new Uint8Array(bytes));
}

/** Go's url.QueryEscape. */
export function queryEscape(s: string): string {
  let out = "";
  for (const b of new TextEncoder().encode(s)) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (b === 0x20) out += "+";
    else out += "%" + b.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

/** A parsed query string: ordered values per key, like Go's url.Values. */
export class Query {
  private readonly m = new Map<string, string[]>();

  /** Parse a raw query (without "?"); undefined when an escape is malformed or a ';' is present (Go 1.17+). */
  static parse(raw: string): Query | undefined {
    const q = new Query();
    if (raw === "") return q;
    for (const part of raw.split("&")) {
      if (part === "") continue;
      if (part.indexOf(";") >= 0) return undefined;
      const eq = part.indexOf("=");
      const k = percentDecode(eq < 0 ? part : part.slice(0, eq), true);
      const v = percentDecode(eq < 0 ? "" : part.slice(eq + 1), true);
      if (k === undefined || v === undefined) return undefined;
      const list = q.m.get(k);
      if (list) list.push(v);
      else q.m.set(k, [v]);
    }
    return q;
  }

  has(k: string): boolean {
    return this.m.has(k);
  }

  /** First value, "" when absent (Go's Values.Get). */
  get(k: string): string {
    return this.m.get(k)?.[0] ?? "";
  }

  /** Go's Values.Encode: keys sorted, each value escaped. */
  encode(): string {
    const keys = [...this.m.keys()].sort();
    const parts: string[] = [];
    for (const k of keys) for (const v of this.m.get(k) ?? []) parts.push(queryEscape(k) + "=" + queryEscape(v));
    return parts.join("&");
  }
}

const UNIT_NS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  "µs": 1e3, // U+00B5
  "μs": 1e3, // U+03BC
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** Go's time.ParseDuration, in milliseconds (fractional). Undefined when invalid. */
export function parseGoDuration(s: string): number | undefined {
  let rest = s;
  let neg = false;
  if (rest.startsWith("-") || rest.startsWith("+")) {
    neg = rest[0] === "-";
    rest = rest.slice(1);
  }
  if (rest === "0") return 0;
  if (rest === "") return undefined;
  let totalNs = 0;
  const re = /^(\d*)(?:\.(\d*))?([^\d.]+)/;
  while (rest !== "") {
    const m = re.exec(rest);
    if (!m) return undefined;
    const whole = m[1] ?? "";
    const frac = m[2];
    const unitText = m[3] ?? "";
    if (whole === "" && (frac === undefined || frac === "")) return undefined;
    // The unit is the longest run of non-digit, non-dot characters.
    const unit = UNIT_NS[unitText];
    if (unit === undefined) return undefined;
    let v = (whole === "" ? 0 : Number(whole)) * unit;
    if (frac) v += Number("0." + frac) * unit;
    totalNs += v;
    if (totalNs > 9223372036854775807) return undefined; // overflows int64
    rest = rest.slice(m[0].length);
  }
  const ms = totalNs / 1e6;
  return neg ? -ms : ms;
}

/** Go strconv.ParseUint(s, 10, 64) as a bigint, or an error text like Go's. */
export function parseUint64(s: string): { ok: true; v: bigint } | { ok: false; err: string } {
  if (!/^[0-9]+$/.test(s)) return { ok: false, err: `strconv.ParseUint: parsing ${goQuoteAscii(s)}: invalid syntax` };
  const v = BigInt(s);
  if (v > 0xffffffffffffffffn) return { ok: false, err: `strconv.ParseUint: parsing ${goQuoteAscii(s)}: value out of range` };
  return { ok: true, v };
}

function goQuoteAscii(s: string): string {
  return JSON.stringify(s);
}

/** Options shared by reads (Consul's QueryOptions). */
export interface QueryOptions {
  readonly minIndex: number;
  /** Requested wait in ms; 0 = default. */
  readonly waitMs: number;
  readonly consistency: Consistency;
  readonly maxStaleMs: number;
  readonly token: string;
}

/** X-Consul-Effective-Consistency for a mode. */
export function effectiveConsistency(c: Consistency): string {
  return c === "default" ? "leader" : c;
}

/** Consul's parseDC: only the local datacenter exists. */
export function checkDatacenter(q: Query, localDc: string): void {
  const dc = q.get("dc");
  if (dc !== "" && dc !== localDc) throw new CairnError("internal", "No path to datacenter");
}

/** Token from ?token, X-Consul-Token, or Authorization: Bearer (Consul's order of precedence). */
export function parseToken(q: Query, headers: IncomingHttpHeaders): string {
  const tok = q.get("token");
  if (tok !== "") return tok;
  const h = headers["x-consul-token"];
  const x = Array.isArray(h) ? h[0] : h;
  if (x) return x;
  const auth = headers.authorization;
  if (auth) {
    const parts = auth.trim().split(/\s+/);
    if (parts.length >= 2 && (parts[0] ?? "").toLowerCase() === "bearer") return parts[1] ?? "";
  }
  return "";
}

/** Consul's parse(): dc, token, consistency, wait, index. */
export function parseQueryOptions(q: Query, headers: IncomingHttpHeaders, localDc: string): QueryOptions {
  checkDatacenter(q, localDc);
  const token = parseToken(q, headers);
  // parseConsistency
  const stale = q.has("stale");
  const consistent = q.has("consistent");
  let maxStaleMs = 0;
  const ms = q.get("max_stale");
  if (ms !== "") {
    const d = parseGoDuration(ms);
    if (d === undefined) throw badRequest(`Invalid max_stale value ${JSON.stringify(ms)}`);
    maxStaleMs = d;
  }
  let consistency: Consistency = "default";
  if (stale || maxStaleMs > 0) consistency = "stale";
  if (consistent) consistency = "consistent";
  if (stale && consistent) throw badRequest("Cannot specify ?stale with ?consistent, conflicting semantics.");
  if (consistent && maxStaleMs > 0) throw badRequest("Cannot specify ?stale with ?consistent, conflicting semantics.");
  if (q.has("leader") && !stale && !consistent) consistency = "default";
  // parseWait
  let waitMs = 0;
  const w = q.get("wait");
  if (w !== "") {
    const d = parseGoDuration(w);
    if (d === undefined) throw badRequest("Invalid wait time");
    waitMs = d;
  }
  let minIndex = 0;
  const idx = q.get("index");
  if (idx !== "") {
    const p = parseUint64(idx);
    if (!p.ok) throw badRequest("Invalid index");
    minIndex = Number(p.v);
  }
  return { minIndex, waitMs, consistency, maxStaleMs, token };
}
