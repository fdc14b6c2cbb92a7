/**
 * session_codec: session inputs and rows <-> msgpack-ready arrays, for the
 * command codec and snapshots.
 *
 * Must never: accept a shape the store does not (every field is checked on the way in).
 */

import type { CairnError } from "../shared/errors.ts";
import type { SessionBehavior, SessionInput, SessionRow, SessionServiceCheck } from "./session_types.ts";

type Bad = (msg: string) => CairnError;

function str(x: unknown, what: string, bad: Bad): string {
  if (typeof x !== "string") throw bad(`${what} is not a string`);
  return x;
}
function count(x: unknown, what: string, bad: Bad): number {
  if (typeof x === "bigint" && x >= 0n && x <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(x);
  if (typeof x !== "number" || !Number.isSafeInteger(x) || x < 0) throw bad(`${what} is not a count`);
  return x;
}
function strList(x: unknown, what: string, bad: Bad): string[] | null {
  if (x === null || x === undefined) return null;
  if (!Array.isArray(x)) throw bad(`${what} is not a list`);
  return (x as unknown[]).map((v) => str(v, what, bad));
}

export function sessionInputOut(s: SessionInput): unknown[] {
  return [
    s.id,
    s.name,
    s.node,
    s.lockDelayNs,
    s.behavior,
    s.ttl,
    s.nodeChecks === null ? null : [...s.nodeChecks],
    s.serviceChecks === null ? null : s.serviceChecks.map((c) => [c.id, c.namespace]),
    s.checks === null ? null : [...s.checks],
  ];
}

export function sessionInputIn(x: unknown, bad: Bad): SessionInput {
  if (!Array.isArray(x) || x.length !== 9) throw bad("session is not a 9-field array");
  const behavior = str(x[4], "session behavior", bad);
  if (behavior !== "release" && behavior !== "delete") throw bad(`session behavior ${JSON.stringify(behavior)}`);
  let serviceChecks: SessionServiceCheck[] | null = null;
  if (x[7] !== null && x[7] !== undefined) {
    if (!Array.isArray(x[7])) throw bad("session service checks is not a list");
    serviceChecks = (x[7] as unknown[]).map((c) => {
      if (!Array.isArray(c) || c.length !== 2) throw bad("session service check");
      return { id: str(c[0], "service check id", bad), namespace: str(c[1], "service check namespace", bad) };
    });
  }
  return {
    id: str(x[0], "session id", bad),
    name: str(x[1], "session name", bad),
    node: str(x[2], "session node", bad),
    lockDelayNs: count(x[3], "session lock delay", bad),
    behavior: behavior as SessionBehavior,
    ttl: str(x[5], "session ttl", bad),
    nodeChecks: strList(x[6], "session node checks", bad),
    serviceChecks,
    checks: strList(x[8], "session checks", bad),
  };
}

export function sessionRowOut(r: SessionRow): unknown[] {
  return [...sessionInputOut(r), r.createIndex, r.modifyIndex];
}

export function sessionRowIn(x: unknown, bad: Bad): SessionRow {
  if (!Array.isArray(x) || x.length !== 11) throw bad("session row is not an 11-field array");
  return {
    ...sessionInputIn(x.slice(0, 9), bad),
    createIndex: count(x[9], "session createIndex", bad),
    modifyIndex: count(x[10], "session modifyIndex", bad),
  };
}
