/**
 * gossip/msgpack: a small msgpack codec that writes exactly what hashicorp/go-msgpack
 * (`codec.MsgpackHandle{}`, WriteExt=false) writes for memberlist and serf.
 *
 * Encoding rules (checked against the wire captures): strings and byte slices are both
 * old-spec "raw" (fixraw a0-bf, raw16 da, raw32 db); non-negative integers use the
 * smallest unsigned form, negatives the smallest signed form; floats are float64 (cb);
 * maps are written in the order given (callers pass Go's sorted field order, or the
 * order a Go map was decoded in so re-encoding is byte-exact). Decoding is lenient:
 * str8/str16/str32 and bin8/16/32 are read as raw, any integer width is accepted.
 *
 * Must never: emit str8 (d9) or bin (c4-c6), extension types, or do I/O.
 */

import { CairnError } from "../shared/errors.ts";

/** A float read from or to be written to the wire (kept apart from integers for exact re-encoding). */
export class MsgFloat {
  readonly value: number;
  readonly size: 4 | 8;
  constructor(value: number, size: 4 | 8 = 8) {
    this.value = value;
    this.size = size;
  }
}

/** A decoded msgpack value. Raw (string or bytes) is always Uint8Array; maps keep wire order. */
export type MsgValue =
  | null
  | boolean
  | number
  | bigint
  | MsgFloat
  | Uint8Array
  | MsgValue[]
  | Map<string, MsgValue>;

const utf8Enc = new TextEncoder();
const utf8Dec = new TextDecoder();

export function utf8(s: string): Uint8Array {
  return utf8Enc.encode(s);
}

export function fromUtf8(b: Uint8Array): string {
  return utf8Dec.decode(b);
}

function codecError(message: string): CairnError {
  return new CairnError("bad-request", `msgpack: ${message}`);
}

/** Growable byte writer used by all encoders of this folder. */
export class ByteWriter {
  #buf: Uint8Array;
  #view: DataView;
  #len = 0;

  constructor(initial = 256) {
    this.#buf = new Uint8Array(initial);
    this.#view = new DataView(this.#buf.buffer);
  }

  get length(): number {
    return this.#len;
  }

  #ensure(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    let cap = this.#buf.length * 2;
    while (cap < this.#len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }

  u8(v: number): void {
    this.#ensure(1);
    this.#buf[this.#len++] = v & 0xff;
  }

  u16(v: number): void {
    this.#ensure(2);
    this.#view.setUint16(this.#len, v);
    this.#len += 2;
  }

  u32(v: number): void {
    this.#ensure(4);
    this.#view.setUint32(this.#len, v >>> 0);
    this.#len += 4;
  }

  u64(v: bigint): void {
    this.#ensure(8);
    this.#view.setBigUint64(this.#len, v);
    this.#len += 8;
  }

  i8(v: number): void {
    this.#ensure(1);
    this.#view.setInt8(this.#len, v);
    this.#len += 1;
  }

  i16(v: number): void {
    this.#ensure(2);
    this.#view.setInt16(this.#len, v);
    this.#len += 2;
  }

  i32(v: number): void {
    this.#ensure(4);
    this.#view.setInt32(this.#len, v);
    this.#len += 4;
  }

  i64(v: bigint): void {
    this.#ensure(8);
    this.#view.setBigInt64(this.#len, v);
    this.#len += 8;
  }

  f32(v: number): void {
    this.#ensure(4);
    this.#view.setFloat32(this.#len, v);
    this.#len += 4;
  }

  f64(v: number): void {
    this.#ensure(8);
    this.#view.setFloat64(this.#len, v);
    this.#len += 8;
  }

  bytes(b: Uint8Array): void {
    this.#ensure(b.length);
    this.#buf.set(b, this.#len);
    this.#len += b.length;
  }

  finish(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }
}

// ---------------------------------------------------------------- encoding

export function writeNil(w: ByteWriter): void {
  w.u8(0xc0);
}

export function writeBool(w: ByteWriter, v: boolean): void {
  w.u8(v ? 0xc3 : 0xc2);
}

/** Integer in go-msgpack's smallest form: unsigned for v >= 0, signed for v < 0. */
export function writeInt(w: ByteWriter, v: number | bigint): void {
  if (typeof v === "number") {
    if (!Number.isInteger(v)) throw codecError(`not an integer: ${v}`);
    if (!Number.isSafeInteger(v)) return writeInt(w, BigInt(v));
    if (v >= 0) {
      if (v < 0x80) w.u8(v);
      else if (v < 0x100) (w.u8(0xcc), w.u8(v));
      else if (v < 0x10000) (w.u8(0xcd), w.u16(v));
      else if (v < 0x100000000) (w.u8(0xce), w.u32(v));
      else (w.u8(0xcf), w.u64(BigInt(v)));
      return;
    }
    if (v >= -32) w.u8(0xe0 | (v + 32));
    else if (v >= -128) (w.u8(0xd0), w.i8(v));
    else if (v >= -32768) (w.u8(0xd1), w.i16(v));
    else if (v >= -2147483648) (w.u8(0xd2), w.i32(v));
    else (w.u8(0xd3), w.i64(BigInt(v)));
    return;
  }
  if (v >= 0n) {
    if (v <= BigInt(Number.MAX_SAFE_INTEGER)) return writeInt(w, Number(v));
    if (v > 0xffffffffffffffffn) throw codecError("integer too large");
    w.u8(0xcf);
    w.u64(v);
    return;
  }
  if (v >= BigInt(Number.MIN_SAFE_INTEGER)) return writeInt(w, Number(v));
  w.u8(0xd3);
  w.i64(v);
}

export function writeFloat(w: ByteWriter, f: MsgFloat): void {
  if (f.size === 4) (w.u8(0xca), w.f32(f.value));
  else (w.u8(0xcb), w.f64(f.value));
}

/** Old-spec raw header (fixraw / raw16 / raw32). */
export function writeRawHeader(w: ByteWriter, n: number): void {
  if (n < 32) w.u8(0xa0 | n);
  else if (n < 0x10000) (w.u8(0xda), w.u16(n));
  else (w.u8(0xdb), w.u32(n));
}

export function writeRaw(w: ByteWriter, b: Uint8Array): void {
  writeRawHeader(w, b.length);
  w.bytes(b);
}

export function writeStr(w: ByteWriter, s: string): void {
  writeRaw(w, utf8(s));
}

/** A Go `[]byte`: nil slice is msgpack nil, anything else (even empty) is raw. */
export function writeBytesOrNil(w: ByteWriter, b: Uint8Array | null): void {
  if (b === null) writeNil(w);
  else writeRaw(w, b);
}

export function writeArrayHeader(w: ByteWriter, n: number): void {
  if (n < 16) w.u8(0x90 | n);
  else if (n < 0x10000) (w.u8(0xdc), w.u16(n));
  else (w.u8(0xdd), w.u32(n));
}

export function writeMapHeader(w: ByteWriter, n: number): void {
  if (n < 16) w.u8(0x80 | n);
  else if (n < 0x10000) (w.u8(0xde), w.u16(n));
  else (w.u8(0xdf), w.u32(n));
}

/** Writes any decoded value back (maps in their stored order). */
export function writeValue(w: ByteWriter, v: MsgValue): void {
  if (v === null) return writeNil(w);
  if (typeof v === "boolean") return writeBool(w, v);
  if (typeof v === "number" || typeof v === "bigint") return writeInt(w, v);
  if (v instanceof MsgFloat) return writeFloat(w, v);
  if (v instanceof Uint8Array) return writeRaw(w, v);
  if (Array.isArray(v)) {
    writeArrayHeader(w, v.length);
    for (const x of v) writeValue(w, x);
    return;
  }
  writeMapHeader(w, v.size);
  for (const [k, x] of v) {
    writeStr(w, k);
    writeValue(w, x);
  }
}

export function encodeValue(v: MsgValue): Uint8Array {
  const w = new ByteWriter();
  writeValue(w, v);
  return w.finish();
}

// ---------------------------------------------------------------- decoding

/** Sequential reader over one buffer; `pos` is where the next value starts. */
export class ByteReader {
  readonly buf: Uint8Array;
  readonly view: DataView;
  pos: number;

  constructor(buf: Uint8Array, pos = 0) {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = pos;
  }

  need(n: number): void {
    if (this.pos + n > this.buf.length) throw codecError(`truncated input at ${this.pos} (+${n})`);
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++] ?? 0;
  }

  u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }

  take(n: number): Uint8Array {
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  rest(): Uint8Array {
    const b = this.buf.subarray(this.pos);
    this.pos = this.buf.length;
    return b;
  }
}

function narrow(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

const MAX_DEPTH = 32;

/** Reads one value. Raw/str/bin become Uint8Array copies-free views; map keys become strings. */
export function readValue(r: ByteReader, depth = 0): MsgValue {
  if (depth > MAX_DEPTH) throw codecError("nesting too deep");
  const b = r.u8();
  if (b < 0x80) return b;
  if (b >= 0xe0) return b - 0x100;
  if (b >= 0xa0 && b <= 0xbf) return r.take(b & 0x1f);
  if (b >= 0x90 && b <= 0x9f) return readArray(r, b & 0x0f, depth);
  if (b >= 0x80 && b <= 0x8f) return readMap(r, b & 0x0f, depth);
  switch (b) {
    case 0xc0: return null;
    case 0xc2: return false;
    case 0xc3: return true;
    case 0xc4: case 0xd9: return r.take(r.u8());
    case 0xc5: case 0xda: return r.take(r.u16());
    case 0xc6: case 0xdb: return r.take(r.u32());
    case 0xca: { r.need(4); const f = r.view.getFloat32(r.pos); r.pos += 4; return new MsgFloat(f, 4); }
    case 0xcb: { r.need(8); const f = r.view.getFloat64(r.pos); r.pos += 8; return new MsgFloat(f, 8); }
    case 0xcc: return r.u8();
    case 0xcd: return r.u16();
    case 0xce: return r.u32();
    case 0xcf: { r.need(8); const v = r.view.getBigUint64(r.pos); r.pos += 8; return narrow(v); }
    case 0xd0: { r.need(1); const v = r.view.getInt8(r.pos); r.pos += 1; return v; }
    case 0xd1: { r.need(2); const v = r.view.getInt16(r.pos); r.pos += 2; return v; }
    case 0xd2: { r.need(4); const v = r.view.getInt32(r.pos); r.pos += 4; return v; }
    case 0xd3: { r.need(8); const v = r.view.getBigInt64(r.pos); r.pos += 8; return narrow(v); }
    case 0xdc: return readArray(r, r.u16(), depth);
    case 0xdd: return readArray(r, r.u32(), depth);
    case 0xde: return readMap(r, r.u16(), depth);
    case 0xdf: return readMap(r, r.u32(), depth);
    default: throw codecError(`unsupported type byte 0x${b.toString(16)} at ${r.pos - 1}`);
  }
}

function readArray(r: ByteReader, n: number, depth: number): MsgValue[] {
  if (n > r.buf.length - r.pos) throw codecError("array longer than input");
  const out: MsgValue[] = [];
  for (let i = 0; i < n; i++) out.push(readValue(r, depth + 1));
  return out;
}

function readMap(r: ByteReader, n: number, depth: number): Map<string, MsgValue> {
  if (n * 2 > r.buf.length - r.pos) throw codecError("map longer than input");
  const out = new Map<string, MsgValue>();
  for (let i = 0; i < n; i++) {
    const k = readValue(r, depth + 1);
    const key = k instanceof Uint8Array ? fromUtf8(k) : String(k);
    out.set(key, readValue(r, depth + 1));
  }
  return out;
}

export function decodeValue(buf: Uint8Array): MsgValue {
  const r = new ByteReader(buf);
  const v = readValue(r);
  if (r.pos !== buf.length) throw codecError(`${buf.length - r.pos} trailing bytes`);
  return v;
}

// ---------------------------------------------------------------- typed field access

export function asMap(v: MsgValue, what: string): Map<string, MsgValue> {
  if (v instanceof Map) return v;
  throw codecError(`${what}: expected a map`);
}

export function fieldUint(m: Map<string, MsgValue>, key: string, dflt = 0): number {
  const v = m.get(key);
  if (v === undefined || v === null) return dflt;
  if (typeof v === "number" && Number.isInteger(v) && v >= 0) return v;
  throw codecError(`field ${key}: expected an unsigned integer`);
}

export function fieldBool(m: Map<string, MsgValue>, key: string): boolean {
  const v = m.get(key);
  if (v === undefined || v === null) return false;
  if (typeof v === "boolean") return v;
  throw codecError(`field ${key}: expected a bool`);
}

export function fieldStr(m: Map<string, MsgValue>, key: string): string {
  const v = m.get(key);
  if (v === undefined || v === null) return "";
  if (v instanceof Uint8Array) return fromUtf8(v);
  throw codecError(`field ${key}: expected a string`);
}

/** A Go `[]byte` field: nil stays null, absent is undefined. */
export function fieldBytes(m: Map<string, MsgValue>, key: string): Uint8Array | null | undefined {
  const v = m.get(key);
  if (v === undefined) return undefined;
  if (v === null) return null;
  if (v instanceof Uint8Array) return v;
  if (Array.isArray(v) && v.every((x) => typeof x === "number")) return Uint8Array.from(v as number[]);
  throw codecError(`field ${key}: expected bytes`);
}
