/**
 * End to end: `cairn lock -n 2` semaphores under a random kill schedule. Four contenders
 * (replaced as they die) run children that log when they start and stop; SIGTERM to a lock
 * process and SIGKILL to a child are mixed at random. At no time do more than 2 children run,
 * and the .lock key never lists more than 2 holders.
 */
import { test } from "../shared/suite.ts";
import * as assert from "uvu/assert";
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { startAgent, tempDir, removeDir, type AgentProc } from "./agent_proc.ts";
import { api, runLock, type LockProc } from "./lock_helpers.ts";
import { mulberry32 } from "../shared/prng.ts";

const LIMIT = 2;
const CONTENDERS = 4;
const SCHEDULE_MS = 9000;

let agent: AgentProc;
let dir: string;

test.before(async () => {
  agent = await startAgent({ args: ["-dev"] });
  dir = tempDir("cairn-sem-");
});
test.after(async () => {
  await agent.stop();
  removeDir(dir);
});

test(`semaphore -n ${LIMIT}: never more than ${LIMIT} holders under a random kill schedule`, async () => {
  const seed = Number(process.env["CAIRN_SEM_SEED"] ?? Date.now() % 100000);
  console.log(`    seed ${seed}`);
  const rand = mulberry32(seed);
  const log = path.join(dir, "sem.log");
  writeFileSync(log, "");
  const pidDir = dir;
  // The child logs "+ pid ns" on start and "- pid ns" when terminated, and records its pid.
  const child =
    `echo "+ $$ $(date +%s%N)" >> ${log}; echo $$ > ${pidDir}/child-$$; ` +
    `trap 'echo "- $$ $(date +%s%N)" >> ${log}; exit 0' TERM; while :; do sleep 0.05; done`;
  const procs = new Set<LockProc>();
  const born = new Map<LockProc, number>();
  const outputs: string[] = [];
  const spawnOne = (): void => {
    const p = runLock(agent.httpPort, ["-verbose", "-n", String(LIMIT), "sem", child]);
    procs.add(p);
    born.set(p, Date.now());
    void p.exited.then((code) => {
      procs.delete(p);
      if (code !== 0) outputs.push(`[${Date.now() - (born.get(p) ?? 0)}ms] exit ${code}: ${p.output()}`);
    });
  };
  for (let i = 0; i < CONTENDERS; i++) spawnOne();

  // Watch the coordination key: never more than LIMIT holders.
  let maxHolders = 0;
  let watching = true;
  const watcher = (async () => {
    let index = 0;
    while (watching) {
      const r = await api(agent.base, "GET", `/v1/kv/sem/.lock${index > 0 ? `?index=${index}&wait=1s` : ""}`);
      index = r.index;
      if (r.status !== 200) continue;
      const v = (JSON.parse(r.text) as Array<{ Value: string }>)[0]?.Value ?? "";
      const lock = JSON.parse(Buffer.from(v, "base64").toString("utf8")) as { Limit: number; Holders: Record<string, boolean> };
      assert.is(lock.Limit, LIMIT);
      maxHolders = Math.max(maxHolders, Object.keys(lock.Holders).length);
    }
  })();

  const started = Date.now();
  let actions = 0;
  while (Date.now() - started < SCHEDULE_MS) {
    await new Promise((r) => setTimeout(r, 300 + rand() * 500));
    const running = readFileSync(log, "utf8").split("\n").filter((l) => l.startsWith("+ ")).map((l) => l.split(" ")[1]!);
    const ended = new Set(readFileSync(log, "utf8").split("\n").filter((l) => l.startsWith("- ")).map((l) => l.split(" ")[1]!));
    const live = running.filter((p) => !ended.has(p));
    if (rand() < 0.5 && live.length > 0) {
      // Kill a running child hard; its cairn lock sees it exit, releases and exits.
      const pid = live[Math.floor(rand() * live.length)]!;
      appendFileSync(log, `- ${pid} ${BigInt(Date.now()) * 1_000_000n}\n`);
      try {
        process.kill(Number(pid), "SIGKILL");
      } catch {
        // already gone
      }
    } else {
      // Only processes past start-up (their signal handlers are installed once they say so).
      const list = [...procs].filter((p) => p.output().includes("Attempting lock acquisition"));
      const p = list[Math.floor(rand() * list.length)];
      p?.signal("SIGTERM");
    }
    actions++;
    while (procs.size < CONTENDERS) spawnOne();
  }
  for (const p of [...procs]) p.signal("SIGTERM");
  await Promise.all([...procs].map((p) => p.exited));
  watching = false;
  await watcher;

  // Sweep the log: starts and stops in time order; concurrency never above LIMIT.
  const events = readFileSync(log, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => {
      const [sign, pid, ns] = l.split(" ");
      return { sign: sign!, pid: pid!, ns: BigInt(ns!) };
    })
    .sort((a, b) => (a.ns < b.ns ? -1 : a.ns > b.ns ? 1 : a.sign === "-" ? -1 : 1));
  const liveSet = new Set<string>();
  let maxLive = 0;
  let starts = 0;
  for (const e of events) {
    if (e.sign === "+") {
      liveSet.add(e.pid);
      starts++;
    } else liveSet.delete(e.pid);
    maxLive = Math.max(maxLive, liveSet.size);
  }
  console.log(`    ${actions} kills, ${starts} children ran, max concurrent ${maxLive}, max holders in .lock ${maxHolders}`);
  assert.ok(maxLive <= LIMIT, `max concurrent children ${maxLive}`);
  assert.ok(maxHolders <= LIMIT, `max holders ${maxHolders}`);
  assert.ok(starts >= CONTENDERS, `only ${starts} children ran; ${outputs.join("\n")}`);
  assert.is(maxLive, LIMIT);
});

test.run();
