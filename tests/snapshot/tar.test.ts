/**
 * tests/snapshot/tar: the ustar writer/reader — round trip, Go's header layout,
 * truncation, bad header checksum, over-limit members refused from the header,
 * only regular files, end-of-archive rules, and interop with the system tar when present.
 */

import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { readTar, TarError, writeTar } from "../../src/snapshot/tar.ts";

const LIMITS = { maxMemberBytes: 1 << 20, maxMembers: 8 };
const enc = new TextEncoder();

function members(): Array<{ name: string; data: Uint8Array }> {
  const big = new Uint8Array(70_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
  return [
    { name: "meta.json", data: enc.encode('{"Index":5}\n') },
    { name: "state.bin", data: big },
    { name: "empty", data: new Uint8Array(0) },
    { name: "SHA256SUMS", data: enc.encode("x".repeat(512)) },
  ];
}

function throwsTar(fn: () => unknown, re: RegExp): TarError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof TarError, `expected TarError, got ${String(e)}`);
    assert.match((e as TarError).message, re);
    return e as TarError;
  }
  assert.unreachable("no error");
  throw new Error("unreachable");
}

test("round trip: names and bytes come back, in order", () => {
  const ms = members();
  const tar = writeTar(ms, 1_700_000_000);
  assert.is(tar.length % 512, 0);
  const r = readTar(tar, LIMITS);
  assert.equal(r.members.map((m) => m.name), ms.map((m) => m.name));
  for (let i = 0; i < ms.length; i++) assert.equal(Buffer.from(r.members[i]!.data), Buffer.from(ms[i]!.data));
  assert.is(r.end, tar.length);
});

test("header layout is Go's ustar (mode 0600, octal size, checksum '%06o\\0 ', magic)", () => {
  const tar = writeTar([{ name: "meta.json", data: enc.encode("abc") }], 0o12345);
  const h = tar.subarray(0, 512);
  const s = (a: number, b: number): string => Buffer.from(h.subarray(a, b)).toString("latin1");
  assert.is(s(0, 9), "meta.json");
  assert.is(s(100, 108), "0000600\0");
  assert.is(s(124, 136), "00000000003\0");
  assert.is(s(136, 148), "00000012345\0");
  assert.is(s(156, 157), "0");
  assert.is(s(257, 265), "ustar\x0000");
  assert.match(s(148, 156), /^[0-7]{6}\0 $/);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
  assert.is(parseInt(s(148, 154), 8), sum);
  // two zero blocks close the archive
  assert.ok(tar.subarray(1024).every((b) => b === 0));
  assert.is(tar.length, 512 + 512 + 1024);
});

test("truncated archives: inside a header, inside data, inside the end marker", () => {
  const tar = writeTar(members(), 1);
  throwsTar(() => readTar(tar.subarray(0, 100), LIMITS), /^unexpected EOF$/);
  throwsTar(() => readTar(tar.subarray(0, 512 + 600), LIMITS), /^unexpected EOF$/);
  throwsTar(() => readTar(tar.subarray(0, tar.length - 100), LIMITS), /^unexpected EOF$/);
  // EOF at a header boundary is a clean end (Go's io.EOF), as is a single zero block
  const one = writeTar([{ name: "a", data: enc.encode("x") }], 1);
  assert.is(readTar(one.subarray(0, 1024), LIMITS).members.length, 1);
  assert.is(readTar(one.subarray(0, 1536), LIMITS).members.length, 1);
});

test("a header whose checksum does not match is refused", () => {
  const tar = writeTar(members(), 1);
  const bad = tar.slice();
  bad[3] = bad[3]! ^ 0x01; // flip a bit of the first name
  throwsTar(() => readTar(bad, LIMITS), /^archive\/tar: invalid tar header$/);
  const bad2 = tar.slice();
  bad2[124] = 0x39; // '9' is not octal (size field)
  throwsTar(() => readTar(bad2, LIMITS), /invalid tar header/);
});

test("an oversized member is refused from its header, before its data", () => {
  const tar = writeTar([{ name: "state.bin", data: new Uint8Array(5000) }], 1);
  // only the header is given: the limit must be checked before any data is needed
  const e = throwsTar(() => readTar(tar.subarray(0, 512), { maxMemberBytes: 4096, maxMembers: 8 }), /tar member "state.bin" is too large \(5000 bytes; the limit is 4096\)/);
  assert.ok(e.tooLarge);
  const e2 = throwsTar(() => readTar(writeTar(members(), 1), { maxMemberBytes: 1 << 20, maxMembers: 2 }), /too many tar members/);
  assert.ok(e2.tooLarge);
});

test("only regular files; a non-zero block after the first zero block is refused", () => {
  const tar = writeTar([{ name: "dir", data: new Uint8Array(0) }], 1);
  const h = tar.slice(0, 512);
  h[156] = 0x35; // '5' directory
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
  h.set(enc.encode(sum.toString(8).padStart(6, "0") + "\0 "), 148);
  const dir = new Uint8Array(2048);
  dir.set(h, 0);
  throwsTar(() => readTar(dir, LIMITS), /unsupported tar member type "5" for "dir"/);
  const junk = writeTar([{ name: "a", data: enc.encode("x") }], 1);
  junk[1024 + 512 + 7] = 1;
  throwsTar(() => readTar(junk, LIMITS), /invalid tar header/);
});

test("writer refuses names that do not fit ustar's name field", () => {
  throwsTar(() => writeTar([{ name: "x".repeat(101), data: new Uint8Array(0) }], 1), /bad member name/);
  throwsTar(() => writeTar([{ name: "", data: new Uint8Array(0) }], 1), /bad member name/);
});

test("interop with the system tar (when installed): it lists ours, we read its", () => {
  const probe = spawnSync("tar", ["--version"], { encoding: "utf8" });
  if (probe.status !== 0) {
    assert.ok(true, "no system tar");
    return;
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), "cairn-tar-"));
  try {
    const ours = path.join(dir, "ours.tar");
    writeFileSync(ours, writeTar(members(), 1_700_000_000));
    const list = spawnSync("tar", ["-tvf", ours], { encoding: "utf8" });
    assert.is(list.status, 0, list.stderr);
    assert.match(list.stdout, /meta\.json/);
    assert.match(list.stdout, /70000/);
    const src = path.join(dir, "src");
    spawnSync("mkdir", [src]);
    writeFileSync(path.join(src, "meta.json"), '{"x":1}');
    writeFileSync(path.join(src, "state.bin"), Buffer.alloc(1234, 7));
    const theirs = path.join(dir, "theirs.tar");
    const mk = spawnSync("tar", ["--format=ustar", "-cf", theirs, "-C", src, "meta.json", "state.bin"], { encoding: "utf8" });
    assert.is(mk.status, 0, mk.stderr);
    // GNU tar pads to a 10 KiB record: the zero blocks end the archive before it
    const r = readTar(new Uint8Array(readFileSync(theirs)), LIMITS);
    assert.equal(r.members.map((m) => m.name), ["meta.json", "state.bin"]);
    assert.is(r.members[1]!.data.length, 1234);
    assert.ok(r.members[1]!.data.every((b) => b === 7));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
