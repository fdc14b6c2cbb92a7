/**
 * bench/lib/watchers-child: a helper process that parks many Consul-style blocking GETs
 * (`?index=<current>&wait=`) on keep-alive sockets, either one per distinct key (`distinct`) or all
 * on one key (`one`), and for `one` measures the time from a PUT until every watcher has its answer.
 *
 * Must never: share a process with the server or the load generator; write to any key other than
 * the single watched key (a write elsewhere could bump the index and wake distinct watchers).
 */

import http from "node:http";
import { childChannel, type Msg } from "./ipc.ts";
import { consulIndex, forEachLimited, httpRequest, monoMs, sleep } from "./http.ts";
import { SETUP_CONCURRENCY } from "./config.ts";
import type { FatalMsg, FireMsg, FiredMsg, ParkedMsg, ReleasedMsg, WatchersSpec } from "./protocol.ts";

const ch = childChannel();
const spec = ch.config as WatchersSpec;
const ep = { host: spec.host, port: spec.port };
const parkAgent = new http.Agent({ keepAlive: true, maxSockets: spec.n + 16, maxFreeSockets: spec.n + 16 });
const setupAgent = new http.Agent({ keepAlive: true, maxSockets: SETUP_CONCURRENCY });

type Stage = "idle" | "parking" | "parked" | "firing" | "releasing";
let stage: Stage = "idle";
let early = 0;
let parkErrors = 0;

interface Wake {
  readonly atMs: number;
  readonly ok: boolean;
}
let parkedIndex = 0;
let tPut = 0;
let wakes: Wake[] = [];
let onWake: (() => void) | null = null;

function keyOf(i: number): string {
  return spec.mode === "distinct" ? `${spec.keyPrefix}${i}` : spec.keyPrefix;
}

async function currentIndexes(): Promise<number[]> {
  if (spec.mode === "one") {
    let r = await httpRequest(ep, "GET", `/v1/kv/${keyOf(0)}`, { agent: setupAgent });
    if (r.status === 404) {
      await httpRequest(ep, "PUT", `/v1/kv/${keyOf(0)}`, { agent: setupAgent, body: "v0" });
      r = await httpRequest(ep, "GET", `/v1/kv/${keyOf(0)}`, { agent: setupAgent });
    }
    const idx = consulIndex(r.headers);
    if (r.status !== 200 || idx === 0) throw new Error(`GET ${keyOf(0)}: status ${r.status}, X-Consul-Index ${idx}`);
    return [idx];
  }
  const out = new Array<number>(spec.n).fill(0);
  await forEachLimited(spec.n, SETUP_CONCURRENCY, async (i) => {
    const r = await httpRequest(ep, "GET", `/v1/kv/${keyOf(i)}`, { agent: setupAgent });
    const idx = consulIndex(r.headers);
    if (idx === 0) throw new Error(`GET ${keyOf(i)}: status ${r.status}, no X-Consul-Index (keys must exist before parking)`);
    out[i] = idx;
  });
  return out;
}

function park(indexes: readonly number[]): Promise<{ errors: number; firstError: string }> {
  return new Promise((resolve) => {
    let issued = 0;
    let flushed = 0;
    let errors = 0;
    let firstError = "";
    const pump = (): void => {
      while (issued < spec.n && issued - flushed < spec.window) {
        const i = issued++;
        const idx = indexes[spec.mode === "distinct" ? i : 0] ?? 0;
        let counted = false;
        const settle = (): void => {
          if (counted) return;
          counted = true;
          flushed++;
          if (flushed === spec.n) resolve({ errors, firstError });
          else pump();
        };
        const req = http.get(
          { host: ep.host, port: ep.port, path: `/v1/kv/${keyOf(i)}?index=${idx}&wait=${spec.wait}`, agent: parkAgent },
          (res) => {
            res.resume();
            res.on("end", () => answered(res.statusCode ?? 0, consulIndex(res.headers)));
          },
        );
        req.on("finish", settle);
        req.on("error", (e) => {
          if (stage === "releasing") return;
          errors++;
          if (!firstError) firstError = e.message;
          settle();
        });
      }
    };
    pump();
  });
}

function answered(status: number, index: number): void {
  switch (stage) {
    case "firing":
      wakes.push({ atMs: monoMs() - tPut, ok: status === 200 && index > parkedIndex });
      onWake?.();
      return;
    case "parking":
    case "parked":
    case "idle":
      early++;
      return;
    case "releasing":
      return;
    default: {
      const never: never = stage;
      throw new Error(`bad stage ${String(never)}`);
    }
  }
}

function pct(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? Number.NaN;
}

async function onPark(): Promise<void> {
  stage = "parking";
  early = 0;
  const t0 = monoMs();
  const indexes = await currentIndexes();
  parkedIndex = indexes[0] ?? 0;
  const { errors, firstError } = await park(indexes);
  await sleep(spec.settleMs);
  stage = "parked";
  parkErrors = errors;
  const m: ParkedMsg = { type: "parked", n: spec.n, parkMs: monoMs() - t0, early, errors, firstError };
  ch.send(m);
}

async function onFire(value: string): Promise<void> {
  const expected = spec.n - early - parkErrors;
  wakes = [];
  stage = "firing";
  tPut = monoMs();
  const cpu0 = process.cpuUsage();
  const allWoken = new Promise<boolean>((resolve) => {
    const t = setTimeout(() => resolve(false), spec.wakeTimeoutMs);
    onWake = () => {
      if (wakes.length >= expected) {
        clearTimeout(t);
        resolve(true);
      }
    };
  });
  const put = await httpRequest(ep, "PUT", `/v1/kv/${keyOf(0)}`, { agent: setupAgent, body: value });
  const putAckMs = monoMs() - tPut;
  if (put.status !== 200) throw new Error(`PUT ${keyOf(0)}: status ${put.status}`);
  const complete = await allWoken;
  const tEnd = monoMs();
  const cpu = process.cpuUsage(cpu0);
  onWake = null;
  stage = "idle";
  const lat = wakes.map((w) => w.atMs).sort((a, b) => a - b);
  const m: FiredMsg = {
    type: "fired",
    tPutMs: tPut,
    tEndMs: complete ? tPut + (lat[lat.length - 1] ?? 0) : tEnd,
    putAckMs,
    wakeP50Ms: pct(lat, 50),
    wakeP99Ms: pct(lat, 99),
    wakeAllMs: lat[lat.length - 1] ?? Number.NaN,
    woken: wakes.length,
    ok: wakes.filter((w) => w.ok).length,
    timedOut: !complete,
    clientCpuMs: (cpu.user + cpu.system) / 1000,
  };
  ch.send(m);
}

function onRelease(): void {
  const m: ReleasedMsg = { type: "released", early };
  stage = "releasing";
  parkAgent.destroy();
  setupAgent.destroy();
  ch.send(m);
}

function fatal(e: unknown): void {
  const m: FatalMsg = { type: "fatal", message: e instanceof Error ? e.message : String(e) };
  ch.send(m);
}

ch.onMessage((m: Msg) => {
  switch (m.type) {
    case "park":
      onPark().catch(fatal);
      return;
    case "fire":
      onFire((m as FireMsg).value).catch(fatal);
      return;
    case "release":
      onRelease();
      return;
    default:
      fatal(new Error(`unknown message ${m.type}`));
  }
});
