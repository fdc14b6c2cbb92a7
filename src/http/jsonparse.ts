/**
 * http/jsonparse: a small strict JSON parser that keeps numbers as their source text.
 *
 * Request bodies carry uint64 fields (Flags, Index) that JSON.parse would round above
 * 2^53, and Node 20 has no JSON.parse source access, so bodies that need exact integers
 * are parsed here. Errors read like Go's encoding/json ("invalid character 'x' looking
 * for beginning of value", "unexpected EOF") because Consul echoes them to clients.
 *
 * Must never: recurse without a depth bound, or turn a number into a float.
 */

export type JsonValue =
  | { readonly t: "null" }
  | { readonly t: "bool"; readonly v: boolean }
  | { readonly t: "num"; readonly src: string }
  | { readonly t: "str"; readonly v: string }
  | { readonly t: "arr"; readonly v: JsonValue[] }
  | { readonly t: "obj"; readonly v: [string, JsonValue][] };

export class JsonSyntaxError extends Error {}

/** Deepest nesting accepted (Go allows 10000; bodies here are tiny). */
const MAX_DEPTH = 512;

function charDesc(c: string): string {
  if (c === "'") return "'\\''";
  if (c === '"') return "'\"'";
  const code = c.charCodeAt(0);
  if (code < 0x20) return "'\\x" + code.toString(16).padStart(2, "0") + "'";
  return "'" + c + "'";
}

export function parseJson(text: string): JsonValue {
  let i = 0;
  const n = text.length;
  const fail = (msg: string): never => {
    throw new JsonSyntaxError(msg);
  };
  const ws = (): void => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
  };
  const eof = (): never => fail("unexpected EOF");

  const value = (depth: number): JsonValue => {
    if (depth > MAX_DEPTH) fail("exceeded max depth");
    ws();
    if (i >= n) eof();
    const c = text[i] as string;
    if (c === "{") return object(depth);
    if (c === "[") return array(depth);
    if (c === '"') return { t: "str", v: str() };
    if (c === "-" || (c >= "0" && c <= "9")) return num();
    if (c === "t") return lit("true", { t: "bool", v: true });
    if (c === "f") return lit("false", { t: "bool", v: false });
    if (c === "n") return lit("null", { t: "null" });
    return fail(`invalid character ${charDesc(c)} looking for beginning of value`);
  };

  const lit = (word: string, v: JsonValue): JsonValue => {
    for (let k = 0; k < word.length; k++) {
      if (i >= n) eof();
      const c = text[i] as string;
      if (c !== word[k]) fail(`invalid character ${charDesc(c)} in literal ${word} (expecting '${word[k]}')`);
      i++;
    }
    return v;
  };

  const num = (): JsonValue => {
    const start = i;
    if (text[i] === "-") i++;
    if (i >= n) eof();
    if (text[i] === "0") i++;
    else if (text[i]! >= "1" && text[i]! <= "9") while (i < n && text[i]! >= "0" && text[i]! <= "9") i++;
    else fail(`invalid character ${charDesc(text[i]!)} in numeric literal`);
    if (text[i] === ".") {
      i++;
      if (i >= n) eof();
      if (!(text[i]! >= "0" && text[i]! <= "9")) fail(`invalid character ${charDesc(text[i]!)} after decimal point in numeric literal`);
      while (i < n && text[i]! >= "0" && text[i]! <= "9") i++;
    }
    if (text[i] === "e" || text[i] === "E") {
      i++;
      if (text[i] === "+" || text[i] === "-") i++;
      if (i >= n) eof();
      if (!(text[i]! >= "0" && text[i]! <= "9")) fail(`invalid character ${charDesc(text[i]!)} in exponent of numeric literal`);
      while (i < n && text[i]! >= "0" && text[i]! <= "9") i++;
    }
    return { t: "num", src: text.slice(start, i) };
  };

  const str = (): string => {
    i++; // opening quote
    let out = "";
    let start = i;
    for (;;) {
      if (i >= n) eof();
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        out += text.slice(start, i);
        i++;
        return out;
      }
      if (c < 0x20) fail(`invalid character ${charDesc(text[i]!)} in string literal`);
      if (c === 0x5c) {
        out += text.slice(start, i);
        i++;
        if (i >= n) eof();
        const e = text[i] as string;
        switch (e) {
          case '"': out += '"'; break;
          case "\\": out += "\\"; break;
          case "/": out += "/"; break;
          case "b": out += "\b"; break;
          case "f": out += "\f"; break;
          case "n": out += "\n"; break;
          case "r": out += "\r"; break;
          case "t": out += "\t"; break;
          case "u": {
            const hex = text.slice(i + 1, i + 5);
            if (hex.length < 4) eof();
            if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail("invalid character in \\u hexadecimal character escape");
            out += String.fromCharCode(parseInt(hex, 16));
            i += 4;
            break;
          }
          default:
            fail(`invalid character ${charDesc(e)} in string escape code`);
        }
        i++;
        start = i;
        continue;
      }
      i++;
    }
  };

  const array = (depth: number): JsonValue => {
    i++;
    const out: JsonValue[] = [];
    ws();
    if (i >= n) eof();
    if (text[i] === "]") {
      i++;
      return { t: "arr", v: out };
    }
    for (;;) {
      out.push(value(depth + 1));
      ws();
      if (i >= n) eof();
      const c = text[i] as string;
      i++;
      if (c === "]") return { t: "arr", v: out };
      if (c !== ",") fail(`invalid character ${charDesc(c)} after array element`);
    }
  };

  const object = (depth: number): JsonValue => {
    i++;
    const out: [string, JsonValue][] = [];
    ws();
    if (i >= n) eof();
    if (text[i] === "}") {
      i++;
      return { t: "obj", v: out };
    }
    for (;;) {
      ws();
      if (i >= n) eof();
      if (text[i] !== '"') fail(`invalid character ${charDesc(text[i]!)} looking for beginning of object key string`);
      const k = str();
      ws();
      if (i >= n) eof();
      if (text[i] !== ":") fail(`invalid character ${charDesc(text[i]!)} after object key`);
      i++;
      out.push([k, value(depth + 1)]);
      ws();
      if (i >= n) eof();
      const c = text[i] as string;
      i++;
      if (c === "}") return { t: "obj", v: out };
      if (c !== ",") fail(`invalid character ${charDesc(c)} after object key:value pair`);
    }
  };

  ws();
  if (i >= n) fail("EOF");
  const v = value(0);
  // Go's json.Decoder reads one value and ignores what follows it.
  return v;
}

/** Go's name for a JSON value kind in UnmarshalTypeError texts. */
export function jsonKind(v: JsonValue): string {
  switch (v.t) {
    case "null": return "null";
    case "bool": return "bool";
    case "num": return "number";
    case "str": return "string";
    case "arr": return "array";
    case "obj": return "object";
  }
}

/** Field lookup like encoding/json: keys match case-insensitively and the last matching key wins. */
export function field(obj: [string, JsonValue][], name: string): JsonValue | undefined {
  let found: JsonValue | undefined;
  const lower = name.toLowerCase();
  for (const [k, v] of obj) {
    if (k === name || k.toLowerCase() === lower) found = v;
  }
  return found;
}
