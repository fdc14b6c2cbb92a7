/**
 * wal/disk: the log's files, driven by the WAL worker thread.
 *
 * Recovery (newest valid snapshot + the segments after it, torn tail cut,
 * corruption refused with file and offset), group-committed appends (records
 * gathered in one buffer, one write, one fdatasync), segment rolling, suffix
 * truncation, snapshots with compaction, and the hard-state meta file. Every
 * file replacement is tmp + fsync + rename + directory fsync.
 *
 * Must never: run on the main thread (it uses synchronous fs calls), interpret
 * entry data, or report an index durable before its fdatasync returned.
 */

import fs from "node:fs";
import path from "node:path";
import { assert } from "../shared/errors.ts";
import { SNAPSHOT_WRITE_CHUNK_BYTES, SNAPSHOTS_RETAINED, WAL_WRITE_BATCH_BYTES } from "../shared/limits.ts";
import {
  checkSnapshot,
  decodeMeta,
  encodeMeta,
  encodeSegmentHeader,
  encodeSnapshotHeader,
  getU64,
  parseSegmentName,
  parseSnapshotName,
  RECORD_HEADER_BYTES,
  recordCrc,
  scanSegment,
  SEGMENT_HEADER_BYTES,
  segmentName,
  SNAPSHOT_HEADER_BYTES,
  snapshotName,
  viewOf,
  type HardState,
} from "./format.ts";
import type { OpenResult } from "./protocol.ts";

interface Segment {
  first: number;
  file: string;
}

interface Active {
  seg: Segment;
  fd: number;
  /** Bytes in the file (header included), not counting the pending batch. */
  size: number;
  /** Records in the file plus the pending batch. */
  records: number;
}

function readWhole(file: string): Uint8Array {
  const fd = fs.openSync(file, "r");
  try {
    const size = fs.fstatSync(fd).size;
    const b = new Uint8Array(size);
    let off = 0;
    while (off < size) {
      const n = fs.readSync(fd, b, off, size - off, off);
      if (n === 0) break;
      off += n;
    }
    return off === size ? b : b.subarray(0, off);
  } finally {
    fs.closeSync(fd);
  }
}

function writeAll(fd: number, b: Uint8Array, start: number, end: number, pos: number): void {
  let off = start;
  while (off < end) {
    const n = fs.writeSync(fd, b, off, end - off, pos + (off - start));
    off += n;
  }
}

function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, "r");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export class DiskLog {
  readonly dir: string;
  readonly walDir: string;
  readonly snapDir: string;
  private readonly segmentBytes: number;
  private segments: Segment[] = [];
  private active: Active | undefined;
  private batch = new Uint8Array(1024 * 1024);
  private batchLen = 0;
  private batchRecords = 0;
  /** Last index appended (possibly not yet flushed). */
  lastIndex = 0;
  snapshotIndex = 0;
  /** fdatasync/fsync calls on segment files. */
  syncs = 0;
  batches = 0;
  entriesWritten = 0;
  maxBatch = 0;

  constructor(dir: string, segmentBytes: number) {
    this.dir = dir;
    this.walDir = path.join(dir, "wal");
    this.snapDir = path.join(dir, "snapshots");
    this.segmentBytes = segmentBytes;
  }

  // ------------------------------------------------------------- recovery

  recover(): OpenResult {
    fs.mkdirSync(this.walDir, { recursive: true });
    fs.mkdirSync(this.snapDir, { recursive: true });
    const notes: string[] = [];
    for (const name of fs.readdirSync(this.snapDir)) {
      if (name.endsWith(".tmp")) fs.rmSync(path.join(this.snapDir, name), { force: true });
    }
    fs.rmSync(path.join(this.dir, "meta.tmp"), { force: true });
    const hardState = this.readMeta();

    this.segments = fs
      .readdirSync(this.walDir)
      .map((name) => ({ name, first: parseSegmentName(name) }))
      .filter((s): s is { name: string; first: number } => s.first !== undefined)
      .sort((a, b) => a.first - b.first)
      .map((s) => ({ first: s.first, file: path.join(this.walDir, s.name) }));
    const segs = this.segments;

    // newest valid snapshot; an older one only if the log bridges the gap
    const snaps = this.listSnapshots();
    let snapshot: OpenResult["snapshot"];
    let mustReach = 0;
    let badNewest: string | undefined;
    for (const s of snaps) {
      const file = path.join(this.snapDir, s.name);
      const image = readWhole(file);
      const ok = checkSnapshot(image);
      if (typeof ok === "string") {
        notes.push(`snapshot ${file} is corrupt (${ok}); trying an older one`);
        mustReach = Math.max(mustReach, s.index);
        badNewest ??= `${file} (${ok})`;
        continue;
      }
      if (mustReach > 0 && (segs.length === 0 || segs[0]!.first > ok.index + 1)) {
        throw new Error(
          `wal: snapshot ${badNewest ?? "?"} is corrupt, and the log does not reach back to index ${ok.index + 1} ` +
            `to recover from the older snapshot ${file} (log starts at ${segs[0]?.first ?? "nothing"})`,
        );
      }
      snapshot = { index: ok.index, term: ok.term, file: image, dataOffset: SNAPSHOT_HEADER_BYTES };
      if (mustReach > 0) notes.push(`recovering from older snapshot ${file} plus the log`);
      break;
    }
    const S = snapshot?.index ?? 0;
    if (snapshot === undefined && mustReach > 0 && (segs.length === 0 || segs[0]!.first !== 1)) {
      throw new Error(`wal: every snapshot is corrupt (newest: ${badNewest ?? "?"}) and the log does not start at index 1`);
    }
    if (segs.length > 0 && segs[0]!.first > S + 1) {
      throw new Error(
        `wal: index gap: ${snapshot ? `snapshot ends at index ${S}` : "there is no snapshot"} but ${segs[0]!.file} starts at index ${segs[0]!.first}`,
      );
    }
    this.snapshotIndex = S;

    const out: OpenResult["segments"] = [];
    let last = S;
    let prevLast = -1;
    for (let k = 0; k < segs.length; k++) {
      const seg = segs[k]!;
      const isLast = k === segs.length - 1;
      if (!isLast && segs[k + 1]!.first <= S + 1) continue; // wholly covered by the snapshot
      if (prevLast >= 0 && seg.first !== prevLast + 1) {
        throw new Error(`wal: index gap in ${seg.file} at offset 8: expected first index ${prevLast + 1}, found ${seg.first}`);
      }
      const bytes = readWhole(seg.file);
      const rows: number[] = [];
      const res = scanSegment(bytes, seg.first, (e) => {
        if (e.index > S) rows.push(e.index, e.term, e.type, e.offset + RECORD_HEADER_BYTES, e.dataLen);
      });
      if (res.end.kind === "corrupt" || (res.end.kind === "torn" && !isLast)) {
        throw new Error(`wal: corrupt record in ${seg.file} at offset ${res.end.offset}: ${res.end.reason}`);
      }
      let validEnd = res.validEnd;
      if (res.end.kind === "torn") {
        const dropped = bytes.length - res.end.offset;
        if (res.validEnd < SEGMENT_HEADER_BYTES) {
          fs.rmSync(seg.file, { force: true });
          fsyncDir(this.walDir);
          segs.pop();
          notes.push(`cut torn tail: removed ${seg.file} (${res.end.reason}, ${dropped} bytes)`);
          validEnd = -1;
        } else {
          const fd = fs.openSync(seg.file, "r+");
          try {
            fs.ftruncateSync(fd, res.validEnd);
            fs.fdatasyncSync(fd);
          } finally {
            fs.closeSync(fd);
          }
          notes.push(`cut torn tail of ${seg.file} at offset ${res.end.offset} (${res.end.reason}, ${dropped} bytes dropped)`);
        }
      }
      prevLast = res.lastIndex;
      if (res.lastIndex > last) last = res.lastIndex;
      if (rows.length > 0) out.push({ bytes, table: Float64Array.from(rows) });
      if (isLast && validEnd >= 0 && res.lastIndex >= S) {
        const fd = fs.openSync(seg.file, "r+");
        fs.fdatasyncSync(fd); // what a crashed process left in the page cache is durable from here on
        this.active = { seg, fd, size: validEnd, records: res.lastIndex - seg.first + 1 };
      }
    }
    this.lastIndex = last;
    return { snapshot, segments: out, hardState, notes, lastIndex: last };
  }

  private readMeta(): HardState {
    const file = path.join(this.dir, "meta");
    if (!fs.existsSync(file)) return { term: 0, vote: "" };
    const hs = decodeMeta(readWhole(file));
    if (typeof hs === "string") throw new Error(`wal: corrupt meta file ${file} at offset 0: ${hs}`);
    return hs;
  }

  private listSnapshots(): Array<{ name: string; index: number; term: number }> {
    const out: Array<{ name: string; index: number; term: number }> = [];
    for (const name of fs.readdirSync(this.snapDir)) {
      const p = parseSnapshotName(name);
      if (p) out.push({ name, ...p });
    }
    return out.sort((a, b) => b.index - a.index || b.term - a.term);
  }

  // ------------------------------------------------------------- appends

  /**
   * Take one record image (header + data, crc not yet set) from src[start, end).
   * Rolls the segment when needed (flushing first). Call flush() to make it durable.
   */
  add(src: Uint8Array, start: number, end: number): void {
    const dv = viewOf(src);
    const index = getU64(dv, start + 8);
    assert(index === this.lastIndex + 1, `wal: append of index ${index} after ${this.lastIndex}`);
    const len = end - start;
    const a = this.active;
    if (a === undefined || (a.records > 0 && a.size + this.batchLen + len > this.segmentBytes)) {
      this.flush();
      this.roll(index);
    }
    if (this.batchLen + len > this.batch.length) {
      if (this.batchLen > 0 && this.batchLen + len > WAL_WRITE_BATCH_BYTES) this.flush();
      if (len > this.batch.length - this.batchLen) {
        const bigger = new Uint8Array(Math.max(this.batch.length * 2, this.batchLen + len));
        bigger.set(this.batch.subarray(0, this.batchLen));
        this.batch = bigger;
      }
    }
    const off = this.batchLen;
    this.batch.set(src.subarray(start, end), off);
    const bv = viewOf(this.batch);
    bv.setUint32(off + 4, recordCrc(this.batch, off, len - RECORD_HEADER_BYTES), true);
    this.batchLen += len;
    this.batchRecords++;
    this.active!.records++;
    this.lastIndex = index;
  }

  /** Write the pending batch with one write and one fdatasync. Returns true if anything was written. */
  flush(): boolean {
    if (this.batchLen === 0) return false;
    const a = this.active;
    assert(a !== undefined, "wal: batch without an active segment");
    writeAll(a.fd, this.batch, 0, this.batchLen, a.size);
    fs.fdatasyncSync(a.fd);
    a.size += this.batchLen;
    this.syncs++;
    this.batches++;
    this.entriesWritten += this.batchRecords;
    if (this.batchRecords > this.maxBatch) this.maxBatch = this.batchRecords;
    this.batchLen = 0;
    this.batchRecords = 0;
    return true;
  }

  private roll(first: number): void {
    this.closeActive();
    const seg = { first, file: path.join(this.walDir, segmentName(first)) };
    const fd = fs.openSync(seg.file, "w+");
    const header = encodeSegmentHeader(first);
    writeAll(fd, header, 0, header.length, 0);
    fsyncDir(this.walDir);
    this.segments.push(seg);
    this.active = { seg, fd, size: header.length, records: 0 };
  }

  private closeActive(): void {
    if (this.active) fs.closeSync(this.active.fd);
    this.active = undefined;
  }

  // ------------------------------------------------------------- control

  setHardState(hs: HardState): void {
    this.replaceFile(path.join(this.dir, "meta"), [encodeMeta(hs)]);
  }

  /** Remove entries with index >= from. */
  truncateSuffix(from: number): void {
    this.flush();
    if (from > this.lastIndex) return;
    let removed = false;
    while (this.segments.length > 0 && this.segments[this.segments.length - 1]!.first >= from) {
      const seg = this.segments.pop()!;
      if (this.active?.seg === seg) this.closeActive();
      fs.rmSync(seg.file, { force: true });
      removed = true;
    }
    const seg = this.segments[this.segments.length - 1];
    if (seg !== undefined) {
      let cut = -1;
      let records = 0;
      const bytes = readWhole(seg.file);
      const res = scanSegment(bytes, seg.first, (e) => {
        if (e.index === from) cut = e.offset;
        if (e.index < from) records++;
      });
      assert(res.end.kind === "clean", `wal: ${seg.file} went bad while running`);
      if (this.active?.seg !== seg) {
        this.closeActive();
        this.active = { seg, fd: fs.openSync(seg.file, "r+"), size: bytes.length, records: 0 };
      }
      const a = this.active!;
      if (cut >= 0) {
        fs.ftruncateSync(a.fd, cut);
        fs.fdatasyncSync(a.fd);
        this.syncs++;
        a.size = cut;
      }
      a.records = records;
    }
    if (removed) fsyncDir(this.walDir);
    this.lastIndex = Math.max(from - 1, this.snapshotIndex);
  }

  /**
   * Write a snapshot durably, then drop whole segments whose entries are all
   * <= index - trailing, and old snapshots beyond SNAPSHOTS_RETAINED. A snapshot
   * past the end of the log replaces the log.
   */
  saveSnapshot(index: number, term: number, data: Uint8Array, trailing: number): void {
    this.flush();
    const header = encodeSnapshotHeader(index, term, data);
    const chunks: Uint8Array[] = [header];
    for (let off = 0; off < data.length; off += SNAPSHOT_WRITE_CHUNK_BYTES) {
      chunks.push(data.subarray(off, Math.min(data.length, off + SNAPSHOT_WRITE_CHUNK_BYTES)));
    }
    this.replaceFile(path.join(this.snapDir, snapshotName(index, term)), chunks);
    this.snapshotIndex = Math.max(this.snapshotIndex, index);

    let removed = false;
    if (index > this.lastIndex) {
      this.closeActive();
      for (const seg of this.segments) fs.rmSync(seg.file, { force: true });
      removed = this.segments.length > 0;
      this.segments = [];
      this.lastIndex = index;
    } else {
      const keepFrom = index - trailing;
      while (this.segments.length > 1 && this.segments[1]!.first - 1 <= keepFrom) {
        fs.rmSync(this.segments.shift()!.file, { force: true });
        removed = true;
      }
    }
    if (removed) fsyncDir(this.walDir);

    const snaps = this.listSnapshots();
    if (snaps.length > SNAPSHOTS_RETAINED) {
      for (const s of snaps.slice(SNAPSHOTS_RETAINED)) fs.rmSync(path.join(this.snapDir, s.name), { force: true });
      fsyncDir(this.snapDir);
    }
  }

  close(): void {
    this.flush();
    this.closeActive();
  }

  /** Write `chunks` to `file` atomically: tmp, fsync, rename, directory fsync. */
  private replaceFile(file: string, chunks: Uint8Array[]): void {
    const tmp = `${file}.tmp`;
    const fd = fs.openSync(tmp, "w");
    try {
      let pos = 0;
      for (const c of chunks) {
        writeAll(fd, c, 0, c.length, pos);
        pos += c.length;
      }
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
    fsyncDir(path.dirname(file));
  }
}
