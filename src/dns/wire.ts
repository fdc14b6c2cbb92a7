/**
 * dns/wire: DNS wire format by hand — record types, rcodes, parsing a query (header,
 * first question, EDNS0 OPT) and encoding records whose names are compressed only
 * against the question (offset 12), so an encoded record is position-independent and
 * can be cached as a byte slice and copied into any response to the same question.
 *
 * Must never: do I/O, throw on hostile input (parseQuery returns a verdict instead),
 * or read past a buffer's end.
 */

import { DNS_KEY_MEMO_SLOTS } from "../shared/limits.ts";

export const T_A = 1;
export const T_NS = 2;
export const T_CNAME = 5;
export const T_SOA = 6;
export const T_PTR = 12;
export const T_TXT = 16;
export const T_AAAA = 28;
export const T_SRV = 33;
export const T_OPT = 41;
export const T_IXFR = 251;
export const T_AXFR = 252;
export const T_ANY = 255;
export const C_IN = 1;

export const RCODE_NOERROR = 0;
export const RCODE_FORMERR = 1;
export const RCODE_SERVFAIL = 2;
export const RCODE_NXDOMAIN = 3;
export const RCODE_NOTIMP = 4;
export const RCODE_REFUSED = 5;

export const FLAG_QR = 0x8000;
export const FLAG_AA = 0x0400;
export const FLAG_TC = 0x0200;
export const FLAG_RD = 0x0100;
export const FLAG_RA = 0x0080;
export const FLAG_CD = 0x0010;

export const HEADER_LEN = 12;
/** Size of an OPT record without options: root name, type, class, ttl, rdlength. */
export const OPT_BASE_LEN = 11;

/** A parsed query: what the server needs from the client's packet. */
export interface ParsedQuery {
  readonly id: number;
  readonly flags: number;
  readonly opcode: number;
  readonly qdcount: number;
  /** Lower-cased, dot-separated, with the trailing dot ("." for the root); "" when qdcount is 0. */
  readonly qname: string;
  readonly qtype: number;
  readonly qclass: number;
  /** EDNS0 UDP payload size advertised by the client, or null without an OPT record. */
  readonly udpSize: number | null;
  /** The client-subnet option body (family, source, scope, address) to echo, or null. */
  readonly ecs: Buffer | null;
  /** The answer cache's key for this question (cacheKey(qname, qtype, qclass)), read straight off the packet. */
  readonly key: string;
}

/** Four leading characters of a cache key: the question's type and class, one byte per character. */
const KEY_PREFIX = 4;

/** The answer cache's key for a question: type and class as four latin1 characters, then the lower-cased name. */
export function cacheKey(qname: string, qtype: number, qclass: number): string {
  return String.fromCharCode(qtype >> 8, qtype & 0xff, qclass >> 8, qclass & 0xff) + qname;
}

/** The question a cache key stands for (the inverse of cacheKey). */
export function keyQuestion(key: string): { qname: string; qtype: number; qclass: number } {
  return {
    qname: key.slice(KEY_PREFIX),
    qtype: (key.charCodeAt(0) << 8) | key.charCodeAt(1),
    qclass: (key.charCodeAt(2) << 8) | key.charCodeAt(3),
  };
}

/** A well-formed query. The name text is derived from the key only when something asks for it. */
class Query implements ParsedQuery {
  readonly ok = true as const;
  readonly id: number;
  readonly flags: number;
  readonly opcode: number;
  readonly qdcount: number;
  readonly key: string;
  readonly qtype: number;
  readonly qclass: number;
  readonly udpSize: number | null;
  readonly ecs: Buffer | null;
  private name: string | null = null;
  constructor(id: number, flags: number, qdcount: number, key: string, qtype: number, qclass: number, udpSize: number | null, ecs: Buffer | null) {
    this.id = id;
    this.flags = flags;
    this.opcode = (flags >> 11) & 0xf;
    this.qdcount = qdcount;
    this.key = key;
    this.qtype = qtype;
    this.qclass = qclass;
    this.udpSize = udpSize;
    this.ecs = ecs;
  }
  get qname(): string {
    this.name ??= this.qdcount === 0 ? "" : this.key.slice(KEY_PREFIX);
    return this.name;
  }
}

export interface ParseFailure {
  readonly ok: false;
  readonly formerr: boolean;
  readonly id: number;
  readonly flags: number;
}

export type ParseResult = (ParsedQuery & { readonly ok: true }) | ParseFailure;

const scratch = Buffer.allocUnsafe(KEY_PREFIX + 256);

/** Read a (possibly compressed) name; returns the end offset of the name in place, or -1. Writes the lowercase text to `scratch` after the key prefix. */
function readName(buf: Buffer, start: number, out: { len: number } | null): number {
  let pos = start;
  let end = -1;
  let jumps = 0;
  let n = KEY_PREFIX;
  for (;;) {
    if (pos >= buf.length) return -1;
    const len = buf[pos]!;
    if (len === 0) {
      if (end < 0) end = pos + 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= buf.length) return -1;
      if (end < 0) end = pos + 2;
      if (++jumps > 32) return -1;
      pos = ((len & 0x3f) << 8) | buf[pos + 1]!;
      continue;
    }
    if ((len & 0xc0) !== 0) return -1;
    if (pos + 1 + len > buf.length) return -1;
    if (out !== null) {
      if (n - KEY_PREFIX + len + 1 > 255) return -1;
      for (let i = 0; i < len; i++) {
        let c = buf[pos + 1 + i]!;
        if (c === 0x2e) return -1; // a dot inside a label: refuse rather than mis-split
        if (c >= 0x41 && c <= 0x5a) c |= 0x20;
        scratch[n++] = c;
      }
      scratch[n++] = 0x2e;
    }
    pos += 1 + len;
  }
  if (out !== null) out.len = n - KEY_PREFIX;
  return end;
}

const nameOut = { len: 0 };

/** Big-endian 16-bit value at `at` (the caller has checked the bounds). */
function u16at(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}

/** Write a big-endian 16-bit value at `at` without Buffer's argument checks (hot paths). */
export function put16(out: Uint8Array, at: number, v: number): void {
  out[at] = (v >>> 8) & 0xff;
  out[at + 1] = v & 0xff;
}

// Recently made cache keys by a hash of their bytes: a hot question reuses its key string
// (no latin1 decode, and the Map lookup finds the string's hash already computed).
const memoKeys: Array<string | undefined> = new Array<string | undefined>(DNS_KEY_MEMO_SLOTS).fill(undefined);
const memoBytes: Array<Uint8Array | undefined> = new Array<Uint8Array | undefined>(DNS_KEY_MEMO_SLOTS).fill(undefined);

/** The cache key whose bytes are scratch[0, len). */
function keyText(len: number): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < len; i++) h = Math.imul(h ^ scratch[i]!, 0x01000193);
  const slot = (h >>> 0) % DNS_KEY_MEMO_SLOTS;
  const b = memoBytes[slot];
  if (b !== undefined && b.length === len) {
    let same = true;
    for (let i = 0; i < len; i++) {
      if (b[i] !== scratch[i]) {
        same = false;
        break;
      }
    }
    if (same) return memoKeys[slot]!;
  }
  const key = scratch.toString("latin1", 0, len);
  memoBytes[slot] = Uint8Array.prototype.slice.call(scratch, 0, len);
  memoKeys[slot] = key;
  return key;
}

function formerr(id: number, flags: number): ParseFailure {
  return { ok: false, formerr: true, id, flags };
}

/** Parse a query packet. Never throws; returns FORMERR/drop verdicts for bad input. */
export function parseQuery(buf: Buffer): ParseResult {
  if (buf.length < HEADER_LEN) return { ok: false, formerr: false, id: 0, flags: 0 };
  const id = u16at(buf, 0);
  const flags = u16at(buf, 2);
  if ((flags & FLAG_QR) !== 0) return { ok: false, formerr: false, id, flags }; // a response: never answer it
  const qdcount = u16at(buf, 4);
  const ancount = u16at(buf, 6);
  const nscount = u16at(buf, 8);
  const arcount = u16at(buf, 10);
  let pos = HEADER_LEN;
  let key = "";
  let qtype = 0;
  let qclass = 0;
  for (let i = 0; i < qdcount; i++) {
    const end = readName(buf, pos, i === 0 ? nameOut : null);
    if (end < 0 || end + 4 > buf.length) return formerr(id, flags);
    if (i === 0) {
      qtype = u16at(buf, end);
      qclass = u16at(buf, end + 2);
      scratch[0] = qtype >> 8;
      scratch[1] = qtype & 0xff;
      scratch[2] = qclass >> 8;
      scratch[3] = qclass & 0xff;
      let len = KEY_PREFIX + nameOut.len;
      if (nameOut.len === 0) scratch[len++] = 0x2e; // the root: "."
      key = keyText(len);
    }
    pos = end + 4;
  }
  // Skip answer and authority records, then look for OPT in additional.
  for (let i = 0; i < ancount + nscount; i++) {
    const end = readName(buf, pos, null);
    if (end < 0 || end + 10 > buf.length) return formerr(id, flags);
    const rdlen = buf.readUInt16BE(end + 8);
    pos = end + 10 + rdlen;
    if (pos > buf.length) return formerr(id, flags);
  }
  let udpSize: number | null = null;
  let ecs: Buffer | null = null;
  for (let i = 0; i < arcount; i++) {
    const end = readName(buf, pos, null);
    if (end < 0 || end + 10 > buf.length) return formerr(id, flags);
    const type = buf.readUInt16BE(end);
    const rdlen = buf.readUInt16BE(end + 8);
    const rdata = end + 10;
    if (rdata + rdlen > buf.length) return formerr(id, flags);
    if (type === T_OPT && udpSize === null) {
      udpSize = buf.readUInt16BE(end + 2);
      let o = rdata;
      while (o + 4 <= rdata + rdlen) {
        const code = buf.readUInt16BE(o);
        const olen = buf.readUInt16BE(o + 2);
        if (o + 4 + olen > rdata + rdlen) return formerr(id, flags);
        if (code === 8 && olen >= 4 && ecs === null) ecs = Buffer.from(buf.subarray(o + 4, o + 4 + olen));
        o += 4 + olen;
      }
    }
    pos = rdata + rdlen;
  }
  return new Query(id, flags, qdcount, key, qtype, qclass, udpSize, ecs);
}

/** Split a dotted name (trailing dot) into labels; the root gives []. */
export function splitName(name: string): string[] {
  if (name === "." || name === "") return [];
  const s = name.endsWith(".") ? name.slice(0, -1) : name;
  return s.split(".");
}

/** Wire form of a name, uncompressed; null when a label is empty or over 63 bytes, or the name over 255. */
export function nameToWire(name: string): Buffer | null {
  const labels = splitName(name);
  let len = 1;
  for (const l of labels) {
    const b = Buffer.byteLength(l, "utf8");
    if (b === 0 || b > 63) return null;
    len += b + 1;
  }
  if (len > 255) return null;
  const out = Buffer.allocUnsafe(len);
  let p = 0;
  for (const l of labels) {
    const b = out.write(l, p + 1, "utf8");
    out[p] = b;
    p += b + 1;
  }
  out[p] = 0;
  return out;
}

/**
 * Map from each lower-case suffix of the question name ("service.consul.") to its
 * offset in a response, where the question name starts at offset 12.
 */
export function questionSuffixes(qname: string): Map<string, number> {
  const m = new Map<string, number>();
  const labels = splitName(qname);
  let off = HEADER_LEN;
  for (let i = 0; i < labels.length; i++) {
    m.set(labels.slice(i).join(".").toLowerCase() + ".", off);
    off += Buffer.byteLength(labels[i]!, "utf8") + 1;
  }
  return m;
}

/** Growable byte writer for the cold path (building cached records). */
export class ByteWriter {
  private buf: Buffer;
  length = 0;
  constructor(size = 512) {
    this.buf = Buffer.allocUnsafe(size);
  }
  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
  u8(v: number): void {
    this.room(1);
    this.buf[this.length++] = v & 0xff;
  }
  u16(v: number): void {
    this.room(2);
    this.buf.writeUInt16BE(v & 0xffff, this.length);
    this.length += 2;
  }
  u32(v: number): void {
    this.room(4);
    this.buf.writeUInt32BE(v >>> 0, this.length);
    this.length += 4;
  }
  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  setU16(at: number, v: number): void {
    this.buf.writeUInt16BE(v & 0xffff, at);
  }
  /**
   * Write a name, compressed against the question when `suffixes` is given. Returns false for an
   * unencodable name (an empty label, or one over 63 bytes). Scans the text once: no label array,
   * no per-label buffers; each suffix is looked up as a slice of the lower-cased name.
   */
  name(name: string, suffixes: Map<string, number> | null): boolean {
    if (name === "." || name === "") {
      this.u8(0);
      return true;
    }
    const full = name.charCodeAt(name.length - 1) === 0x2e ? name : `${name}.`;
    const lower = suffixes === null ? full : full.toLowerCase();
    let start = 0;
    while (start < full.length) {
      if (suffixes !== null) {
        const off = suffixes.get(start === 0 ? lower : lower.slice(start));
        if (off !== undefined) {
          this.u16(0xc000 | off);
          return true;
        }
      }
      const dot = full.indexOf(".", start);
      const n = dot - start;
      if (n === 0) return false;
      let ascii = true;
      for (let i = start; i < dot; i++) {
        if (full.charCodeAt(i) >= 0x80) {
          ascii = false;
          break;
        }
      }
      if (ascii) {
        if (n > 63) return false;
        this.room(1 + n);
        this.buf[this.length++] = n;
        for (let i = start; i < dot; i++) this.buf[this.length++] = full.charCodeAt(i);
      } else {
        const b = Buffer.from(full.slice(start, dot), "utf8");
        if (b.length > 63) return false;
        this.u8(b.length);
        this.bytes(b);
      }
      start = dot + 1;
    }
    this.u8(0);
    return true;
  }
  /** Drop what was written after `length` (a record that turned out unencodable). */
  truncate(length: number): void {
    if (length < this.length) this.length = length;
  }
  /** A copy of what was written (the writer's buffer is reused). */
  take(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.length));
  }
}

/** Uncompressed wire length of a name: its text with a trailing dot, in UTF-8 bytes, plus the root byte. */
export function nameWireLength(name: string): number {
  if (name === "." || name === "") return 1;
  const dotted = name.charCodeAt(name.length - 1) === 0x2e;
  let bytes = name.length;
  for (let i = 0; i < name.length; i++) {
    if (name.charCodeAt(i) >= 0x80) {
      bytes = Buffer.byteLength(name, "utf8");
      break;
    }
  }
  return bytes + (dotted ? 1 : 2);
}

/** Dotted-quad IPv4 text into 4 bytes (1-3 digits per part, each at most 255), or null. */
function parseIpv4(s: string): Uint8Array | null {
  const out = new Uint8Array(4);
  let part = 0;
  let val = 0;
  let digits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2e) {
      if (digits === 0 || part === 3) return null;
      out[part++] = val;
      val = 0;
      digits = 0;
      continue;
    }
    if (c < 0x30 || c > 0x39 || digits === 3) return null;
    val = val * 10 + (c - 0x30);
    digits++;
    if (val > 255) return null;
  }
  if (part !== 3 || digits === 0) return null;
  out[3] = val;
  return out;
}

/** Parse a textual IPv4 or IPv6 address into 4 or 16 bytes; null if it is not an IP. */
export function parseIp(s: string): Uint8Array | null {
  if (s.indexOf(":") < 0) return parseIpv4(s);
  let str = s;
  const pct = str.indexOf("%");
  if (pct >= 0) str = str.slice(0, pct);
  const lastColon = str.lastIndexOf(":");
  const maybeV4 = str.slice(lastColon + 1);
  if (maybeV4.includes(".")) {
    const v4 = parseIp(maybeV4);
    if (v4 === null) return null;
    const hi = ((v4[0]! << 8) | v4[1]!).toString(16);
    const lo = ((v4[2]! << 8) | v4[3]!).toString(16);
    str = `${str.slice(0, lastColon + 1)}${hi}:${lo}`;
  }
  const dbl = str.split("::");
  if (dbl.length > 2) return null;
  const group = (part: string): number[] | null => {
    if (part === "") return [];
    const out: number[] = [];
    for (const g of part.split(":")) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = group(dbl[0]!);
  const rest = dbl.length === 2 ? group(dbl[1]!) : [];
  if (head === null || rest === null) return null;
  let groups: number[];
  if (dbl.length === 2) {
    if (head.length + rest.length > 7) return null;
    groups = [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest];
  } else {
    if (head.length !== 8) return null;
    groups = head;
  }
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[i * 2] = groups[i]! >> 8;
    out[i * 2 + 1] = groups[i]! & 0xff;
  }
  return out;
}

/** Canonical text of 4 or 16 address bytes (IPv6 in Go's net.IP.String() form). */
export function ipToString(b: Uint8Array): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  const isV4Mapped = b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
  if (isV4Mapped) return `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[i * 2]! << 8) | b[i * 2 + 1]!);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]): string => xs.map((x) => x.toString(16)).join(":");
  if (bestStart < 0) return hex(g);
  return `${hex(g.slice(0, bestStart))}::${hex(g.slice(bestStart + bestLen))}`;
}
