// compileFilter errors: CairnError("bad-request") with Consul's exact texts for
// syntax errors, unknown selectors, unsupported operators, bad coercions and bad regexes.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { isCairnError } from "../../src/shared/errors.ts";
import {
  CHECK_SERVICE_NODE_SCHEMA,
  compileFilter,
  FILTER_ERROR_PREFIX,
  HEALTH_CHECK_SCHEMA,
  NODE_SCHEMA,
  NODE_SERVICE_SCHEMA,
  SERVICE_NODE_SCHEMA,
  type FilterSchema,
} from "../../src/filter/index.ts";

function failure(expr: string, schema?: FilterSchema): string {
  try {
    compileFilter(expr, schema);
  } catch (e) {
    assert.ok(isCairnError(e), "a CairnError");
    if (isCairnError(e)) {
      assert.is(e.kind, "bad-request");
      return e.message;
    }
  }
  throw new Error(`expected ${expr} to be refused`);
}

test("the prefix is Consul's", () => {
  assert.is(FILTER_ERROR_PREFIX, "Failed to create boolean expression evaluator: ");
  assert.is(
    failure("Node =="),
    'Failed to create boolean expression evaluator: 1:8 (7): no match found, expected: "-", "0", "\\"", "`", [ \\t\\r\\n], [1-9] or [a-zA-Z]',
  );
  assert.is(failure("x in 32"), 'Failed to create boolean expression evaluator: 1:6 (5): rule "match": Invalid selector');
});

test("unknown selectors", () => {
  const p = FILTER_ERROR_PREFIX;
  assert.is(failure("Foo == bar", NODE_SCHEMA), p + 'Selector "Foo" is not valid');
  assert.is(failure("node == bar", NODE_SCHEMA), p + 'Selector "node" is not valid', "selectors are case-sensitive");
  assert.is(failure("Meta.env.x == bar", NODE_SCHEMA), p + 'Selector "Meta.env.x" is not valid');
  assert.is(failure("Weights.Critical == 1", NODE_SERVICE_SCHEMA), p + 'Selector "Weights.Critical" is not valid');
  assert.is(failure("TaggedAddresses.lan.Foo == 1", NODE_SERVICE_SCHEMA), p + 'Selector "TaggedAddresses.lan.Foo" is not valid');
  assert.is(failure('Checks.Definition.HTTP == ""', CHECK_SERVICE_NODE_SCHEMA), p + 'Selector "Checks.Definition" is not valid');
  assert.is(failure('Meta["a.b"].c == x', NODE_SCHEMA), p + 'Selector "Meta.a.b.c" is not valid');
  assert.is(failure("CreateIndex == 1", HEALTH_CHECK_SCHEMA), p + 'Selector "CreateIndex" is not valid');
  // the first error from the left wins
  assert.is(failure("Node == a and Bogus == b or Nope == c", NODE_SCHEMA), p + 'Selector "Bogus" is not valid');
  // without a schema any selector is accepted
  assert.is(compileFilter("Bogus.Deep == x")({}), false);
});

test("operators a field does not support", () => {
  const p = FILTER_ERROR_PREFIX;
  assert.is(failure('ServiceTags == "x"', SERVICE_NODE_SCHEMA), p + 'Invalid match operator "Equal" for selector "ServiceTags"');
  assert.is(failure('ServiceMeta matches "x"', SERVICE_NODE_SCHEMA), p + 'Invalid match operator "Matches" for selector "ServiceMeta"');
  assert.is(failure('"x" in ServicePort', SERVICE_NODE_SCHEMA), p + 'Invalid match operator "In" for selector "ServicePort"');
  assert.is(failure('ServicePort contains "8"', SERVICE_NODE_SCHEMA), p + 'Invalid match operator "In" for selector "ServicePort"');
  assert.is(failure("ServiceName is empty", SERVICE_NODE_SCHEMA), p + 'Invalid match operator "Is Empty" for selector "ServiceName"');
  assert.is(failure("ServiceWeights is not empty", SERVICE_NODE_SCHEMA), p + 'Invalid match operator "Is Not Empty" for selector "ServiceWeights"');
  assert.is(failure('Checks == "x"', CHECK_SERVICE_NODE_SCHEMA), p + 'Invalid match operator "Equal" for selector "Checks"');
  assert.is(failure("ServiceEnableTagOverride not matches x", SERVICE_NODE_SCHEMA), p + 'Invalid match operator "Not Matches" for selector "ServiceEnableTagOverride"');
  assert.is(failure("Meta.env is empty", NODE_SCHEMA), p + 'Invalid match operator "Is Empty" for selector "Meta.env"');
  assert.is(compileFilter('"x" not in Node', NODE_SCHEMA)({ Node: "y" }), true, "strings accept not in");
});

test("values that do not coerce to the field's type", () => {
  const p = FILTER_ERROR_PREFIX;
  assert.is(
    failure("ServicePort == abc", SERVICE_NODE_SCHEMA),
    p + 'Failed to coerce value "abc" for selector "ServicePort": strconv.ParseInt: parsing "abc": invalid syntax',
  );
  assert.is(
    failure("ServicePort == 1.5", SERVICE_NODE_SCHEMA),
    p + 'Failed to coerce value "1.5" for selector "ServicePort": strconv.ParseInt: parsing "1.5": invalid syntax',
  );
  assert.is(
    failure('ServicePort == "99999999999999999999"', SERVICE_NODE_SCHEMA),
    p + 'Failed to coerce value "99999999999999999999" for selector "ServicePort": strconv.ParseInt: parsing "99999999999999999999": value out of range',
  );
  assert.is(
    failure("ServiceEnableTagOverride == yes", SERVICE_NODE_SCHEMA),
    p + 'Failed to coerce value "yes" for selector "ServiceEnableTagOverride": strconv.ParseBool: parsing "yes": invalid syntax',
  );
  assert.is(
    failure('ServiceWeights.Passing != "1__0"', SERVICE_NODE_SCHEMA),
    p + 'Failed to coerce value "1__0" for selector "ServiceWeights.Passing": strconv.ParseInt: parsing "1__0": invalid syntax',
  );
  assert.is(
    failure('ServicePort == "a\\tb"', SERVICE_NODE_SCHEMA),
    p + 'Failed to coerce value "a\\tb" for selector "ServicePort": strconv.ParseInt: parsing "a\\tb": invalid syntax',
    "%q escapes control characters",
  );
});

test("bad regular expressions", () => {
  const p = FILTER_ERROR_PREFIX;
  assert.is(
    failure('Node matches "(abc"', NODE_SCHEMA),
    p + 'Failed to compile regular expression "(abc": error parsing regexp: missing closing ): `(abc`',
  );
  assert.is(failure('Node matches "abc)"', NODE_SCHEMA), p + 'Failed to compile regular expression "abc)": error parsing regexp: unexpected ): `abc)`');
  assert.is(failure('Node matches "[a-"', NODE_SCHEMA), p + 'Failed to compile regular expression "[a-": error parsing regexp: missing closing ]: `[a-`');
  assert.is(failure('Node matches "*a"', NODE_SCHEMA), p + 'Failed to compile regular expression "*a": error parsing regexp: missing argument to repetition operator: `*`');
  assert.is(failure('Node matches "a**"', NODE_SCHEMA), p + 'Failed to compile regular expression "a**": error parsing regexp: invalid nested repetition operator: `**`');
  assert.is(failure("Node matches `(?=x)`", NODE_SCHEMA), p + 'Failed to compile regular expression "(?=x)": error parsing regexp: invalid or unsupported Perl syntax: `(?=`');
  assert.is(failure("Node matches `(a)\\1`", NODE_SCHEMA), p + 'Failed to compile regular expression "(a)\\\\1": error parsing regexp: invalid escape sequence: `\\1`');
  assert.is(failure("Node matches `a{1001}`", NODE_SCHEMA), p + 'Failed to compile regular expression "a{1001}": error parsing regexp: invalid repeat count: `{1001}`');
  // schemaless filters compile their regexes too
  assert.match(failure('X matches "(("'), /^Failed to create boolean expression evaluator: Failed to compile regular expression/);
});

test("parse errors come before schema errors", () => {
  assert.match(failure("Bogus == ", NODE_SCHEMA), /no match found/);
});

test.run();
