/**
 * Vivaldi convergence: serf's performance_test.go scenarios (line, grid, split,
 * height) with a seeded simulation; estimated RTTs must match the truth.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { DEFAULT_VIVALDI } from "../../src/coordinate/index.ts";
import { circle, clients, evaluate, grid, line, simulate, split } from "./sim.ts";

test("line of 10 nodes, 10 ms spacing", () => {
  const cs = clients(10, DEFAULT_VIVALDI);
  const truth = line(10, 0.01);
  simulate(cs, truth, 1000);
  const s = evaluate(cs, truth);
  assert.ok(s.avg < 0.0031 * 2 && s.max < 0.013 * 2, JSON.stringify(s));
});

test("grid of 25 nodes, 10 ms spacing", () => {
  const cs = clients(25, DEFAULT_VIVALDI);
  const truth = grid(25, 0.01);
  simulate(cs, truth, 1000);
  const s = evaluate(cs, truth);
  assert.ok(s.avg < 0.0016 * 2 && s.max < 0.023 * 2, JSON.stringify(s));
});

test("split LAN/WAN", () => {
  const cs = clients(25, DEFAULT_VIVALDI);
  const truth = split(25, 0.001, 0.01);
  simulate(cs, truth, 1000);
  const s = evaluate(cs, truth);
  assert.ok(s.avg < 0.00006 * 4 && s.max < 0.00048 * 4, JSON.stringify(s));
});

test("height: the centre node floats above a circle", () => {
  const cfg = { ...DEFAULT_VIVALDI, dimensionality: 2 };
  const cs = clients(25, cfg);
  const truth = circle(25, 0.1);
  simulate(cs, truth, 1000);
  assert.ok(cs[0]!.coordinate.Height > 0.97 * 0.1, `centre height ${cs[0]!.coordinate.Height}`);
  for (const c of cs.slice(1)) assert.ok(c.coordinate.Height < 0.03 * 0.1, `height ${c.coordinate.Height}`);
  const s = evaluate(cs, truth);
  assert.ok(s.avg < 0.0028 * 2 && s.max < 0.064 * 2, JSON.stringify(s));
});

test.run();
