// The pure segment scanner at every byte cut point and with corrupted bytes,
// plus snapshot/meta codecs and file names.
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  checkSnapshot,
  decodeMeta,
  encodeMeta,
  encodeSegmentHeader,
  encodeSnapshotHeader,
  parseSegmentName,
  parseSnapshotName,
  RECORD_HEADER_BYTES,
  scanSegment,
  sealRecord,
  segmentName,
  snapshotName,
  viewOf,
  writeRecordHeader,
} from "../../src/wal/format.ts";
import { dataFor } from "./helpers.ts";

function segment(first: number, n: number): { bytes: Uint8Array; ends: number[] } {
  const parts: Uint8Array[] = [encodeSegmentHeader(first)];
  const ends: number[] = [16];
  let size = 16;
  for (let i = 0; i < n; i++) {
    const data = dataFor(first + i);
    const rec = new Uint8Array(RECORD_HEADER_BYTES + data.length);
    const dv = viewOf(rec);
    writeRecordHeader(dv, 0, first + i, 3, 1, data.length);
    rec.set(data, RECORD_HEADER_BYTES);
    sealRecord(rec, dv, 0);
    parts.push(rec);
    size += rec.length;
    ends.push(size);
  }
  const bytes = new Uint8Array(size);
  let off = 0;
  for (const p of parts) {
    bytes.set(p, off);
    off += p.length;
  }
  return { bytes, ends };
}

test("a clean segment scans fully", () => {
  const { bytes, ends } = segment(41, 25);
  const seen: number[] = [];
  const r = scanSegment(bytes, 41, (e) => seen.push(e.index));
  assert.equal(r.end, { kind: "clean" });
  assert.is(r.validEnd, ends[ends.length - 1]);
  assert.is(r.lastIndex, 65);
  assert.equal(seen, Array.from({ length: 25 }, (_, i) => 41 + i));
});

test("every cut point is a torn tail that keeps exactly the whole records before it", () => {
  const { bytes, ends } = segment(1, 25);
  for (let cut = 0; cut < bytes.length; cut++) {
    const r = scanSegment(bytes.subarray(0, cut), 1);
    const whole = ends.filter((e) => e <= cut);
    const expectEnd = whole.length === 0 ? 0 : whole[whole.length - 1]!;
    if (ends.includes(cut)) {
      assert.equal(r.end, { kind: "clean" }, `cut ${cut}`);
    } else {
      assert.is(r.end.kind, "torn", `cut ${cut}`);
      assert.is(r.validEnd, cut < 16 ? 0 : expectEnd, `cut ${cut}`);
    }
    assert.is(r.lastIndex, Math.max(0, whole.length - 1), `cut ${cut}`);
  }
});

test("a flipped byte anywhere before the last record is corruption; in the last record, torn", () => {
  const { bytes, ends } = segment(1, 12);
  const lastStart = ends[ends.length - 2]!;
  for (let pos = 16; pos < bytes.length; pos += 3) {
    const b = bytes.slice();
    b[pos] = b[pos]! ^ 0x40;
    const r = scanSegment(b, 1);
    const recStart = [...ends].reverse().find((e) => e <= pos)!;
    assert.ok(r.end.kind !== "clean", `flip at ${pos} noticed`);
    assert.is(r.end.offset, recStart, `flip at ${pos}: offset of the bad record`);
    assert.is(r.end.kind, pos >= lastStart ? "torn" : "corrupt", `flip at ${pos}`);
  }
});

test("header checks: magic, first index, zero-filled tail", () => {
  const { bytes } = segment(5, 3);
  assert.is(scanSegment(bytes, 6).end.kind, "corrupt");
  const bad = bytes.slice();
  bad[0] = 0;
  assert.is(scanSegment(bad, 5).end.kind, "corrupt");
  const padded = new Uint8Array(bytes.length + 64);
  padded.set(bytes);
  const r = scanSegment(padded, 5);
  assert.is(r.end.kind, "torn");
  assert.is(r.validEnd, bytes.length);
});

test("snapshot and meta codecs round trip and detect damage", () => {
  const data = dataFor(9, 9, 1000);
  const h = encodeSnapshotHeader(77, 4, data);
  const file = new Uint8Array(h.length + data.length);
  file.set(h);
  file.set(data, h.length);
  assert.equal(checkSnapshot(file), { index: 77, term: 4 });
  file[h.length + 10] = file[h.length + 10]! ^ 1;
  assert.is(checkSnapshot(file), "snapshot data crc mismatch");
  assert.is(checkSnapshot(file.subarray(0, 50)), "snapshot length 10, header says 1000");
  const m = encodeMeta({ term: 12, vote: "node-α" });
  assert.equal(decodeMeta(m), { term: 12, vote: "node-α" });
  m[m.length - 1] = 0;
  assert.is(decodeMeta(m), "meta crc mismatch");
});

test("file names", () => {
  assert.is(segmentName(1), "00000000000000000001.seg");
  assert.is(parseSegmentName("00000000000000012345.seg"), 12345);
  assert.is(parseSegmentName("00000000000000012345.seg.tmp"), undefined);
  assert.equal(parseSnapshotName(snapshotName(10, 2)), { index: 10, term: 2 });
  assert.ok(snapshotName(9, 1) < snapshotName(10, 1), "names sort by index");
});

test.run();
