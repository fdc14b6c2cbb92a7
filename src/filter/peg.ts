/**
 * peg: a small PEG interpreter that behaves like the parsers pigeon generates
 * (pigeon is the generator go-bexpr uses). Same ordered choice and backtracking,
 * same positions (line, rune column, byte offset, with pigeon's quirk that a
 * newline rune sits at column 0 of the next line), same "farthest failure"
 * bookkeeping and the same error texts, so syntax errors read exactly like
 * Consul's ("1:4 (3): no match found, expected: ...").
 *
 * Must never: do I/O, run past its step or depth budget, or know the grammar.
 * (Go's pigeon parser has no depth bound and backtracks exponentially on deep
 * nesting; both budgets end in pigeon's "max number of expressions" error, which
 * newer go-bexpr releases also produce with their 2,000,000-step default.)
 */

export type PegExpr =
  | { readonly t: "lit"; readonly val: string; readonly cps: readonly number[]; readonly want: string }
  | { readonly t: "cls"; readonly want: string; readonly test: (cp: number) => boolean }
  | { readonly t: "any" }
  | { readonly t: "seq"; readonly items: readonly PegExpr[] }
  | { readonly t: "choice"; readonly alts: readonly PegExpr[] }
  | { readonly t: "opt"; readonly e: PegExpr }
  | { readonly t: "star"; readonly e: PegExpr }
  | { readonly t: "plus"; readonly e: PegExpr }
  | { readonly t: "and"; readonly e: PegExpr }
  | { readonly t: "not"; readonly e: PegExpr }
  | { readonly t: "ref"; readonly name: string }
  | { readonly t: "action"; readonly e: PegExpr; readonly run: (v: unknown, text: string) => ActionResult }
  | { readonly t: "fail"; readonly message: string };

/** An action's value, or an error recorded at the action's start (the value still counts). */
export type ActionResult = { readonly value: unknown; readonly error?: string };

export type PegRule = { readonly name: string; readonly display?: string; readonly expr: PegExpr };

export type PegOutcome = { ok: true; value: unknown } | { ok: false; error: string };

type Pos = { i: number; offset: number; line: number; col: number };

class StepLimit extends Error {}

function utf8Len(cp: number): number {
  return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

/** Parses `input` from rules[0]; errors use pigeon's format and de-duplication. */
export function pegParse(
  rules: readonly PegRule[],
  input: string,
  maxSteps: number,
  maxDepth: number,
): PegOutcome {
  const table = new Map<string, PegRule>();
  for (const r of rules) table.set(r.name, r);
  const cps = Array.from(input, (c) => c.codePointAt(0) ?? 0);
  const n = cps.length;
  const u16: number[] = [0]; // UTF-16 index of each code point, for slicing text
  for (const cp of cps) u16.push((u16[u16.length - 1] ?? 0) + (cp > 0xffff ? 2 : 1));
  const pt: Pos = { i: 0, offset: 0, line: 1, col: 1 };
  if (n > 0 && cps[0] === 10) [pt.line, pt.col] = [2, 0];
  const rstack: PegRule[] = [];
  const errs: string[] = [];
  let steps = 0;
  let maxFail: Pos = { i: 0, offset: 0, line: 1, col: 1 };
  let maxFailExpected: string[] = [];
  let invert = false;
  // Packrat memo per (rule, position, inverted-context). Replaying a rule at the
  // same place would only repeat farthest-failure entries and errors that are
  // already recorded (both are de-duplicated), so results and texts are the same
  // as pigeon's; only the exponential re-parsing is gone.
  const memo = new Map<string, { r: { ok: boolean; v: unknown }; end: Pos }>();

  const save = (): Pos => ({ i: pt.i, offset: pt.offset, line: pt.line, col: pt.col });
  const restore = (p: Pos): void => {
    pt.i = p.i;
    pt.offset = p.offset;
    pt.line = p.line;
    pt.col = p.col;
  };
  const read = (): void => {
    pt.offset += utf8Len(cps[pt.i] ?? 0);
    pt.i++;
    pt.col++;
    if (pt.i < n && cps[pt.i] === 10) {
      pt.line++;
      pt.col = 0;
    }
  };
  const posText = (p: Pos): string => `${p.line}:${p.col} (${p.offset})`;
  const addErrAt = (message: string, p: Pos): void => {
    const top = rstack[rstack.length - 1];
    const prefix = top ? `${posText(p)}: rule ${top.display ?? top.name}` : posText(p);
    errs.push(`${prefix}: ${message}`);
  };
  const failAt = (matched: boolean, p: Pos, want: string): void => {
    if (matched !== invert) return;
    if (p.offset < maxFail.offset) return;
    if (p.offset > maxFail.offset) {
      maxFail = { ...p };
      maxFailExpected = [];
    }
    maxFailExpected.push(invert ? "!" + want : want);
  };
  const text = (from: Pos): string => input.slice(u16[from.i], u16[pt.i]);

  const parse = (e: PegExpr): { ok: boolean; v: unknown } => {
    if (++steps > maxSteps) throw new StepLimit();
    switch (e.t) {
      case "lit": {
        const start = save();
        for (const want of e.cps) {
          if (pt.i >= n || cps[pt.i] !== want) {
            failAt(false, start, e.want);
            restore(start);
            return { ok: false, v: null };
          }
          read();
        }
        failAt(true, start, e.want);
        return { ok: true, v: text(start) };
      }
      case "cls": {
        const start = save();
        if (pt.i >= n || !e.test(cps[pt.i] ?? 0)) {
          failAt(false, start, e.want);
          return { ok: false, v: null };
        }
        read();
        failAt(true, start, e.want);
        return { ok: true, v: text(start) };
      }
      case "any": {
        const start = save();
        if (pt.i >= n) {
          failAt(false, start, ".");
          return { ok: false, v: null };
        }
        read();
        failAt(true, start, ".");
        return { ok: true, v: text(start) };
      }
      case "seq": {
        const start = save();
        const vals: unknown[] = [];
        for (const item of e.items) {
          const r = parse(item);
          if (!r.ok) {
            restore(start);
            return { ok: false, v: null };
          }
          vals.push(r.v);
        }
        return { ok: true, v: vals };
      }
      case "choice": {
        for (const alt of e.alts) {
          const r = parse(alt);
          if (r.ok) return r;
        }
        return { ok: false, v: null };
      }
      case "opt":
        return { ok: true, v: parse(e.e).v };
      case "star":
      case "plus": {
        const vals: unknown[] = [];
        for (;;) {
          const r = parse(e.e);
          if (!r.ok) break;
          vals.push(r.v);
        }
        if (e.t === "plus" && vals.length === 0) return { ok: false, v: null };
        return { ok: true, v: vals };
      }
      case "and": {
        const start = save();
        const r = parse(e.e);
        restore(start);
        return { ok: r.ok, v: null };
      }
      case "not": {
        const start = save();
        invert = !invert;
        const r = parse(e.e);
        invert = !invert;
        restore(start);
        return { ok: !r.ok, v: null };
      }
      case "ref": {
        const rule = table.get(e.name);
        if (!rule) throw new Error(`peg: undefined rule ${e.name}`);
        if (rstack.length >= maxDepth) throw new StepLimit();
        const key = `${e.name}@${pt.i}${invert ? "!" : ""}`;
        const hit = memo.get(key);
        if (hit) {
          restore(hit.end);
          return hit.r;
        }
        rstack.push(rule);
        const r = parse(rule.expr);
        rstack.pop();
        memo.set(key, { r, end: save() });
        return r;
      }
      case "action": {
        const start = save();
        const r = parse(e.e);
        if (!r.ok) return r;
        const out = e.run(r.v, text(start));
        if (out.error !== undefined) addErrAt(out.error, start);
        return { ok: true, v: out.value };
      }
      case "fail":
        addErrAt(e.message, save());
        return { ok: false, v: null };
    }
  };

  const dedupe = (): string => [...new Set(errs)].join("\n");
  const first = rules[0];
  if (!first) throw new Error("peg: grammar has no rule");
  let result: { ok: boolean; v: unknown };
  try {
    result = parse({ t: "ref", name: first.name });
  } catch (e) {
    if (!(e instanceof StepLimit)) throw e;
    addErrAt("max number of expresssions parsed", save()); // sic: pigeon's text
    return { ok: false, error: dedupe() };
  }
  if (!result.ok) {
    if (errs.length === 0) {
      const set = new Set(maxFailExpected);
      const eof = set.delete("!.");
      const expected = [...set].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      if (eof) expected.push("EOF");
      const list =
        expected.length <= 1
          ? (expected[0] ?? "")
          : `${expected.slice(0, -1).join(", ")} or ${expected[expected.length - 1]}`;
      rstack.length = 0;
      addErrAt(`no match found, expected: ${list}`, maxFail);
    }
    return { ok: false, error: dedupe() };
  }
  if (errs.length > 0) return { ok: false, error: dedupe() };
  return { ok: true, value: result.v };
}
