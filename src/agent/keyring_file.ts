/**
 * agent/keyring_file: which gossip keyring a pool starts with, as Consul's setupBaseKeyrings
 * decides it (agent/keyring.go). With disable_keyring_file (or no data dir) the `encrypt`
 * key alone is used, in memory. Otherwise the pool's keyring file under the data dir
 * (serf/local.keyring for LAN, serf/remote.keyring for WAN) is the truth: when `encrypt` is
 * given and the file does not exist yet it is created holding that key (initKeyring); an
 * existing file is loaded instead of `encrypt`, with Consul's warning when it does not hold
 * that key; and the file is then handed to the gossip pool, which rewrites it on every
 * keyring change. A file is used even without `encrypt` (encryption stays on after restart).
 *
 * Must never: overwrite an existing keyring file with the `encrypt` key, start a pool on a
 * keyring file it could not parse, or log key material.
 */

import { statSync } from "node:fs";
import path from "node:path";
import { Buffer } from "node:buffer";
import { CairnError } from "../shared/errors.ts";
import { readKeyringFile, writeKeyringFile } from "../gossip/keyring_file.ts";

/** Consul's SerfLANKeyring / SerfWANKeyring, relative to the data dir. */
export const SERF_LAN_KEYRING = "serf/local.keyring";
export const SERF_WAN_KEYRING = "serf/remote.keyring";

export interface KeyringSetupOptions {
  /** The agent's data dir (undefined: no file, as -dev). */
  readonly dataDir: string | undefined;
  /** SERF_LAN_KEYRING or SERF_WAN_KEYRING. */
  readonly file: string;
  /** The `encrypt` key in base64 ("" = none). */
  readonly encrypt: string;
  readonly disableKeyringFile: boolean;
  /** "LAN" or "WAN", for the warning. */
  readonly pool: "LAN" | "WAN";
  readonly log: (level: "warn" | "info", msg: string) => void;
}

export interface KeyringSetup {
  /** The keys the pool starts with, primary first ([] = no encryption). */
  readonly keys: string[];
  /** The file the pool keeps up to date (undefined: in memory only). */
  readonly keyringFile: string | undefined;
}

/** Consul initKeyring's key check: standard base64 of a 16, 24 or 32 byte key. */
function checkKey(key: string): void {
  const ok = /^[A-Za-z0-9+/]*={0,2}$/.test(key) && key.length % 4 === 0;
  const n = ok ? Buffer.from(key, "base64").length : -1;
  if (!ok) throw new CairnError("bad-request", "Invalid key: illegal base64 data");
  if (n !== 16 && n !== 24 && n !== 32) throw new CairnError("bad-request", `Invalid key: key size must be 16, 24 or 32 bytes`);
}

function exists(file: string): boolean {
  try {
    statSync(file);
    return true;
  } catch {
    return false;
  }
}

/** Decides a pool's starting keyring and its file (Consul setupBaseKeyrings for one pool). */
export async function setupKeyring(o: KeyringSetupOptions): Promise<KeyringSetup> {
  if (o.disableKeyringFile || o.dataDir === undefined || o.dataDir === "") {
    if (o.encrypt === "") return { keys: [], keyringFile: undefined };
    checkKey(o.encrypt);
    return { keys: [o.encrypt], keyringFile: undefined };
  }
  const file = path.join(o.dataDir, o.file);
  let existing = false;
  if (o.encrypt !== "") {
    checkKey(o.encrypt);
    if (exists(file)) existing = true;
    else await writeKeyringFile(file, [o.encrypt], false);
  }
  const keys = await readKeyringFile(file);
  if (keys === null) return { keys: [], keyringFile: undefined };
  const want = Buffer.from(o.encrypt, "base64");
  if (existing && !keys.some((k) => Buffer.from(k, "base64").equals(want))) {
    o.log("warn", `agent: keyring doesn't include key provided with -encrypt, using keyring: keyring=${o.pool}`);
  }
  o.log("info", `agent: gossip keyring loaded from ${file} (${keys.length} key${keys.length === 1 ? "" : "s"}): keyring=${o.pool}`);
  return { keys, keyringFile: file };
}
