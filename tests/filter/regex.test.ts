// Go RE2 -> JS translation for `matches`: RE2-only syntax works, Go's literal
// quirks hold, JS-only syntax is refused, catastrophic nesting is refused.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { compileGoRegex } from "../../src/filter/regex.ts";

function re(p: string): RegExp {
  const r = compileGoRegex(p);
  if (!r.ok) throw new Error(`${p}: ${r.error}`);
  return r.re;
}
function bad(p: string): string {
  const r = compileGoRegex(p);
  assert.ok(!r.ok, `expected ${p} to be refused`);
  return r.ok ? "" : r.error;
}

test("RE2 syntax that JS lacks", () => {
  assert.ok(re("(?i)^WEB").test("web-1"));
  assert.ok(re("(?s)a.b").test("a\nb"));
  assert.ok(!re("a.b").test("a\nb"));
  assert.ok(re("(?m)^b$").test("a\nb\nc"));
  assert.is(re("(?P<env>prod|qa)-(\\d+)").exec("qa-12")?.groups?.["env"], "qa");
  assert.ok(re("\\Aweb\\z").test("web"));
  assert.ok(!re("\\Aweb\\z").test("web\n"));
  assert.ok(re("\\Qa.b*\\E").test("xa.b*y"));
  assert.ok(!re("\\Qa.b*\\E").test("aXbb"));
  assert.ok(re("^\\pL+$").test("héllo"));
  assert.ok(re("^\\p{Greek}+$").test("αβγ"));
  assert.ok(re("^[[:alpha:]][[:digit:]_]*$").test("a1_2"));
  assert.ok(re("\\x{1F600}").test("😀"));
  assert.ok(re("^\\s$").test("\t"));
  assert.ok(!re("^\\s$").test("\u00a0"), "Go's \\s is ASCII only");
  assert.ok(re("^a\\-b\\!$").test("a-b!"), "RE2 allows escaping any punctuation");
});

test("Go's literal braces and brackets", () => {
  assert.ok(re("a{").test("a{"));
  assert.ok(re("a{,3}").test("a{,3}"));
  assert.ok(re("x}").test("x}"));
  assert.ok(re("a]").test("a]"));
  assert.ok(re("[]a]").test("]"));
  assert.ok(re("^a{2,3}$").test("aaa"));
  assert.ok(re("^[a-c-]+$").test("a-c"));
});

test("JS-only constructs are refused like Go refuses them", () => {
  assert.match(bad("(?<=a)b"), /invalid or unsupported Perl syntax: `\(\?<`/);
  assert.match(bad("(?!a)"), /invalid or unsupported Perl syntax/);
  assert.match(bad("(a)\\1"), /invalid escape sequence: `\\1`/);
  assert.match(bad("\\Z"), /invalid escape sequence/);
  assert.match(bad("\\e"), /invalid escape sequence/);
});

test("catastrophic nesting is refused; bounded nesting is fine", () => {
  assert.match(bad("(a+)+$"), /nested unbounded repetition/);
  assert.match(bad("(a*)*"), /nested unbounded repetition/);
  assert.match(bad("((ab)*c)+"), /nested unbounded repetition/);
  assert.match(bad("(x|y+){2,}"), /nested unbounded repetition/);
  assert.ok(re("(a+)?b").test("aab"));
  assert.ok(re("(a+){1,3}b").test("aab"));
  assert.ok(re("(ab)+c").test("ababc"));
  assert.match(bad("a".repeat(5000)), /too large/);
});

test.run();
