/**
 * workers/wal_worker: the WAL writer thread.
 *
 * Loop: sleep on the ring (Atomics.wait) until records arrive, drain everything
 * available, write it with one write and one fdatasync (group commit), then
 * publish the durable index (Atomics.store + notify). A barrier record in the
 * ring marks where a control operation (open, hard state, truncate, snapshot,
 * close) was issued; its details come on a MessagePort, read synchronously
 * with receiveMessageOnPort, so control operations happen exactly in order
 * with appends.
 *
 * Must never: publish an index before its fdatasync returned, let a durable
 * index go backwards except by an explicit truncateSuffix, or run product logic.
 */

import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from "node:worker_threads";
import { ByteRing } from "../shared/ring.ts";
import { WAL_WRITE_BATCH_BYTES } from "../shared/limits.ts";
import { unreachable } from "../shared/errors.ts";
import { DiskLog } from "../wal/disk.ts";
import { BARRIER_MARK } from "../wal/format.ts";
import {
  ST_BATCHES,
  ST_DURABLE_SEQ,
  ST_ENTRIES,
  ST_MAX_BATCH,
  ST_SYNCS,
  type ControlRequest,
  type WorkerInit,
  type WorkerReply,
} from "../wal/protocol.ts";

const init = workerData as WorkerInit & { port: MessagePort };
const ring = new ByteRing(init.ring);
const status = new Int32Array(init.status);
const durableSlot = new BigInt64Array(init.status, 0, 1);
const disk = new DiskLog(init.opts.dir, init.opts.segmentBytes);
const nap = new Int32Array(new SharedArrayBuffer(4));
let durable = 0;
let opened = false;

function post(m: WorkerReply, transfer: ArrayBuffer[] = []): void {
  parentPort?.postMessage(m, transfer);
}

function publish(index: number): void {
  durable = index;
  Atomics.store(durableSlot, 0, BigInt(index));
  Atomics.add(status, ST_DURABLE_SEQ, 1);
  Atomics.notify(status, ST_DURABLE_SEQ);
  if (init.opts.notifyByMessage) post({ t: "durable", index });
}

function flush(): void {
  if (!disk.flush()) return;
  Atomics.store(status, ST_SYNCS, disk.syncs);
  Atomics.store(status, ST_BATCHES, disk.batches);
  Atomics.store(status, ST_ENTRIES, disk.entriesWritten | 0);
  Atomics.store(status, ST_MAX_BATCH, disk.maxBatch);
  publish(disk.lastIndex);
}

function nextRequest(id: number): ControlRequest {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const m = receiveMessageOnPort(init.port);
    if (m !== undefined) {
      const req = m.message as ControlRequest;
      if (req.id !== id) throw new Error(`wal worker: control message ${req.id} where ${id} was expected`);
      return req;
    }
    if (Date.now() > deadline) throw new Error(`wal worker: control message ${id} never arrived`);
    Atomics.wait(nap, 0, 0, 1);
  }
}

/** Run one control operation; returns false when the worker should stop. */
function control(id: number): boolean {
  const req = nextRequest(id);
  try {
    switch (req.op) {
      case "open": {
        const result = disk.recover();
        opened = true;
        publish(disk.lastIndex);
        const transfer: ArrayBuffer[] = result.segments.flatMap((s) => [s.bytes.buffer as ArrayBuffer, s.table.buffer as ArrayBuffer]);
        if (result.snapshot) transfer.push(result.snapshot.file.buffer as ArrayBuffer);
        post({ t: "reply", id, ok: true, result }, transfer);
        return true;
      }
      case "hardState":
        disk.setHardState({ term: req.term, vote: req.vote });
        break;
      case "truncate":
        flush();
        disk.truncateSuffix(req.from);
        if (durable > disk.lastIndex) publish(disk.lastIndex);
        break;
      case "snapshot":
        flush();
        disk.saveSnapshot(req.index, req.term, req.data, req.trailing);
        if (disk.lastIndex > durable) publish(disk.lastIndex);
        break;
      case "close":
        flush();
        disk.close();
        post({ t: "reply", id, ok: true });
        return false;
      default:
        unreachable(req);
    }
  } catch (e) {
    post({ t: "reply", id, ok: false, error: e instanceof Error ? e.message : String(e) });
    return req.op !== "close";
  }
  post({ t: "reply", id, ok: true });
  return true;
}

function run(): void {
  let barrier = -1;
  const visit = (b: Uint8Array, s: number, e: number): boolean => {
    if (ring.view.getUint32(s, true) === BARRIER_MARK) {
      barrier = ring.view.getUint32(s + 4, true);
      return false;
    }
    if (!opened) throw new Error("wal worker: append before open");
    disk.add(b, s, e);
    return true;
  };
  for (;;) {
    barrier = -1;
    const n = ring.drain(visit, WAL_WRITE_BATCH_BYTES);
    flush();
    if (barrier >= 0) {
      if (!control(barrier)) return;
      continue;
    }
    if (n === 0) ring.waitForData(1000);
  }
}

try {
  run();
} catch (e) {
  post({ t: "fatal", error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
} finally {
  init.port.close();
}
