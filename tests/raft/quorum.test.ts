/**
 * tests/raft/quorum: the optimised majority math against naive twins
 * (property tests, as etcd's quorum/quick_test.go), plus fixed cases.
 */

import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { committedIndex, majority, voteResult } from "../../src/raft/quorum.ts";

/** Naive twin: the largest i such that more than half of the voters have match >= i. */
function naiveCommitted(matches: number[]): number {
  if (matches.length === 0) return 0;
  let best = 0;
  for (const candidate of matches) {
    const count = matches.filter((m) => m >= candidate).length;
    if (count * 2 > matches.length && candidate > best) best = candidate;
  }
  return best;
}

function naiveVote(n: number, granted: number, rejected: number): string {
  if (granted * 2 > n) return "won";
  if ((n - rejected) * 2 > n) return "pending";
  return "lost";
}

test("committedIndex equals its naive twin on random match vectors", () => {
  fc.assert(
    fc.property(fc.array(fc.nat(1000), { minLength: 0, maxLength: 9 }), (matches) => {
      const ids = matches.map((_, i) => `n${i}`);
      const got = committedIndex(ids, (id) => matches[Number(id.slice(1))]!);
      assert.is(got, naiveCommitted(matches));
    }),
    { numRuns: 2000 },
  );
});

test("voteResult equals its naive twin on random ballots", () => {
  fc.assert(
    fc.property(fc.array(fc.constantFrom<"yes" | "no" | "none">("yes", "no", "none"), { minLength: 1, maxLength: 9 }), (ballots) => {
      const ids = ballots.map((_, i) => `n${i}`);
      const votes = new Map<string, boolean>();
      ballots.forEach((b, i) => {
        if (b !== "none") votes.set(ids[i]!, b === "yes");
      });
      const granted = ballots.filter((b) => b === "yes").length;
      const rejected = ballots.filter((b) => b === "no").length;
      assert.is(voteResult(ids, votes), naiveVote(ballots.length, granted, rejected));
    }),
    { numRuns: 2000 },
  );
});

test("fixed cases: majority sizes, empty configurations", () => {
  assert.equal([1, 2, 3, 4, 5, 6, 7].map(majority), [1, 2, 2, 3, 3, 4, 4]);
  assert.is(committedIndex([], () => 5), 0);
  assert.is(voteResult([], new Map()), "won");
  assert.is(committedIndex(["a", "b", "c"], (id) => ({ a: 5, b: 3, c: 1 })[id]!), 3);
  assert.is(committedIndex(["a", "b", "c", "d"], (id) => ({ a: 5, b: 3, c: 1, d: 9 })[id]!), 3);
});

test.run();
