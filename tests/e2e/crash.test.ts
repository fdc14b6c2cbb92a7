/**
 * Crash safety, end to end: many concurrent PUTs and multi-key transactions
 * against a durable single server; every acknowledgement is recorded; the agent
 * is killed with SIGKILL at a random moment, several times; after each restart
 * every acknowledged write is present and no transaction is half-applied.
 * Also: a torn tail appended to the log is cut on restart.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readdirSync, appendFileSync, statSync } from "node:fs";
import path from "node:path";
import { startAgent, tempDir, removeDir, type AgentProc } from "./agent_proc.ts";
import { mulberry32 } from "../shared/prng.ts";

const ROUNDS = 3;
const WRITERS = 24;

interface Acked {
  keys: Map<string, string>; // key -> last acknowledged value
  txns: Array<{ keys: string[]; value: string }>;
}

async function writer(a: AgentProc, id: number, round: number, acked: Acked, stop: { v: boolean }): Promise<void> {
  let seq = 0;
  while (!stop.v) {
    seq++;
    try {
      if (seq % 5 === 0) {
        const value = `r${round}-w${id}-t${seq}`;
        const keys = [0, 1, 2].map((j) => `txn/${round}/${id}/${seq}/${j}`);
        const body = JSON.stringify(
          keys.map((k) => ({ KV: { Verb: "set", Key: k, Value: Buffer.from(value).toString("base64") } })),
        );
        const r = await fetch(`${a.base}/v1/txn`, { method: "PUT", body });
        await r.text();
        if (r.status === 200) acked.txns.push({ keys, value });
      } else {
        const key = `kv/${id}/${seq % 40}`;
        const value = `r${round}-w${id}-s${seq}`;
        const r = await fetch(`${a.base}/v1/kv/${key}`, { method: "PUT", body: value });
        const t = await r.text();
        if (r.status === 200 && t === "true") acked.keys.set(key, value);
      }
    } catch {
      return; // connection refused/reset: the agent is gone
    }
  }
}

async function readAll(a: AgentProc): Promise<Map<string, string>> {
  const r = await fetch(`${a.base}/v1/kv/?recurse`);
  const out = new Map<string, string>();
  if (r.status === 404) return out;
  const entries = (await r.json()) as Array<{ Key: string; Value: string | null }>;
  for (const e of entries) out.set(e.Key, e.Value === null ? "" : Buffer.from(e.Value, "base64").toString());
  return out;
}

test("kill -9 under write load never loses an acknowledged write", async () => {
  const dir = tempDir("cairn-crash-");
  const rnd = mulberry32(Number(process.env.CAIRN_SEED ?? 7));
  const args = ["-server", "-bootstrap-expect", "1", "-data-dir", dir, "-node", "crash"];
  const acked: Acked = { keys: new Map(), txns: [] };
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const a = await startAgent({ args });
      // Check everything acknowledged so far survived the previous crash.
      const state = await readAll(a);
      for (const [k, v] of acked.keys) {
        const got = state.get(k);
        assert.ok(got !== undefined, `round ${round}: acknowledged key ${k} lost`);
        // Each key has one writer, which writes sequentially: the stored value is the last
        // acknowledged one, or a later write that became durable before its ack was sent.
        const later = roundOf(got) > roundOf(v) || (roundOf(got) === roundOf(v) && seqOf(got) > seqOf(v));
        assert.ok(got === v || later, `round ${round}: key ${k} went back from ${v} to ${got}`);
      }
      for (const t of acked.txns) for (const k of t.keys) assert.is(state.get(k), t.value, `txn key ${k} lost`);
      // No transaction half-applied: group txn keys by their txn id.
      const groups = new Map<string, number>();
      for (const k of state.keys()) {
        if (!k.startsWith("txn/")) continue;
        const id = k.slice(0, k.lastIndexOf("/"));
        groups.set(id, (groups.get(id) ?? 0) + 1);
      }
      for (const [id, n] of groups) assert.is(n, 3, `transaction ${id} half-applied (${n} of 3 keys)`);

      const stop = { v: false };
      const ws = Array.from({ length: WRITERS }, (_, i) => writer(a, i, round, acked, stop));
      await new Promise((r) => setTimeout(r, 300 + Math.floor(rnd() * 1200)));
      a.child.kill("SIGKILL");
      await a.exited;
      stop.v = true;
      await Promise.all(ws);
    }
    assert.ok(acked.keys.size > 0 && acked.txns.length > 0, "the load produced acknowledged writes");
    // Final check after the last crash.
    const a = await startAgent({ args });
    const state = await readAll(a);
    for (const [k] of acked.keys) assert.ok(state.has(k), `final: ${k} lost`);
    for (const t of acked.txns) for (const k of t.keys) assert.is(state.get(k), t.value);
    assert.is(await a.stop("SIGTERM"), 0);
  } finally {
    removeDir(dir);
  }
});

function seqOf(v: string): number {
  const m = /-s(\d+)$/.exec(v);
  return m ? Number(m[1]) : 0;
}
function roundOf(v: string): number {
  const m = /^r(\d+)-/.exec(v);
  return m ? Number(m[1]) : 0;
}

test("a torn tail on the log is cut on restart, and earlier writes survive", async () => {
  const dir = tempDir("cairn-torn-");
  const args = ["-server", "-bootstrap-expect", "1", "-data-dir", dir, "-node", "torn"];
  try {
    let a = await startAgent({ args });
    for (let i = 0; i < 20; i++) {
      const r = await fetch(`${a.base}/v1/kv/torn/${i}`, { method: "PUT", body: `v${i}` });
      assert.is(await r.text(), "true");
    }
    a.child.kill("SIGKILL");
    await a.exited;
    const walDir = path.join(dir, "raft", "wal");
    const segs = readdirSync(walDir).filter((f) => f.endsWith(".seg")).sort();
    assert.ok(segs.length > 0, "log segments exist");
    const last = path.join(walDir, segs[segs.length - 1] ?? "");
    const before = statSync(last).size;
    appendFileSync(last, Buffer.from([0x17, 0x00, 0x00, 0x00, 0xde, 0xad, 0xbe]));
    a = await startAgent({ args });
    const state = await readAll(a);
    for (let i = 0; i < 20; i++) assert.is(state.get(`torn/${i}`), `v${i}`);
    const r = await fetch(`${a.base}/v1/kv/torn/after`, { method: "PUT", body: "ok" });
    assert.is(await r.text(), "true");
    assert.ok(/torn|cut|truncat/i.test(a.output()), "the cut is reported in the log");
    assert.is(await a.stop("SIGTERM"), 0);
    assert.ok(before > 0);
  } finally {
    removeDir(dir);
  }
});

test.run();
