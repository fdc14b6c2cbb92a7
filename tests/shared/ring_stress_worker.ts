// Worker side of the two-thread ring stress test (not a test file): produces or
// consumes `n` self-checking records over the shared ring, blocking with Atomics.wait.
import { parentPort, workerData } from "node:worker_threads";
import { ByteRing } from "../../src/shared/ring.ts";
import { checkRecord, fillRecord, lenOf } from "./ring_helpers.ts";

interface Job {
  sab: SharedArrayBuffer;
  role: "produce" | "consume";
  n: number;
  max: number;
}
const job = workerData as Job;
const ring = new ByteRing(job.sab);

function produce(): string {
  for (let seq = 0; seq < job.n; seq++) {
    const len = lenOf(seq, job.max);
    let at = ring.reserve(len);
    while (at < 0) {
      ring.wake();
      ring.waitForSpace(len, 100);
      at = ring.reserve(len);
    }
    fillRecord(ring.view, ring.bytes, at, len, seq);
    ring.commit();
    if ((seq & 7) === 0) ring.wake();
  }
  ring.wake();
  ring.close();
  return "ok";
}

function consume(): string {
  let next = 0;
  let err: string | undefined;
  const deadline = Date.now() + 15_000;
  while (next < job.n && err === undefined) {
    if (Date.now() > deadline) return `timed out at ${next}`;
    ring.waitForData(100);
    ring.drain((b, s, e) => {
      err = checkRecord(b, s, e, next, job.max);
      next++;
      return err === undefined;
    });
  }
  return err ?? (next === job.n ? "ok" : `got ${next} of ${job.n}`);
}

parentPort?.postMessage(job.role === "produce" ? produce() : consume());
