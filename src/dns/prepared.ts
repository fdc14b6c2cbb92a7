/**
 * dns/prepared: a built answer encoded once into position-independent record chunks
 * (prepare), the per-query choice of which entries go out — shuffle, a_record_limit,
 * Consul's UDP/TCP truncation (agent/dns/response_generator.go) — computed on chunk
 * lengths only (select), and the response bytes copied together from the chunks
 * (assemble). resolve() uses the same select and turns the choice back into records
 * (materialize), so the structured and the wire answers agree.
 *
 * Must never: do I/O, read clocks or Math.random; select/assemble must not allocate
 * per entry (they run for every query).
 */

import type { DnsConfig } from "../agent/config/types.ts";
import type { Answer, Built } from "./types.ts";
import { encodeRrInto, type Rr } from "./records.ts";
import {
  DNS_MAX_UDP_ANSWER_LIMIT, DNS_MAX_UDP_PAYLOAD, DNS_ORDER_POOL_MIN_ENTRIES, DNS_ORDER_POOL_SIZE, DNS_TCP_MAX_ANSWERS, DNS_TCP_MAX_RESPONSE, DNS_TCP_MAX_SRV_ANSWERS,
} from "../shared/limits.ts";
import {
  ByteWriter, FLAG_AA, FLAG_CD, FLAG_QR, FLAG_RA, FLAG_RD, FLAG_TC, HEADER_LEN, OPT_BASE_LEN, T_OPT, nameToWire, put16, questionSuffixes,
} from "./wire.ts";

export interface Prepared {
  readonly kind: "records";
  readonly rcode: number;
  readonly aa: boolean;
  readonly ra: boolean;
  /** Question section bytes: name + type + class. */
  readonly question: Buffer;
  readonly n: number;
  /** The structured records behind the bytes: kept only for materialize() (resolve() and tests), null in the answer cache. */
  readonly records: PreparedRecords | null;
  /** Every entry's answer record, back to back (one buffer per answer, not one per record). */
  readonly ansSlab: Buffer;
  readonly ansOff: Int32Array;
  readonly ansLen: Int32Array;
  readonly ansLenU: Int32Array;
  readonly ansSerial: Int32Array;
  /** Extra group of each entry (index into groupOff / groupLen) or -1. */
  readonly group: Int32Array;
  /** Every group's extra records, back to back. */
  readonly groupSlab: Buffer;
  readonly groupOff: Int32Array;
  readonly groupLen: Int32Array;
  readonly groupLenU: Int32Array;
  readonly groupCount: Int32Array;
  /** Records in the authority section. */
  readonly authCount: number;
  readonly auth: Buffer;
  readonly authLen: number;
  readonly authLenU: number;
  readonly authSerial: readonly number[];
  /** Some answer or authority record carries the SOA serial (stamped from the clock per response). */
  readonly serials: boolean;
  /** Records always in the additional section. */
  readonly fixedCount: number;
  readonly fixed: Buffer;
  readonly fixedLen: number;
  readonly fixedLenU: number;
  readonly shuffle: boolean;
  readonly aLimit: boolean;
  readonly srv: boolean;
  /** Smallest entry (answer + its extras), compressed; bounds how many entries can fit. */
  readonly minEntry: number;
  /** Working order of entries; shuffled in place (a permutation of a permutation stays uniform). */
  readonly perm: Int32Array;
  /** Group stamps for sending each group's extras once per response. */
  readonly stamp: Uint32Array;
  gen: number;
  /** Approximate bytes held (cache accounting). */
  readonly bytes: number;
}

/** The records a Prepared was encoded from, per section (answers by entry, extras by group). */
export interface PreparedRecords {
  readonly rrs: readonly Rr[];
  readonly groupRrs: readonly (readonly Rr[])[];
  readonly authRrs: readonly Rr[];
  readonly fixedRrs: readonly Rr[];
}

interface Section {
  rrs: Rr[];
  /** Where the section starts in its writer. */
  start: number;
  len: number;
  lenU: number;
  serial: number[];
}

/** Append the encodable records of `rrs` to `w` (unencodable ones are left out). */
function encodeSection(rrs: readonly Rr[], sfx: Map<string, number> | null, w: ByteWriter): Section {
  const kept: Rr[] = [];
  const serial: number[] = [];
  const start = w.length;
  let lenU = 0;
  for (const rr of rrs) {
    const at = w.length;
    const e = encodeRrInto(w, rr, sfx);
    if (e === null) continue;
    if (e.serialAt >= 0) serial.push(at - start + e.serialAt);
    kept.push(rr);
    lenU += e.uncompressedLen;
  }
  return { rrs: kept, start, len: w.length - start, lenU, serial };
}

/** A section in a buffer of its own. */
function sectionBytes(rrs: readonly Rr[], sfx: Map<string, number> | null): Section & { bytes: Buffer } {
  const w = new ByteWriter(256);
  const sec = encodeSection(rrs, sfx, w);
  return { ...sec, bytes: w.take() };
}

/** Copy `len` bytes of `src` from `at` into `dst` at `pos` (a plain loop: no view object per copy). */
function copyRange(src: Buffer, at: number, len: number, dst: Buffer, pos: number): number {
  for (let i = 0; i < len; i++) dst[pos + i] = src[at + i]!;
  return len;
}

/**
 * Encode a built answer for one question name (lower case) / type / class. `keepRecords` keeps the
 * structured records for materialize(); the answer cache leaves them out (fewer long-lived objects:
 * a rebuilt answer survives into the old generation, and every object it holds costs a scavenge copy).
 */
export function prepare(b: Built, qname: string, qtype: number, qclass: number, compress: boolean, keepRecords = false): Prepared {
  const qwire = nameToWire(qname) ?? Buffer.from([0]);
  const question = Buffer.allocUnsafe(qwire.length + 4);
  qwire.copy(question, 0);
  question.writeUInt16BE(qtype & 0xffff, qwire.length);
  question.writeUInt16BE(qclass & 0xffff, qwire.length + 2);
  const sfx = compress ? questionSuffixes(qname) : null;

  const rrs: Rr[] = [];
  const aw = new ByteWriter(Math.max(256, b.entries.length * 32));
  const gw = new ByteWriter(256);
  const offs: number[] = [];
  const lens: number[] = [];
  const lensU: number[] = [];
  const serials: number[] = [];
  const groups: number[] = [];
  const groupIds = new Map<string, number>();
  const groupSecs: Section[] = [];
  for (const e of b.entries) {
    const at = aw.length;
    const enc = encodeRrInto(aw, e.rr, sfx);
    if (enc === null) continue;
    const uncompressed = enc.uncompressedLen;
    const serialAt = enc.serialAt;
    let g = -1;
    if (e.extra.length > 0) {
      const key = e.group ?? `#${groupSecs.length}`;
      const known = groupIds.get(key);
      if (known !== undefined) g = known;
      else {
        g = groupSecs.length;
        groupIds.set(key, g);
        groupSecs.push(encodeSection(e.extra, sfx, gw));
      }
    }
    if (keepRecords) rrs.push(e.rr);
    offs.push(at);
    lens.push(aw.length - at);
    lensU.push(uncompressed);
    serials.push(serialAt);
    groups.push(g);
  }
  const auth = sectionBytes(b.authority, sfx);
  const fixed = sectionBytes(b.additional, sfx);
  const n = offs.length;
  let minEntry = 0x7fffffff;
  let bytes = question.length + auth.len + fixed.len + 256;
  for (let i = 0; i < n; i++) {
    const g = groups[i]!;
    const el = lens[i]! + (g >= 0 ? groupSecs[g]!.len : 0);
    if (el < minEntry) minEntry = el;
    bytes += lens[i]! + 64;
  }
  for (const s of groupSecs) bytes += s.len + 64;
  // dns/order_pool keeps up to DNS_ORDER_POOL_SIZE assembled bodies (each under 64 KiB) for large shuffled answers.
  if (b.shuffle && n >= DNS_ORDER_POOL_MIN_ENTRIES) bytes += DNS_ORDER_POOL_SIZE * Math.min(DNS_TCP_MAX_RESPONSE, bytes);
  const perm = new Int32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  return {
    kind: "records", rcode: b.rcode, aa: b.aa, ra: b.ra, question, n, ansSlab: aw.take(), ansOff: Int32Array.from(offs),
    records: keepRecords ? { rrs, groupRrs: groupSecs.map((s) => s.rrs), authRrs: auth.rrs, fixedRrs: fixed.rrs } : null,
    ansLen: Int32Array.from(lens), ansLenU: Int32Array.from(lensU), ansSerial: Int32Array.from(serials),
    group: Int32Array.from(groups), groupSlab: gw.take(), groupOff: Int32Array.from(groupSecs.map((s) => s.start)),
    groupLen: Int32Array.from(groupSecs.map((s) => s.len)), groupLenU: Int32Array.from(groupSecs.map((s) => s.lenU)),
    groupCount: Int32Array.from(groupSecs.map((s) => s.rrs.length)),
    authCount: auth.rrs.length, auth: auth.bytes, authLen: auth.len, authLenU: auth.lenU, authSerial: auth.serial,
    serials: auth.serial.length > 0 || serials.some((x) => x >= 0),
    fixedCount: fixed.rrs.length, fixed: fixed.bytes, fixedLen: fixed.len, fixedLenU: fixed.lenU,
    shuffle: b.shuffle, aLimit: b.aLimit, srv: b.srv, minEntry: n === 0 ? 0 : minEntry, perm,
    stamp: new Uint32Array(groupSecs.length), gen: 0, bytes,
  };
}

export interface SelectOptions {
  readonly transport: "udp" | "tcp";
  /** EDNS0 payload size or null. */
  readonly udpSize: number | null;
  readonly ecsLen: number;
  readonly config: DnsConfig;
  readonly rng: () => number;
}

/** Which entries go out: perm[0..count), whether the authority section is dropped, and the wire size. */
export interface Selection {
  count: number;
  dropAuth: boolean;
  truncated: boolean;
  /** Response bytes (compressed form) including the OPT record if any. */
  size: number;
  optLen: number;
  extraCount: number;
}

function nextGen(p: Prepared): number {
  p.gen = (p.gen + 1) >>> 0;
  if (p.gen === 0) {
    p.stamp.fill(0);
    p.gen = 1;
  }
  return p.gen;
}

/** Choose entries for one query. Mutates p.perm (shuffle) and p.stamp/p.gen; `out` is reused. */
export function select(p: Prepared, o: SelectOptions, out?: Selection): Selection {
  const sel = out ?? { count: 0, dropAuth: false, truncated: false, size: 0, optLen: 0, extraCount: 0 };
  const cfg = o.config;
  let limit = p.n;
  if (p.aLimit && cfg.aRecordLimit > 0 && limit > cfg.aRecordLimit) limit = cfg.aRecordLimit;
  let cap = limit;
  let budget: number;
  let unc = false;
  if (o.transport === "udp") {
    let maxSize = 512;
    if (o.udpSize !== null && o.udpSize > maxSize) maxSize = o.udpSize;
    if (maxSize > DNS_MAX_UDP_PAYLOAD) maxSize = DNS_MAX_UDP_PAYLOAD;
    const maxAnswers = Math.min(DNS_MAX_UDP_ANSWER_LIMIT, cfg.udpAnswerLimit);
    if (maxSize === 512 && limit > maxAnswers) {
      cap = maxAnswers;
      unc = true;
    }
    budget = maxSize - 8;
  } else {
    const pre = p.srv ? DNS_TCP_MAX_SRV_ANSWERS : DNS_TCP_MAX_ANSWERS;
    if (cap > pre) cap = pre;
    budget = DNS_TCP_MAX_RESPONSE;
  }
  // No more entries than could possibly fit (keeps the shuffle and the scan short).
  if (p.minEntry > 0) {
    const fit = Math.floor(budget / p.minEntry) + 1;
    if (cap > fit) cap = fit;
  }
  const perm = p.perm;
  if (p.shuffle) {
    const n = p.n;
    for (let i = 0; i < cap && i < n - 1; i++) {
      const j = i + Math.floor(o.rng() * (n - i));
      const t = perm[i]!;
      perm[i] = perm[j]!;
      perm[j] = t;
    }
  }
  const optLen = o.udpSize !== null ? OPT_BASE_LEN + (o.ecsLen > 0 ? 4 + o.ecsLen : 0) : 0;
  const base = HEADER_LEN + p.question.length + (unc ? p.fixedLenU : p.fixedLen) + optLen;
  const authSize = unc ? p.authLenU : p.authLen;
  const gen = nextGen(p);
  const stamp = p.stamp;
  // Walk entries in order, tracking the largest prefix that fits without the authority section.
  let total = base;
  let fitCount = 0;
  for (let i = 0; i < cap; i++) {
    const e = perm[i]!;
    total += unc ? p.ansLenU[e]! : p.ansLen[e]!;
    const g = p.group[e]!;
    if (g >= 0 && stamp[g] !== gen) {
      stamp[g] = gen;
      total += unc ? p.groupLenU[g]! : p.groupLen[g]!;
    }
    if (total <= budget) fitCount = i + 1;
  }
  let count = cap;
  let dropAuth = false;
  if (count > 1 && total + authSize > budget) {
    dropAuth = p.authLen > 0;
    count = Math.max(1, fitCount);
  }
  sel.count = count;
  sel.dropAuth = dropAuth;
  sel.truncated = count < limit;
  sel.optLen = optLen;
  // Final wire size (compressed form, as sent).
  const gen2 = nextGen(p);
  let size = HEADER_LEN + p.question.length + p.fixedLen + optLen + (dropAuth ? 0 : p.authLen);
  let extraCount = p.fixedCount;
  for (let i = 0; i < count; i++) {
    const e = perm[i]!;
    size += p.ansLen[e]!;
    const g = p.group[e]!;
    if (g >= 0 && stamp[g] !== gen2) {
      stamp[g] = gen2;
      size += p.groupLen[g]!;
      extraCount += p.groupCount[g]!;
    }
  }
  sel.size = size;
  sel.extraCount = extraCount;
  return sel;
}

/** The structured answer for a selection (resolve() and tests). */
export function materialize(p: Prepared, sel: Selection, enableTruncate: boolean): Answer {
  const r = p.records;
  if (r === null) throw new Error("materialize: the answer was prepared without its records (keepRecords)");
  const answer: Rr[] = [];
  const additional: Rr[] = [];
  const gen = nextGen(p);
  for (let i = 0; i < sel.count; i++) {
    const e = p.perm[i]!;
    answer.push(r.rrs[e]!);
    const g = p.group[e]!;
    if (g >= 0 && p.stamp[g] !== gen) {
      p.stamp[g] = gen;
      additional.push(...r.groupRrs[g]!);
    }
  }
  additional.push(...r.fixedRrs);
  return {
    kind: "response", rcode: p.rcode, aa: p.aa, ra: p.ra, tc: sel.truncated && enableTruncate,
    answer, authority: sel.dropAuth ? [] : r.authRrs, additional,
  };
}

/** Header flags for a response to a query with `qflags`. */
export function responseFlags(qflags: number, rcode: number, aa: boolean, ra: boolean, tc: boolean): number {
  const opcode = qflags & 0x7800;
  return FLAG_QR | opcode | (aa ? FLAG_AA : 0) | (tc ? FLAG_TC : 0) | (qflags & (FLAG_RD | FLAG_CD)) | (ra ? FLAG_RA : 0) | (rcode & 0xf);
}

export interface AssembleQuery {
  readonly id: number;
  readonly flags: number;
  readonly udpSize: number | null;
  readonly ecs: Buffer | null;
}

/**
 * Copy the chosen chunks into one response buffer. `serial` is the SOA serial to stamp;
 * `headroom` bytes are left free at the front (2 for the TCP length prefix, written here).
 */
export function assemble(p: Prepared, q: AssembleQuery, sel: Selection, tc: boolean, serial: number, headroom = 0): Buffer {
  const out = Buffer.allocUnsafe(sel.size + headroom);
  const h = headroom;
  if (h >= 2) put16(out, h - 2, sel.size);
  put16(out, h, q.id);
  put16(out, h + 2, responseFlags(q.flags, p.rcode, p.aa, p.ra, tc));
  put16(out, h + 4, 1);
  put16(out, h + 6, sel.count);
  put16(out, h + 8, sel.dropAuth ? 0 : p.authCount);
  put16(out, h + 10, sel.extraCount + (sel.optLen > 0 ? 1 : 0));
  let pos = h + HEADER_LEN;
  pos += copyRange(p.question, 0, p.question.length, out, pos);
  const perm = p.perm;
  for (let i = 0; i < sel.count; i++) {
    const e = perm[i]!;
    const at = pos;
    pos += copyRange(p.ansSlab, p.ansOff[e]!, p.ansLen[e]!, out, pos);
    const s = p.ansSerial[e]!;
    if (s >= 0) out.writeUInt32BE(serial >>> 0, at + s);
  }
  if (!sel.dropAuth && p.authLen > 0) {
    const at = pos;
    pos += copyRange(p.auth, 0, p.auth.length, out, pos);
    for (const s of p.authSerial) out.writeUInt32BE(serial >>> 0, at + s);
  }
  const gen = nextGen(p);
  for (let i = 0; i < sel.count; i++) {
    const g = p.group[perm[i]!]!;
    if (g >= 0 && p.stamp[g] !== gen) {
      p.stamp[g] = gen;
      pos += copyRange(p.groupSlab, p.groupOff[g]!, p.groupLen[g]!, out, pos);
    }
  }
  if (p.fixedLen > 0) pos += copyRange(p.fixed, 0, p.fixed.length, out, pos);
  if (sel.optLen > 0) pos = writeOpt(out, pos, q.udpSize ?? 512, q.ecs);
  if (pos !== out.length) throw new Error(`assertion failed: dns response size ${pos} != ${out.length}`);
  return out;
}

/** Write an OPT record echoing the client's payload size (and ECS with scope 0). */
export function writeOpt(out: Buffer, pos: number, udpSize: number, ecs: Buffer | null): number {
  out[pos++] = 0; // root
  out.writeUInt16BE(T_OPT, pos);
  out.writeUInt16BE(udpSize & 0xffff, pos + 2);
  out.writeUInt32BE(0, pos + 4);
  const rdlen = ecs !== null ? 4 + ecs.length : 0;
  out.writeUInt16BE(rdlen, pos + 8);
  pos += 10;
  if (ecs !== null) {
    out.writeUInt16BE(8, pos);
    out.writeUInt16BE(ecs.length, pos + 2);
    ecs.copy(out, pos + 4);
    out[pos + 4 + 3] = 0; // scope prefix 0: the answer is valid for every subnet
    pos += 4 + ecs.length;
  }
  return pos;
}

/** A header-only (no question) response: FORMERR for unreadable questions, REFUSED for none. */
export function bareResponse(id: number, qflags: number, rcode: number): Buffer {
  const out = Buffer.alloc(HEADER_LEN);
  out.writeUInt16BE(id, 0);
  out.writeUInt16BE(responseFlags(qflags, rcode, false, false, false), 2);
  return out;
}
