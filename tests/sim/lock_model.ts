/**
 * tests/sim/lock_model: the sequential specification of one Consul KV key used as a lock
 * (KV `?acquire=<session>` / `?release=<session>` and a consistent read of the key's
 * Session and LockIndex), for the linearizability checker (tests/sim/linearizability.ts).
 *
 * Consul's rules (state/kvs.go kvsLockTxn / kvsUnlockTxn), for sessions that stay valid
 * (no invalidation, hence no lock-delay, during the history):
 * - acquire(s): true when the key is free or already held by s; a new holder increments
 *   LockIndex (the same holder re-acquiring leaves it); false when another session holds it.
 * - release(s): true (key freed) when s holds it; false otherwise, nothing changes.
 * - read: the holder's session (null when free or absent) and LockIndex (0 when absent).
 *
 * Must never: accept a history in which two sessions hold the key at once, or a refused
 * acquire of a free key.
 */

import type { Model } from "./kv.ts";

export type LockInput =
  | { readonly op: "acquire"; readonly key: string; readonly session: string }
  | { readonly op: "release"; readonly key: string; readonly session: string }
  | { readonly op: "read"; readonly key: string };

export interface LockRead {
  readonly session: string | null;
  readonly lockIndex: number;
}

/** acquire / release -> boolean; read -> LockRead. */
export type LockOutput = boolean | LockRead;

export interface LockState {
  readonly holder: string | null;
  readonly lockIndex: number;
}

export const lockModel: Model<LockState, LockInput, LockOutput> = {
  init: { holder: null, lockIndex: 0 },
  step(state, input, output) {
    switch (input.op) {
      case "acquire": {
        const ok = state.holder === null || state.holder === input.session;
        if (output !== undefined && output !== ok) return undefined;
        if (!ok) return { next: state };
        if (state.holder === input.session) return { next: state };
        return { next: { holder: input.session, lockIndex: state.lockIndex + 1 } };
      }
      case "release": {
        const ok = state.holder === input.session;
        if (output !== undefined && output !== ok) return undefined;
        return { next: ok ? { holder: null, lockIndex: state.lockIndex } : state };
      }
      case "read": {
        if (output !== undefined) {
          if (typeof output === "boolean") return undefined;
          if (output.session !== state.holder || output.lockIndex !== state.lockIndex) return undefined;
        }
        return { next: state };
      }
    }
  },
  key: (s) => `${s.holder ?? "\u0000"}|${s.lockIndex}`,
};
