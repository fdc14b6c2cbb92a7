/**
 * platform/sea: worker files for the Node single-executable build (scripts/sea/build.mjs).
 *
 * A SEA carries its worker bundles (ours and piscina's own worker script) as embedded
 * assets, but worker threads and piscina need files. On the first worker start they are
 * written once to a private directory `os.tmpdir()/cairn-sea-<content hash>/` (mode 0700,
 * created under a temporary name and renamed into place, so concurrent starts are safe)
 * and reused by later runs after a byte-for-byte check. A directory that is not ours
 * or does not match is never used: a fresh private one is made and removed at exit.
 *
 * Must never: run outside the SEA build (nothing here is called unless isSea), execute
 * worker code from a directory another user could have written, or hold product logic.
 */

import { chmodSync, lstatSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

/** Asset name of the manifest scripts/sea/build.mjs embeds next to the worker bundles. */
export const SEA_MANIFEST_ASSET = "sea-manifest.json";
/** Asset (and file) name of piscina's worker script, bundled as CommonJS. */
export const SEA_PISCINA_WORKER = "piscina_worker.cjs";

export interface SeaManifest {
  /** Content hash of every embedded file (hex). */
  readonly hash: string;
  /** Embedded file names (plain names, no directories). */
  readonly files: readonly string[];
}

/** True inside the Node single-executable build (scripts/sea/build.mjs defines it). */
export const isSea: boolean = (globalThis as unknown as { __CAIRN_SEA__?: boolean }).__CAIRN_SEA__ === true;

function parseManifest(text: string): SeaManifest {
  const v: unknown = JSON.parse(text);
  if (typeof v !== "object" || v === null) throw new Error("sea: bad manifest");
  const o = v as { hash?: unknown; files?: unknown };
  if (typeof o.hash !== "string" || !/^[0-9a-f]{8,64}$/.test(o.hash)) throw new Error("sea: bad manifest hash");
  if (!Array.isArray(o.files)) throw new Error("sea: bad manifest files");
  const files: string[] = [];
  for (const f of o.files) {
    if (typeof f !== "string" || !/^[A-Za-z0-9_.-]+$/.test(f) || f.startsWith(".")) throw new Error("sea: bad file name");
    files.push(f);
  }
  return { hash: o.hash, files };
}

/** True when `dir` is a directory of ours, closed to others, holding exactly these bytes. */
function dirMatches(dir: string, files: ReadonlyMap<string, Uint8Array>): boolean {
  try {
    const st = lstatSync(dir);
    const uid = typeof process.getuid === "function" ? process.getuid() : -1;
    if (!st.isDirectory() || (uid >= 0 && st.uid !== uid) || (st.mode & 0o077) !== 0) return false;
    for (const [name, bytes] of files) {
      const p = path.join(dir, name);
      const fst = lstatSync(p);
      if (!fst.isFile() || (uid >= 0 && fst.uid !== uid)) return false;
      if (!Buffer.from(bytes).equals(readFileSync(p))) return false;
    }
    return true;
  } catch {
    return false;
  }
}

function ownDir(p: string): boolean {
  try {
    const st = lstatSync(p);
    return st.isDirectory() && typeof process.getuid === "function" && st.uid === process.getuid();
  } catch {
    return false;
  }
}

/**
 * Writes `files` to `<base>/cairn-sea-<hash>/` unless a matching copy is already there,
 * and returns the directory to load them from. Exported for tests.
 */
export function materialize(base: string, hash: string, files: ReadonlyMap<string, Uint8Array>): string {
  const final = path.join(base, `cairn-sea-${hash}`);
  if (dirMatches(final, files)) return final;
  const tmp = mkdtempSync(path.join(base, `cairn-sea-${hash}.tmp-`));
  chmodSync(tmp, 0o700);
  for (const [name, bytes] of files) writeFileSync(path.join(tmp, name), bytes, { mode: 0o600 });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      renameSync(tmp, final);
      return final;
    } catch {
      // Another start won the race (fine if its copy matches) or a foreign/stale directory
      // holds the name: never load from a foreign one; replace a damaged one of ours once.
    }
    if (dirMatches(final, files)) break;
    if (attempt === 0 && ownDir(final)) rmSync(final, { recursive: true, force: true });
  }
  if (dirMatches(final, files)) {
    rmSync(tmp, { recursive: true, force: true });
    return final;
  }
  process.on("exit", () => rmSync(tmp, { recursive: true, force: true }));
  return tmp;
}

interface SeaModule {
  getAsset(key: string): ArrayBuffer;
}

let dir: string | undefined;

/** The directory holding the extracted worker files (extracted on first call). */
export function seaWorkerDir(): string {
  if (dir !== undefined) return dir;
  if (!isSea) throw new Error("sea: not a single-executable build");
  // Synchronous access to node:sea without a static import (Deno and the ESM build never load it).
  const sea = process.getBuiltinModule("node:sea") as SeaModule | undefined;
  if (sea === undefined) throw new Error("sea: node:sea is not available");
  const manifest = parseManifest(Buffer.from(sea.getAsset(SEA_MANIFEST_ASSET)).toString("utf8"));
  const files = new Map<string, Uint8Array>();
  for (const f of manifest.files) files.set(f, new Uint8Array(sea.getAsset(f)));
  dir = materialize(os.tmpdir(), manifest.hash, files);
  return dir;
}

/** Path of an embedded worker bundle, e.g. "wal_worker.cjs". */
export function seaWorkerFile(name: string): string {
  return path.join(seaWorkerDir(), name);
}

/** Path of piscina's own worker script (scripts/sea/build.mjs points piscina here). */
export function piscinaWorkerFile(): string {
  return seaWorkerFile(SEA_PISCINA_WORKER);
}
