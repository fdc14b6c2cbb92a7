// Parser: go-bexpr v0.1.2's own grammar test vectors (ASTs and exact error texts),
// precedence, string escapes, and format -> parse round trips (table + property).
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { formatFilter, parseFilter, type Ast, type MatchOp } from "../../src/filter/parse.ts";

const m = (selector: string[], op: MatchOp, value: string | null): Ast => ({ type: "match", selector, op, value });

function ast(expr: string): Ast {
  const r = parseFilter(expr);
  if (!r.ok) throw new Error(`unexpected parse error for ${expr}: ${r.error}`);
  return r.ast;
}
function err(expr: string): string {
  const r = parseFilter(expr);
  if (r.ok) throw new Error(`expected a parse error for ${expr}`);
  return r.error;
}

test("match operators (go-bexpr grammar_test vectors)", () => {
  assert.equal(ast("foo == 3"), m(["foo"], "==", "3"));
  assert.equal(ast("foo != xyz"), m(["foo"], "!=", "xyz"));
  assert.equal(ast("list is empty"), m(["list"], "is empty", null));
  assert.equal(ast("list is not empty"), m(["list"], "is not empty", null));
  assert.equal(ast("foo in bar"), m(["bar"], "in", "foo"));
  assert.equal(ast("foo not in bar"), m(["bar"], "not in", "foo"));
  assert.equal(ast("bar contains foo"), m(["bar"], "in", "foo"));
  assert.equal(ast("bar not contains foo"), m(["bar"], "not in", "foo"));
  assert.equal(ast("foo matches bar"), m(["foo"], "matches", "bar"));
  assert.equal(ast("foo not matches bar"), m(["foo"], "not matches", "bar"));
  assert.equal(ast('foo == "bar"'), m(["foo"], "==", "bar"));
  assert.equal(ast("`foo` not in bar"), m(["bar"], "not in", "foo"));
  assert.equal(ast("foo == 0.2"), m(["foo"], "==", "0.2"));
  assert.equal(ast("foo == -0.2"), m(["foo"], "==", "-0.2"));
  assert.equal(ast("foo == 11.11"), m(["foo"], "==", "11.11"));
  assert.equal(ast("foo == bar.baz"), m(["foo"], "==", "bar.baz"), "a bare selector value is its dotted text");
});

test("precedence: not > and > or, parentheses override, not not folds", () => {
  const x = m(["foo"], "in", "x");
  const s = m(["str"], "==", "something");
  const l = m(["list"], "is empty", null);
  assert.equal(ast("x in foo and not str == something or list is empty"), {
    type: "or",
    left: { type: "and", left: x, right: { type: "not", operand: s } },
    right: l,
  });
  assert.equal(ast("x in foo and not (str == something or list is empty)"), {
    type: "and",
    left: x,
    right: { type: "not", operand: { type: "or", left: s, right: l } },
  });
  assert.equal(ast("not not foo == 3"), m(["foo"], "==", "3"));
  assert.equal(ast("a == 1 or b == 2 or c == 3"), {
    type: "or",
    left: m(["a"], "==", "1"),
    right: { type: "or", left: m(["b"], "==", "2"), right: m(["c"], "==", "3") },
  });
  assert.equal(ast("(a == 1 or b == 2) and c == 3").type, "and");
});

test("whitespace of every kind, and a parenthesised whole input", () => {
  assert.equal(ast("\t\r\n  foo \t\r\n == \t\r\n x \t\r\n"), m(["foo"], "==", "x"));
  assert.equal(ast("\t\r\n  foo \t\r\n not \t\r\n in \t\r\n x \t\r\n"), m(["x"], "not in", "foo"));
  assert.equal(ast("\t\r\n ( \t\r\n foo \t\r\n == \t\r\n x \t\r\n ) \t\r\n"), m(["foo"], "==", "x"));
  assert.equal(ast("\t\r\n  foo \t\r\n is \t\r\n not \t\r\n empty \t\r\n"), m(["foo"], "is not empty", null));
});

test("selectors: dotted, indexed, any characters inside an index", () => {
  const want = m(["foo", "bar", "meta", "tags", "ENV"], "in", "environment");
  assert.equal(ast('`environment` in foo.bar["meta"].tags[\t`ENV` ]'), want);
  assert.equal(ast('environment in foo["bar"]["meta"]["tags"]["ENV"]'), want);
  assert.equal(ast("environment in foo.bar.meta.tags.ENV"), want);
  assert.equal(ast('environment in foo["abc-def ghi åß∂ƒ"]'), m(["foo", "abc-def ghi åß∂ƒ"], "in", "environment"));
  assert.equal(ast("Service.Meta.env_1 == x"), m(["Service", "Meta", "env_1"], "==", "x"));
  assert.ok(!parseFilter("Meta.1abc == x").ok, "an identifier must start with a letter");
  assert.ok(!parseFilter("Meta.a-b == x").ok, "hyphens need the index form");
  assert.ok(!parseFilter("_x == y").ok);
});

test("string escapes: Go double-quoted rules, raw backtick strings", () => {
  assert.equal(ast('a == "x\\ty\\n\\\\"').type === "match" && ast('a == "x\\ty\\n\\\\"'), m(["a"], "==", "x\ty\n\\"));
  assert.equal(ast('a == "\\u00e9\\U0001F600\\x41\\101"'), m(["a"], "==", "é😀AA"));
  assert.equal(ast('a == "\\a\\b\\f\\v\\r"'), m(["a"], "==", "\x07\b\f\v\r"));
  assert.equal(ast("a == `x\\ty`"), m(["a"], "==", "x\\ty"), "raw strings keep backslashes");
  assert.equal(ast("a == `line1\r\nline2`"), m(["a"], "==", "line1\nline2"), "raw strings drop CR, as Go's Unquote");
  assert.equal(ast('a == "it\'s"'), m(["a"], "==", "it's"));
  assert.equal(ast("a == `say \"hi\"`"), m(["a"], "==", 'say "hi"'));
  assert.equal(ast('a == ""'), m(["a"], "==", ""));
  // Go's Unquote rejects these; the error points at the literal's start.
  assert.is(err('a == "x\\qy"'), '1:6 (5): rule "string": invalid syntax');
  assert.is(err('a == "\\\'"'), '1:6 (5): rule "string": invalid syntax');
  assert.is(err('a == "\\ud800"'), '1:6 (5): rule "string": invalid syntax');
  assert.is(err('a == "\\400"'), '1:6 (5): rule "string": invalid syntax');
  assert.is(err('a == "x\ny"'), '1:6 (5): rule "string": invalid syntax');
  // the lexer stops at the first double quote, so \" cannot be written
  assert.ok(!parseFilter('a == "x\\"y"').ok);
});

test("syntax errors: go-bexpr's exact texts", () => {
  const cases: Array<[string, string]> = [
    ['foo == "12x', '1:12 (11): rule "string": Unterminated string literal'],
    ["foo == `12x", '1:12 (11): rule "string": Unterminated string literal'],
    ["foo == 3x", '1:9 (8): rule "number": Invalid number literal'],
    ["foo[3] == abc", '1:5 (4): rule "index": Invalid index'],
    ['x in foo["abc"', '1:15 (14): rule "index": Unclosed index expression'],
    ['foo["abc" == 3', '1:11 (10): rule "index": Unclosed index expression'],
    ["x in 32", '1:6 (5): rule "match": Invalid selector'],
    ["32 == 32", '1:4 (3): no match found, expected: "in", "not" or [ \\t\\r\\n]'],
    ["32 is empty", '1:4 (3): no match found, expected: "in", "not" or [ \\t\\r\\n]'],
    ["x in foo abc", '1:10 (9): no match found, expected: "and", "or", [ \\t\\r\\n] or EOF'],
    ["x in foo and ", '1:14 (13): no match found, expected: "(", "-", "0", "\\"", "`", "not", [ \\t\\r\\n], [1-9] or [a-zA-Z]'],
    ["x in foo or ", '1:13 (12): no match found, expected: "(", "-", "0", "\\"", "`", "not", [ \\t\\r\\n], [1-9] or [a-zA-Z]'],
    [
      "x in foo or not ",
      '1:17 (16): no match found, expected: "!=", "(", "-", "0", "==", "\\"", "`", "contains", "in", "is", "matches", "not", [ \\t\\r\\n], [1-9] or [a-zA-Z]',
    ],
    ["(foo == 4", '1:10 (9): rule "grouping": Unmatched parentheses'],
  ];
  for (const [input, want] of cases) assert.is(err(input), want, input);
});

test("error positions count lines, rune columns and byte offsets like pigeon", () => {
  // line 2; the newline itself sits at column 0 of the next line in pigeon
  assert.is(err("a == 1\nand"), '2:4 (10): no match found, expected: [ \\t\\r\\n]');
  // é is 2 bytes: the column counts runes, the offset counts bytes
  assert.is(err('Meta["é"] == 3x'), '1:15 (15): rule "number": Invalid number literal'); // rune 14, byte 15
  assert.match(err(""), /^1:1 \(0\): no match found, expected: /);
  assert.match(err("   "), /^1:4 \(3\): no match found/);
});

test("deep nesting parses fast (memoised); absurd depth is refused, not a stack overflow", () => {
  const deep = "(".repeat(40) + "a == 1" + ")".repeat(40);
  const t0 = Date.now();
  assert.equal(ast(deep), m(["a"], "==", "1"));
  assert.ok(Date.now() - t0 < 2000);
  const absurd = "(".repeat(5000) + "a == 1" + ")".repeat(5000);
  assert.match(err(absurd), /max number of expresssions parsed$/);
});

test("format -> parse round trips (table)", () => {
  const exprs = [
    'Meta.env == "qa"',
    '"primary" in Tags and not Port == 80',
    'Service.Meta["a b"] matches "^x.*" or Checks.Status != passing',
    "ServiceTags is empty or (ServiceTags is not empty and `we\"ird` not in ServiceTags)",
    'a == "tab\there"',
    "a == `back\\slash`",
  ];
  for (const e of exprs) {
    const a = ast(e);
    assert.equal(ast(formatFilter(a)), a, e);
  }
});

const ident = fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9_]{0,6}$/).filter((s) => !["and", "or", "not", "in", "is", "contains", "matches"].includes(s));
const part = fc.oneof(ident, fc.string({ maxLength: 6 }).filter((s) => !s.includes("`") || !s.includes('"')));
const value = fc.string({ maxLength: 8 }).filter((s) => !(s.includes("`") && s.includes('"')) && !(s.includes("\r") && s.includes('"')));
const matchArb: fc.Arbitrary<Ast> = fc
  .tuple(ident, fc.array(part, { maxLength: 3 }), fc.constantFrom<MatchOp>("==", "!=", "in", "not in", "is empty", "is not empty", "matches", "not matches"), value)
  .map(([first, rest, op, v]) => m([first, ...rest], op, op === "is empty" || op === "is not empty" ? null : v));
const astArb: fc.Arbitrary<Ast> = fc.letrec<{ node: Ast }>((tie) => ({
  node: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    matchArb,
    tie("node").map((o): Ast => ({ type: "not", operand: o })),
    fc.tuple(fc.constantFrom<"and" | "or">("and", "or"), tie("node"), tie("node")).map(([t, l, r]): Ast => ({ type: t, left: l, right: r })),
  ),
})).node;

/** go-bexpr folds `not not X`; normalise the generated tree the same way. */
function fold(a: Ast): Ast {
  if (a.type === "not") {
    const o = fold(a.operand);
    return o.type === "not" ? o.operand : { type: "not", operand: o };
  }
  if (a.type === "and" || a.type === "or") return { type: a.type, left: fold(a.left), right: fold(a.right) };
  return a;
}

test("format -> parse round trips (property)", () => {
  fc.assert(
    fc.property(astArb, (a) => {
      const text = formatFilter(a);
      const r = parseFilter(text);
      assert.ok(r.ok, `${text} -> ${r.ok ? "" : r.error}`);
      if (r.ok) assert.equal(r.ast, fold(a), text);
    }),
    { numRuns: 300 },
  );
});

test.run();
