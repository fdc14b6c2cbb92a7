/**
 * tests/sim/cli: run the simulator over random seeds or replay one seed.
 *
 *   --seeds N      run N random seeds (default 100)
 *   --seed S       replay seed S with its event log
 *   --safety-ms M  simulated ms of faults per seed (default 60000)
 *   --budget-s B   stop starting new seeds after B wall seconds (default 300)
 *
 * Exits 1 on the first failing seed, printing it. Random seeds come from the
 * wall clock here only; each run itself is deterministic from its seed.
 *
 * Must never: run unbounded (the budget caps wall time).
 */

import { runSimulation } from "./sim.ts";
import { CI_LIVENESS_MS } from "./seeds.ts";

function flag(name: string): string | undefined {
  const args = process.argv.slice(2);
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

const safetyMs = Number(flag("--safety-ms") ?? 60_000);
const single = flag("--seed");
if (single !== undefined) {
  const seed = Number(single) >>> 0;
  const r = runSimulation({ seed, safetyMs, livenessMs: CI_LIVENESS_MS, log: (l) => console.log(l) });
  console.log(JSON.stringify(r.stats));
  if (!r.ok) {
    console.log(`FAIL seed ${seed}\n${r.failures.join("\n")}`);
    process.exit(1);
  }
  console.log(`ok seed ${seed}`);
  process.exit(0);
}

const count = Number(flag("--seeds") ?? 100);
const budgetMs = Number(flag("--budget-s") ?? 300) * 1000;
const start = Date.now();
let base = (Date.now() * 2654435761) >>> 0;
let ran = 0;
let ops = 0;
for (let i = 0; i < count; i++) {
  if (Date.now() - start > budgetMs) {
    console.log(`budget of ${budgetMs / 1000}s reached`);
    break;
  }
  base = (Math.imul(base ^ (base >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0;
  const seed = base;
  const r = runSimulation({ seed, safetyMs, livenessMs: CI_LIVENESS_MS });
  ran++;
  ops += r.stats.ops;
  if (!r.ok) {
    console.log(`FAIL seed ${seed} (${r.summary})\n${r.failures.join("\n")}\nreplay: npm run sim -- --seed ${seed}`);
    process.exit(1);
  }
  if (ran % 25 === 0) console.log(`${ran} seeds ok (${ops} client ops, ${((Date.now() - start) / 1000).toFixed(1)}s)`);
}
console.log(`${ran} seeds ok, ${ops} client operations checked, ${((Date.now() - start) / 1000).toFixed(1)}s`);
