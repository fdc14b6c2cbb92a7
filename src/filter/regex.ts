/**
 * regex: compiles a go-bexpr `matches` pattern (Go RE2 syntax) into a JS RegExp.
 *
 * RE2 and JS differ; this translates what is cheap and common and refuses what
 * RE2 refuses:
 *   - leading flag group (?i) (?m) (?s) → JS flags; other (?flags) / (?flags:…) are refused
 *   - (?P<name>…) → (?<name>…); lookaround and backreferences are errors, as in Go
 *   - \A, \z, \Q…\E, \pL, [[:alpha:]] and friends, \x{…}; \s is ASCII [\t\n\f\r ] as in Go
 *   - Go's literal `{` / `]` where they do not start a repeat / class
 * JS matching backtracks where RE2 is linear, so patterns that nest unbounded
 * repetition ((a+)+, (a|b*)*, ...) are refused instead of risking catastrophic
 * backtracking. Error texts follow Go's "error parsing regexp: <code>: `<expr>`"
 * for the cases above; other syntax errors carry the JS engine's wording.
 *
 * Must never: do I/O, or compile a pattern longer than FILTER_MAX_REGEX_LENGTH.
 */

import { FILTER_MAX_REGEX_LENGTH } from "../shared/limits.ts";

export type RegexResult = { ok: true; re: RegExp } | { ok: false; error: string };

const POSIX: Readonly<Record<string, string>> = {
  alnum: "0-9A-Za-z", alpha: "A-Za-z", ascii: "\\x00-\\x7f", blank: "\\t ", cntrl: "\\x00-\\x1f\\x7f",
  digit: "0-9", graph: "!-~", lower: "a-z", print: " -~", punct: "!-\\/:-@\\[-`{-~", space: "\\t\\n\\v\\f\\r ",
  upper: "A-Z", word: "0-9A-Za-z_", xdigit: "0-9A-Fa-f",
};
const GC = /^(?:L|Lu|Ll|Lt|Lm|Lo|M|Mn|Mc|Me|N|Nd|Nl|No|P|Pc|Pd|Ps|Pe|Pi|Pf|Po|S|Sm|Sc|Sk|So|Z|Zs|Zl|Zp|C|Cc|Cf|Co|Cs|Any)$/;
const JS_SYNTAX = "^$\\.*+?()[]{}|/";

class ReError extends Error {}
const perr = (code: string, expr: string): ReError => new ReError(`error parsing regexp: ${code}: \`${expr}\``);

type Group = { unbounded: boolean };

/** Translates Go RE2 syntax to a JS (`u` flag) source plus flags; throws ReError. */
function translate(src: string): { source: string; flags: string } {
  let flags = "u";
  let i = 0;
  const lead = /^\(\?([imsU]+)\)/.exec(src);
  if (lead) {
    const f = lead[1] ?? "";
    if (f.includes("U")) throw new ReError("error parsing regexp: the (?U) flag is not supported by cairn");
    for (const c of new Set(f)) flags += c;
    i = lead[0].length;
  }
  let out = "";
  const groups: Group[] = [{ unbounded: false }];
  // Tracks the last atom so a following quantifier can be checked.
  let lastAtomUnbounded = false; // the last atom is a group containing unbounded repetition
  let lastAtomEnd = -1;

  const escapeLiteral = (ch: string, inClass: boolean): string =>
    JS_SYNTAX.includes(ch) || (inClass && ch === "-") ? "\\" + ch : ch;
  const readEscape = (inClass: boolean): string => {
    // at src[i] === "\\"
    const c = src[i + 1];
    if (c === undefined) throw perr("trailing backslash at end of expression", "");
    i += 2;
    if (c >= "1" && c <= "9") throw perr("invalid escape sequence", "\\" + c);
    switch (c) {
      case "A":
        if (inClass) throw perr("invalid escape sequence", "\\A");
        return "(?<![\\s\\S])";
      case "z":
        if (inClass) throw perr("invalid escape sequence", "\\z");
        return "(?![\\s\\S])";
      case "s":
        return inClass ? "\\t\\n\\f\\r " : "[\\t\\n\\f\\r ]";
      case "S":
        return inClass ? "\\S" : "[^\\t\\n\\f\\r ]";
      case "d": case "D": case "w": case "W": case "b": case "B":
        if (inClass && (c === "b" || c === "B")) throw perr("invalid escape sequence", "\\" + c);
        return "\\" + c;
      case "a": return "\\x07";
      case "f": return "\\f";
      case "t": return "\\t";
      case "n": return "\\n";
      case "r": return "\\r";
      case "v": return "\\v";
      case "0": {
        const m = /^[0-7]{0,2}/.exec(src.slice(i))?.[0] ?? "";
        i += m.length;
        return `\\u{${parseInt("0" + m, 8).toString(16)}}`;
      }
      case "x": {
        if (src[i] === "{") {
          const end = src.indexOf("}", i);
          const hex = end < 0 ? "" : src.slice(i + 1, end);
          if (!/^[0-9a-fA-F]{1,6}$/.test(hex) || parseInt(hex, 16) > 0x10ffff) {
            throw perr("invalid escape sequence", "\\x{" + hex);
          }
          i = end + 1;
          return `\\u{${hex}}`;
        }
        const hex = src.slice(i, i + 2);
        if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw perr("invalid escape sequence", "\\x" + hex);
        i += 2;
        return `\\x${hex}`;
      }
      case "p":
      case "P": {
        let name: string;
        if (src[i] === "{") {
          const end = src.indexOf("}", i);
          if (end < 0) throw perr("invalid character class range", "\\" + c + src.slice(i));
          name = src.slice(i + 1, end);
          i = end + 1;
        } else {
          name = src[i] ?? "";
          i += 1;
        }
        let neg = c === "P";
        if (name.startsWith("^")) [neg, name] = [!neg, name.slice(1)];
        if (!/^[A-Za-z_]+$/.test(name)) throw perr("invalid character class range", `\\${c}{${name}}`);
        const prop = GC.test(name) ? name : `Script=${name}`;
        return `\\${neg ? "P" : "p"}{${prop}}`;
      }
      case "Q": {
        const end = src.indexOf("\\E", i);
        const lit = end < 0 ? src.slice(i) : src.slice(i, end);
        i = end < 0 ? src.length : end + 2;
        return Array.from(lit, (ch) => escapeLiteral(ch, inClass)).join("");
      }
      default:
        if (/[A-Za-z0-9]/.test(c)) throw perr("invalid escape sequence", "\\" + c);
        return escapeLiteral(c, inClass);
    }
  };

  const readClass = (): string => {
    // at src[i] === "["
    const start = i;
    i++;
    let body = "[";
    if (src[i] === "^") {
      body += "^";
      i++;
    }
    let first = true;
    for (;;) {
      const c = src[i];
      if (c === undefined) throw perr("missing closing ]", src.slice(start));
      if (c === "]" && !first) {
        i++;
        break;
      }
      first = false;
      if (c === "[" && src[i + 1] === ":") {
        const end = src.indexOf(":]", i + 2);
        const name = end < 0 ? "" : src.slice(i + 2, end);
        const neg = name.startsWith("^");
        const cls = POSIX[neg ? name.slice(1) : name];
        if (cls === undefined) throw perr("invalid character class range", src.slice(i, end < 0 ? i + 2 : end + 2));
        if (neg) throw new ReError("error parsing regexp: negated POSIX classes are not supported by cairn");
        body += cls;
        i = end + 2;
      } else if (c === "\\") {
        body += readEscape(true);
      } else if (c === "[" || c === "]" || c === "/" || c === "{" || c === "}" || c === "(" || c === ")" || c === "|") {
        body += "\\" + c;
        i++;
      } else {
        body += c;
        i++;
      }
    }
    return body + "]";
  };

  const quantifierAt = (): { text: string; unbounded: boolean } | null => {
    const c = src[i];
    if (c === "*" || c === "+") return { text: c, unbounded: true };
    if (c === "?") return { text: c, unbounded: false };
    if (c === "{") {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(src.slice(i));
      if (!m) return null;
      const lo = Number(m[1]);
      const hi = m[3] === undefined || m[3] === "" ? (m[2] ? Infinity : lo) : Number(m[3]);
      if (lo > 1000 || (hi !== Infinity && hi > 1000) || hi < lo) throw perr("invalid repeat count", m[0]);
      return { text: m[0], unbounded: hi === Infinity };
    }
    return null;
  };

  while (i < src.length) {
    const c = src[i] ?? "";
    const q = quantifierAt();
    if (q) {
      if (lastAtomEnd !== out.length) {
        throw perr("missing argument to repetition operator", q.text);
      }
      i += q.text.length;
      let lazy = "";
      if (src[i] === "?") {
        lazy = "?";
        i++;
      }
      if (quantifierAt() && src[i] !== "{") throw perr("invalid nested repetition operator", q.text + (src[i] ?? ""));
      if (q.unbounded && lastAtomUnbounded) {
        throw new ReError(
          "error parsing regexp: nested unbounded repetition is refused by cairn (JS regexps backtrack; RE2 would accept it)",
        );
      }
      out += q.text + lazy;
      const g = groups[groups.length - 1];
      if (g && q.unbounded) g.unbounded = true;
      lastAtomEnd = -1;
      continue;
    }
    if (c === "(") {
      if (src.startsWith("(?P<", i)) {
        out += "(?<";
        i += 4;
      } else if (src.startsWith("(?<", i) && !src.startsWith("(?<=", i) && !src.startsWith("(?<!", i)) {
        out += "(?<";
        i += 3;
      } else if (src.startsWith("(?:", i)) {
        out += "(?:";
        i += 3;
      } else if (src[i + 1] === "?") {
        const m = /^\(\?[^)]*/.exec(src.slice(i))?.[0] ?? "(?";
        if (/^\(\?[imsU-]+:?$/.test(m) || /^\(\?[imsU-]*:/.test(m)) {
          throw new ReError("error parsing regexp: inline flag groups other than a leading (?i)/(?m)/(?s) are not supported by cairn");
        }
        throw perr("invalid or unsupported Perl syntax", m.slice(0, 3));
      } else {
        out += "(";
        i += 1;
      }
      groups.push({ unbounded: false });
      continue;
    }
    if (c === ")") {
      const g = groups.pop();
      if (!g || groups.length === 0) throw perr("unexpected )", src);
      out += ")";
      i++;
      const parent = groups[groups.length - 1];
      if (parent && g.unbounded) parent.unbounded = true;
      lastAtomUnbounded = g.unbounded;
      lastAtomEnd = out.length;
      continue;
    }
    if (c === "|") {
      out += "|";
      i++;
      lastAtomEnd = -1;
      continue;
    }
    if (c === "^" || c === "$") {
      out += c;
      i++;
      lastAtomEnd = -1;
      continue;
    }
    if (c === "[") out += readClass();
    else if (c === "\\") out += readEscape(false);
    else if (c === ".") {
      out += ".";
      i++;
    } else {
      out += escapeLiteral(c, false);
      i++;
    }
    lastAtomUnbounded = false;
    lastAtomEnd = out.length;
  }
  if (groups.length !== 1) throw perr("missing closing )", src);
  return { source: out, flags };
}

/** Compiles a Go RE2 pattern for `matches`; errors read like Go's regexp errors. */
export function compileGoRegex(pattern: string): RegexResult {
  if (new TextEncoder().encode(pattern).length > FILTER_MAX_REGEX_LENGTH) {
    return { ok: false, error: `error parsing regexp: expression too large` };
  }
  try {
    const { source, flags } = translate(pattern);
    return { ok: true, re: new RegExp(source, flags) };
  } catch (e) {
    if (e instanceof ReError) return { ok: false, error: e.message };
    if (e instanceof SyntaxError) return { ok: false, error: `error parsing regexp: ${e.message}` };
    throw e;
  }
}
