/**
 * tests/e2e/snapshot: `cairn snapshot save|inspect|restore` against real agents — a
 * -dev agent and a durable single server (-bootstrap-expect 1 -data-dir): KV, catalog
 * and a session written, saved ("Saved and verified snapshot to index N"), inspected,
 * changed, restored ("Restored snapshot"): the data is back, a blocking query on a
 * changed key wakes with a higher index, X-Consul-Index never goes backwards; corrupt
 * and truncated archives are refused with the error text while the agent keeps running
 * and keeps its data; the durable server keeps the restored state across a restart,
 * and restores a ~12 MB state (several log entries) that survives SIGKILL + restart.
 */

import { suite } from "../shared/suite.ts";
import * as assert from "uvu/assert";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { removeDir, startAgent, tempDir, type AgentProc } from "./agent_proc.ts";
import { runCli } from "./watch_helpers.ts";
import { readTar, writeTar } from "../../src/snapshot/tar.ts";

interface Res {
  status: number;
  body: string;
  index: number;
}

async function call(a: AgentProc, p: string, method = "GET", body?: string, timeoutMs = 8000): Promise<Res> {
  try {
    const r = await fetch(a.base + p, { method, ...(body === undefined ? {} : { body }), signal: AbortSignal.timeout(timeoutMs) });
    return { status: r.status, body: await r.text(), index: Number(r.headers.get("x-consul-index") ?? "0") };
  } catch (e) {
    throw new Error(`${method} ${p}: ${String(e)}; agent output:\n${a.output().slice(-3000)}`);
  }
}

async function ok(a: AgentProc, p: string, method = "PUT", body?: string): Promise<string> {
  const r = await call(a, p, method, body);
  if (r.status !== 200) throw new Error(`${method} ${p}: ${r.status} ${r.body}`);
  return r.body;
}

const raw = async (a: AgentProc, key: string): Promise<string | undefined> => {
  const r = await call(a, `/v1/kv/${key}?raw`);
  return r.status === 200 ? r.body : undefined;
};

async function cli(a: AgentProc, ...args: string[]): Promise<{ code: number | string; out: string; err: string }> {
  const [sub, ...rest] = args;
  // inspect reads a file only (no HTTP flags, as in Consul)
  const http = sub === "inspect" ? [] : ["-http-addr", `127.0.0.1:${a.httpPort}`];
  return runCli(["snapshot", sub ?? "", ...http, ...rest]);
}

async function writeWorld(a: AgentProc): Promise<string> {
  await ok(a, "/v1/kv/app/a", "PUT", "1");
  await ok(a, "/v1/kv/app/dir/x", "PUT", "x1");
  await ok(a, "/v1/catalog/register", "PUT", JSON.stringify({
    Node: "n1",
    Address: "10.0.0.1",
    Service: { Service: "web", ID: "web1", Port: 80 },
    Checks: [{ CheckID: "serfHealth", Name: "serfHealth", Status: "passing" }],
  }));
  const s = JSON.parse(await ok(a, "/v1/session/create", "PUT", JSON.stringify({ Node: "n1", Name: "snap" }))) as { ID: string };
  assert.is((await ok(a, `/v1/kv/app/lock?acquire=${s.ID}`, "PUT", "held")).trim(), "true");
  return s.ID;
}

function tamper(file: string, out: string): void {
  const ms = readTar(new Uint8Array(gunzipSync(readFileSync(file))), { maxMemberBytes: 1 << 26, maxMembers: 8 }).members.map((m) => ({ name: m.name, data: m.data.slice() }));
  const st = ms.find((m) => m.name === "state.bin");
  if (st === undefined) throw new Error("no state.bin");
  st.data[st.data.length >> 1] = st.data[st.data.length >> 1]! ^ 0x20;
  writeFileSync(out, gzipSync(writeTar(ms, 1)));
}

function scenario(kind: "dev" | "durable"): void {
  const t = suite(`snapshot e2e (${kind})`);
  let dir = "";
  let agent: AgentProc | undefined;
  let sessionId = "";
  let savedIndex = 0;
  const args = (): string[] => (kind === "dev" ? ["-dev"] : ["-server", "-bootstrap-expect", "1", "-data-dir", path.join(dir, "data"), "-node", "snapnode"]);
  const a = (): AgentProc => {
    if (agent === undefined) throw new Error("agent not started");
    return agent;
  };

  t.before(async () => {
    dir = tempDir("cairn-snap-e2e-");
    agent = await startAgent({ args: args() });
  });

  t.after(async () => {
    await agent?.stop("SIGKILL", 2000);
    removeDir(dir);
  });

  t("save: writes KV, catalog and a session; `snapshot save` verifies and reports the index", async () => {
    sessionId = await writeWorld(a());
    const before = await call(a(), "/v1/kv/app/a");
    const file = path.join(dir, "backup.snap");
    const r = await cli(a(), "save", file);
    assert.is(r.code, 0, r.err);
    const m = /^Saved and verified snapshot to index (\d+)\n$/.exec(r.out);
    assert.ok(m, r.out);
    savedIndex = Number(m![1]);
    assert.ok(savedIndex >= before.index, `${savedIndex} >= ${before.index}`);
    const bad = await cli(a(), "save");
    assert.is(bad.code, 1);
    assert.is(bad.err, "Missing FILE argument\n");
    const self = JSON.parse((await call(a(), "/v1/agent/self")).body) as { Config: { Version: string; NodeName: string } };
    const named = await cli(a(), "save", "-append-filename", "status,dc,version,node", path.join(dir, "named.snap"));
    assert.is(named.code, 0, named.err);
    const want = path.join(dir, `named-${self.Config.Version}-dc1-${self.Config.NodeName}-leader.snap`);
    assert.ok(existsSync(want), `${want} exists`);
    assert.not.ok(existsSync(`${want}.unverified`));
  });

  t("inspect prints Consul's table for the saved archive", async () => {
    const r = await cli(a(), "inspect", path.join(dir, "backup.snap"));
    assert.is(r.code, 0, r.err);
    assert.match(r.out, /^ ID\s+1-\d+-\d+\n Size\s+\d+\n/);
    assert.match(r.out, new RegExp(`\\n Index\\s+${savedIndex}\\n Term\\s+1\\n Version\\s+1\\n\\n Type\\s+Count\\s+Size\\n`));
    assert.match(r.out, /\n KVS\s+3\s+\d/);
    assert.match(r.out, /\n Register\s+\d+\s+\d/);
    assert.match(r.out, /\n Session\s+1\s+\d/);
    assert.match(r.out, /\n Total\s+\d+(\.\d)?(B|KB|MB)\n$/);
    const kv = await cli(a(), "inspect", "-kvdetails", "-kvdepth", "1", path.join(dir, "backup.snap"));
    assert.match(kv.out, /\n Key Name\s+Count\s+Size\n ----\s+----\s+----\n app\s+3\s+/);
    const missing = await cli(a(), "inspect", path.join(dir, "nope.snap"));
    assert.is(missing.code, 1);
    assert.match(missing.err, /^Error opening snapshot file: open .*nope\.snap: no such file or directory\n$/);
  });

  t("restore: data back, a blocking query on a changed key wakes, indexes never go backwards", async () => {
    await ok(a(), "/v1/kv/app/a", "PUT", "2");
    await ok(a(), "/v1/kv/app/dir/x", "DELETE");
    await ok(a(), "/v1/kv/app/new", "PUT", "n");
    await ok(a(), "/v1/catalog/deregister", "PUT", JSON.stringify({ Node: "n1" })); // also invalidates the session
    assert.is(await raw(a(), "app/lock"), "held"); // released (behavior release), value kept
    const cur = await call(a(), "/v1/kv/app/a");
    assert.ok(cur.index > savedIndex);
    const waiting = call(a(), `/v1/kv/app/a?index=${cur.index}&wait=20s`, "GET", undefined, 25_000);
    await new Promise((r) => setTimeout(r, 200));
    const r = await cli(a(), "restore", path.join(dir, "backup.snap"));
    assert.is(r.code, 0, r.err);
    assert.is(r.out, "Restored snapshot\n");
    const woke = await waiting;
    assert.is(woke.status, 200);
    assert.ok(woke.index > cur.index, `woke at ${woke.index} > ${cur.index}`);
    assert.is(Buffer.from((JSON.parse(woke.body) as Array<{ Value: string }>)[0]!.Value, "base64").toString(), "1");
    assert.is(await raw(a(), "app/a"), "1");
    assert.is(await raw(a(), "app/dir/x"), "x1");
    assert.is(await raw(a(), "app/new"), undefined);
    const lock = JSON.parse((await call(a(), "/v1/kv/app/lock")).body) as Array<{ Session?: string }>;
    assert.is(lock[0]!.Session, sessionId);
    const sess = await call(a(), `/v1/session/info/${sessionId}`);
    assert.is((JSON.parse(sess.body) as unknown[]).length, 1);
    const web = await call(a(), "/v1/catalog/service/web");
    assert.is((JSON.parse(web.body) as Array<{ Node: string }>)[0]?.Node, "n1");
    for (const p of ["/v1/kv/app/a", "/v1/kv/app/new", "/v1/kv/app/?recurse", "/v1/catalog/nodes", "/v1/catalog/service/web", "/v1/session/list"]) {
      const x = await call(a(), p);
      assert.ok(x.index >= cur.index, `${p}: X-Consul-Index ${x.index} >= ${cur.index}`);
    }
    // writes go on after the restore
    await ok(a(), "/v1/kv/app/after", "PUT", "yes");
    assert.is(await raw(a(), "app/after"), "yes");
  });

  t("corrupt and truncated archives are refused with the error text; the agent keeps running and its data", async () => {
    const good = path.join(dir, "backup.snap");
    const bad = path.join(dir, "tampered.snap");
    tamper(good, bad);
    const r = await cli(a(), "restore", bad);
    assert.is(r.code, 1);
    assert.is(
      r.err,
      'Error restoring snapshot: Unexpected response code: 500 (failed to read snapshot file: failed checking integrity of snapshot: hash check failed for "state.bin")\n',
    );
    const cut = path.join(dir, "cut.snap");
    const bytes = readFileSync(good);
    writeFileSync(cut, bytes.subarray(0, bytes.length >> 1));
    const r2 = await cli(a(), "restore", cut);
    assert.is(r2.code, 1);
    assert.match(r2.err, /^Error restoring snapshot: Unexpected response code: 500 \(failed to read snapshot file: failed reading snapshot: unexpected EOF\)\n$/);
    const i1 = await cli(a(), "inspect", bad);
    assert.is(i1.code, 1);
    assert.match(i1.err, /^Error reading snapshot: failed to read snapshot file: failed checking integrity of snapshot: hash check failed for "state\.bin"\n$/);
    writeFileSync(path.join(dir, "junk.snap"), "not a snapshot");
    const r3 = await cli(a(), "restore", path.join(dir, "junk.snap"));
    assert.match(r3.err, /\(failed to decompress snapshot: gzip: invalid header\)/);
    assert.is((await call(a(), "/v1/status/leader")).status, 200);
    assert.is(await raw(a(), "app/a"), "1");
    assert.is(await raw(a(), "app/after"), "yes");
  });

  if (kind === "durable") {
    t("the restored state survives a restart from the data dir", async () => {
      const code = await a().stop("SIGTERM", 15_000);
      assert.is(code, 0);
      agent = await startAgent({ args: args() });
      assert.is(await raw(a(), "app/a"), "1");
      assert.is(await raw(a(), "app/dir/x"), "x1");
      assert.is(await raw(a(), "app/new"), undefined);
      assert.is(await raw(a(), "app/after"), "yes");
      const web = await call(a(), "/v1/catalog/service/web");
      assert.is((JSON.parse(web.body) as unknown[]).length, 1);
    });

    t("a ~12 MB state restores through several log entries (and replays after SIGKILL)", async () => {
      const v = (i: number): string => String(i % 10).repeat(500_000);
      const n = 24; // 12 MB of values: four chunks of at most 3.5 MiB
      for (let i = 0; i < n; i++) await ok(a(), `/v1/kv/big/${i}`, "PUT", v(i));
      const file = path.join(dir, "big.snap");
      const s = await cli(a(), "save", file);
      assert.is(s.code, 0, s.err);
      const state = readTar(new Uint8Array(gunzipSync(readFileSync(file))), { maxMemberBytes: 1 << 26, maxMembers: 8 }).members.find((m) => m.name === "state.bin");
      assert.ok(state !== undefined && state.data.length > 12_000_000, `state.bin of ${state?.data.length} bytes`);
      await ok(a(), "/v1/kv/big?recurse", "DELETE");
      await ok(a(), "/v1/kv/big/changed", "PUT", "after the save");
      const before = (await call(a(), "/v1/kv/app/a")).index;
      const r = await cli(a(), "restore", file);
      assert.is(r.code, 0, r.err);
      const check = async (): Promise<void> => {
        for (const i of [0, 7, n - 1]) assert.is(await raw(a(), `big/${i}`), v(i));
        assert.is(await raw(a(), "big/changed"), undefined);
        assert.is(await raw(a(), "app/a"), "1");
      };
      await check();
      assert.ok((await call(a(), "/v1/kv/app/a")).index > before);
      // nothing left pending: a save works again, and writes go on
      const again = path.join(dir, "again.snap");
      const s2 = await cli(a(), "save", again);
      assert.is(s2.code, 0, s2.err);
      await ok(a(), "/v1/kv/app/later", "PUT", "yes");
      // killed without a shutdown snapshot: the chunks and the final entry replay from the WAL
      await a().stop("SIGKILL", 5000);
      agent = await startAgent({ args: args() });
      await check();
      assert.is(await raw(a(), "app/later"), "yes");
      assert.is((await call(a(), "/v1/status/leader")).status, 200);
      assert.not.match(a().output(), /left unfinished/);
    });
  }

  t.run();
}

scenario("dev");
scenario("durable");
