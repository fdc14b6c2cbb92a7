/**
 * End to end: a real agent process (dev mode and durable mode) driven by the
 * npm `consul` client and plain fetch — the tools users already run.
 */
import { test } from "../shared/suite.ts";
import * as assert from "uvu/assert";
import Consul from "consul";
import { startAgent, tempDir, removeDir, type AgentProc } from "./agent_proc.ts";

let dev: AgentProc;

test.before(async () => {
  dev = await startAgent({ args: ["-dev"] });
});

test.after(async () => {
  await dev.stop();
});

test("npm consul client: set, get, keys, recursive get, delete", async () => {
  const c = new Consul({ host: "127.0.0.1", port: dev.httpPort });
  assert.is(await c.kv.set("app/config/a", "one"), true);
  assert.is(await c.kv.set({ key: "app/config/b", value: "two", flags: 42 }), true);
  const a = (await c.kv.get("app/config/a")) as { Key: string; Value: string; Flags: number };
  assert.is(a.Key, "app/config/a");
  assert.is(a.Value, "one");
  const b = (await c.kv.get("app/config/b")) as { Flags: number };
  assert.is(b.Flags, 42);
  const keys = (await c.kv.keys("app/")) as string[];
  assert.equal(keys, ["app/config/a", "app/config/b"]);
  const rolled = (await c.kv.keys({ key: "app/", separator: "/" })) as string[];
  assert.equal(rolled, ["app/config/"]);
  const all = (await c.kv.get({ key: "app/", recurse: true })) as Array<{ Key: string }>;
  assert.equal(all.map((e) => e.Key), ["app/config/a", "app/config/b"]);
  assert.is(await c.kv.del({ key: "app/", recurse: true }), true);
  assert.is(await c.kv.get("app/config/a"), undefined);
});

test("npm consul client: cas semantics", async () => {
  const c = new Consul({ host: "127.0.0.1", port: dev.httpPort });
  assert.is(await c.kv.set({ key: "cas/k", value: "v1", cas: 0 }), true);
  assert.not.ok(await c.kv.set({ key: "cas/k", value: "v2", cas: 0 }));
  const e = (await c.kv.get("cas/k")) as { ModifyIndex: number };
  assert.not.ok(await c.kv.set({ key: "cas/k", value: "v3", cas: e.ModifyIndex + 1000 }));
  const raw = await fetch(`${dev.base}/v1/kv/cas/k?cas=1`, { method: "PUT", body: "zz" });
  assert.is((await raw.text()).trim(), "false");
  assert.is(await c.kv.set({ key: "cas/k", value: "v3", cas: e.ModifyIndex }), true);
  assert.is(((await c.kv.get("cas/k")) as { Value: string }).Value, "v3");
});

/** The client sends its argument as the body; its .d.ts wants another shape. */
function txn(c: Consul, ops: unknown[]): Promise<unknown> {
  return (c.transaction.create as unknown as (o: unknown[]) => Promise<unknown>)(ops);
}

test("npm consul client: transaction applies all or nothing", async () => {
  const c = new Consul({ host: "127.0.0.1", port: dev.httpPort });
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  const ok = (await txn(c, [
    { KV: { Verb: "set", Key: "txn/a", Value: b64("A") } },
    { KV: { Verb: "set", Key: "txn/b", Value: b64("B") } },
  ])) as { Results: unknown[] };
  assert.is(ok.Results.length, 2);
  let failed = false;
  try {
    await txn(c, [
      { KV: { Verb: "set", Key: "txn/c", Value: b64("C") } },
      { KV: { Verb: "check-not-exists", Key: "txn/a" } },
    ]);
  } catch {
    failed = true;
  }
  assert.ok(failed, "conflicting txn must fail");
  assert.is(await c.kv.get("txn/c"), undefined);
});

test("blocking query through the client's watch wakes on change", async () => {
  const c = new Consul({ host: "127.0.0.1", port: dev.httpPort });
  await c.kv.set("watch/k", "0");
  const w = c.watch({ method: c.kv.get, options: { key: "watch/k", wait: "5s" } as Record<string, string> });
  const seen: string[] = [];
  const done = new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`watch saw ${JSON.stringify(seen)}`)), 8000);
    w.on("change", (data: { Value?: string } | undefined) => {
      seen.push(data?.Value ?? "");
      if (seen.includes("1")) {
        clearTimeout(t);
        resolve();
      }
    });
    w.on("error", (e: unknown) => {
      clearTimeout(t);
      reject(e);
    });
  });
  await new Promise((r) => setTimeout(r, 300));
  await c.kv.set("watch/k", "1");
  try {
    await done;
  } finally {
    w.end();
  }
  assert.ok(seen.includes("1"));
});

test("HTTP basics: headers, 404, 405, bad input", async () => {
  const put = await fetch(`${dev.base}/v1/kv/h/k?flags=18446744073709551615`, { method: "PUT", body: "x" });
  assert.is((await put.text()).trim(), "true"); // -dev pretty-prints, as Consul does
  const get = await fetch(`${dev.base}/v1/kv/h/k`);
  assert.is(get.status, 200);
  assert.ok(Number(get.headers.get("x-consul-index")) > 0);
  assert.is(get.headers.get("x-consul-knownleader"), "true");
  const body = await get.text();
  assert.ok(body.includes('"Flags": 18446744073709551615') || body.includes('"Flags":18446744073709551615'), body);
  const miss = await fetch(`${dev.base}/v1/kv/h/missing`);
  assert.is(miss.status, 404);
  assert.ok(Number(miss.headers.get("x-consul-index")) >= 1);
  const bad = await fetch(`${dev.base}/v1/kv/h/k?index=abc`);
  assert.is(bad.status, 400);
  const wrong = await fetch(`${dev.base}/v1/status/leader`, { method: "DELETE" });
  assert.is(wrong.status, 405);
  assert.ok((wrong.headers.get("allow") ?? "").includes("GET"));
  const big = await fetch(`${dev.base}/v1/kv/h/big`, { method: "PUT", body: new Uint8Array(512 * 1024 + 1) });
  assert.is(big.status, 413);
  await big.text();
  const leader = await (await fetch(`${dev.base}/v1/status/leader`)).json();
  assert.type(leader, "string");
  assert.ok((leader as string).length > 0);
});

test("durable server keeps acknowledged writes across a graceful restart", async () => {
  const dir = tempDir();
  try {
    const args = ["-server", "-bootstrap-expect", "1", "-data-dir", dir, "-node", "n1"];
    let a = await startAgent({ args });
    for (let i = 0; i < 50; i++) {
      const r = await fetch(`${a.base}/v1/kv/d/${i}`, { method: "PUT", body: `v${i}` });
      assert.is(await r.text(), "true");
    }
    const code = await a.stop("SIGTERM");
    assert.is(code, 0, a.output());
    a = await startAgent({ args });
    const r = await fetch(`${a.base}/v1/kv/d/?recurse`);
    const entries = (await r.json()) as Array<{ Key: string; Value: string }>;
    assert.is(entries.length, 50);
    const byKey = new Map(entries.map((e) => [e.Key, Buffer.from(e.Value, "base64").toString()]));
    for (let i = 0; i < 50; i++) assert.is(byKey.get(`d/${i}`), `v${i}`);
    assert.is(await a.stop("SIGINT"), 0, a.output());
  } finally {
    removeDir(dir);
  }
});

test.run();
