/**
 * http/json: hand-built JSON in the exact shape Go's encoding/json gives Consul's responses.
 *
 * Strings are escaped like Go (<, >, & as \u003c \u003e \u0026, U+2028/2029, control
 * characters, lone surrogates -> \ufffd), KV entries keep Consul's field order and print
 * the uint64 Flags as a bare integer, and `indentJson` re-indents compact JSON the way
 * json.MarshalIndent(v, "", "    ") does. Hot paths (KV entries) never go through
 * JSON.stringify.
 *
 * Must never: do I/O, or print a bigint through JSON.stringify (it throws).
 */

import type { KVEntry } from "../state/types.ts";

// Anything that needs escaping in Go's output: quote, backslash, controls, <>&, U+2028/9, surrogates.
const NEEDS_ESCAPE = /["\\\u0000-\u001f<>&\u2028\u2029\ud800-\udfff]/;
const HEX = "0123456789abcdef";

function u4(code: number): string {
  return "\\u" + HEX[(code >> 12) & 15] + HEX[(code >> 8) & 15] + HEX[(code >> 4) & 15] + HEX[code & 15];
}

/** A JSON string literal exactly as Go's encoding/json writes it (HTML-safe escaping on). */
export function jsonString(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return '"' + s + '"';
  let out = '"';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let rep: string | undefined;
    if (c < 0x20) {
      switch (c) {
        case 0x08: rep = "\\b"; break;
        case 0x0c: rep = "\\f"; break;
        case 0x0a: rep = "\\n"; break;
        case 0x0d: rep = "\\r"; break;
        case 0x09: rep = "\\t"; break;
        default: rep = u4(c);
      }
    } else if (c === 0x22) rep = '\\"';
    else if (c === 0x5c) rep = "\\\\";
    else if (c === 0x3c || c === 0x3e || c === 0x26 || c === 0x2028 || c === 0x2029) rep = u4(c);
    else if (c >= 0xd800 && c <= 0xdbff) {
      const d = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (d >= 0xdc00 && d <= 0xdfff) {
        i++; // valid pair: keep as is
        continue;
      }
      rep = "\\ufffd";
    } else if (c >= 0xdc00 && c <= 0xdfff) rep = "\\ufffd";
    if (rep !== undefined) {
      out += s.slice(start, i) + rep;
      start = i + 1;
    }
  }
  return out + s.slice(start) + '"';
}

/** Base64 of a byte view without copying it. */
export function base64(value: Uint8Array): string {
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64");
}

/** One structs.DirEntry: LockIndex, Key, Flags, Value, Session (omitempty), CreateIndex, ModifyIndex. */
export function renderEntry(e: KVEntry, withValue = true): string {
  const value = withValue && e.value.byteLength > 0 ? '"' + base64(e.value) + '"' : "null";
  const session = e.session === "" ? "" : ',"Session":' + jsonString(e.session);
  return (
    '{"LockIndex":' + e.lockIndex +
    ',"Key":' + jsonString(e.key) +
    ',"Flags":' + e.flags.toString() +
    ',"Value":' + value +
    session +
    ',"CreateIndex":' + e.createIndex +
    ',"ModifyIndex":' + e.modifyIndex + "}"
  );
}

export function renderEntries(entries: readonly KVEntry[]): string {
  let out = "[";
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    if (e === undefined) continue;
    if (i > 0) out += ",";
    out += renderEntry(e);
  }
  return out + "]";
}

export function renderStrings(xs: readonly string[]): string {
  let out = "[";
  for (let i = 0; i < xs.length; i++) {
    if (i > 0) out += ",";
    out += jsonString(xs[i] ?? "");
  }
  return out + "]";
}

/** A Go map[string]string: keys sorted, as encoding/json writes maps. */
export function renderStringMap(m: Readonly<Record<string, string>>): string {
  const keys = Object.keys(m).sort(goStringLess);
  let out = "{";
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] ?? "";
    if (i > 0) out += ",";
    out += jsonString(k) + ":" + jsonString(m[k] ?? "");
  }
  return out + "}";
}

/** Go sorts map keys by byte order of UTF-8; for BMP-only strings code-unit order matches. */
export function goStringLess(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A float64 as Go's encoding/json prints it ('f' format unless the exponent is < -6 or >= 21,
 * then 'e' with at least two exponent digits).
 */
export function goFloat(x: number): string {
  if (!Number.isFinite(x)) return "0";
  const abs = Math.abs(x);
  if (abs !== 0 && (abs < 1e-6 || abs >= 1e21)) {
    const s = x.toExponential(); // like 1.5e-7
    return s.replace(/e([+-])(\d)$/, "e$10$2");
  }
  return String(x);
}

/**
 * Re-indent compact JSON like json.MarshalIndent(v, "", "    "): one element per line,
 * "key": value, empty arrays/objects stay `[]`/`{}`. No trailing newline (callers add it).
 */
export function indentJson(compact: string): string {
  let out = "";
  let depth = 0;
  let i = 0;
  const n = compact.length;
  const nl = (d: number): string => "\n" + "    ".repeat(d);
  while (i < n) {
    const c = compact[i] as string;
    if (c === '"') {
      let j = i + 1;
      while (j < n) {
        const cj = compact[j];
        if (cj === "\\") j += 2;
        else if (cj === '"') break;
        else j++;
      }
      out += compact.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    if (c === "{" || c === "[") {
      const close = c === "{" ? "}" : "]";
      if (compact[i + 1] === close) {
        out += c + close;
        i += 2;
        continue;
      }
      depth++;
      out += c + nl(depth);
    } else if (c === "}" || c === "]") {
      depth--;
      out += nl(depth) + c;
    } else if (c === ",") {
      out += "," + nl(depth);
    } else if (c === ":") {
      out += ": ";
    } else {
      out += c;
    }
    i++;
  }
  return out;
}

/** Go's strconv.Quote (as fmt's %q prints a string), for error texts. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (c === 7) out += "\\a";
    else if (c === 8) out += "\\b";
    else if (c === 12) out += "\\f";
    else if (c === 10) out += "\\n";
    else if (c === 13) out += "\\r";
    else if (c === 9) out += "\\t";
    else if (c === 11) out += "\\v";
    else if (c < 0x20 || c === 0x7f) out += "\\x" + HEX[c >> 4] + HEX[c & 15];
    else if (c >= 0xd800 && c <= 0xdfff) out += "\\ufffd";
    else if ((c >= 0x80 && c < 0xa0) || c === 0xad) out += u4(c);
    else out += ch;
  }
  return out + '"';
}
