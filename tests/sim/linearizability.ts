/**
 * tests/sim/linearizability: a Wing–Gong linearizability checker with
 * Lowe's memoization (the algorithm behind Porcupine), written here.
 *
 * A history is a set of operations with invocation and response times. An
 * operation whose outcome is unknown (the client timed out) has response
 * time Infinity and no output: it may take effect at any point after its
 * invocation, or never (equivalently, after everything else). The search
 * walks the history in time order, tries to linearize each invoked
 * operation, and backtracks when a response is reached before its operation
 * was linearized. (linearized set, model state) pairs already explored are
 * cached. Histories are partitioned by key first; keys are independent.
 *
 * Must never: report a history as not linearizable without having explored
 * every ordering consistent with real time (within the step budget).
 */

import type { Model } from "./kv.ts";

export interface Operation<I, O> {
  readonly client: number;
  readonly input: I;
  /** undefined when the outcome is unknown */
  readonly output: O | undefined;
  readonly call: number;
  /** Infinity when the outcome is unknown */
  readonly ret: number;
}

export type CheckResult = "ok" | "illegal" | "timeout";

interface Node {
  readonly op: number; // index into ops
  readonly isCall: boolean;
  readonly time: number;
  match: Node | undefined; // call -> its return node
  prev: Node | undefined;
  next: Node | undefined;
}

/** Check one partition (e.g. one key). */
export function checkOperations<S, I, O>(model: Model<S, I, O>, ops: readonly Operation<I, O>[], budget = 2_000_000): CheckResult {
  if (ops.length === 0) return "ok";
  // Build the time-ordered event list: calls before returns at equal times would make
  // ops look concurrent; callers give strictly increasing times, so ties do not occur.
  const events: Node[] = [];
  ops.forEach((o, i) => {
    if (!(o.ret > o.call)) throw new Error(`linearizability: op ${i} returns before it is called`);
    const call: Node = { op: i, isCall: true, time: o.call, match: undefined, prev: undefined, next: undefined };
    const ret: Node = { op: i, isCall: false, time: o.ret, match: undefined, prev: undefined, next: undefined };
    call.match = ret;
    events.push(call, ret);
  });
  events.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? a.op - b.op : a.isCall ? 1 : -1));
  const head: Node = { op: -1, isCall: false, time: -Infinity, match: undefined, prev: undefined, next: undefined };
  let tail = head;
  for (const e of events) {
    tail.next = e;
    e.prev = tail;
    tail = e;
  }

  const lift = (call: Node): void => {
    call.prev!.next = call.next;
    if (call.next !== undefined) call.next.prev = call.prev;
    const ret = call.match!;
    ret.prev!.next = ret.next;
    if (ret.next !== undefined) ret.next.prev = ret.prev;
  };
  const unlift = (call: Node): void => {
    const ret = call.match!;
    ret.prev!.next = ret;
    if (ret.next !== undefined) ret.next.prev = ret;
    call.prev!.next = call;
    if (call.next !== undefined) call.next.prev = call;
  };

  const words = Math.ceil(ops.length / 32);
  const linearized = new Uint32Array(words);
  const cache = new Set<string>();
  const stack: Array<{ call: Node; state: S }> = [];
  let state = model.init;
  let entry = head.next;
  let steps = 0;
  while (head.next !== undefined) {
    if (++steps > budget) return "timeout";
    if (entry === undefined) throw new Error("linearizability: ran off the event list");
    if (entry.isCall) {
      const op = ops[entry.op]!;
      const r = model.step(state, op.input, op.output);
      if (r !== undefined) {
        const w = entry.op >>> 5;
        const bit = 1 << (entry.op & 31);
        linearized[w] = (linearized[w]! | bit) >>> 0;
        const key = `${linearized.join(",")}|${model.key(r.next)}`;
        if (!cache.has(key)) {
          cache.add(key);
          stack.push({ call: entry, state });
          state = r.next;
          lift(entry);
          entry = head.next;
          continue;
        }
        linearized[w] = (linearized[w]! & ~bit) >>> 0;
      }
      entry = entry.next;
    } else {
      // A response reached before its operation was linearized: backtrack.
      const top = stack.pop();
      if (top === undefined) return "illegal";
      state = top.state;
      const w = top.call.op >>> 5;
      linearized[w] = (linearized[w]! & ~(1 << (top.call.op & 31))) >>> 0;
      unlift(top.call);
      entry = top.call.next;
    }
  }
  return "ok";
}

/** Partition by key and check each partition. */
export function checkHistory<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly Operation<I, O>[],
  keyOf: (input: I) => string,
  budget?: number,
): { result: CheckResult; key: string | undefined } {
  const parts = new Map<string, Operation<I, O>[]>();
  for (const o of ops) {
    const k = keyOf(o.input);
    let list = parts.get(k);
    if (list === undefined) parts.set(k, (list = []));
    list.push(o);
  }
  let sawTimeout: string | undefined;
  for (const [k, list] of [...parts.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const r = checkOperations(model, list, budget);
    if (r === "illegal") return { result: "illegal", key: k };
    if (r === "timeout") sawTimeout = k;
  }
  return sawTimeout === undefined ? { result: "ok", key: undefined } : { result: "timeout", key: sawTimeout };
}
