/**
 * parse: the go-bexpr (v0.1.2, the version Consul pins) expression grammar and
 * its AST. The grammar below is a rule-for-rule transcription of go-bexpr's
 * grammar.peg, run by the pigeon-compatible interpreter in peg.ts, so what parses,
 * what does not, and every syntax-error text match Consul.
 *
 *   precedence: not > and > or (or/and are right-associative, as in go-bexpr)
 *   matches:    Sel == V, Sel != V, Sel is [not] empty, V [not] in Sel,
 *               Sel [not] contains V, Sel [not] matches V
 *   selectors:  Ident ( "." Ident | "[" String "]" )*, Ident = [a-zA-Z][a-zA-Z0-9_]*
 *   values:     a selector (its text, e.g. bare words), a number, "quoted" or `raw`
 *
 * Must never: do I/O, evaluate anything, or know about endpoint schemas.
 */

import { pegParse, type ActionResult, type PegExpr, type PegRule } from "./peg.ts";
import { goQuote, goUnquote } from "./gostr.ts";
import { FILTER_MAX_PARSE_DEPTH, FILTER_MAX_PARSE_STEPS } from "../shared/limits.ts";
import { unreachable } from "../shared/errors.ts";

/** go-bexpr's match operators (`contains` parses to "in", `not contains` to "not in"). */
export type MatchOp = "==" | "!=" | "in" | "not in" | "is empty" | "is not empty" | "matches" | "not matches";

export type Ast =
  | { readonly type: "match"; readonly selector: readonly string[]; readonly op: MatchOp; readonly value: string | null }
  | { readonly type: "not"; readonly operand: Ast }
  | { readonly type: "and" | "or"; readonly left: Ast; readonly right: Ast };

export type ParseResult = { ok: true; ast: Ast } | { ok: false; error: string };

// ---- grammar construction helpers -------------------------------------------------

const lit = (val: string): PegExpr => ({
  t: "lit",
  val,
  cps: Array.from(val, (c) => c.codePointAt(0) ?? 0),
  want: goQuote(val),
});
const cls = (want: string, test: (cp: number) => boolean): PegExpr => ({ t: "cls", want, test });
const seq = (...items: PegExpr[]): PegExpr => ({ t: "seq", items });
const choice = (...alts: PegExpr[]): PegExpr => ({ t: "choice", alts });
const opt = (e: PegExpr): PegExpr => ({ t: "opt", e });
const star = (e: PegExpr): PegExpr => ({ t: "star", e });
const plus = (e: PegExpr): PegExpr => ({ t: "plus", e });
const and = (e: PegExpr): PegExpr => ({ t: "and", e });
const not = (e: PegExpr): PegExpr => ({ t: "not", e });
const ref = (name: string): PegExpr => ({ t: "ref", name });
const fail = (message: string): PegExpr => ({ t: "fail", message });
const act = (e: PegExpr, run: (v: unknown, text: string) => ActionResult): PegExpr => ({ t: "action", e, run });
const val = (value: unknown): ActionResult => ({ value });
const rule = (name: string, expr: PegExpr, display?: string): PegRule =>
  display === undefined ? { name, expr } : { name, display: goQuote(display), expr };

const isAlpha = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const isDigit = (c: number): boolean => c >= 48 && c <= 57;

// ---- value narrowing for actions (the grammar guarantees the shapes) ---------------

function at(v: unknown, i: number): unknown {
  if (!Array.isArray(v)) throw new Error("filter grammar: expected a sequence");
  return v[i];
}
function asAst(v: unknown): Ast {
  if (typeof v !== "object" || v === null || !("type" in v)) throw new Error("filter grammar: expected an expression");
  return v as Ast;
}
function asOp(v: unknown): MatchOp {
  return v as MatchOp;
}
function asSelector(v: unknown): string[] {
  if (!Array.isArray(v)) throw new Error("filter grammar: expected a selector");
  return v.map(String);
}
const ws = ref("_");
const ows = opt(ws);
const opRule = (name: string, op: MatchOp, expr: PegExpr): PegRule => rule(name, act(expr, () => val(op)));

/** go-bexpr v0.1.2 grammar.peg, in order (rule 0 is the start rule). */
const GRAMMAR: readonly PegRule[] = [
  rule(
    "Input",
    choice(
      act(seq(ows, lit("("), ows, ref("OrExpression"), ows, lit(")"), ows, ref("EOF")), (v) => val(at(v, 3))),
      act(seq(ows, ref("OrExpression"), ows, ref("EOF")), (v) => val(at(v, 1))),
    ),
  ),
  rule(
    "OrExpression",
    choice(
      act(seq(ref("AndExpression"), ws, lit("or"), ws, ref("OrExpression")), (v) =>
        val({ type: "or", left: asAst(at(v, 0)), right: asAst(at(v, 4)) }),
      ),
      act(ref("AndExpression"), (v) => val(v)),
    ),
  ),
  rule(
    "AndExpression",
    choice(
      act(seq(ref("NotExpression"), ws, lit("and"), ws, ref("AndExpression")), (v) =>
        val({ type: "and", left: asAst(at(v, 0)), right: asAst(at(v, 4)) }),
      ),
      act(ref("NotExpression"), (v) => val(v)),
    ),
  ),
  rule(
    "NotExpression",
    choice(
      act(seq(lit("not"), ws, ref("NotExpression")), (v) => {
        const inner = asAst(at(v, 2));
        // go-bexpr folds `not not X` into X
        return val(inner.type === "not" ? inner.operand : { type: "not", operand: inner });
      }),
      act(ref("ParenthesizedExpression"), (v) => val(v)),
    ),
  ),
  rule(
    "ParenthesizedExpression",
    choice(
      act(seq(lit("("), ows, ref("OrExpression"), ows, lit(")")), (v) => val(at(v, 2))),
      act(ref("MatchExpression"), (v) => val(v)),
      seq(lit("("), ows, ref("OrExpression"), ows, not(lit(")")), fail("Unmatched parentheses")),
    ),
    "grouping",
  ),
  rule(
    "MatchExpression",
    choice(ref("MatchSelectorOpValue"), ref("MatchSelectorOp"), ref("MatchValueOpSelector")),
    "match",
  ),
  rule(
    "MatchSelectorOpValue",
    act(
      seq(
        ref("Selector"),
        choice(
          ref("MatchEqual"),
          ref("MatchNotEqual"),
          ref("MatchContains"),
          ref("MatchNotContains"),
          ref("MatchMatches"),
          ref("MatchNotMatches"),
        ),
        ref("Value"),
      ),
      (v) => val({ type: "match", selector: asSelector(at(v, 0)), op: asOp(at(v, 1)), value: String(at(v, 2)) }),
    ),
    "match",
  ),
  rule(
    "MatchSelectorOp",
    act(seq(ref("Selector"), choice(ref("MatchIsEmpty"), ref("MatchIsNotEmpty"))), (v) =>
      val({ type: "match", selector: asSelector(at(v, 0)), op: asOp(at(v, 1)), value: null }),
    ),
    "match",
  ),
  rule(
    "MatchValueOpSelector",
    choice(
      act(seq(ref("Value"), choice(ref("MatchIn"), ref("MatchNotIn")), ref("Selector")), (v) =>
        val({ type: "match", selector: asSelector(at(v, 2)), op: asOp(at(v, 1)), value: String(at(v, 0)) }),
      ),
      seq(ref("Value"), choice(ref("MatchIn"), ref("MatchNotIn")), not(ref("Selector")), fail("Invalid selector")),
    ),
    "match",
  ),
  opRule("MatchEqual", "==", seq(ows, lit("=="), ows)),
  opRule("MatchNotEqual", "!=", seq(ows, lit("!="), ows)),
  opRule("MatchIsEmpty", "is empty", seq(ws, lit("is"), ws, lit("empty"))),
  opRule("MatchIsNotEmpty", "is not empty", seq(ws, lit("is"), ws, lit("not"), ws, lit("empty"))),
  opRule("MatchIn", "in", seq(ws, lit("in"), ws)),
  opRule("MatchNotIn", "not in", seq(ws, lit("not"), ws, lit("in"), ws)),
  opRule("MatchContains", "in", seq(ws, lit("contains"), ws)),
  opRule("MatchNotContains", "not in", seq(ws, lit("not"), ws, lit("contains"), ws)),
  opRule("MatchMatches", "matches", seq(ws, lit("matches"), ws)),
  opRule("MatchNotMatches", "not matches", seq(ws, lit("not"), ws, lit("matches"), ws)),
  rule(
    "Selector",
    act(seq(ref("Identifier"), star(ref("SelectorOrIndex"))), (v) =>
      val([String(at(v, 0)), ...asSelector(at(v, 1))]),
    ),
    "selector",
  ),
  rule(
    "Identifier",
    act(
      seq(
        cls("[a-zA-Z]", isAlpha),
        star(cls("[a-zA-Z0-9_]", (c) => isAlpha(c) || isDigit(c) || c === 95)),
      ),
      (_v, text) => val(text),
    ),
  ),
  rule(
    "SelectorOrIndex",
    choice(
      act(seq(lit("."), ref("Identifier")), (v) => val(at(v, 1))),
      act(ref("IndexExpression"), (v) => val(v)),
    ),
  ),
  rule(
    "IndexExpression",
    choice(
      act(seq(lit("["), ows, ref("StringLiteral"), ows, lit("]")), (v) => val(at(v, 2))),
      seq(lit("["), ows, not(ref("StringLiteral")), fail("Invalid index")),
      seq(lit("["), ows, ref("StringLiteral"), ows, not(lit("]")), fail("Unclosed index expression")),
    ),
    "index",
  ),
  rule(
    "Value",
    choice(
      act(ref("Selector"), (v) => val(asSelector(v).join("."))),
      act(ref("NumberLiteral"), (v) => val(v)),
      act(ref("StringLiteral"), (v) => val(v)),
    ),
    "value",
  ),
  rule(
    "NumberLiteral",
    choice(
      act(seq(opt(lit("-")), ref("IntegerOrFloat"), and(ref("AfterNumbers"))), (_v, text) => val(text)),
      seq(opt(lit("-")), ref("IntegerOrFloat"), not(ref("AfterNumbers")), fail("Invalid number literal")),
    ),
    "number",
  ),
  rule("AfterNumbers", and(choice(ws, ref("EOF"), lit(")")))),
  rule(
    "IntegerOrFloat",
    seq(
      choice(lit("0"), seq(cls("[1-9]", (c) => c >= 49 && c <= 57), star(cls("[0-9]", isDigit)))),
      opt(seq(lit("."), plus(cls("[0-9]", isDigit)))),
    ),
  ),
  rule(
    "StringLiteral",
    choice(
      act(
        choice(
          seq(lit("`"), star(ref("RawStringChar")), lit("`")),
          seq(lit('"'), star(ref("DoubleStringChar")), lit('"')),
        ),
        (_v, text) => {
          const r = goUnquote(text);
          return r.ok ? val(r.value) : { value: "", error: r.error };
        },
      ),
      seq(
        choice(seq(lit("`"), star(ref("RawStringChar"))), seq(lit('"'), star(ref("DoubleStringChar")))),
        ref("EOF"),
        fail("Unterminated string literal"),
      ),
    ),
    "string",
  ),
  rule("RawStringChar", seq(not(lit("`")), { t: "any" })),
  rule("DoubleStringChar", seq(not(lit('"')), { t: "any" })),
  rule("_", plus(cls("[ \\t\\r\\n]", (c) => c === 32 || c === 9 || c === 13 || c === 10)), "whitespace"),
  rule("EOF", not({ t: "any" })),
];

/** Parses a filter expression; errors carry go-bexpr's exact parser text. */
export function parseFilter(expr: string): ParseResult {
  const r = pegParse(GRAMMAR, expr, FILTER_MAX_PARSE_STEPS, FILTER_MAX_PARSE_DEPTH);
  return r.ok ? { ok: true, ast: asAst(r.value) } : { ok: false, error: r.error };
}

/** Renders a selector the way go-bexpr prints it in messages (parts joined by "."). */
export function selectorText(selector: readonly string[]): string {
  return selector.join(".");
}

const BARE = /^[a-zA-Z][a-zA-Z0-9_]*$/;

function quoteValue(v: string): string {
  // Double quotes cannot hold `"` in this grammar (the lexer stops at the first one),
  // so values containing `"` are printed raw; values with both quote kinds cannot
  // be written at all and never come out of the parser.
  if (!v.includes('"') && !v.includes("\\") && !/[\n\r]/.test(v)) return `"${v}"`;
  if (!v.includes("`") && !v.includes("\r")) return "`" + v + "`";
  return goQuote(v);
}

function formatSelector(sel: readonly string[]): string {
  return sel.map((p, i) => (i > 0 && !BARE.test(p) ? `[${quoteValue(p)}]` : i > 0 ? `.${p}` : p)).join("");
}

function formatMatch(sel: string, op: MatchOp, value: string): string {
  switch (op) {
    case "in":
    case "not in":
      return `${quoteValue(value)} ${op} ${sel}`;
    case "is empty":
    case "is not empty":
      return `${sel} ${op}`;
    case "==":
    case "!=":
    case "matches":
    case "not matches":
      return `${sel} ${op} ${quoteValue(value)}`;
    default:
      return unreachable(op);
  }
}

/** Prints an AST back as an expression that parses to the same AST (fully parenthesised). */
export function formatFilter(ast: Ast): string {
  switch (ast.type) {
    case "match":
      return formatMatch(formatSelector(ast.selector), ast.op, ast.value ?? "");
    case "not":
      return `not (${formatFilter(ast.operand)})`;
    case "and":
    case "or":
      return `(${formatFilter(ast.left)}) ${ast.type} (${formatFilter(ast.right)})`;
    default:
      return unreachable(ast);
  }
}
