/**
 * End to end: the npm `consul` client's lock helper (consul@0.40.0, installed as the dev
 * dependency `consul-legacy`; consul 2.x dropped it) against a real -dev agent. Two
 * `consul.lock({ key })` holders contend: one gets 'acquire', the other reports 'retry'
 * with the holder's session and waits; release hands the lock over. A lock whose session
 * is destroyed behind its back reports 'release' + 'end'; the waiter then gets the lock only
 * after the destroyed session's lock-delay.
 *
 * The library ships no types: a minimal local interface describes what the test uses, and
 * the module is loaded as `unknown` and narrowed.
 *
 * Must never: leave the agent running or a lock helper with timers alive after a test.
 */
import { test } from "../shared/suite.ts";
import * as assert from "uvu/assert";
import { createRequire } from "node:module";
import { startAgent, type AgentProc } from "./agent_proc.ts";
import { api, LOCK_FLAGS, until } from "./lock_helpers.ts";

/** The lock events lib/lock.js emits. */
type LockEvent = "acquire" | "release" | "end" | "retry" | "error";

interface LegacyLock {
  acquire(): void;
  release(): void;
  on(event: "retry", fn: (info: { leader?: string }) => void): unknown;
  on(event: "error", fn: (err: Error) => void): unknown;
  on(event: "acquire" | "release" | "end", fn: () => void): unknown;
}

interface LegacyLockOptions {
  key: string;
  value?: string;
  session?: { name?: string; ttl?: string; lockdelay?: string; behavior?: "release" | "delete" };
  lockretrytime?: string;
  lockwaittime?: string;
}

interface LegacyConsul {
  lock(opts: LegacyLockOptions): LegacyLock;
}

type LegacyFactory = (opts: { host: string; port: number }) => LegacyConsul;

function loadLegacy(): LegacyFactory {
  const mod: unknown = createRequire(import.meta.url)("consul-legacy");
  if (typeof mod !== "function") throw new Error("consul-legacy: module is not a function");
  const probe: unknown = (mod as (o: object) => unknown)({ host: "127.0.0.1", port: 1 });
  if (typeof probe !== "object" || probe === null || typeof (probe as { lock?: unknown }).lock !== "function") {
    throw new Error("consul-legacy: no lock() helper");
  }
  return mod as LegacyFactory;
}

/** One lock helper with a log of the events it emitted (time-stamped). */
class Holder {
  readonly lock: LegacyLock;
  readonly events: Array<{ ev: LockEvent; at: number; detail: string }> = [];
  constructor(consul: LegacyConsul, opts: LegacyLockOptions) {
    this.lock = consul.lock(opts);
    const log = (ev: LockEvent, detail = ""): void => {
      this.events.push({ ev, at: Date.now(), detail });
    };
    this.lock.on("acquire", () => log("acquire"));
    this.lock.on("release", () => log("release"));
    this.lock.on("end", () => log("end"));
    this.lock.on("retry", (info) => log("retry", info.leader ?? ""));
    // Without a listener an 'error' would be thrown by the EventEmitter.
    this.lock.on("error", (err) => log("error", err.message));
  }
  names(): LockEvent[] {
    return this.events.map((e) => e.ev);
  }
  first(ev: LockEvent): { at: number; detail: string } | undefined {
    return this.events.find((e) => e.ev === ev);
  }
  wait(ev: LockEvent, ms: number): Promise<boolean> {
    return until(() => this.first(ev) !== undefined, ms);
  }
}

let agent: AgentProc;
let legacy: LegacyFactory;
const open: Holder[] = [];

test.before(async () => {
  legacy = loadLegacy();
  agent = await startAgent({ args: ["-dev"] });
});
test.after(async () => {
  // End any helper still running (its timers would keep the process alive).
  for (const h of open) {
    if (h.first("end") === undefined && h.first("acquire") !== undefined) {
      try {
        h.lock.release();
      } catch {
        // already released
      }
    }
  }
  await until(() => open.every((h) => h.first("end") !== undefined || h.first("acquire") === undefined), 5000);
  await agent.stop();
});

interface Pair {
  Key: string;
  Flags: number;
  Value: string | null;
  Session?: string;
  LockIndex: number;
}

async function pairOf(key: string): Promise<{ raw: string; pair: Pair | undefined }> {
  const r = await api(agent.base, "GET", `/v1/kv/${key}`);
  if (r.status === 404) return { raw: "", pair: undefined };
  return { raw: r.text, pair: (JSON.parse(r.text) as Pair[])[0] };
}

function holder(opts: LegacyLockOptions): Holder {
  const h = new Holder(legacy({ host: "127.0.0.1", port: agent.httpPort }), opts);
  open.push(h);
  return h;
}

test("two consul.lock() holders contend: one acquires, the other retries and gets the lock on release", async () => {
  const key = "legacy/contend/.lock";
  const a = holder({ key, value: "holder-a", lockretrytime: "300ms" });
  a.lock.acquire();
  assert.ok(await a.wait("acquire", 10_000), JSON.stringify(a.events));
  const held = await pairOf(key);
  assert.ok(held.pair !== undefined);
  // -dev pretty-prints JSON, as Consul does.
  assert.ok(new RegExp(`"Flags":\\s*${LOCK_FLAGS}\\b`).test(held.raw), `flags kept exactly: ${held.raw}`);
  assert.is(Buffer.from(held.pair.Value ?? "", "base64").toString(), "holder-a");
  const sessionA = held.pair.Session ?? "";
  assert.ok(sessionA !== "");
  const infoA = JSON.parse((await api(agent.base, "GET", `/v1/session/info/${sessionA}`)).text) as Array<{ Name: string; TTL: string }>;
  assert.is(infoA[0]?.Name, "Consul API Lock");
  assert.is(infoA[0]?.TTL, "15s");

  const b = holder({ key, value: "holder-b", lockretrytime: "300ms" });
  b.lock.acquire();
  assert.ok(await b.wait("retry", 10_000), JSON.stringify(b.events));
  assert.is(b.first("retry")?.detail, sessionA, "retry names the holder's session");
  // B keeps waiting while A holds.
  await new Promise((r) => setTimeout(r, 1200));
  assert.is(b.first("acquire"), undefined, "B acquired while A held the lock");
  assert.is((await pairOf(key)).pair?.Session, sessionA);

  const t0 = Date.now();
  a.lock.release();
  assert.ok(await a.wait("end", 5000), JSON.stringify(a.events));
  assert.equal(a.names().filter((e) => e !== "retry"), ["acquire", "release", "end"]);
  assert.ok(await b.wait("acquire", 10_000), JSON.stringify(b.events));
  console.log(`    consul.lock() hand-off on release: ${b.first("acquire")!.at - t0} ms (lockretrytime 300ms)`);
  const now = await pairOf(key);
  assert.ok(now.pair?.Session !== undefined && now.pair.Session !== sessionA);
  assert.is(Buffer.from(now.pair?.Value ?? "", "base64").toString(), "holder-b");
  assert.is(now.pair?.LockIndex, 2);
  // A's session was destroyed when its lock ended.
  assert.ok(await until(async () => JSON.parse((await api(agent.base, "GET", `/v1/session/info/${sessionA}`)).text).length === 0, 5000));

  b.lock.release();
  assert.ok(await b.wait("end", 5000));
  assert.equal(b.names().filter((e) => e !== "retry"), ["acquire", "release", "end"]);
  assert.equal(a.names().filter((e) => e === "error").length + b.names().filter((e) => e === "error").length, 0, "no errors");
  // Released, not deleted: the key stays with no Session.
  const after = await pairOf(key);
  assert.is(after.pair?.Session, undefined, after.raw);
  assert.ok(await until(async () => (JSON.parse((await api(agent.base, "GET", "/v1/session/list")).text) as unknown[]).length === 0, 5000));
});

test("a lock whose session is destroyed behind its back is lost ('release', 'end'); the waiter gets it after the lock-delay", async () => {
  const key = "legacy/lost/.lock";
  const a = holder({ key, session: { lockdelay: "1500ms" }, lockretrytime: "250ms" });
  a.lock.acquire();
  assert.ok(await a.wait("acquire", 10_000), JSON.stringify(a.events));
  const sessionA = (await pairOf(key)).pair?.Session ?? "";
  assert.ok(sessionA !== "");
  // After a refused acquire (lock-delay) the library re-reads the key with its old index, a
  // blocking read that only ends after lockwaittime: keep that short so the retry comes soon.
  const b = holder({ key, lockretrytime: "250ms", lockwaittime: "1s" });
  b.lock.acquire();
  assert.ok(await b.wait("retry", 10_000));

  const t0 = Date.now();
  const d = await api(agent.base, "PUT", `/v1/session/destroy/${sessionA}`);
  assert.is(d.text.trim(), "true");
  assert.ok(await a.wait("end", 10_000), JSON.stringify(a.events));
  const lostMs = a.first("end")!.at - t0;
  // The library reports a lost lock as 'release' then 'end' (an 'error' may come first if a renewal hit the gone session).
  assert.equal(a.names().filter((e) => e === "acquire" || e === "release" || e === "end"), ["acquire", "release", "end"]);
  for (const e of a.events.filter((x) => x.ev === "error")) assert.match(e.detail, /not found|invalid|session/i);

  assert.ok(await b.wait("acquire", 10_000), JSON.stringify(b.events));
  const gotMs = b.first("acquire")!.at - t0;
  console.log(`    session destroyed: holder saw the loss after ${lostMs} ms, waiter acquired after ${gotMs} ms (lock-delay 1500 ms)`);
  assert.ok(gotMs >= 1500, `waiter acquired after ${gotMs} ms, inside the lock-delay`);
  assert.ok(gotMs <= 1500 + 1000 + 3000, `waiter acquired only after ${gotMs} ms`);
  assert.ok(b.names().includes("retry"));
  b.lock.release();
  assert.ok(await b.wait("end", 5000));
});

test.run();
