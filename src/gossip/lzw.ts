/**
 * gossip/lzw: Go's compress/lzw in LSB order with 8-bit literals, as memberlist uses it
 * (clear code 256, EOF 257, codes of 9 to 12 bits, a clear code first as Go >= 1.17
 * writes, a clear code and reset when code 4095 is reached). The writer emits the same
 * bytes as Go's writer; the reader accepts any conforming stream.
 *
 * Must never: read past its input, or produce more than the caller's output limit.
 */

import { CairnError } from "../shared/errors.ts";

const LIT_WIDTH = 8;
const CLEAR = 1 << LIT_WIDTH; // 256
const EOF = CLEAR + 1; // 257
const MAX_WIDTH = 12;
const MAX_CODE = (1 << MAX_WIDTH) - 1; // 4095

class BitWriterLsb {
  readonly out: number[] = [];
  bits = 0;
  nBits = 0;
  width = LIT_WIDTH + 1;

  write(code: number): void {
    this.bits |= code << this.nBits;
    this.nBits += this.width;
    while (this.nBits >= 8) {
      this.out.push(this.bits & 0xff);
      this.bits >>>= 8;
      this.nBits -= 8;
    }
  }
}

/** Compresses like `lzw.NewWriter(w, lzw.LSB, 8)` followed by Write(all) and Close(). */
export function lzwCompress(input: Uint8Array): Uint8Array {
  const w = new BitWriterLsb();
  let hi = EOF;
  let overflow = 1 << (LIT_WIDTH + 1);
  let table = new Map<number, number>();
  // Go's incHi: the next implied code; widen at the overflow, clear and reset at MAX_CODE.
  const incHi = (): boolean => {
    hi++;
    if (hi === overflow) {
      w.width++;
      overflow <<= 1;
    }
    if (hi === MAX_CODE) {
      w.write(CLEAR);
      w.width = LIT_WIDTH + 1;
      hi = CLEAR + 1;
      overflow = CLEAR << 1;
      table = new Map();
      return false;
    }
    return true;
  };
  w.write(CLEAR);
  if (input.length > 0) {
    let code = input[0] ?? 0;
    for (let i = 1; i < input.length; i++) {
      const lit = input[i] ?? 0;
      const key = code * 256 + lit;
      const hit = table.get(key);
      if (hit !== undefined) {
        code = hit;
        continue;
      }
      w.write(code);
      code = lit;
      if (incHi()) table.set(key, hi);
    }
    w.write(code);
    incHi();
  }
  w.write(EOF);
  if (w.nBits > 0) w.out.push(w.bits & 0xff);
  return Uint8Array.from(w.out);
}

function lzwError(message: string): CairnError {
  return new CairnError("bad-request", `lzw: ${message}`);
}

/** Decompresses a Go LSB/8 LZW stream; refuses output larger than maxOut bytes. */
export function lzwDecompress(input: Uint8Array, maxOut: number): Uint8Array {
  const prefix = new Uint16Array(1 << MAX_WIDTH);
  const suffix = new Uint8Array(1 << MAX_WIDTH);
  let out = new Uint8Array(Math.max(64, Math.min(maxOut, input.length * 4)));
  let o = 0;
  const scratch = new Uint8Array(1 << MAX_WIDTH);
  let bits = 0;
  let nBits = 0;
  let pos = 0;
  let width = LIT_WIDTH + 1;
  let hi = EOF;
  let overflow = 1 << width;
  let last = -1;
  const push = (src: Uint8Array, from: number, to: number): void => {
    const n = to - from;
    if (o + n > maxOut) throw lzwError(`output exceeds ${maxOut} bytes`);
    if (o + n > out.length) {
      const next = new Uint8Array(Math.min(maxOut, Math.max(out.length * 2, o + n)));
      next.set(out.subarray(0, o));
      out = next;
    }
    out.set(src.subarray(from, to), o);
    o += n;
  };
  for (;;) {
    while (nBits < width) {
      if (pos >= input.length) throw lzwError("unexpected end of stream");
      bits |= (input[pos++] ?? 0) << nBits;
      nBits += 8;
    }
    const code = bits & ((1 << width) - 1);
    bits >>>= width;
    nBits -= width;
    if (code === CLEAR) {
      width = LIT_WIDTH + 1;
      hi = EOF;
      overflow = 1 << width;
      last = -1;
      continue;
    }
    if (code === EOF) break;
    if (code < CLEAR) {
      scratch[0] = code;
      push(scratch, 0, 1);
      if (last !== -1) {
        suffix[hi] = code;
        prefix[hi] = last;
      }
    } else if (code <= hi) {
      let i = scratch.length - 1;
      let c = code;
      if (code === hi) {
        if (last === -1) throw lzwError("invalid code");
        let h = last;
        while (h >= CLEAR) h = prefix[h] ?? 0;
        scratch[i--] = h;
        c = last;
      }
      while (c >= CLEAR) {
        scratch[i--] = suffix[c] ?? 0;
        c = prefix[c] ?? 0;
      }
      scratch[i] = c;
      push(scratch, i, scratch.length);
      if (last !== -1) {
        suffix[hi] = c;
        prefix[hi] = last;
      }
    } else {
      throw lzwError("invalid code");
    }
    last = code;
    hi++;
    if (hi >= overflow) {
      if (width === MAX_WIDTH) {
        last = -1;
        hi--;
      } else {
        width++;
        overflow = 1 << width;
      }
    }
  }
  return out.slice(0, o);
}
