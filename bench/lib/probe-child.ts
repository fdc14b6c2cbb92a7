/**
 * bench/lib/probe-child: a helper process that sends low-rate GETs on a fixed schedule (open loop,
 * so a stalled server shows as latency rather than as fewer samples) and returns every sample.
 *
 * Must never: send enough load to disturb what it is probing, or share a process with the server.
 */

import http from "node:http";
import { childChannel, type Msg } from "./ipc.ts";
import { httpRequest, monoMs, sleep } from "./http.ts";
import type { FatalMsg, ProbeSamplesMsg, ProbeSpec } from "./protocol.ts";

const ch = childChannel();
const spec = ch.config as ProbeSpec;
const ep = { host: spec.host, port: spec.port };
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const OUTSTANDING_DRAIN_MS = 10_000;

let timer: NodeJS.Timeout | null = null;
let samples: Array<[number, number]> = [];
let errors = 0;
let outstanding = 0;
let n = 0;

function shoot(): void {
  const t = monoMs();
  outstanding++;
  httpRequest(ep, "GET", `/v1/kv/${spec.keyPrefix}${n++ % spec.keys}`, { agent })
    .then((r) => {
      if (r.status === 200) samples.push([t, monoMs() - t]);
      else {
        errors++;
        samples.push([t, -1]);
      }
    })
    .catch(() => {
      errors++;
      samples.push([t, -1]);
    })
    .finally(() => outstanding--);
}

async function stop(): Promise<void> {
  if (timer) clearInterval(timer);
  timer = null;
  const deadline = monoMs() + OUTSTANDING_DRAIN_MS;
  while (outstanding > 0 && monoMs() < deadline) await sleep(5);
  const m: ProbeSamplesMsg = { type: "samples", samples, errors };
  samples = [];
  errors = 0;
  ch.send(m);
}

ch.onMessage((m: Msg) => {
  switch (m.type) {
    case "start":
      if (!timer) timer = setInterval(shoot, spec.intervalMs);
      return;
    case "stop":
      stop().catch((e: unknown) => {
        const f: FatalMsg = { type: "fatal", message: String(e) };
        ch.send(f);
      });
      return;
    default: {
      const f: FatalMsg = { type: "fatal", message: `unknown message ${m.type}` };
      ch.send(f);
    }
  }
});
