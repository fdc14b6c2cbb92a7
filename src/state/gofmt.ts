/**
 * gofmt: Go's %q for strings (strconv.Quote), for Consul's error texts.
 *
 * Printable characters (letters, marks, numbers, punctuation, symbols, ASCII
 * space) are kept; \a \b \f \n \r \t \v \\ \" are escaped; other characters
 * below 0x80 as \xNN, others as \uNNNN or \UNNNNNNNN (lower-case hex).
 *
 * Must never: depend on locale or throw on any input.
 */

const NON_PRINTABLE = /[\p{C}\p{Z}]/u;
const NAMED: Record<string, string> = {
  "\x07": "\\a",
  "\b": "\\b",
  "\f": "\\f",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
  "\v": "\\v",
  "\\": "\\\\",
  '"': '\\"',
};

export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const named = NAMED[ch];
    if (named !== undefined) {
      out += named;
      continue;
    }
    if (ch === " " || !NON_PRINTABLE.test(ch)) {
      out += ch;
      continue;
    }
    const cp = ch.codePointAt(0)!;
    if (cp < 0x80) out += "\\x" + cp.toString(16).padStart(2, "0");
    else if (cp >= 0xd800 && cp < 0xe000) out += "\ufffd"; // Go would hold U+FFFD where JS has a lone surrogate
    else if (cp < 0x10000) out += "\\u" + cp.toString(16).padStart(4, "0");
    else out += "\\U" + cp.toString(16).padStart(8, "0");
  }
  return out + '"';
}
