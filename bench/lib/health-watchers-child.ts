/**
 * bench/lib/health-watchers-child: a helper process for the discovery scale bench. It measures
 * sequential latency of one health query (`latency`), parks many blocking health queries on one
 * service (`park`: `?index=<current>&wait=`, one keep-alive socket each), and on `fire` sends one
 * catalog registration that changes that service and times until every watcher has its answer.
 *
 * Must never: share a process with the server; write anything but the registration it is given.
 */

import http from "node:http";
import { childChannel } from "./ipc.ts";
import { consulIndex, httpRequest, monoMs, sleep } from "./http.ts";
import type { FatalMsg, HealthFireMsg, HealthFiredMsg, HealthLatencyDoneMsg, HealthLatencyMsg, HealthParkedMsg, HealthWatchersSpec } from "./protocol.ts";

const ch = childChannel();
const spec = ch.config as HealthWatchersSpec;
const ep = { host: spec.host, port: spec.port };
const parkAgent = new http.Agent({ keepAlive: true, maxSockets: spec.n + 16, maxFreeSockets: spec.n + 16 });
const probeAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });

let parkedIndex = 0;
let firing = false;
let early = 0;
let errors = 0;
let firstError = "";
let answers: Array<{ atMs: number; ok: boolean }> = [];
let onAnswer: (() => void) | null = null;

async function latency(m: HealthLatencyMsg): Promise<void> {
  const samples: number[] = [];
  let bytes = 0;
  let bad = 0;
  for (let i = 0; i < m.count; i++) {
    const t0 = monoMs();
    const r = await httpRequest(ep, "GET", spec.path, { agent: probeAgent });
    samples.push(monoMs() - t0);
    if (r.status !== 200) bad++;
    bytes = r.body.length;
  }
  const done: HealthLatencyDoneMsg = { type: "latency-done", samples, errors: bad, bytes };
  ch.send(done);
}

function parkOne(sep: string): void {
  const req = http.get(
    { host: ep.host, port: ep.port, path: `${spec.path}${sep}index=${parkedIndex}&wait=${spec.wait}`, agent: parkAgent },
    (res) => {
      const idx = consulIndex(res.headers);
      res.resume();
      res.on("end", () => {
        if (!firing) {
          early++;
          return;
        }
        answers.push({ atMs: monoMs(), ok: res.statusCode === 200 && idx > parkedIndex });
        onAnswer?.();
      });
    },
  );
  req.on("error", (e) => {
    errors++;
    if (!firstError) firstError = e.message;
    if (firing) {
      answers.push({ atMs: monoMs(), ok: false });
      onAnswer?.();
    }
  });
}

async function park(): Promise<void> {
  const t0 = monoMs();
  firing = false;
  early = 0;
  errors = 0;
  firstError = "";
  answers = [];
  const r = await httpRequest(ep, "GET", spec.path, { agent: probeAgent });
  parkedIndex = consulIndex(r.headers);
  if (r.status !== 200 || parkedIndex === 0) throw new Error(`GET ${spec.path}: status ${r.status}, X-Consul-Index ${parkedIndex}`);
  const sep = spec.path.includes("?") ? "&" : "?";
  for (let i = 0; i < spec.n; i++) parkOne(sep);
  await sleep(spec.settleMs);
  const msg: HealthParkedMsg = { type: "parked", index: parkedIndex, parkMs: monoMs() - t0, early, errors, firstError };
  ch.send(msg);
}

async function fire(m: HealthFireMsg): Promise<void> {
  const expected = spec.n - early - errors;
  firing = true;
  const all = new Promise<boolean>((resolve) => {
    const t = setTimeout(() => resolve(false), spec.wakeTimeoutMs);
    const check = (): void => {
      if (answers.length >= expected) {
        clearTimeout(t);
        resolve(true);
      }
    };
    onAnswer = check;
    check();
  });
  const tPut = monoMs();
  const put = await httpRequest(ep, "PUT", "/v1/catalog/register", { body: m.body, contentType: "application/json" });
  const putMs = monoMs() - tPut;
  if (put.status !== 200) throw new Error(`PUT /v1/catalog/register: ${put.status} ${put.body.toString()}`);
  const complete = await all;
  onAnswer = null;
  const last = answers.reduce((a, x) => Math.max(a, x.atMs), tPut);
  const done: HealthFiredMsg = {
    type: "fired",
    wakeAllMs: last - tPut,
    putMs,
    woken: answers.length,
    ok: answers.filter((a) => a.ok).length,
    timedOut: !complete,
  };
  ch.send(done);
}

ch.onMessage((m) => {
  const run = async (): Promise<void> => {
    switch (m.type) {
      case "latency":
        return latency(m as HealthLatencyMsg);
      case "park":
        return park();
      case "fire":
        return fire(m as HealthFireMsg);
      default:
        throw new Error(`unknown message ${m.type}`);
    }
  };
  run().catch((e: unknown) => ch.send<FatalMsg>({ type: "fatal", message: e instanceof Error ? e.message : String(e) }));
});
