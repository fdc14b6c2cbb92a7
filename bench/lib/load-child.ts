/**
 * bench/lib/load-child: a helper process that runs one autocannon load (programmatically) against
 * a server and reports the result, with its own µs-resolution latency histogram (hdr-histogram-js;
 * autocannon's own histogram rounds to whole ms, too coarse for sub-ms p50).
 *
 * Must never: run inside the server's process or the bench's orchestrating process.
 */

import autocannon from "autocannon";
import * as hdr from "hdr-histogram-js";
import { childChannel } from "./ipc.ts";
import { LOAD_PROGRESS_MS, LOAD_REQUEST_TIMEOUT_S } from "./config.ts";
import type { FatalMsg, LoadDoneMsg, LoadProgressMsg, LoadResult, LoadSpec } from "./protocol.ts";
import { makeValue } from "./values.ts";

const ch = childChannel();
const spec = ch.config as LoadSpec;

function requestFor(s: LoadSpec): autocannon.Request {
  let n = 0;
  const nextPath = (): string => `/v1/kv/${s.keyPrefix}${n++ % s.keys}`;
  switch (s.kind) {
    case "hello":
      // Same per-request path building as the KV runs, so the client does equal work.
      return { method: "GET", setupRequest: (r) => ({ ...r, path: `/hello${nextPath()}` }) };
    case "kv-get":
      return { method: "GET", setupRequest: (r) => ({ ...r, path: nextPath() }) };
    case "kv-put": {
      const body = makeValue(s.valueBytes);
      return { method: "PUT", setupRequest: (r) => ({ ...r, path: nextPath(), body }) };
    }
    case "etcd-put": {
      const value = Buffer.from(makeValue(s.valueBytes)).toString("base64");
      const headers = { "content-type": "application/json" };
      return {
        method: "POST",
        setupRequest: (r) => {
          const key = Buffer.from(`${s.keyPrefix}${n++ % s.keys}`).toString("base64");
          return { ...r, path: "/v3/kv/put", headers, body: `{"key":"${key}","value":"${value}"}` };
        },
      };
    }
    default: {
      const never: never = s.kind;
      throw new Error(`unknown load kind ${String(never)}`);
    }
  }
}

const hist = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
let responses = 0;
const t0 = performance.now();
const instance = autocannon(
  {
    url: `http://${spec.host}:${spec.port}`,
    connections: spec.connections,
    pipelining: 1,
    duration: spec.durationS,
    timeout: LOAD_REQUEST_TIMEOUT_S,
    requests: [requestFor(spec)],
  },
  (err, r) => {
    if (err) {
      const f: FatalMsg = { type: "fatal", message: String(err) };
      ch.send(f);
      return;
    }
    finish(r);
  },
);
instance.on("response", (_client, statusCode, _bytes, responseTime) => {
  responses++;
  if (statusCode >= 200 && statusCode < 300) hist.recordValue(Math.max(1, Math.round(responseTime * 1000)));
});
const ticker = setInterval(() => {
  const m: LoadProgressMsg = { type: "progress", elapsedMs: performance.now() - t0, responses };
  ch.send(m);
}, LOAD_PROGRESS_MS);

function finish(r: autocannon.Result): void {
  clearInterval(ticker);
  const elapsedS = (performance.now() - t0) / 1000;
  const statusCodes: Record<string, number> = {};
  for (const [code, v] of Object.entries(r.statusCodeStats ?? {})) statusCodes[code] = v.count ?? 0;
  const total = Object.values(statusCodes).reduce((a, b) => a + b, 0);
  const ms = (p: number): number => (hist.totalCount > 0 ? hist.getValueAtPercentile(p) / 1000 : Number.NaN);
  const result: LoadResult = {
    kind: spec.kind,
    connections: spec.connections,
    requests: total,
    reqPerSec: total / Math.max(1e-3, r.duration > 0 ? r.duration : elapsedS),
    p50Ms: ms(50),
    p90Ms: ms(90),
    p99Ms: ms(99),
    p999Ms: ms(99.9),
    maxMs: hist.totalCount > 0 ? hist.maxValue / 1000 : Number.NaN,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    statusCodes,
    elapsedS,
  };
  const m: LoadDoneMsg = { type: "done", result };
  ch.send(m);
  setTimeout(() => process.exit(0), 50);
}
