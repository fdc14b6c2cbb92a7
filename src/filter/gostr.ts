/**
 * gostr: the few pieces of Go's strconv that go-bexpr's behaviour (and its error
 * texts) depend on: Quote (for `%q`), Unquote (string literals), ParseInt with
 * base 0 (int coercion) and ParseBool (bool coercion).
 *
 * Errors are returned as values, never thrown, so callers can build Consul's
 * exact messages. Must never: do I/O or depend on anything outside this folder.
 */

export type GoResult<T> = { ok: true; value: T } | { ok: false; error: string };

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

/** Go's strconv.Quote (what fmt's %q prints for a string). */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (cp >= 0xd800 && cp <= 0xdfff) out += "\\ufffd"; // lone surrogate: Go would see U+FFFD
    else if (PRINTABLE.test(ch)) out += ch;
    else if (cp === 7) out += "\\a";
    else if (cp === 8) out += "\\b";
    else if (cp === 12) out += "\\f";
    else if (cp === 10) out += "\\n";
    else if (cp === 13) out += "\\r";
    else if (cp === 9) out += "\\t";
    else if (cp === 11) out += "\\v";
    else if (cp < 0x20 || cp === 0x7f) out += "\\x" + cp.toString(16).padStart(2, "0");
    else if (cp < 0x10000) out += "\\u" + cp.toString(16).padStart(4, "0");
    else out += "\\U" + cp.toString(16).padStart(8, "0");
  }
  return out + '"';
}

function utf8Push(bytes: number[], cp: number): void {
  if (cp < 0x80) bytes.push(cp);
  else if (cp < 0x800) bytes.push(0xc0 | (cp >> 6), 0x80 | (cp & 63));
  else if (cp < 0x10000) bytes.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
  else bytes.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 63), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
}

const SIMPLE_ESCAPES: Readonly<Record<string, number>> = {
  a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, "\\": 92, '"': 34,
};
const SYNTAX: GoResult<string> = { ok: false, error: "invalid syntax" };

/**
 * Go's strconv.Unquote for the two forms go-bexpr's grammar produces:
 * `raw` (carriage returns dropped) and "interpreted" (Go escapes; no raw newline).
 * \x and octal escapes make single bytes, as in Go; the byte string is decoded as
 * UTF-8 (invalid sequences become U+FFFD, where Go would keep the raw bytes).
 */
export function goUnquote(text: string): GoResult<string> {
  if (text.length < 2) return SYNTAX;
  const q = text[0];
  if (q !== text[text.length - 1]) return SYNTAX;
  const body = text.slice(1, -1);
  if (q === "`") {
    if (body.includes("`")) return SYNTAX;
    return { ok: true, value: body.replaceAll("\r", "") };
  }
  if (q !== '"') return SYNTAX;
  if (body.includes("\n")) return SYNTAX;
  if (!body.includes("\\") && !body.includes('"')) return { ok: true, value: body };
  const cps = Array.from(body, (c) => c.codePointAt(0) ?? 0);
  const bytes: number[] = [];
  let i = 0;
  const hex = (n: number): number => {
    if (i + n > cps.length) return -1;
    let v = 0;
    for (let k = 0; k < n; k++) {
      const d = parseInt(String.fromCodePoint(cps[i + k] ?? 0), 16);
      if (Number.isNaN(d)) return -1;
      v = v * 16 + d;
    }
    i += n;
    return v;
  };
  while (i < cps.length) {
    const c = cps[i++] ?? 0;
    if (c === 34) return SYNTAX; // unescaped quote
    if (c !== 92) {
      utf8Push(bytes, c);
      continue;
    }
    if (i >= cps.length) return SYNTAX;
    const e = String.fromCodePoint(cps[i++] ?? 0);
    const simple = SIMPLE_ESCAPES[e];
    if (simple !== undefined) {
      bytes.push(simple);
    } else if (e === "x") {
      const v = hex(2);
      if (v < 0) return SYNTAX;
      bytes.push(v);
    } else if (e === "u" || e === "U") {
      const v = hex(e === "u" ? 4 : 8);
      if (v < 0 || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return SYNTAX;
      utf8Push(bytes, v);
    } else if (e >= "0" && e <= "7") {
      let v = e.charCodeAt(0) - 48;
      for (let k = 0; k < 2; k++) {
        const d = (cps[i] ?? 0) - 48;
        if (d < 0 || d > 7) return SYNTAX;
        v = v * 8 + d;
        i++;
      }
      if (v > 255) return SYNTAX;
      bytes.push(v);
    } else {
      return SYNTAX; // includes \' which Go accepts only in rune literals
    }
  }
  return { ok: true, value: new TextDecoder("utf-8").decode(Uint8Array.from(bytes)) };
}

/** Go's underscoreOK: '_' only between digits (or right after a base prefix). */
function underscoreOK(s: string): boolean {
  let saw = "^";
  let i = 0;
  if (s[0] === "+" || s[0] === "-") s = s.slice(1);
  let hexPrefix = false;
  if (s.length >= 2 && s[0] === "0") {
    const p = (s[1] ?? "").toLowerCase();
    if (p === "x" || p === "o" || p === "b") {
      i = 2;
      saw = "0";
      hexPrefix = p === "x";
    }
  }
  for (; i < s.length; i++) {
    const c = s[i] ?? "";
    if ((c >= "0" && c <= "9") || (hexPrefix && /[a-fA-F]/.test(c))) {
      saw = "0";
      continue;
    }
    if (c === "_") {
      if (saw !== "0") return false;
      saw = "_";
      continue;
    }
    if (saw === "_") return false;
    saw = "!";
  }
  return saw !== "_";
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Go's strconv.ParseInt(s, 0, 64) (CoerceInt on a 64-bit platform). */
export function goParseInt(s: string): GoResult<bigint> {
  const fail = (why: string): GoResult<bigint> => ({
    ok: false,
    error: `strconv.ParseInt: parsing ${goQuote(s)}: ${why}`,
  });
  if (s === "") return fail("invalid syntax");
  let body = s;
  let neg = false;
  if (body[0] === "+" || body[0] === "-") {
    neg = body[0] === "-";
    body = body.slice(1);
  }
  let base = 10;
  let digits = body;
  if (body[0] === "0") {
    const p = (body[1] ?? "").toLowerCase();
    if (body.length >= 3 && p === "x") [base, digits] = [16, body.slice(2)];
    else if (body.length >= 3 && p === "o") [base, digits] = [8, body.slice(2)];
    else if (body.length >= 3 && p === "b") [base, digits] = [2, body.slice(2)];
    else [base, digits] = [8, body.slice(1)];
  }
  if (digits === "" && base !== 8) return fail("invalid syntax");
  let underscores = false;
  let n = 0n;
  let overflow = false;
  const limit = 2n ** 64n; // ParseUint range, checked before the sign is applied
  for (const c of digits) {
    if (c === "_") {
      underscores = true;
      continue;
    }
    const d = parseInt(c, 36);
    if (Number.isNaN(d) || d >= base) return fail("invalid syntax");
    n = n * BigInt(base) + BigInt(d);
    if (n >= limit) overflow = true;
  }
  if (underscores && !underscoreOK(s)) return fail("invalid syntax");
  if (overflow) return fail("value out of range");
  const v = neg ? -n : n;
  if (v < INT64_MIN || v > INT64_MAX) return fail("value out of range");
  return { ok: true, value: v };
}

/** Go's strconv.ParseBool. */
export function goParseBool(s: string): GoResult<boolean> {
  switch (s) {
    case "1": case "t": case "T": case "TRUE": case "true": case "True":
      return { ok: true, value: true };
    case "0": case "f": case "F": case "FALSE": case "false": case "False":
      return { ok: true, value: false };
    default:
      return { ok: false, error: `strconv.ParseBool: parsing ${goQuote(s)}: invalid syntax` };
  }
}
