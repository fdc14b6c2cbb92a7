import { test } from "uvu";
import * as assert from "uvu/assert";
import { FlagSet, parseGoBool, parseGoInt, renderUsage, wantsHelp, wrapText } from "../../src/cli/flags.ts";

function fs(): FlagSet {
  return new FlagSet()
    .bool("recurse", "Recurse.")
    .string("separator", "/", "Separator.")
    .uint("flags", 0, "Flags.")
    .int("n", 3, "Count.")
    .list("tag", "Tag, repeatable.");
}

test("forms: -f v, -f=v, --f v, booleans", () => {
  const f = fs();
  const r = f.parse(["-separator", ":", "--flags=7", "--recurse", "-n", "-4", "key"]);
  assert.equal(r, { kind: "ok", args: ["key"] });
  assert.is(f.getString("separator"), ":");
  assert.is(f.getInt("flags"), 7);
  assert.is(f.getInt("n"), -4);
  assert.is(f.getBool("recurse"), true);
});

test("defaults apply when a flag is absent", () => {
  const f = fs();
  assert.equal(f.parse([]), { kind: "ok", args: [] });
  assert.is(f.getString("separator"), "/");
  assert.is(f.getBool("recurse"), false);
  assert.is(f.getInt("n"), 3);
  assert.is(f.isSet("separator"), false);
});

test("boolean =false and a bool never takes the next argument", () => {
  const f = fs();
  assert.equal(f.parse(["-recurse=false", "x"]), { kind: "ok", args: ["x"] });
  assert.is(f.getBool("recurse"), false);
  const g = fs();
  assert.equal(g.parse(["-recurse", "false"]), { kind: "ok", args: ["false"] });
  assert.is(g.getBool("recurse"), true);
  assert.equal(fs().parse(["-recurse=maybe"]).kind, "error");
});

test("repeated list flags append; scalars keep the last", () => {
  const f = fs();
  f.parse(["-tag", "a", "-tag=b", "-separator", "x", "-separator", "y"]);
  assert.equal(f.getList("tag"), ["a", "b"]);
  assert.is(f.getString("separator"), "y");
  assert.equal(f.getOrdered(["tag", "separator"]), ["a", "b", "x", "y"]);
});

test("parsing stops at the first non-flag; -- is consumed; - is an argument", () => {
  const f = fs();
  assert.equal(f.parse(["key", "-recurse"]), { kind: "ok", args: ["key", "-recurse"] });
  assert.is(f.getBool("recurse"), false);
  assert.equal(fs().parse(["--", "-recurse"]), { kind: "ok", args: ["-recurse"] });
  assert.equal(fs().parse(["-", "x"]), { kind: "ok", args: ["-", "x"] });
  // a value flag takes the next argument even when it looks like a flag
  const g = fs();
  assert.equal(g.parse(["-separator", "-recurse"]), { kind: "ok", args: [] });
  assert.is(g.getString("separator"), "-recurse");
});

test("errors use Go's wording", () => {
  assert.equal(fs().parse(["-bogus"]), { kind: "error", message: "flag provided but not defined: -bogus" });
  assert.equal(fs().parse(["-separator"]), { kind: "error", message: "flag needs an argument: -separator" });
  assert.equal(fs().parse(["-flags=x"]), { kind: "error", message: 'invalid value "x" for flag -flags: parse error' });
  assert.equal(fs().parse(["-flags=-1"]).kind, "error");
  assert.equal(fs().parse(["---x"]), { kind: "error", message: "bad flag syntax: ---x" });
  assert.equal(fs().parse(["-h"]), { kind: "help" });
  assert.equal(fs().parse(["--help"]), { kind: "help" });
});

test("wantsHelp looks before -- only", () => {
  assert.ok(wantsHelp(["kv", "get", "x", "-help"]));
  assert.not.ok(wantsHelp(["kv", "put", "--", "-h"]));
});

test("Go ParseBool and ParseInt(base 0)", () => {
  assert.is(parseGoBool("T"), true);
  assert.is(parseGoBool("0"), false);
  assert.is(parseGoBool("yes"), undefined);
  assert.is(parseGoInt("0x10"), 16);
  assert.is(parseGoInt("010"), 8);
  assert.is(parseGoInt("1_000"), 1000);
  assert.is(parseGoInt("1.5"), undefined);
});

test("wrapText wraps at the limit with minimum raggedness", () => {
  const s = "aaa bbb ccc ddd eee fff";
  const w = wrapText(s, 11);
  for (const line of w.split("\n")) assert.ok(line.length <= 11, line);
  assert.is(w.replaceAll("\n", " "), s);
  assert.is(wrapText("short", 72), "short");
});

test("usage: Consul's sections and -flag=<example> lines", () => {
  const f = new FlagSet()
    .bool("recurse", "Recurse.")
    .string("separator", "/", "Separator.")
    .add({ name: "http-addr", kind: "string", section: "http", usage: "The `address` of the agent." })
    .add({ name: "stale", kind: "bool", section: "http", usage: "Stale reads." });
  const u = renderUsage("\nUsage: consul kv get [options] KEY_OR_PREFIX\n\n  Reads.\n", f);
  assert.is(
    u,
    "Usage: consul kv get [options] KEY_OR_PREFIX\n\n  Reads.\n\n" +
      "HTTP API Options\n\n  -http-addr=<address>\n     The address of the agent.\n\n  -stale\n     Stale reads.\n\n" +
      "Command Options\n\n  -recurse\n     Recurse.\n\n  -separator=<string>\n     Separator.",
  );
});

test.run();
