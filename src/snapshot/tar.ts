/**
 * snapshot/tar: a tiny ustar writer and reader, for the three regular files of a
 * snapshot archive (meta.json, state.bin, SHA256SUMS). Enough of POSIX ustar to
 * write what Go's archive/tar writes for Consul (512-byte headers, octal fields,
 * "ustar\0" "00" magic, two zero blocks at the end) and to read it back.
 *
 * Reading follows Go's archive/tar where it matters: a header with a bad
 * checksum is "archive/tar: invalid tar header", a stream cut inside a header or
 * a member's data is "unexpected EOF", end of input at a header boundary or a
 * zero block ends the archive. Only regular files are accepted (type '0' or NUL).
 *
 * Must never: read a member whose declared size is over the caller's limit (it is
 * refused from its header, before any of its data), accept more members than the
 * caller allows, or read past the input.
 */

const BLOCK = 512;
const NAME_LEN = 100;
const MAGIC_USTAR = "ustar\0";

export class TarError extends Error {
  /** A member or the member count is over the caller's limit (not a malformed stream). */
  readonly tooLarge: boolean;
  constructor(message: string, tooLarge = false) {
    super(message);
    this.name = "TarError";
    this.tooLarge = tooLarge;
  }
}

export interface TarMember {
  readonly name: string;
  readonly data: Uint8Array;
}

export interface TarLimits {
  /** Largest member (declared size) accepted. */
  readonly maxMemberBytes: number;
  /** Most members accepted. */
  readonly maxMembers: number;
}

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: false });

function putString(h: Uint8Array, off: number, len: number, s: string): void {
  const b = enc.encode(s);
  if (b.length > len) throw new TarError(`tar: field ${JSON.stringify(s)} is longer than ${len} bytes`);
  h.set(b, off);
}

/** An octal field of `len` bytes: len-1 zero-padded digits and a NUL (as Go's formatOctal). */
function putOctal(h: Uint8Array, off: number, len: number, v: number): void {
  const digits = v.toString(8);
  if (digits.length > len - 1) throw new TarError(`tar: value ${v} does not fit a ${len}-byte octal field`);
  putString(h, off, len, digits.padStart(len - 1, "0") + "\0");
}

function headerSum(h: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
  return sum;
}

/** Go's signed checksum variant (some old tars computed it over signed bytes). */
function headerSumSigned(h: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : h[i]!;
    sum += b >= 0x80 ? b - 0x100 : b;
  }
  return sum;
}

function header(name: string, size: number, mtimeSec: number): Uint8Array {
  if (name === "" || enc.encode(name).length > NAME_LEN) throw new TarError(`tar: bad member name ${JSON.stringify(name)}`);
  const h = new Uint8Array(BLOCK);
  putString(h, 0, NAME_LEN, name);
  putOctal(h, 100, 8, 0o600); // mode
  putOctal(h, 108, 8, 0); // uid
  putOctal(h, 116, 8, 0); // gid
  putOctal(h, 124, 12, size);
  putOctal(h, 136, 12, Math.max(0, Math.floor(mtimeSec)));
  h[156] = 0x30; // typeflag '0': regular file
  putString(h, 257, 6, MAGIC_USTAR);
  putString(h, 263, 2, "00");
  putOctal(h, 148, 7, headerSum(h)); // 6 digits + NUL ...
  h[155] = 0x20; // ... + space, as Go writes it
  return h;
}

/** A ustar stream holding `members` as regular files (mode 0600, mtime `mtimeSec`). */
export function writeTar(members: readonly TarMember[], mtimeSec: number): Uint8Array {
  let total = 2 * BLOCK;
  for (const m of members) total += BLOCK + Math.ceil(m.data.length / BLOCK) * BLOCK;
  const out = new Uint8Array(total); // zero-filled: padding and the end blocks come free
  let off = 0;
  for (const m of members) {
    out.set(header(m.name, m.data.length, mtimeSec), off);
    off += BLOCK;
    out.set(m.data, off);
    off += Math.ceil(m.data.length / BLOCK) * BLOCK;
  }
  return out;
}

function cString(b: Uint8Array): string {
  const z = b.indexOf(0);
  return dec.decode(z === -1 ? b : b.subarray(0, z));
}

/** Go's parseOctal: spaces and NULs around the digits are ignored. */
function parseOctal(b: Uint8Array): number {
  if (b.length > 0 && (b[0]! & 0x80) !== 0) throw new TarError("archive/tar: invalid tar header"); // base-256: not written by Consul or cairn
  const s = cString(b).trim();
  if (s === "") return 0;
  if (!/^[0-7]+$/.test(s)) throw new TarError("archive/tar: invalid tar header");
  const v = parseInt(s, 8);
  if (!Number.isSafeInteger(v)) throw new TarError("archive/tar: invalid tar header");
  return v;
}

function isZero(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

export interface TarRead {
  readonly members: TarMember[];
  /** Offset just past the end-of-archive marker (bytes after it were not read). */
  readonly end: number;
}

/**
 * The regular-file members of a ustar stream, in order. Data are views of `bytes`.
 * Throws TarError on a malformed, truncated or over-limit stream.
 */
export function readTar(bytes: Uint8Array, limits: TarLimits): TarRead {
  const out: TarMember[] = [];
  let off = 0;
  for (;;) {
    if (off === bytes.length) return { members: out, end: off }; // EOF at a header boundary: Go's io.EOF
    if (off + BLOCK > bytes.length) throw new TarError("unexpected EOF");
    const h = bytes.subarray(off, off + BLOCK);
    if (isZero(h)) {
      // End of archive; a second block, when present, must be zero too.
      const next = off + BLOCK;
      if (next === bytes.length) return { members: out, end: next };
      if (next + BLOCK > bytes.length) throw new TarError("unexpected EOF");
      if (!isZero(bytes.subarray(next, next + BLOCK))) throw new TarError("archive/tar: invalid tar header");
      return { members: out, end: next + BLOCK };
    }
    const stored = parseOctal(h.subarray(148, 156));
    if (stored !== headerSum(h) && stored !== headerSumSigned(h)) throw new TarError("archive/tar: invalid tar header");
    let name = cString(h.subarray(0, NAME_LEN));
    const magic = cString(h.subarray(257, 263));
    if (magic === "ustar") {
      const prefix = cString(h.subarray(345, 500));
      if (prefix !== "") name = `${prefix}/${name}`;
    }
    const type = h[156]!;
    if (type !== 0x30 && type !== 0) {
      throw new TarError(`unsupported tar member type ${JSON.stringify(String.fromCharCode(type))} for ${JSON.stringify(name)} (only regular files)`);
    }
    const size = parseOctal(h.subarray(124, 136));
    if (size > limits.maxMemberBytes) {
      throw new TarError(`tar member ${JSON.stringify(name)} is too large (${size} bytes; the limit is ${limits.maxMemberBytes})`, true);
    }
    if (out.length >= limits.maxMembers) throw new TarError(`too many tar members (the limit is ${limits.maxMembers})`, true);
    const start = off + BLOCK;
    if (start + size > bytes.length) throw new TarError("unexpected EOF");
    out.push({ name, data: bytes.subarray(start, start + size) });
    off = start + Math.ceil(size / BLOCK) * BLOCK;
    // The final padding may be missing only if the stream ends right after the data.
    if (off > bytes.length) throw new TarError("unexpected EOF");
  }
}
