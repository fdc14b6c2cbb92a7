/**
 * errors: the one operating-error type of cairn.
 *
 * Operating errors (bad input, missing things, no leader, limits) are values of
 * CairnError with a `kind`. They become HTTP statuses in exactly one place
 * (src/http/respond.ts) and DNS rcodes in exactly one place (src/dns).
 * Broken invariants are not CairnErrors: they throw plain Errors via `assert`
 * and crash the process, which the WAL makes safe to restart.
 *
 * Must never: carry HTTP status codes or transport details.
 */

export type ErrorKind =
  | "bad-request" // 400
  | "permission-denied" // 403
  | "not-found" // 404
  | "method-not-allowed" // 405
  | "conflict" // 409
  | "too-large" // 413
  | "rate-limited" // 429
  | "no-leader" // 500 "No cluster leader"
  | "internal" // 500
  | "unavailable"; // 503

export class CairnError extends Error {
  readonly kind: ErrorKind;
  constructor(kind: ErrorKind, message: string) {
    super(message);
    this.kind = kind;
    this.name = "CairnError";
  }
}

export function badRequest(message: string): CairnError {
  return new CairnError("bad-request", message);
}

export function isCairnError(e: unknown): e is CairnError {
  return e instanceof CairnError;
}

/** Invariant check: failing it is a bug, so it throws a plain Error. */
export function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(`assertion failed: ${message}`);
}

/** Exhaustiveness helper for discriminated unions. */
export function unreachable(x: never): never {
  throw new Error(`unreachable: ${JSON.stringify(x)}`);
}
