/**
 * tests/sim/kv: the replicated key-value state machine the simulator runs,
 * its command encoding, and its sequential model for the linearizability
 * checker.
 *
 * Operations: put(key, value), get(key), cas(key, expect, value). A cas with
 * expect null succeeds when the key is absent.
 *
 * Must never: depend on anything but the applied commands (it must be deterministic).
 */

export type KvInput =
  | { readonly op: "put"; readonly key: string; readonly value: string }
  | { readonly op: "get"; readonly key: string }
  | { readonly op: "cas"; readonly key: string; readonly expect: string | null; readonly value: string };

/** get -> the value (null when absent); put -> null; cas -> "ok" | "fail". */
export type KvOutput = string | null;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeCommand(input: KvInput): Uint8Array {
  return encoder.encode(JSON.stringify(input));
}

export function decodeCommand(data: Uint8Array): KvInput {
  const raw: unknown = JSON.parse(decoder.decode(data));
  if (typeof raw !== "object" || raw === null) throw new Error("kv: bad command");
  return raw as KvInput;
}

export class KvStore {
  private map = new Map<string, string>();

  apply(input: KvInput): KvOutput {
    switch (input.op) {
      case "put":
        this.map.set(input.key, input.value);
        return null;
      case "get":
        return this.map.get(input.key) ?? null;
      case "cas": {
        const cur = this.map.get(input.key) ?? null;
        if (cur !== input.expect) return "fail";
        this.map.set(input.key, input.value);
        return "ok";
      }
    }
  }

  get(key: string): string | null {
    return this.map.get(key) ?? null;
  }

  snapshot(): Uint8Array {
    const pairs = [...this.map.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return encoder.encode(JSON.stringify(pairs));
  }

  restore(data: Uint8Array): void {
    const raw: unknown = JSON.parse(decoder.decode(data));
    if (!Array.isArray(raw)) throw new Error("kv: bad snapshot");
    this.map = new Map(raw as Array<[string, string]>);
  }
}

/** Sequential specification of one key: the state is the key's value. */
export interface Model<S, I, O> {
  readonly init: S;
  /** The next state when `input` with `output` is legal in `state`, else undefined. */
  step(state: S, input: I, output: O | undefined): { next: S } | undefined;
  key(state: S): string;
}

export const kvModel: Model<string | null, KvInput, KvOutput> = {
  init: null,
  step(state, input, output) {
    switch (input.op) {
      case "put":
        return { next: input.value };
      case "get":
        if (output !== undefined && output !== state) return undefined;
        return { next: state };
      case "cas": {
        const ok = state === input.expect;
        if (output !== undefined && output !== (ok ? "ok" : "fail")) return undefined;
        return { next: ok ? input.value : state };
      }
    }
  },
  key: (s) => (s === null ? "\u0000" : s),
};
