/**
 * tests/e2e/raft_helpers: shared pieces of the multi-server Raft process tests
 * (raft_five, raft_partition): HTTP helpers (PUT, leader, agreed leader, ?recurse
 * listing), a bounded background writer that logs every acknowledged key, and the
 * "every acknowledged write on every server" check.
 *
 * Must never: start or stop processes itself (callers own them), or wait without a bound.
 */

import { waitFor } from "./watch_helpers.ts";

/** Where a server's HTTP API answers and what /v1/status/leader calls it. */
export interface RaftNode {
  readonly name: string;
  /** "http://host:port" */
  readonly base: string;
  /** "host:port" of its RPC (server) port, as /v1/status/leader reports it */
  readonly rpcAddr: string;
}

export async function httpGet(n: RaftNode, p: string, timeoutMs = 8000): Promise<{ status: number; body: string; headers: Headers }> {
  const r = await fetch(n.base + p, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: r.status, body: await r.text(), headers: r.headers };
}

/** PUT /v1/kv/<key>; true only when acknowledged (200 "true"). */
export async function kvPut(n: RaftNode, key: string, value: string, timeoutMs = 8000): Promise<boolean> {
  try {
    const r = await fetch(`${n.base}/v1/kv/${key}`, { method: "PUT", body: value, signal: AbortSignal.timeout(timeoutMs) });
    const body = await r.text();
    return r.status === 200 && body.trim() === "true";
  } catch {
    return false;
  }
}

export async function leaderOf(n: RaftNode): Promise<string> {
  try {
    const r = await httpGet(n, "/v1/status/leader", 3000);
    return r.status === 200 ? (JSON.parse(r.body) as string) : "";
  } catch {
    return "";
  }
}

/** Waits until every given node names the same non-empty leader (other than `not`); returns that node. */
export async function agreedLeader<N extends RaftNode>(all: readonly N[], among: readonly N[], ms: number, not = ""): Promise<N> {
  let leader: N | undefined;
  await waitFor(
    async () => {
      const ls = await Promise.all(among.map((n) => leaderOf(n)));
      const first = ls[0] ?? "";
      leader = first !== "" && first !== not && ls.every((l) => l === first) ? all.find((n) => n.rpcAddr === first) : undefined;
      return leader !== undefined;
    },
    ms,
    `an agreed leader among ${among.map((n) => n.name).join(",")}`,
  );
  return leader as N;
}

/** Every key under `prefix` with its value, as `n` reads it in `mode`. */
export async function kvAll(n: RaftNode, prefix: string, mode: "stale" | "consistent"): Promise<Map<string, string>> {
  const r = await httpGet(n, `/v1/kv/${prefix}?recurse&${mode}`, 15_000);
  if (r.status === 404) return new Map();
  if (r.status !== 200) throw new Error(`${n.name} ?${mode}: ${r.status} ${r.body.slice(0, 200)}`);
  const rows = JSON.parse(r.body) as Array<{ Key: string; Value: string | null }>;
  return new Map(rows.map((x) => [x.Key, x.Value === null ? "" : Buffer.from(x.Value, "base64").toString()]));
}

/**
 * Keys of `acked` that `n` does not show with the acknowledged value in `mode`, polling
 * until none are missing or `ms` has passed (a follower's ?stale view may trail a little).
 */
export async function missingOn(n: RaftNode, prefix: string, acked: ReadonlyMap<string, string>, mode: "stale" | "consistent", ms: number): Promise<string[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    let missing: string[];
    try {
      const have = await kvAll(n, prefix, mode);
      missing = [...acked].filter(([k, v]) => have.get(k) !== v).map(([k]) => k);
    } catch (e) {
      missing = [`(read failed: ${e instanceof Error ? e.message : String(e)})`];
    }
    if (missing.length === 0 || Date.now() > deadline) return missing;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * A bounded background write load: `lanes` sequential writers, each PUTting unique keys
 * `<prefix>w-<n>` through the nodes `targets()` returns (round-robin), at most `max` writes in
 * all; every acknowledged key goes into `acked` with its value.
 */
export class Writer {
  readonly acked = new Map<string, string>();
  attempts = 0;
  private stopped = false;
  private readonly lanes: Promise<void>[];

  constructor(prefix: string, targets: () => readonly RaftNode[], opts: { lanes: number; max: number; pauseMs: number }) {
    let seq = 0;
    this.lanes = Array.from({ length: opts.lanes }, async (_, lane) => {
      let rr = lane;
      while (!this.stopped && seq < opts.max) {
        const ts = targets();
        const n = ts[rr++ % Math.max(1, ts.length)];
        if (n === undefined) {
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
        const i = seq++;
        const key = `${prefix}w-${String(i).padStart(6, "0")}`;
        this.attempts++;
        if (await kvPut(n, key, `v${i}`, 5000)) this.acked.set(key, `v${i}`);
        if (opts.pauseMs > 0) await new Promise((r) => setTimeout(r, opts.pauseMs));
      }
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.lanes);
  }
}
