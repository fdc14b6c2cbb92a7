/**
 * tests/e2e/snapshot_cluster: a snapshot restore reaches every server of a 3-server
 * Raft cluster (servers started by raft_helpers.ts' ServerProcs): data written, `cairn
 * snapshot save` through a follower, data changed, `cairn snapshot restore` through
 * another follower (the restore commands are forwarded to the leader and replicated,
 * ~8 MB as several restore-chunk entries and a final restore): every server shows the
 * restored data (?stale, local state), a
 * blocking query parked on a follower wakes with a higher index, the cluster keeps
 * taking writes; a server killed before a restore catches up with it when it returns; a
 * leader killed in the middle of a ~40 MB restore leaves it pending, and the next leader
 * drops it (snapshots work again, the data is unchanged).
 */

import { suite } from "../shared/suite.ts";
import * as assert from "uvu/assert";
import path from "node:path";
import { runCli, waitFor } from "./watch_helpers.ts";
import { agreedLeader, ServerProcs, type ServerNode as Node } from "./raft_helpers.ts";
import { readArchive, writeArchive } from "../../src/snapshot/index.ts";
import { Store } from "../../src/state/index.ts";

const t = suite("snapshot restore on a 3-server cluster");
let servers: ServerProcs | undefined;
let dir = "";
let nodes: Node[] = [];
let leader: Node | undefined;
let followers: Node[] = [];

async function call(n: Node, p: string, method = "GET", body?: string, timeoutMs = 8000): Promise<{ status: number; body: string; index: number }> {
  const r = await fetch(`${n.base}${p}`, { method, ...(body === undefined ? {} : { body }), signal: AbortSignal.timeout(timeoutMs) });
  return { status: r.status, body: await r.text(), index: Number(r.headers.get("x-consul-index") ?? "0") };
}

async function raw(n: Node, key: string): Promise<string | undefined> {
  const r = await call(n, `/v1/kv/${key}?raw&stale`);
  if (r.status === 404) return undefined;
  if (r.status !== 200) throw new Error(`GET ${key} on ${n.name}: ${r.status} ${r.body}`);
  return r.body;
}

async function put(n: Node, key: string, value: string): Promise<void> {
  const r = await call(n, `/v1/kv/${key}`, "PUT", value);
  assert.is(r.status, 200, `PUT ${key} via ${n.name}: ${r.body}`);
}

t.before(async () => {
  servers = await ServerProcs.create({ prefix: "cairn-snap-raft-", size: 3 });
  dir = servers.dir;
  nodes = servers.nodes;
});

t.after(async () => {
  await servers?.destroy();
});

t("three servers form a cluster", async () => {
  await Promise.all(nodes.map((n) => (servers as ServerProcs).start(n)));
  leader = await agreedLeader(nodes, nodes, 15_000);
  assert.ok(leader, `leader ${leader.rpcAddr}`);
  followers = nodes.filter((n) => n !== leader);
  assert.is(followers.length, 2);
});

t("save through a follower, change, restore through the other follower: every server has the restored data", async () => {
  const [f1, f2] = followers as [Node, Node];
  await put(f1, "c/a", "1");
  await put(f2, "c/b", "b1");
  const big = "z".repeat(500_000);
  for (let i = 0; i < 16; i++) await put(leader!, `c/big/${i}`, big); // ~8 MB of state: restored as three restore-chunk entries and a final restore
  const file = path.join(dir, "cluster.snap");
  const s = await runCli(["snapshot", "save", "-http-addr", `127.0.0.1:${f1.httpPort}`, file]);
  assert.is(s.code, 0, s.err);
  const m = /^Saved and verified snapshot to index (\d+)\n$/.exec(s.out);
  assert.ok(m, s.out);
  await put(f1, "c/a", "2");
  const del = await call(f2, "/v1/kv/c/big?recurse", "DELETE");
  assert.is(del.status, 200);
  await put(leader!, "c/new", "n");
  const cur = await call(f2, "/v1/kv/c/a?consistent");
  assert.is(cur.status, 200);
  const waiting = call(f2, `/v1/kv/c/a?index=${cur.index}&wait=15s&stale`, "GET", undefined, 20_000);
  await new Promise((r) => setTimeout(r, 200));
  const r = await runCli(["snapshot", "restore", "-http-addr", `127.0.0.1:${f2.httpPort}`, file]);
  assert.is(r.code, 0, r.err);
  assert.is(r.out, "Restored snapshot\n");
  const woke = await waiting;
  assert.is(woke.status, 200);
  assert.ok(woke.index > cur.index, `woke at ${woke.index} > ${cur.index}`);
  for (const n of nodes) {
    await waitFor(async () => (await raw(n, "c/a")) === "1", 10_000, `restored c/a on ${n.name}`);
    assert.is(await raw(n, "c/b"), "b1", n.name);
    assert.is(await raw(n, "c/new"), undefined, n.name);
    assert.is((await raw(n, "c/big/15"))?.length, 500_000, n.name);
    const x = await call(n, "/v1/kv/c/a?stale");
    assert.ok(x.index >= cur.index, `${n.name}: X-Consul-Index ${x.index} >= ${cur.index}`);
  }
  // the cluster keeps taking writes, through any server
  await put(f1, "c/after", "yes");
  for (const n of nodes) await waitFor(async () => (await raw(n, "c/after")) === "yes", 10_000, `c/after on ${n.name}`);
});

t("a server that was down during a restore catches up with the restored state when it returns", async () => {
  const [f1] = followers as [Node, Node];
  await f1.proc?.stop("SIGKILL", 2000);
  await put(leader!, "c/a", "while-down");
  const r = await runCli(["snapshot", "restore", "-http-addr", `127.0.0.1:${leader!.httpPort}`, path.join(dir, "cluster.snap")]);
  assert.is(r.code, 0, r.err);
  assert.is(await raw(leader!, "c/a"), "1");
  await (servers as ServerProcs).start(f1);
  await waitFor(async () => (await raw(f1, "c/a").catch(() => undefined)) === "1" && (await raw(f1, "c/after").catch(() => "x")) === undefined, 15_000, "restored state on the returning server");
  assert.is((await raw(f1, "c/big/15"))?.length, 500_000);
  assert.is(await raw(f1, "c/new"), undefined);
});

t("a restore abandoned by a leader that died midway is dropped by the next leader", async () => {
  const old = leader!;
  await put(old, "c/marker", "before");
  // a ~40 MB cairn state built here (twelve chunks), in an archive of the cluster's own meta
  const smallRes = await fetch(`${old.base}/v1/snapshot`, { signal: AbortSignal.timeout(8000) });
  const meta = (await readArchive(new Uint8Array(await smallRes.arrayBuffer()), { maxStateBytes: 1 << 26 })).meta;
  const st = new Store();
  const value = new Uint8Array(1_000_000).fill(0x61);
  for (let i = 0; i < 40; i++) st.apply(i + 1, { type: "kv-set", key: `d/big/${i}`, value, flags: 0n });
  const state = st.snapshot();
  const archive = await writeArchive({ ...meta, size: state.length }, state, Date.now());
  // PUT through the leader itself, then kill it while the chunks are pending
  const restoring = fetch(`${old.base}/v1/snapshot`, { method: "PUT", body: Buffer.from(archive), signal: AbortSignal.timeout(30_000) })
    .then((r) => r.status)
    .catch(() => -1);
  const until = Date.now() + 15_000;
  for (;;) {
    const r = await call(old, "/v1/snapshot?stale").catch(() => undefined);
    if (r !== undefined && r.status === 500 && /restore is in progress/.test(r.body)) break;
    assert.ok(Date.now() < until, "timed out waiting for a pending restore on the leader");
    await new Promise((res) => setTimeout(res, 5));
  }
  await old.proc?.stop("SIGKILL", 2000);
  assert.is(await restoring, -1, "the restore never finished");
  const rest = nodes.filter((n) => n !== old);
  const next = await agreedLeader(nodes, rest, 15_000, old.rpcAddr);
  for (const n of rest) {
    await waitFor(async () => (await call(n, "/v1/snapshot?stale").catch(() => undefined))?.status === 200, 15_000, `no pending restore on ${n.name}`);
    assert.is(await raw(n, "c/marker"), "before", n.name);
    assert.is(await raw(n, "d/big/0"), undefined, n.name);
  }
  assert.match(next.proc!.output(), /left unfinished by an earlier leader/);
  await put(next, "c/after-abort", "yes");
  // the killed server returns: it replays the chunks and the abort
  await (servers as ServerProcs).start(old);
  await waitFor(async () => (await raw(old, "c/after-abort").catch(() => undefined)) === "yes", 15_000, "the returning server catches up");
  assert.is((await call(old, "/v1/snapshot?stale")).status, 200);
});

t.run();
