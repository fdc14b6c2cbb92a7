/**
 * tests/e2e/lifeguard: a node paused with SIGSTOP while the machine is under CPU load
 * must not make healthy peers look dead (memberlist's Lifeguard). Four real agents (a
 * server and three clients, Consul's default LAN gossip timing) form one pool; two
 * bounded busy loops load the CPU while client `p` is stopped. The healthy agents may
 * (and should) find `p` suspect and then failed; none of them may ever see a healthy
 * agent failed: probes of `p` go indirect through healthy peers that answer with nacks,
 * so no prober blames itself or the relays. After SIGCONT, `p` refutes its death (a new
 * incarnation) and is alive everywhere again, and `p` itself never declared a healthy
 * peer dead — its expired probe timers and suspicions from before the pause are not
 * evidence against the others. Bounded at about a minute.
 */

import { suite } from "../shared/suite.ts";
import * as assert from "uvu/assert";
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { isDeno } from "../../src/platform/runtime.ts";
import { removeDir, startAgent, tempDir, type AgentProc } from "./agent_proc.ts";
import { waitFor } from "./watch_helpers.ts";

interface Member { Name: string; Status: number }

const HEALTHY = ["s", "h1", "h2"];
const PAUSED = "p";
const PAUSE_MS = 12_000;
const LOAD_MS = 15_000;

const t = suite("lifeguard e2e");
let dir = "";
const agents = new Map<string, AgentProc>();
const burners: ChildProcess[] = [];

async function members(a: AgentProc): Promise<Member[]> {
  const r = await fetch(`${a.base}/v1/agent/members`, { signal: AbortSignal.timeout(2000) });
  return (await r.json()) as Member[];
}

async function statusOf(a: AgentProc, node: string): Promise<number> {
  return (await members(a)).find((m) => m.Name === node)?.Status ?? 0;
}

function agent(name: string): AgentProc {
  const a = agents.get(name);
  if (a === undefined) throw new Error(`no agent ${name}`);
  return a;
}

/** A bounded busy loop in its own process. */
function burn(ms: number): ChildProcess {
  const code = `const end = Date.now() + ${ms}; let x = 0; while (Date.now() < end) { x = (x + Math.sqrt(x + 1)) % 1e9; }`;
  const c = spawn(isDeno ? "node" : process.execPath, ["-e", code], { stdio: "ignore" });
  burners.push(c);
  return c;
}

/** Polls observers' member lists until stopped; records every non-alive status of a watched node. */
function watch(observers: string[], watched: string[], everyMs: number): { stop: () => Promise<string[]> } {
  const seen: string[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      await Promise.all(observers.map(async (o) => {
        try {
          for (const m of await members(agent(o))) {
            if (watched.includes(m.Name) && m.Status !== 1) seen.push(`${o} saw ${m.Name} status ${m.Status}`);
          }
        } catch {
          // a slow answer under load is not a finding
        }
      }));
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return { stop: async () => { running = false; await loop; return seen; } };
}

t.before(async () => {
  dir = tempDir("cairn-lifeguard-");
  const s = await startAgent({ args: ["-server", "-bootstrap-expect", "1", "-data-dir", path.join(dir, "s"), "-node", "s"], serfLanPort: 0, serverPort: 0 });
  agents.set("s", s);
  const join = `127.0.0.1:${s.serfLanPort}`;
  const clients = await Promise.all(["h1", "h2", PAUSED].map((n) =>
    startAgent({ args: ["-data-dir", path.join(dir, n), "-node", n, "-join", join], serfLanPort: 0, readyWithoutLeader: true })));
  ["h1", "h2", PAUSED].forEach((n, i) => agents.set(n, clients[i]!));
  for (const a of agents.values()) {
    await waitFor(async () => (await members(a)).filter((m) => m.Status === 1).length === 4, 15_000, "four alive members");
  }
});

t.after(async () => {
  for (const b of burners) b.kill("SIGKILL");
  const p = agents.get(PAUSED);
  if (p?.child.pid !== undefined) {
    try { process.kill(p.child.pid, "SIGCONT"); } catch { /* gone */ }
  }
  await Promise.all([...agents.values()].map((a) => a.stop("SIGKILL", 2000)));
  removeDir(dir);
});

t("SIGSTOP under CPU load: only the paused node is failed; it refutes after SIGCONT and accused nobody", async () => {
  const p = agent(PAUSED);
  const pid = p.child.pid;
  assert.ok(pid !== undefined);
  const healthyWatch = watch(HEALTHY, HEALTHY, 200);
  const pOutBefore = p.output().length;
  burn(LOAD_MS);
  burn(LOAD_MS);
  await new Promise((r) => setTimeout(r, 500));
  process.kill(pid, "SIGSTOP");
  const stoppedAt = Date.now();
  // Every healthy agent finds p failed while it is stopped (suspicion timeout with confirmations).
  await waitFor(async () => {
    for (const h of HEALTHY) if ((await statusOf(agent(h), PAUSED).catch(() => 0)) !== 4) return false;
    return true;
  }, PAUSE_MS + 5000, "p failed on every healthy agent");
  const failedAfterMs = Date.now() - stoppedAt;
  const rest = PAUSE_MS - (Date.now() - stoppedAt);
  if (rest > 0) await new Promise((r) => setTimeout(r, rest));
  process.kill(pid, "SIGCONT");
  const resumedAt = Date.now();
  const pWatch = watch([PAUSED], HEALTHY, 100);
  // p refutes: alive on every healthy agent again, and p sees everyone alive.
  await waitFor(async () => {
    for (const h of HEALTHY) if ((await statusOf(agent(h), PAUSED).catch(() => 0)) !== 1) return false;
    return (await members(p).catch(() => [])).filter((m) => m.Status === 1).length === 4;
  }, 20_000, "p alive everywhere after SIGCONT");
  const backAfterMs = Date.now() - resumedAt;
  // Watch a little longer for late false accusations (p's stale timers, load tail).
  await new Promise((r) => setTimeout(r, 3000));
  const healthySeen = await healthyWatch.stop();
  const pSeen = await pWatch.stop();
  assert.equal(healthySeen, [], "no healthy agent was ever seen failed by a healthy agent");
  assert.equal(pSeen, [], "the resumed agent never listed a healthy agent as failed");
  for (const [name, a] of agents) {
    for (const h of HEALTHY) {
      assert.not.match(a.output(), new RegExp(`marking ${h} as failed`), `${name} declared healthy ${h} dead`);
    }
  }
  const pOut = p.output().slice(pOutBefore);
  assert.match(pOut, /refuting a (dead|suspect) message/, "p refuted its death");
  const accused = HEALTHY.filter((h) => new RegExp(`suspect ${h} has failed`).test(pOut));
  console.log(`  lifeguard: p failed everywhere after ${failedAfterMs} ms of ${PAUSE_MS} ms stop; alive everywhere ${backAfterMs} ms after SIGCONT; healthy peers p suspected after resume: ${accused.length === 0 ? "none" : accused.join(", ")}`);
});

t.run();
