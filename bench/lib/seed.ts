/**
 * bench/lib/seed: write many KV keys quickly, through /v1/txn batches when the target has them,
 * otherwise through concurrent PUTs. The final unit (batch or key) is written alone, after all
 * others are acknowledged, so "the last written key" is well defined. An optional time budget
 * stops the load early (the final unit is still written) so a slow target cannot stall the bench.
 *
 * Must never: be used for measured load (it reports only its own elapsed time).
 */

import http from "node:http";
import { httpRequest, forEachLimited, monoMs, type Endpoint } from "./http.ts";
import { SCALE_PUT_IN_FLIGHT, SCALE_TXN_IN_FLIGHT, SCALE_TXN_OPS } from "./config.ts";
import { makeValue } from "./values.ts";

export interface SeedOptions {
  readonly prefix: string;
  readonly count: number;
  readonly valueBytes: number;
  readonly useTxn: boolean;
  readonly onProgress?: (written: number) => void;
  /** stop starting new units after this many ms */
  readonly budgetMs?: number;
}

export interface SeedResult {
  readonly ms: number;
  readonly lastKey: string;
  readonly requests: number;
  readonly written: number;
  /** false when the budget ran out before every key was written */
  readonly complete: boolean;
  /** indexes of keys known to be written (an even spread of at most `sampleSize`) */
  sample(sampleSize: number): number[];
}

export async function seedKeys(ep: Endpoint, o: SeedOptions): Promise<SeedResult> {
  const t0 = monoMs();
  const value = makeValue(o.valueBytes);
  const b64 = Buffer.from(value).toString("base64");
  const perUnit = o.useTxn ? SCALE_TXN_OPS : 1;
  const units = Math.ceil(o.count / perUnit);
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.useTxn ? SCALE_TXN_IN_FLIGHT : SCALE_PUT_IN_FLIGHT });
  const done = new Uint8Array(units);
  const deadline = o.budgetMs === undefined ? Number.POSITIVE_INFINITY : t0 + o.budgetMs;
  let written = 0;
  let requests = 0;
  let stopped = false;

  const writeUnit = async (u: number, force = false): Promise<void> => {
    if (!force && monoMs() > deadline) {
      stopped = true;
      return;
    }
    const from = u * perUnit;
    const to = Math.min(o.count, from + perUnit);
    let r;
    if (o.useTxn) {
      const ops: string[] = [];
      for (let i = from; i < to; i++) ops.push(`{"KV":{"Verb":"set","Key":"${o.prefix}${i}","Value":"${b64}"}}`);
      r = await httpRequest(ep, "PUT", "/v1/txn", { agent, body: `[${ops.join(",")}]`, contentType: "application/json" });
    } else {
      r = await httpRequest(ep, "PUT", `/v1/kv/${o.prefix}${from}`, { agent, body: value });
    }
    requests++;
    if (r.status !== 200) {
      const what = o.useTxn ? `PUT /v1/txn (keys ${from}..${to - 1})` : `PUT ${o.prefix}${from}`;
      throw new Error(`${what}: status ${r.status}: ${r.body.toString().slice(0, 300)}`);
    }
    done[u] = 1;
    written += to - from;
    if (o.useTxn || written % 1000 === 0) o.onProgress?.(written);
  };

  try {
    await forEachLimited(Math.max(0, units - 1), o.useTxn ? SCALE_TXN_IN_FLIGHT : SCALE_PUT_IN_FLIGHT, (u) => writeUnit(u));
    if (units > 0) await writeUnit(units - 1, true); // the final unit always goes out, alone
    o.onProgress?.(written);
  } finally {
    agent.destroy();
  }

  return {
    ms: monoMs() - t0,
    lastKey: `${o.prefix}${o.count - 1}`,
    requests,
    written,
    complete: !stopped,
    sample: (size) => {
      const doneUnits: number[] = [];
      for (let u = 0; u < units; u++) if (done[u]) doneUnits.push(u);
      const keys = new Set<number>();
      for (let k = 0; k < size - 1 && doneUnits.length > 0; k++) {
        const u = doneUnits[Math.floor((k * doneUnits.length) / Math.max(1, size - 1))] ?? 0;
        keys.add(Math.min(o.count - 1, u * perUnit + ((k * 37) % perUnit)));
      }
      if (units > 0 && done[units - 1]) keys.add(o.count - 1);
      return [...keys];
    },
  };
}
