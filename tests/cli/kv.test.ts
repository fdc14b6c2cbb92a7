import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { FakeKV, runInProcess, runMain } from "./helpers.ts";

interface Ctx {
  kv: FakeKV;
  addr: string;
}

const kv = suite<Ctx>("kv commands", { kv: new FakeKV(), addr: "" });

kv.before.each(async (ctx) => {
  ctx.kv = new FakeKV();
  ctx.addr = await ctx.kv.start();
});
kv.after.each(async (ctx) => {
  await ctx.kv.stop();
});

const run = (ctx: Ctx, args: string[], env: Record<string, string> = {}, stdin = "") =>
  runInProcess(args, { CONSUL_HTTP_ADDR: ctx.addr, ...env }, stdin);

kv("get prints the raw value and a newline", async (ctx) => {
  ctx.kv.set("foo", "bar");
  const r = await run(ctx, ["kv", "get", "foo"]);
  assert.is(r.code, 0);
  assert.is(r.stdout, "bar\n");
  const req = ctx.kv.requests[0];
  assert.is(req?.method, "GET");
  assert.is(req?.url, "/v1/kv/foo");
});

kv("get of a missing key: error and exit 1", async (ctx) => {
  const r = await run(ctx, ["kv", "get", "nope"]);
  assert.is(r.code, 1);
  assert.is(r.stderr, "Error! No key exists at: nope\n");
  assert.is(r.stdout, "");
});

kv("get without a key needs -recurse or -keys", async (ctx) => {
  const r = await run(ctx, ["kv", "get"]);
  assert.is(r.code, 1);
  assert.is(r.stderr, "Error! Missing KEY argument\n");
  assert.is(ctx.kv.requests.length, 0);
});

kv("get -recurse prints key:value lines; leading / is stripped", async (ctx) => {
  ctx.kv.set("app/a", "1");
  ctx.kv.set("app/b", "2");
  ctx.kv.set("other", "3");
  const r = await run(ctx, ["kv", "get", "-recurse", "/app/"]);
  assert.is(r.code, 0);
  assert.is(r.stdout, "app/a:1\napp/b:2\n");
  assert.is(ctx.kv.requests[0]?.url, "/v1/kv/app/?recurse=");
});

kv("get -keys with the default and a custom separator", async (ctx) => {
  ctx.kv.set("app/a/x", "1");
  ctx.kv.set("app/b", "2");
  let r = await run(ctx, ["kv", "get", "-keys", "app/"]);
  assert.is(r.stdout, "app/a/\napp/b\n");
  assert.is(ctx.kv.requests[0]?.url, "/v1/kv/app/?keys=&separator=%2F");
  r = await run(ctx, ["kv", "get", "-keys", "-separator=", "app/"]);
  assert.is(r.stdout, "app/a/x\napp/b\n");
  assert.is(ctx.kv.requests[1]?.url, "/v1/kv/app/?keys=");
});

kv("get -detailed: Consul's aligned field table", async (ctx) => {
  ctx.kv.set("foo", "bar", 42);
  const r = await run(ctx, ["kv", "get", "-detailed", "foo"]);
  assert.is(r.code, 0);
  assert.is(
    r.stdout,
    "CreateIndex      11\n" +
      "Flags            42\n" +
      "Key              foo\n" +
      "LockIndex        0\n" +
      "ModifyIndex      11\n" +
      "Session          -\n" +
      "Value            bar\n",
  );
});

kv("get -detailed -recurse separates pairs with a blank line; -base64", async (ctx) => {
  ctx.kv.set("a", "x", 0, "sess-1");
  ctx.kv.set("b", "y");
  const r = await run(ctx, ["kv", "get", "-recurse", "-detailed", "-base64", ""]);
  const blocks = r.stdout.split("\n\n");
  assert.is(blocks.length, 2);
  assert.ok(blocks[0]?.includes("Session          sess-1"));
  assert.ok(blocks[0]?.includes("Value            eA=="));
  const r2 = await run(ctx, ["kv", "get", "-recurse", "-base64", "b"]);
  assert.is(r2.stdout, "b:eQ==\n");
});

kv("put value, flags, token and datacenter", async (ctx) => {
  const r = await run(ctx, ["kv", "put", "-flags=5", "-datacenter=dc9", "-token=secret", "cfg/x", "hello"]);
  assert.is(r.code, 0);
  assert.is(r.stdout, "Success! Data written to: cfg/x\n");
  const req = ctx.kv.requests[0];
  assert.is(req?.method, "PUT");
  assert.is(req?.path, "/v1/kv/cfg/x");
  assert.is(req?.query.get("flags"), "5");
  assert.is(req?.query.get("dc"), "dc9");
  assert.is(req?.headers["x-consul-token"], "secret");
  assert.is(req?.body.toString(), "hello");
});

kv("put without data writes an empty value; token from CONSUL_HTTP_TOKEN", async (ctx) => {
  const r = await run(ctx, ["kv", "put", "empty"], { CONSUL_HTTP_TOKEN: "envtok" });
  assert.is(r.code, 0);
  assert.is(ctx.kv.requests[0]?.body.length, 0);
  assert.is(ctx.kv.requests[0]?.headers["x-consul-token"], "envtok");
  assert.is(ctx.kv.requests[0]?.url, "/v1/kv/empty");
});

kv("put @file, - (stdin) and -base64", async (ctx) => {
  const dir = mkdtempSync(path.join(tmpdir(), "cairn-kv-"));
  try {
    const f = path.join(dir, "v.txt");
    writeFileSync(f, "from-file");
    await run(ctx, ["kv", "put", "a", `@${f}`]);
    await run(ctx, ["kv", "put", "b", "-"], {}, "from-stdin");
    await run(ctx, ["kv", "put", "-base64", "c", Buffer.from("decoded").toString("base64")]);
    assert.is(ctx.kv.data.get("a")?.value.toString(), "from-file");
    assert.is(ctx.kv.data.get("b")?.value.toString(), "from-stdin");
    assert.is(ctx.kv.data.get("c")?.value.toString(), "decoded");
    const missing = await run(ctx, ["kv", "put", "d", `@${path.join(dir, "none")}`]);
    assert.is(missing.code, 1);
    assert.ok(missing.stderr.startsWith("Error! Failed to read file:"), missing.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

kv("put -cas: success, failure and missing -modify-index", async (ctx) => {
  ctx.kv.set("k", "v1");
  const idx = ctx.kv.data.get("k")?.modifyIndex ?? 0;
  let r = await run(ctx, ["kv", "put", "-cas", `-modify-index=${idx}`, "k", "v2"]);
  assert.is(r.code, 0);
  assert.is(r.stdout, "Success! Data written to: k\n");
  assert.is(ctx.kv.requests[0]?.query.get("cas"), String(idx));
  r = await run(ctx, ["kv", "put", "-cas", `-modify-index=${idx}`, "k", "v3"]);
  assert.is(r.code, 1);
  assert.is(r.stderr, "Error! Did not write to k: CAS failed\n");
  r = await run(ctx, ["kv", "put", "-cas", "k", "v3"]);
  assert.is(r.code, 1);
  assert.is(r.stderr, "Must specify -modify-index with -cas!\n");
});

kv("put -acquire needs -session; too many arguments", async (ctx) => {
  let r = await run(ctx, ["kv", "put", "-acquire", "k", "v"]);
  assert.is(r.code, 1);
  assert.is(r.stderr, "Error! Missing -session (required with -acquire and -release)\n");
  r = await run(ctx, ["kv", "put", "a", "b", "c"]);
  assert.is(r.stderr, "Error! Too many arguments (expected 1 or 2, got 3)\n");
  r = await run(ctx, ["kv", "put", "-acquire", "-session=s1", "k", "v"]);
  assert.is(r.stdout, "Success! Lock acquired on: k\n");
  assert.is(ctx.kv.requests[0]?.query.get("acquire"), "s1");
});

kv("delete, delete -recurse, delete -cas", async (ctx) => {
  ctx.kv.set("a/1", "x");
  ctx.kv.set("a/2", "y");
  ctx.kv.set("b", "z");
  let r = await run(ctx, ["kv", "delete", "b"]);
  assert.is(r.stdout, "Success! Deleted key: b\n");
  assert.is(ctx.kv.requests[0]?.method, "DELETE");
  assert.is(ctx.kv.requests[0]?.url, "/v1/kv/b");
  r = await run(ctx, ["kv", "delete", "-recurse", "a/"]);
  assert.is(r.stdout, "Success! Deleted keys with prefix: a/\n");
  assert.is(ctx.kv.requests[1]?.url, "/v1/kv/a/?recurse=");
  assert.is(ctx.kv.data.size, 0);
  ctx.kv.set("c", "1");
  r = await run(ctx, ["kv", "delete", "-cas", "-modify-index=1", "c"]);
  assert.is(r.code, 1);
  assert.is(r.stderr, "Error! Did not delete key c: CAS failed\n");
  r = await run(ctx, ["kv", "delete", "-cas", "-recurse", "-modify-index=1", "c"]);
  assert.is(r.stderr, "Cannot specify both -cas and -recurse!\n");
  r = await run(ctx, ["kv", "delete", "-modify-index=1", "c"]);
  assert.is(r.stderr, "Cannot specify -modify-index without -cas!\n");
});

kv("export writes Go's indented JSON; import reads it back under -prefix", async (ctx) => {
  ctx.kv.set("cfg/a", "1", 3);
  ctx.kv.set("cfg/<b>", "");
  const r = await run(ctx, ["kv", "export", "cfg/"]);
  assert.is(r.code, 0);
  assert.is(
    r.stdout,
    '[\n\t{\n\t\t"key": "cfg/\\u003cb\\u003e",\n\t\t"flags": 0,\n\t\t"value": ""\n\t},\n' +
      '\t{\n\t\t"key": "cfg/a",\n\t\t"flags": 3,\n\t\t"value": "MQ=="\n\t}\n]\n',
  );
  const empty = await run(ctx, ["kv", "export", "nothing/"]);
  assert.is(empty.stdout, "[]\n");
  const imp = await run(ctx, ["kv", "import", "-prefix=copy", "-"], {}, r.stdout);
  assert.is(imp.code, 0);
  assert.is(imp.stdout, "Imported: copy/cfg/<b>\nImported: copy/cfg/a\n");
  assert.is(ctx.kv.data.get("copy/cfg/a")?.value.toString(), "1");
  assert.is(ctx.kv.data.get("copy/cfg/a")?.flags, 3);
});

kv("import errors: missing DATA, bad JSON", async (ctx) => {
  let r = await run(ctx, ["kv", "import"]);
  assert.is(r.stderr, "Error! Missing DATA argument\n");
  r = await run(ctx, ["kv", "import", "{not json"]);
  assert.is(r.code, 1);
  assert.ok(r.stderr.startsWith("Cannot unmarshal data:"), r.stderr);
});

kv("agent errors become 'Error querying Consul agent: Unexpected response code'", async (ctx) => {
  ctx.kv.failWith = { status: 500, body: "No cluster leader" };
  const r = await run(ctx, ["kv", "get", "foo"]);
  assert.is(r.code, 1);
  assert.is(r.stderr, "Error querying Consul agent: Unexpected response code: 500 (No cluster leader)\n");
  const p = await run(ctx, ["kv", "put", "foo", "x"]);
  assert.is(p.stderr, "Error! Failed writing data: Unexpected response code: 500 (No cluster leader)\n");
});

kv("-http-addr beats CONSUL_HTTP_ADDR; http:// scheme accepted", async (ctx) => {
  ctx.kv.set("foo", "bar");
  const r = await runInProcess(["kv", "get", `-http-addr=http://${ctx.addr}`, "foo"], { CONSUL_HTTP_ADDR: "127.0.0.1:1" });
  assert.is(r.stdout, "bar\n");
});

kv("connection refused is reported like Go's client", async () => {
  const r = await runInProcess(["kv", "get", "foo"], { CONSUL_HTTP_ADDR: "127.0.0.1:1" });
  assert.is(r.code, 1);
  assert.is(
    r.stderr,
    'Error querying Consul agent: Get "http://127.0.0.1:1/v1/kv/foo": dial tcp 127.0.0.1:1: connect: connection refused\n',
  );
});

kv("bad flag: error, usage, exit 2; -help: usage, exit 0", async (ctx) => {
  const r = await run(ctx, ["kv", "get", "-bogus", "foo"]);
  assert.is(r.code, 2);
  assert.ok(r.stderr.startsWith("flag provided but not defined: -bogus\nUsage: consul kv get [options] [KEY_OR_PREFIX]"));
  const h = await run(ctx, ["kv", "put", "-help"]);
  assert.is(h.code, 0);
  assert.ok(h.stderr.startsWith("Usage: consul kv put [options] KEY [DATA]"));
  assert.ok(h.stderr.includes("HTTP API Options\n\n  -ca-file=<value>"));
  assert.ok(h.stderr.includes("Command Options\n\n  -acquire\n"));
  assert.ok(h.stderr.includes("  -flags=<uint>\n"));
  assert.is(ctx.kv.requests.length, 0);
});

kv("child process: kv put and get through src/main.ts", async (ctx) => {
  const p = await runMain(["kv", "put", "proc/key", "-"], { CONSUL_HTTP_ADDR: ctx.addr }, "piped");
  assert.is(p.code, 0, p.stderr);
  assert.is(p.stdout, "Success! Data written to: proc/key\n");
  const g = await runMain(["kv", "get", "proc/key"], { CONSUL_HTTP_ADDR: ctx.addr });
  assert.is(g.stdout, "piped\n");
  const m = await runMain(["kv", "get", "proc/none"], { CONSUL_HTTP_ADDR: ctx.addr });
  assert.is(m.code, 1);
  assert.is(m.stderr, "Error! No key exists at: proc/none\n");
});

kv.run();
