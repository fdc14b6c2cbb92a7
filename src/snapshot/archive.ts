/**
 * snapshot/archive: Consul's snapshot archive format (snapshot/archive.go and
 * snapshot.go): a gzip-compressed tar holding meta.json (raft's SnapshotMeta),
 * state.bin (the FSM snapshot) and SHA256SUMS (sha256sum-style lines for the other
 * two), written in that order; reading checks every member and both hashes.
 *
 * cairn's state.bin is cairn's own store snapshot (state/snapshot.ts, "CRSN"), so a
 * cairn archive restores into cairn; Consul's state.bin (its msgpack FSM stream) is
 * not readable by cairn, nor cairn's by Consul. The container and its checks are
 * Consul's, so both tools can verify each other's archives.
 *
 * Errors are ArchiveError with Consul's texts ("failed to decompress snapshot: ...",
 * "failed to read snapshot file: failed checking integrity of snapshot: hash check
 * failed for \"state.bin\"", ...).
 *
 * Must never: inflate more than the caller's bound, hand back state bytes whose hash
 * did not match, or block the event loop on compression (zlib runs off-thread).
 */

import { createHash } from "node:crypto";
import { gunzip, gzip } from "node:zlib";
import { promisify } from "node:util";
import { SNAPSHOT_MAX_MEMBERS, SNAPSHOT_MAX_SMALL_MEMBER_BYTES } from "../shared/limits.ts";
import { decodeMeta, encodeMeta, MetaError, type SnapshotMeta } from "./meta.ts";
import { readTar, TarError, writeTar } from "./tar.ts";

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

export const META_FILE = "meta.json";
export const STATE_FILE = "state.bin";
export const SUMS_FILE = "SHA256SUMS";

export class ArchiveError extends Error {
  /** The archive (or a member) is over a size limit, rather than malformed. */
  readonly tooLarge: boolean;
  constructor(message: string, tooLarge = false) {
    super(message);
    this.name = "ArchiveError";
    this.tooLarge = tooLarge;
  }
}

export interface Archive {
  readonly meta: SnapshotMeta;
  readonly state: Uint8Array;
}

function sha256Hex(b: Uint8Array): string {
  return createHash("sha256").update(b).digest("hex");
}

/** The tar stream (uncompressed) of an archive. */
export function writeTarArchive(meta: SnapshotMeta, state: Uint8Array, nowMs: number): Uint8Array {
  const metaBytes = encodeMeta({ ...meta, size: state.length });
  const sums = `${sha256Hex(metaBytes)}  ${META_FILE}\n${sha256Hex(state)}  ${STATE_FILE}\n`;
  return writeTar(
    [
      { name: META_FILE, data: metaBytes },
      { name: STATE_FILE, data: state },
      { name: SUMS_FILE, data: new TextEncoder().encode(sums) },
    ],
    Math.floor(nowMs / 1000),
  );
}

/** The gzip-compressed archive for `state` (meta.size is set from it). */
export async function writeArchive(meta: SnapshotMeta, state: Uint8Array, nowMs: number): Promise<Uint8Array> {
  const tar = writeTarArchive(meta, state, nowMs);
  const gz = await gzipAsync(tar);
  return new Uint8Array(gz.buffer, gz.byteOffset, gz.byteLength);
}

interface ZlibErr {
  readonly code?: unknown;
  readonly message?: unknown;
}

/** Gunzip with a bound, turning zlib's failures into Consul's (Go's gzip) texts. */
async function inflate(gz: Uint8Array, maxBytes: number): Promise<Uint8Array> {
  try {
    const out = await gunzipAsync(gz, { maxOutputLength: maxBytes });
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (e) {
    const z = (typeof e === "object" && e !== null ? e : {}) as ZlibErr;
    const msg = typeof z.message === "string" ? z.message : String(e);
    if (z.code === "ERR_BUFFER_TOO_LARGE" || e instanceof RangeError) {
      throw new ArchiveError(`failed to read snapshot file: snapshot is too large (more than ${maxBytes} bytes uncompressed)`, true);
    }
    if (gz.length < 10 || gz[0] !== 0x1f || gz[1] !== 0x8b || msg === "incorrect header check") {
      throw new ArchiveError("failed to decompress snapshot: gzip: invalid header");
    }
    if (z.code === "Z_BUF_ERROR") throw new ArchiveError("failed to read snapshot file: failed reading snapshot: unexpected EOF");
    if (msg === "incorrect data check") throw new ArchiveError("failed to read snapshot file: failed reading snapshot: gzip: invalid checksum");
    throw new ArchiveError(`failed to read snapshot file: failed reading snapshot: flate: ${msg}`);
  }
}

/** Consul's hashList.DecodeAndVerify over the members' sums. */
function verifySums(sums: string, hashes: ReadonlyMap<string, string>): void {
  const seen = new Set<string>();
  for (const line of sums.split("\n")) {
    if (line === "") continue;
    const m = /^([0-9a-fA-F]+) {2}(\S+)/.exec(line);
    if (m === null) throw new ArchiveError("failed to read snapshot file: failed checking integrity of snapshot: input does not match format");
    const file = m[2] as string;
    const want = hashes.get(file);
    if (want === undefined) throw new ArchiveError(`failed to read snapshot file: failed checking integrity of snapshot: list missing hash for ${JSON.stringify(file)}`);
    if ((m[1] as string).toLowerCase() !== want) {
      throw new ArchiveError(`failed to read snapshot file: failed checking integrity of snapshot: hash check failed for ${JSON.stringify(file)}`);
    }
    seen.add(file);
  }
  for (const file of hashes.keys()) {
    if (!seen.has(file)) throw new ArchiveError(`failed to read snapshot file: failed checking integrity of snapshot: file missing for ${JSON.stringify(file)}`);
  }
}

export interface ReadOptions {
  /** Largest state.bin accepted (refused from its tar header). */
  readonly maxStateBytes: number;
}

/** Reads an uncompressed tar stream of an archive: members, meta and both hashes checked. */
export function readTarArchive(tar: Uint8Array, opts: ReadOptions): Archive {
  let read;
  try {
    read = readTar(tar, { maxMemberBytes: Math.max(opts.maxStateBytes, SNAPSHOT_MAX_SMALL_MEMBER_BYTES), maxMembers: SNAPSHOT_MAX_MEMBERS });
  } catch (e) {
    if (e instanceof TarError) throw new ArchiveError(`failed to read snapshot file: failed reading snapshot: ${e.message}`, e.tooLarge);
    throw e;
  }
  // Consul hashes what it saw of meta.json and state.bin (nothing, when a member is absent).
  let metaBytes: Uint8Array = new Uint8Array(0);
  let state: Uint8Array = new Uint8Array(0);
  let sums: string | undefined;
  let meta: SnapshotMeta | undefined;
  for (const m of read.members) {
    switch (m.name) {
      case META_FILE:
        if (m.data.length > SNAPSHOT_MAX_SMALL_MEMBER_BYTES) {
          throw new ArchiveError(`failed to read snapshot file: ${META_FILE} is too large (${m.data.length} bytes)`);
        }
        metaBytes = m.data;
        try {
          meta = decodeMeta(m.data);
        } catch (e) {
          if (e instanceof MetaError) throw new ArchiveError(`failed to read snapshot file: failed to decode snapshot metadata: ${e.message}`);
          throw e;
        }
        break;
      case STATE_FILE:
        if (m.data.length > opts.maxStateBytes) {
          throw new ArchiveError(`failed to read snapshot file: ${STATE_FILE} is too large (${m.data.length} bytes; the limit is ${opts.maxStateBytes})`, true);
        }
        state = m.data;
        break;
      case SUMS_FILE:
        if (m.data.length > SNAPSHOT_MAX_SMALL_MEMBER_BYTES) {
          throw new ArchiveError(`failed to read snapshot file: ${SUMS_FILE} is too large (${m.data.length} bytes)`);
        }
        sums = new TextDecoder().decode(m.data);
        break;
      default:
        throw new ArchiveError(`failed to read snapshot file: unexpected file ${JSON.stringify(m.name)} in snapshot`);
    }
  }
  verifySums(
    sums ?? "",
    new Map([
      [META_FILE, sha256Hex(metaBytes)],
      [STATE_FILE, sha256Hex(state)],
    ]),
  );
  // Consul's concludeGzipRead; zero padding (tar's record blocking) is let through.
  if (read.end < tar.length && !tar.subarray(read.end).every((b) => b === 0)) {
    throw new ArchiveError(`${tar.length - read.end} unread uncompressed bytes remain`);
  }
  if (meta === undefined) throw new ArchiveError(`failed to read snapshot file: failed to decode snapshot metadata: EOF`);
  return { meta, state: state.slice() };
}

/** Reads and verifies a gzip-compressed archive (Consul's snapshot.Read / Verify). */
export async function readArchive(gz: Uint8Array, opts: ReadOptions): Promise<Archive> {
  const tar = await inflate(gz, opts.maxStateBytes + 4 * SNAPSHOT_MAX_SMALL_MEMBER_BYTES);
  return readTarArchive(tar, opts);
}
