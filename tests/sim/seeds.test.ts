/**
 * tests/sim/seeds: the deterministic simulator over CI's fixed seed list.
 * Each seed runs a safety phase with faults and a liveness phase on the
 * healed cluster; any checker failure names the seed to replay with
 * `npm run sim -- --seed S`. Also checks that a seed replays exactly.
 */

import { test } from "uvu";
import * as assert from "uvu/assert";
import { runSimulation } from "./sim.ts";
import { CI_LIVENESS_MS, CI_SAFETY_MS, CI_SEEDS } from "./seeds.ts";

test("a seed replays exactly", () => {
  const a = runSimulation({ seed: 42, safetyMs: 10_000 });
  const b = runSimulation({ seed: 42, safetyMs: 10_000 });
  assert.equal(a.stats, b.stats);
  assert.ok(a.stats.events > 1000, "the run did something");
  assert.ok(a.stats.ops > 0, "clients were served");
});

test(`CI seeds (${CI_SEEDS.length}): safety, liveness and linearizability hold`, () => {
  const failed: string[] = [];
  let ops = 0;
  for (const seed of CI_SEEDS) {
    const r = runSimulation({ seed, safetyMs: CI_SAFETY_MS, livenessMs: CI_LIVENESS_MS });
    ops += r.stats.ops;
    if (!r.ok) failed.push(`seed ${seed} (${r.summary}): ${r.failures[0]!.split("\n")[0]} -- replay: npm run sim -- --seed ${seed}`);
  }
  assert.equal(failed, [], failed.join("\n"));
  assert.ok(ops > CI_SEEDS.length * 50, `clients completed ${ops} operations`);
});

test.run();
