/**
 * gossip/keyring: the gossip encryption keys (memberlist keyring.go). The primary key
 * encrypts; every installed key is tried when decrypting. Keys are 16, 24 or 32 bytes.
 *
 * Must never: remove the primary key, or hold two copies of one key.
 */

import { Buffer } from "node:buffer";
import { CairnError } from "../shared/errors.ts";
import { validateKey } from "./crypto.ts";

function sameKey(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export class Keyring {
  /** keys[0] is the primary. */
  #keys: Uint8Array[] = [];

  /** A keyring from installed keys and the primary (which is installed if missing). */
  constructor(keys: readonly Uint8Array[], primary?: Uint8Array) {
    for (const k of keys) this.addKey(k);
    const p = primary ?? keys[0];
    if (p !== undefined) {
      this.addKey(p);
      this.useKey(p);
    }
  }

  /** Base64 keys as Consul's `encrypt` option and the keyring file hold them. */
  static fromBase64(keys: readonly string[]): Keyring {
    return new Keyring(keys.map((k) => Uint8Array.from(Buffer.from(k, "base64"))));
  }

  addKey(key: Uint8Array): void {
    validateKey(key);
    if (this.#keys.some((k) => sameKey(k, key))) return;
    this.#keys.push(Uint8Array.from(key));
  }

  useKey(key: Uint8Array): void {
    const i = this.#keys.findIndex((k) => sameKey(k, key));
    if (i < 0) throw new CairnError("not-found", "Requested key is not in the keyring");
    const [k] = this.#keys.splice(i, 1);
    if (k) this.#keys.unshift(k);
  }

  removeKey(key: Uint8Array): void {
    const i = this.#keys.findIndex((k) => sameKey(k, key));
    if (i === 0) throw new CairnError("bad-request", "Removing the primary key is not allowed");
    if (i > 0) this.#keys.splice(i, 1);
  }

  /** All keys, primary first. */
  keys(): readonly Uint8Array[] {
    return this.#keys;
  }

  primaryKey(): Uint8Array | undefined {
    return this.#keys[0];
  }
}
