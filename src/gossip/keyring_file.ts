/**
 * gossip/keyring_file: the persisted gossip keyring (serf's KeyringFile, Consul's
 * `<data_dir>/serf/local.keyring` and `remote.keyring`): a JSON array of base64 keys,
 * primary first. Parsing checks every key (standard padded base64, 16/24/32 bytes) and
 * refuses an empty list with Consul's "no keys present in keyring: <path>". Writing is
 * atomic: a temp file next to the target (mode 0600) is written and fsynced, renamed over
 * the target, and the directory is fsynced, so a crash leaves the old or the new keyring,
 * never a torn one. KeyringFileWriter serialises writes so the last change always wins.
 *
 * Must never: leave a partial keyring at the target path, write keys with a mode wider
 * than 0600, or accept a keyring it could not use at start.
 */

import { promises as fsp } from "node:fs";
import path from "node:path";
import { Buffer } from "node:buffer";
import { randomBytes } from "node:crypto";
import { CairnError } from "../shared/errors.ts";
import { KEYRING_FILE_MAX_BYTES } from "../shared/limits.ts";

/** serf writeKeyringFile: json.MarshalIndent(keys, "", "  "). */
export function encodeKeyringFile(keys: readonly string[], indent = true): string {
  return indent ? JSON.stringify(keys, null, 2) : JSON.stringify(keys);
}

function validKeyB64(k: string): boolean {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(k) || k.length % 4 !== 0) return false;
  const n = Buffer.from(k, "base64").length;
  return n === 16 || n === 24 || n === 32;
}

/** The keys of a keyring file's text (primary first); throws CairnError naming the file. */
export function parseKeyringFile(text: string, file: string): string[] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new CairnError("bad-request", `Failed to read keyring file ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!Array.isArray(v) || !v.every((k): k is string => typeof k === "string")) {
    throw new CairnError("bad-request", `Failed to read keyring file ${file}: expected a JSON array of base64 keys`);
  }
  if (v.length === 0) throw new CairnError("bad-request", `no keys present in keyring: ${file}`);
  for (const k of v) {
    if (!validKeyB64(k)) throw new CairnError("bad-request", `Invalid key in keyring file ${file}: key size must be 16, 24 or 32 bytes of base64`);
  }
  // memberlist.NewKeyring: one copy of each key, the first is primary.
  return [...new Set(v)];
}

/** The keys of a keyring file, or null when there is no such file. */
export async function readKeyringFile(file: string): Promise<string[] | null> {
  let st;
  try {
    st = await fsp.stat(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw e;
  }
  if (st.size > KEYRING_FILE_MAX_BYTES) throw new CairnError("too-large", `keyring file ${file} is over ${KEYRING_FILE_MAX_BYTES} bytes`);
  return parseKeyringFile(await fsp.readFile(file, "utf8"), file);
}

/** Writes the keyring atomically (temp file, fsync, rename, directory fsync); mode 0600. */
export async function writeKeyringFile(file: string, keys: readonly string[], indent = true): Promise<void> {
  const dir = path.dirname(file);
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  const fh = await fsp.open(tmp, "wx", 0o600);
  try {
    await fh.writeFile(encodeKeyringFile(keys, indent));
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => undefined);
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  try {
    await fsp.rename(tmp, file);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  // The rename is durable once the directory is synced (best effort where directories can't be opened).
  let dh: Awaited<ReturnType<typeof fsp.open>> | undefined;
  try {
    dh = await fsp.open(dir, "r");
    await dh.sync();
  } catch {
    // some file systems refuse fsync on a directory; the data itself is synced
  } finally {
    await dh?.close().catch(() => undefined);
  }
}

/**
 * Serialised writer of one keyring file: write(keys) queues a write of that snapshot after
 * any earlier one, so the file ends at the last change even when changes come in a burst.
 */
export class KeyringFileWriter {
  readonly file: string;
  #chain: Promise<void> = Promise.resolve();

  constructor(file: string) {
    this.file = file;
  }

  /** Resolves when this snapshot is on disk; rejects with serf's "Failed to write keyring file: ..." text. */
  write(keys: readonly string[]): Promise<void> {
    const snapshot = [...keys];
    const p = this.#chain.then(() => writeKeyringFile(this.file, snapshot));
    this.#chain = p.catch(() => undefined);
    return p.catch((e: unknown) => {
      throw new CairnError("internal", `Failed to write keyring file: ${e instanceof Error ? e.message : String(e)}`);
    });
  }

  /** Resolves once every queued write finished (successfully or not). */
  flush(): Promise<void> {
    return this.#chain;
  }
}
