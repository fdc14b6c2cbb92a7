import { test } from "uvu";
import * as assert from "uvu/assert";
import { goQuote, indentJson, jsonString, renderEntry } from "../../src/http/json.ts";
import { parseJson } from "../../src/http/jsonparse.ts";
import { parseGoDuration, parseUint64, Query } from "../../src/http/query.ts";
import { blockingTimeout } from "../../src/http/blocking.ts";
import { cleanPath } from "../../src/http/router.ts";
import { validateKvKey } from "../../src/http/kv.ts";

test("jsonString escapes like Go's encoding/json", () => {
  assert.is(jsonString("plain/key"), '"plain/key"');
  assert.is(jsonString('a"b\\c'), '"a\\"b\\\\c"');
  assert.is(jsonString("<a>&"), '"\\u003ca\\u003e\\u0026"');
  assert.is(jsonString("\n\r\t\b\f\u0001\u001f"), '"\\n\\r\\t\\b\\f\\u0001\\u001f"');
  assert.is(jsonString("\u2028\u2029"), '"\\u2028\\u2029"');
  assert.is(jsonString("ç€😀"), '"ç€😀"');
  assert.is(jsonString("bad\ud800x"), '"bad\\ufffdx"');
  assert.is(jsonString("\udc00"), '"\\ufffd"');
});

test("renderEntry is byte-exact with Consul's DirEntry", () => {
  const e = {
    key: "web/<cfg>",
    value: new TextEncoder().encode("hello"),
    flags: 18446744073709551615n,
    lockIndex: 0,
    session: "",
    createIndex: 5,
    modifyIndex: 7,
  };
  assert.is(
    renderEntry(e),
    '{"LockIndex":0,"Key":"web/\\u003ccfg\\u003e","Flags":18446744073709551615,"Value":"aGVsbG8=","CreateIndex":5,"ModifyIndex":7}',
  );
  assert.is(
    renderEntry({ ...e, value: new Uint8Array(0), session: "s1", flags: 0n }),
    '{"LockIndex":0,"Key":"web/\\u003ccfg\\u003e","Flags":0,"Value":null,"Session":"s1","CreateIndex":5,"ModifyIndex":7}',
  );
});

test("indentJson matches json.MarshalIndent with 4 spaces", () => {
  assert.is(indentJson('[{"a":1,"b":[],"c":{},"d":"x,:{"}]'), '[\n    {\n        "a": 1,\n        "b": [],\n        "c": {},\n        "d": "x,:{"\n    }\n]');
  assert.is(indentJson("true"), "true");
  assert.is(indentJson('"a\\"]"'), '"a\\"]"');
});

test("goQuote follows strconv.Quote", () => {
  assert.is(goQuote('a"b'), '"a\\"b"');
  assert.is(goQuote("a\nb\u0001"), '"a\\nb\\x01"');
  assert.is(goQuote("ç"), '"ç"');
});

test("parseJson keeps big integers exact and reports Go-like errors", () => {
  const v = parseJson('[{"Flags": 18446744073709551615, "x": -1.5e3}]');
  assert.equal(v, {
    t: "arr",
    v: [{ t: "obj", v: [["Flags", { t: "num", src: "18446744073709551615" }], ["x", { t: "num", src: "-1.5e3" }]] }],
  });
  assert.throws(() => parseJson("[1,"), /unexpected EOF/);
  assert.throws(() => parseJson("x"), /invalid character 'x' looking for beginning of value/);
  assert.throws(() => parseJson('{"a" 1}'), /invalid character '1' after object key/);
  assert.throws(() => parseJson("[1 2]"), /invalid character '2' after array element/);
  assert.equal(parseJson('"\\u00e7\\n"'), { t: "str", v: "ç\n" });
});

test("Go durations", () => {
  assert.is(parseGoDuration("10s"), 10_000);
  assert.is(parseGoDuration("1m30s"), 90_000);
  assert.is(parseGoDuration("500ms"), 500);
  assert.is(parseGoDuration("1.5h"), 5_400_000);
  assert.is(parseGoDuration("0"), 0);
  assert.is(parseGoDuration("100us"), 0.1);
  assert.is(parseGoDuration("-2s"), -2000);
  assert.is(parseGoDuration("10"), undefined);
  assert.is(parseGoDuration("abc"), undefined);
  assert.is(parseGoDuration(""), undefined);
  assert.is(parseGoDuration("1x"), undefined);
  assert.is(parseGoDuration(".s"), undefined);
});

test("uint64 parsing and query parsing", () => {
  assert.equal(parseUint64("18446744073709551615"), { ok: true, v: 18446744073709551615n });
  assert.equal(parseUint64("18446744073709551616"), {
    ok: false,
    err: 'strconv.ParseUint: parsing "18446744073709551616": value out of range',
  });
  assert.equal(parseUint64("-1"), { ok: false, err: 'strconv.ParseUint: parsing "-1": invalid syntax' });
  const q = Query.parse("recurse&b=x+y&a=%2F&a=2");
  assert.ok(q);
  assert.ok(q.has("recurse"));
  assert.is(q.get("recurse"), "");
  assert.is(q.get("b"), "x y");
  assert.is(q.encode(), "a=%2F&a=2&b=x+y&recurse=");
  assert.is(Query.parse("a=%zz"), undefined);
  assert.is(Query.parse("a=1;b=2"), undefined);
});

test("blocking timeout: default, cap and jitter bound", () => {
  assert.is(blockingTimeout(0, () => 0), 300_000);
  assert.is(blockingTimeout(10_000, () => 0), 10_000);
  assert.is(blockingTimeout(3_600_000, () => 0), 600_000);
  // jitter < wait/16
  assert.ok(blockingTimeout(16_000, () => 0.999999) < 17_000);
  assert.ok(blockingTimeout(16_000, () => 0.999999) >= 16_999);
  for (let i = 0; i < 200; i++) {
    const t = blockingTimeout(1600, Math.random);
    assert.ok(t >= 1600 && t < 1700);
  }
});

test("cleanPath like Go's ServeMux", () => {
  assert.is(cleanPath("/v1/kv/a//b"), "/v1/kv/a/b");
  assert.is(cleanPath("/v1/kv/a/../b"), "/v1/kv/b");
  assert.is(cleanPath("/v1/kv/"), "/v1/kv/");
  assert.is(cleanPath("/v1/kv/a/"), "/v1/kv/a/");
  assert.is(cleanPath("/"), "/");
});

test("KV key validation", () => {
  assert.is(validateKvKey("foo/bar baz:ç%2F"), undefined);
  assert.is(validateKvKey("con..fig"), undefined);
  assert.is(validateKvKey("/foo"), "key must not begin with a '/'");
  assert.is(validateKvKey("a/../b"), "key contains path traversal sequence");
  assert.is(validateKvKey("a/..%2Fb"), "key contains encoded path traversal sequence");
  assert.ok(validateKvKey(" foo") !== undefined);
  assert.ok(validateKvKey("foo ") !== undefined);
});

test.run();
