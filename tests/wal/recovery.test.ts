// Recovery: torn tails at random cut points are cut (and appending continues),
// corruption in the middle is refused with file and offset, snapshots compact
// the log, a corrupt snapshot falls back to an older one only when the log bridges it.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fs from "node:fs";
import path from "node:path";
import { openWal } from "../../src/wal/index.ts";
import { rng } from "../shared/ring_helpers.ts";
import { range, removeDir, sameEntries, segFiles, snapFiles, tempDir, waitDurable } from "./helpers.ts";

const SEG = 4096;

async function build(dir: string, n: number): Promise<void> {
  const { log } = await openWal(dir, { segmentBytes: SEG });
  log.append(range(1, n));
  await waitDurable(log, n);
  await log.close();
}

function copyDir(from: string, to: string): void {
  fs.cpSync(from, to, { recursive: true });
}

test("torn tail at random cut points: a prefix survives, a note is made, appends continue", async () => {
  const base = tempDir();
  try {
    const n = 120;
    await build(base, n);
    const segs = segFiles(base);
    assert.ok(segs.length >= 3, "several segments");
    const lastName = segs[segs.length - 1]!;
    const lastSize = fs.statSync(path.join(base, "wal", lastName)).size;
    const rand = rng(42);
    const cuts = [5, 17, lastSize - 1];
    for (let k = 0; k < 2; k++) cuts.push(Math.floor(rand() * lastSize)); // every cut point: format.test.ts
    for (const cut of cuts) {
      const dir = tempDir();
      try {
        copyDir(base, dir);
        const file = path.join(dir, "wal", lastName);
        fs.truncateSync(file, cut);
        let { log, recovered } = await openWal(dir, { segmentBytes: SEG });
        const got = recovered.entries;
        const last = got.length === 0 ? 0 : got[got.length - 1]!.index;
        assert.ok(last < n, `cut ${cut}: lost the tail`);
        assert.is(sameEntries(got, range(1, last)), undefined, `cut ${cut}: prefix intact`);
        if (cut !== 16 && cut !== lastSize) {
          assert.ok(recovered.notes.some((x) => /torn/.test(x)), `cut ${cut}: note made: ${JSON.stringify(recovered.notes)}`);
        }
        log.append(range(last + 1, last + 30, 2));
        await waitDurable(log, last + 30);
        await log.close();
        ({ log, recovered } = await openWal(dir, { segmentBytes: SEG }));
        assert.is(sameEntries(recovered.entries, [...range(1, last), ...range(last + 1, last + 30, 2)]), undefined, `cut ${cut}: after re-append`);
        assert.equal(recovered.notes, [], "the second open is clean");
        await log.close();
      } finally {
        removeDir(dir);
      }
    }
  } finally {
    removeDir(base);
  }
});

test("garbage or zeros appended after the last record are a torn tail", async () => {
  const dir = tempDir();
  try {
    await build(dir, 30);
    const segs = segFiles(dir);
    const file = path.join(dir, "wal", segs[segs.length - 1]!);
    fs.appendFileSync(file, Buffer.from([0x17, 0x00, 0x00, 0x00, 0xde, 0xad, 0xbe]));
    let { log, recovered } = await openWal(dir, { segmentBytes: SEG });
    assert.is(sameEntries(recovered.entries, range(1, 30)), undefined);
    assert.match(recovered.notes.join("\n"), /cut torn tail of .*\.seg at offset \d+/);
    await log.close();
    fs.appendFileSync(file, new Uint8Array(100));
    ({ log, recovered } = await openWal(dir, { segmentBytes: SEG }));
    assert.is(sameEntries(recovered.entries, range(1, 30)), undefined);
    assert.is(recovered.notes.length, 1);
    await log.close();
  } finally {
    removeDir(dir);
  }
});

/** Offset of the record with `index` in a segment file (walks the headers). */
function recordOffset(file: string, index: number): number {
  const b = fs.readFileSync(file);
  let off = 16;
  while (off + 28 <= b.length) {
    const len = b.readUInt32LE(off);
    if (b.readUInt32LE(off + 8) === index) return off;
    off += 28 + len;
  }
  throw new Error(`index ${index} not in ${file}`);
}

async function expectCorrupt(dir: string, re: RegExp): Promise<void> {
  try {
    const { log } = await openWal(dir, { segmentBytes: SEG });
    await log.close();
    assert.unreachable("open accepted a corrupt log");
  } catch (e) {
    assert.instance(e, Error);
    assert.match((e as Error).message, re);
  }
}

test("corruption in the middle is refused, naming the file and byte offset", async () => {
  const base = tempDir();
  try {
    await build(base, 120);
    const segs = segFiles(base);
    const lastName = segs[segs.length - 1]!;
    const firstIdx = Number(lastName.slice(0, 20));

    // a flipped data byte in the middle of the last segment
    let dir = tempDir();
    copyDir(base, dir);
    let file = path.join(dir, "wal", lastName);
    let off = recordOffset(file, firstIdx + 1);
    let b = fs.readFileSync(file);
    b[off + 30] = b[off + 30]! ^ 0xff;
    fs.writeFileSync(file, b);
    const esc = file.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
    await expectCorrupt(dir, new RegExp(`^wal: corrupt record in ${esc} at offset ${off}: crc mismatch$`));
    removeDir(dir);

    // a garbage length field in the middle of the last segment
    dir = tempDir();
    copyDir(base, dir);
    file = path.join(dir, "wal", lastName);
    off = recordOffset(file, firstIdx + 1);
    b = fs.readFileSync(file);
    b.writeUInt32LE(0x00ffffff, off);
    fs.writeFileSync(file, b);
    await expectCorrupt(dir, new RegExp(`corrupt record in .*${lastName} at offset ${off}: bad record length`));
    removeDir(dir);

    // a cut (torn-looking) record in a segment that is not the last
    dir = tempDir();
    copyDir(base, dir);
    file = path.join(dir, "wal", segs[0]!);
    fs.truncateSync(file, fs.statSync(file).size - 3);
    await expectCorrupt(dir, new RegExp(`corrupt record in .*${segs[0]!} at offset \\d+: partial record`));
    removeDir(dir);

    // a missing middle segment is an index gap
    dir = tempDir();
    copyDir(base, dir);
    fs.rmSync(path.join(dir, "wal", segs[1]!));
    await expectCorrupt(dir, /index gap in .*\.seg/);
    removeDir(dir);
  } finally {
    removeDir(base);
  }
});

test("snapshot + compaction: old segments go, old snapshots beyond the retained count go, reopen = snapshot + later entries", async () => {
  const dir = tempDir();
  try {
    let { log } = await openWal(dir, { segmentBytes: SEG });
    log.append(range(1, 300));
    await waitDurable(log, 300);
    const before = segFiles(dir).length;
    for (const idx of [100, 200, 250]) {
      await log.saveSnapshot({ index: idx, term: 1, data: new TextEncoder().encode(`snap ${idx}`) }, 20);
    }
    const segs = segFiles(dir);
    assert.ok(segs.length < before, `${before} -> ${segs.length} segments`);
    const firstKept = Number(segs[0]!.slice(0, 20));
    assert.ok(firstKept <= 231, `entries after 250 - 20 are kept (first segment starts at ${firstKept})`);
    assert.ok(firstKept > 100, "segments below the trailing window are gone");
    assert.is(snapFiles(dir).length, 2);
    assert.ok(snapFiles(dir)[1]!.startsWith("00000000000000000250-"));
    log.append(range(301, 310));
    await log.close();
    let recovered;
    ({ log, recovered } = await openWal(dir, { segmentBytes: SEG }));
    assert.is(recovered.snapshot?.index, 250);
    assert.is(new TextDecoder().decode(recovered.snapshot?.data), "snap 250");
    assert.is(sameEntries(recovered.entries, range(251, 310)), undefined);
    await log.close();
  } finally {
    removeDir(dir);
  }
});

test("a large snapshot is written in chunks and read back intact", async () => {
  const dir = tempDir();
  try {
    let { log } = await openWal(dir);
    log.append(range(1, 10));
    const big = new Uint8Array(24 * 1024 * 1024 + 123);
    for (let i = 0; i < big.length; i += 4096) big[i] = (i >> 12) & 0xff;
    await log.saveSnapshot({ index: 10, term: 1, data: big }, 0);
    await log.close();
    let recovered;
    ({ log, recovered } = await openWal(dir));
    assert.is(recovered.snapshot?.data.length, big.length);
    let same = true;
    for (let i = 0; i < big.length; i += 4096) if (recovered.snapshot?.data[i] !== big[i]) same = false;
    assert.ok(same);
    await log.close();
  } finally {
    removeDir(dir);
  }
});

test("a corrupt newest snapshot falls back to the older one when the log bridges the gap, else errors", async () => {
  const dir = tempDir();
  try {
    let { log } = await openWal(dir, { segmentBytes: SEG });
    log.append(range(1, 200));
    await log.saveSnapshot({ index: 100, term: 1, data: new Uint8Array([1]) }, 1000);
    await log.saveSnapshot({ index: 150, term: 1, data: new Uint8Array([2]) }, 1000);
    await log.close();
    const newest = path.join(dir, "snapshots", snapFiles(dir)[1]!);
    const b = fs.readFileSync(newest);
    b[b.length - 1] = b[b.length - 1]! ^ 0x55;
    fs.writeFileSync(newest, b);
    let recovered;
    ({ log, recovered } = await openWal(dir, { segmentBytes: SEG }));
    assert.is(recovered.snapshot?.index, 100);
    assert.is(sameEntries(recovered.entries, range(101, 200)), undefined);
    assert.match(recovered.notes.join("\n"), /snapshot .* is corrupt \(snapshot data crc mismatch\)/);
    await log.close();
  } finally {
    removeDir(dir);
  }
  const dir2 = tempDir();
  try {
    // compacted so the log no longer reaches back to 101: a corrupt newest snapshot is fatal
    const { log } = await openWal(dir2, { segmentBytes: SEG });
    log.append(range(1, 200));
    await log.saveSnapshot({ index: 100, term: 1, data: new Uint8Array([1]) }, 1000);
    await log.saveSnapshot({ index: 190, term: 1, data: new Uint8Array([3]) }, 0);
    await log.close();
    const names = snapFiles(dir2);
    assert.is(names.length, 2);
    fs.writeFileSync(path.join(dir2, "snapshots", names[1]!), "garbage");
    await expectCorrupt(dir2, /snapshot .*190.* is corrupt, and the log does not reach back to index 101/);
  } finally {
    removeDir(dir2);
  }
});

test("a corrupt meta file is refused; hard state survives alongside the log", async () => {
  const dir = tempDir();
  try {
    const { log } = await openWal(dir);
    await log.setHardState(7, "n1");
    log.append(range(1, 5));
    await log.close();
    const r = await openWal(dir);
    assert.equal(r.recovered.hardState, { term: 7, vote: "n1" });
    await r.log.close();
    fs.writeFileSync(path.join(dir, "meta"), "nonsense that is long enough");
    await expectCorrupt(dir, /corrupt meta file/);
  } finally {
    removeDir(dir);
  }
});

test.run();
