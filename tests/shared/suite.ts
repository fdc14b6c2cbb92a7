/**
 * tests/shared/suite: uvu's suite() with loud before-hooks. uvu runs a suite's
 * before-hooks inside try/finally and drops what they throw: the suite then shows
 * "(0 / N)" with no reason. This wrapper prints the error (suite name and stack) to
 * stderr before rethrowing, so a setup failure in CI says why.
 *
 * Must never: swallow the error (uvu must still count the suite's tests as not passed).
 */

import { suite as uvuSuite, type Callback, type Test } from "uvu";

export function suite<T extends Record<string, unknown> = Record<string, unknown>>(name: string, context?: T): Test<T> {
  const t = uvuSuite<T>(name, context);
  const before = t.before;
  const loud = (hook: Callback<T>): void =>
    before(async (ctx) => {
      try {
        await hook(ctx);
      } catch (e) {
        const text = e instanceof Error ? (e.stack ?? e.message) : String(e);
        process.stderr.write(`\n  FAIL  ${name}  before(): ${text}\n`);
        throw e;
      }
    });
  t.before = Object.assign(loud, { each: before.each.bind(before) });
  return t;
}

/** uvu's default unnamed suite, with loud before-hooks. */
export const test: Test<Record<string, unknown>> = suite("");
