// Helpers shared by the state tests (not a test file).
import type { Command, KVEntry, KVTxnOp, KVTxnVerb, TxnOp } from "../../src/state/index.ts";
import { Store } from "../../src/state/index.ts";

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

/** A store with a cursor that hands out increasing indexes. */
export class Harness {
  readonly store = new Store();
  next = 1;
  apply(cmd: Command): ReturnType<Store["apply"]> {
    return this.store.apply(this.next++, cmd);
  }
  set(key: string, value = "v", flags = 0n): number {
    const i = this.next;
    this.apply({ type: "kv-set", key, value: enc(value), flags });
    return i;
  }
}

export function op(verb: KVTxnVerb, key: string, extra: Partial<Omit<KVTxnOp, "verb" | "key">> = {}): TxnOp {
  return {
    kind: "kv",
    op: {
      verb,
      key,
      value: extra.value ?? new Uint8Array(0),
      flags: extra.flags ?? 0n,
      index: extra.index ?? 0,
      session: extra.session ?? "",
    },
  };
}

/** Plain comparable form of an entry. */
export function plain(e: KVEntry | undefined): unknown {
  if (e === undefined) return undefined;
  return { ...e, value: Array.from(e.value) };
}
