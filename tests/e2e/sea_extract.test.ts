/**
 * platform/sea materialize(): the single executable's worker files are written once to
 * <tmp>/cairn-sea-<hash>/ (private), reused while they match, replaced when damaged, and
 * never loaded from a directory owned by someone else. Runs on Node and Deno (plain fs).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { chmodSync, chownSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { materialize } from "../../src/platform/sea.ts";
import { removeDir, tempDir } from "./agent_proc.ts";

const HASH = "0123456789abcdef";
const files = new Map<string, Uint8Array>([
  ["a_worker.cjs", new TextEncoder().encode("module.exports = 1;\n")],
  ["b_worker.cjs", new TextEncoder().encode("module.exports = 2;\n")],
]);

function check(dir: string): void {
  for (const [name, bytes] of files) assert.equal(new Uint8Array(readFileSync(path.join(dir, name))), bytes, name);
}

test("sea extract: writes once, privately, and reuses a matching copy", () => {
  const base = tempDir("cairn-sea-extract-");
  try {
    const dir = materialize(base, HASH, files);
    assert.is(dir, path.join(base, `cairn-sea-${HASH}`));
    assert.is(statSync(dir).mode & 0o777, 0o700);
    check(dir);
    const before = statSync(path.join(dir, "a_worker.cjs")).mtimeMs;
    writeFileSync(path.join(base, "marker"), "x");
    assert.is(materialize(base, HASH, files), dir);
    assert.is(statSync(path.join(dir, "a_worker.cjs")).mtimeMs, before, "not rewritten");
    assert.equal(readdirSync(base).sort(), [`cairn-sea-${HASH}`, "marker"], "no temporary dirs left");
  } finally {
    removeDir(base);
  }
});

test("sea extract: a damaged or opened-up copy of ours is replaced", () => {
  const base = tempDir("cairn-sea-extract-");
  try {
    const dir = materialize(base, HASH, files);
    writeFileSync(path.join(dir, "b_worker.cjs"), "process.exit(9);\n");
    assert.is(materialize(base, HASH, files), dir);
    check(dir);
    chmodSync(dir, 0o777);
    assert.is(materialize(base, HASH, files), dir);
    assert.is(statSync(dir).mode & 0o777, 0o700);
    check(dir);
    assert.equal(readdirSync(base), [`cairn-sea-${HASH}`]);
  } finally {
    removeDir(base);
  }
});

test("sea extract: a directory owned by another user is never used", () => {
  const base = tempDir("cairn-sea-extract-");
  try {
    const dir = materialize(base, HASH, files);
    const root = typeof process.getuid === "function" && process.getuid() === 0;
    if (root) {
      chownSync(dir, 65534, 65534);
      const other = materialize(base, HASH, files);
      assert.is.not(other, dir);
      assert.ok(path.basename(other).startsWith(`cairn-sea-${HASH}.tmp-`), other);
      check(other);
      assert.is(statSync(dir).uid, 65534, "the foreign dir is left alone");
    } else {
      // Without root we cannot make a foreign directory; the owner check still guards reuse.
      assert.is(statSync(dir).uid, process.getuid?.());
    }
  } finally {
    removeDir(base);
  }
});

test.run();
