/**
 * dns/order_pool: large shuffled answers (TCP replies, or big EDNS payloads, that carry tens to
 * thousands of instances) without a per-query shuffle and per-record copy. For each prepared
 * answer a few slots each hold one random order already assembled into the bytes that follow
 * the question (answers, authority, extras); a query picks a slot at random and copies that body
 * in one go behind a fresh header and question (and OPT). A slot is re-shuffled and rebuilt after
 * DNS_ORDER_POOL_REUSE uses, so orders keep changing; the pool dies with its prepared answer
 * (a catalog change builds a new one). Small answers (UDP's three) keep the per-query path.
 * When a slot carries every instance (nothing trimmed to fit), each query also starts its answer
 * section at a random record of the slot's order (a rotation: the first record is uniform over
 * the instances on every query) and the slot is re-shuffled after DNS_ORDER_POOL_REUSE_ROTATING
 * uses instead. For TCP the reply can go out as chunks that share the slot's bytes (no copy).
 *
 * Must never: serve a body built for other selection parameters (transport budget, OPT size),
 * pool answers whose bytes depend on the clock (SOA serials) or that are not shuffled, keep
 * more than DNS_ORDER_POOL_SIZE bodies per prepared answer, rotate a slot that left instances
 * out (the rotation would change which ones are in), or write into a slot's bytes after build.
 */

import {
  DNS_ORDER_POOL_MIN_ENTRIES, DNS_ORDER_POOL_REUSE, DNS_ORDER_POOL_REUSE_ROTATING, DNS_ORDER_POOL_SIZE,
} from "../shared/limits.ts";
import {
  assemble, responseFlags, select, writeOpt, type AssembleQuery, type Prepared, type Selection, type SelectOptions,
} from "./prepared.ts";
import { HEADER_LEN, OPT_BASE_LEN } from "./wire.ts";

/** One pre-assembled order: the response bytes after the question, without OPT. */
interface Slot {
  readonly key: number;
  readonly body: Buffer;
  readonly count: number;
  readonly truncated: boolean;
  readonly nscount: number;
  /** Additional records without OPT. */
  readonly arcount: number;
  /** Where each answer record starts in `body`, and (last) where the answers end: count + 1 offsets. */
  readonly ans: Uint32Array;
  /** Every instance is in (nothing trimmed): a per-query rotation of the answers keeps the reply valid. */
  readonly rotatable: boolean;
  /** Uses before the slot is re-shuffled. */
  readonly reuse: number;
  uses: number;
}

interface Pool {
  readonly slots: (Slot | undefined)[];
}

const pools = new WeakMap<Prepared, Pool | null>();
const scratch: Selection = { count: 0, dropAuth: false, truncated: false, size: 0, optLen: 0, extraCount: 0 };
const NO_QUERY: AssembleQuery = { id: 0, flags: 0, udpSize: null, ecs: null };

/** Whether a prepared answer is served from the pool: shuffled, large, and clock-free. */
function eligible(p: Prepared): boolean {
  if (!p.shuffle || p.n < DNS_ORDER_POOL_MIN_ENTRIES || p.authSerial.length > 0) return false;
  for (let i = 0; i < p.n; i++) if (p.ansSerial[i]! >= 0) return false;
  return true;
}

function poolOf(p: Prepared): Pool | null {
  let pool = pools.get(p);
  if (pool === undefined) {
    pool = eligible(p) ? { slots: new Array<Slot | undefined>(DNS_ORDER_POOL_SIZE).fill(undefined) } : null;
    pools.set(p, pool);
  }
  return pool;
}

/** What a body depends on besides the order: the size budget (transport, EDNS size) and the OPT length. */
function selectionKey(o: SelectOptions): number {
  const udp = o.transport === "udp" ? 1 + Math.min(0xffff, o.udpSize ?? 0) : 0;
  const opt = o.udpSize !== null ? 1 + o.ecsLen : 0;
  return udp * 0x10000 + opt;
}

/** A fresh random order for `p`, assembled (the shuffle is select's, on p.perm). */
function build(p: Prepared, o: SelectOptions, key: number): Slot {
  const sel = select(p, o, scratch);
  const noOpt: Selection = { ...sel, size: sel.size - sel.optLen, optLen: 0 };
  const whole = assemble(p, NO_QUERY, noOpt, false, 0, 0);
  const ans = new Uint32Array(sel.count + 1);
  for (let i = 0; i < sel.count; i++) ans[i + 1] = ans[i]! + p.ansLen[p.perm[i]!]!;
  const rotatable = !sel.truncated && sel.count === p.n;
  return {
    key,
    body: whole.subarray(HEADER_LEN + p.question.length),
    count: sel.count,
    truncated: sel.truncated,
    nscount: sel.dropAuth ? 0 : p.authCount,
    arcount: sel.extraCount,
    ans,
    rotatable,
    reuse: rotatable ? DNS_ORDER_POOL_REUSE_ROTATING : DNS_ORDER_POOL_REUSE,
    uses: 0,
  };
}

/** The slot a query is served from (rebuilt when stale or built for other parameters), or null when `p` is not pooled. */
function slotFor(p: Prepared, o: SelectOptions): Slot | null {
  // A plain 512-byte UDP reply carries a handful of entries: the per-query shuffle is cheap there.
  if (o.transport === "udp" && (o.udpSize ?? 0) <= 512) return null;
  const pool = poolOf(p);
  if (pool === null) return null;
  const key = selectionKey(o);
  const i = Math.floor(o.rng() * DNS_ORDER_POOL_SIZE) % DNS_ORDER_POOL_SIZE;
  let slot = pool.slots[i];
  if (slot === undefined || slot.key !== key || slot.uses >= slot.reuse) {
    slot = build(p, o, key);
    pool.slots[i] = slot;
  }
  slot.uses++;
  return slot;
}

/** The answer record this query's reply starts at (0 = the slot's own order). */
function rotation(slot: Slot, o: SelectOptions): number {
  return slot.rotatable && slot.count > 1 ? Math.floor(o.rng() * slot.count) % slot.count : 0;
}

/** Header and question (with the TCP length prefix when headroom is 2) into `out`; returns the offset after them. */
function writeHead(out: Buffer, p: Prepared, q: AssembleQuery, slot: Slot, size: number, optLen: number, enableTruncate: boolean, h: number): number {
  if (h >= 2) out.writeUInt16BE(size, h - 2);
  out.writeUInt16BE(q.id, h);
  out.writeUInt16BE(responseFlags(q.flags, p.rcode, p.aa, p.ra, slot.truncated && enableTruncate), h + 2);
  out.writeUInt16BE(1, h + 4);
  out.writeUInt16BE(slot.count, h + 6);
  out.writeUInt16BE(slot.nscount, h + 8);
  out.writeUInt16BE(slot.arcount + (optLen > 0 ? 1 : 0), h + 10);
  return h + HEADER_LEN + p.question.copy(out, h + HEADER_LEN);
}

const optLenOf = (o: SelectOptions): number => (o.udpSize !== null ? OPT_BASE_LEN + (o.ecsLen > 0 ? 4 + o.ecsLen : 0) : 0);

/**
 * The response for query `q` from the pool as one buffer, or null when `p` is not pooled (the
 * caller then selects and assembles per query). `headroom` 2 writes the TCP length prefix.
 */
export function assemblePooled(
  p: Prepared, q: AssembleQuery, o: SelectOptions, enableTruncate: boolean, headroom: number,
): Buffer | null {
  const slot = slotFor(p, o);
  if (slot === null) return null;
  const k = rotation(slot, o);
  const optLen = optLenOf(o);
  const size = HEADER_LEN + p.question.length + slot.body.length + optLen;
  const out = Buffer.allocUnsafe(size + headroom);
  let pos = writeHead(out, p, q, slot, size, optLen, enableTruncate, headroom);
  const body = slot.body;
  const a = slot.ans;
  const answersEnd = a[slot.count]!;
  const cut = a[k]!;
  pos += body.copy(out, pos, cut, answersEnd);
  pos += body.copy(out, pos, 0, cut);
  pos += body.copy(out, pos, answersEnd);
  if (optLen > 0) pos = writeOpt(out, pos, q.udpSize ?? 512, q.ecs);
  if (pos !== out.length) throw new Error(`assertion failed: pooled dns response size ${pos} != ${out.length}`);
  return out;
}

/**
 * The same response as chunks to write in order (a TCP socket's writev): a fresh header and
 * question, then views of the slot's bytes (never copied, never written to), then OPT. Null
 * when `p` is not pooled.
 */
export function pooledChunks(
  p: Prepared, q: AssembleQuery, o: SelectOptions, enableTruncate: boolean, headroom: number,
): Buffer[] | null {
  const slot = slotFor(p, o);
  if (slot === null) return null;
  const k = rotation(slot, o);
  const optLen = optLenOf(o);
  const size = HEADER_LEN + p.question.length + slot.body.length + optLen;
  const head = Buffer.allocUnsafe(headroom + HEADER_LEN + p.question.length + optLen);
  writeHead(head, p, q, slot, size, optLen, enableTruncate, headroom);
  const body = slot.body;
  const answersEnd = slot.ans[slot.count]!;
  const cut = slot.ans[k]!;
  const chunks: Buffer[] = [head];
  if (k === 0) chunks.push(body);
  else {
    chunks.push(body.subarray(cut, answersEnd), body.subarray(0, cut));
    if (answersEnd < body.length) chunks.push(body.subarray(answersEnd));
  }
  if (optLen > 0) {
    // OPT goes last: write it at the end of the head buffer's spare room and send that part last.
    const at = head.length - optLen;
    writeOpt(head, at, q.udpSize ?? 512, q.ecs);
    chunks[0] = head.subarray(0, at);
    chunks.push(head.subarray(at));
  }
  return chunks;
}
