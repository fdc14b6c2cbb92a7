/**
 * Vivaldi client: serf's client_test.go and coordinate_test.go behaviour.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { DEFAULT_VIVALDI, VivaldiClient, distanceSeconds, newCoordinate } from "../../src/coordinate/index.ts";
import type { Coordinate } from "../../src/coordinate/index.ts";
import { seeded } from "./sim.ts";

const cfg3 = { ...DEFAULT_VIVALDI, dimensionality: 3 };
const close = (a: number, b: number, eps = 1e-9): void => assert.ok(Math.abs(a - b) < eps, `${a} != ${b}`);
const withVec = (c: Coordinate, i: number, v: number): Coordinate => ({ ...c, Vec: c.Vec.map((x, k) => (k === i ? v : x)) });

test("defaults and new coordinate", () => {
  const c = newCoordinate();
  assert.equal(c.Vec, [0, 0, 0, 0, 0, 0, 0, 0]);
  assert.is(c.Error, 1.5);
  assert.is(c.Adjustment, 0);
  assert.is(c.Height, 10e-6);
  assert.is(DEFAULT_VIVALDI.adjustmentWindowSize, 20);
  assert.is(DEFAULT_VIVALDI.latencyFilterSize, 3);
  assert.is(DEFAULT_VIVALDI.gravityRho, 150);
});

test("dimensionality 0 is refused; a fresh client sits at the origin", () => {
  assert.throws(() => new VivaldiClient({ config: { ...DEFAULT_VIVALDI, dimensionality: 0 } }), /dimensionality/);
  const c = new VivaldiClient({ config: { ...DEFAULT_VIVALDI, dimensionality: 7 } });
  assert.equal(c.coordinate, newCoordinate({ ...DEFAULT_VIVALDI, dimensionality: 7 }));
});

test("update moves away from a peer that is farther than estimated; setCoordinate", () => {
  const client = new VivaldiClient({ config: cfg3 });
  const other = withVec(newCoordinate(cfg3), 2, 0.001);
  const c = client.update("node", other, 2 * 0.001);
  assert.ok(c.Vec[2]! < 0, `z ${c.Vec[2]} should be < 0`);
  client.setCoordinate(withVec(c, 2, 99));
  assert.is(client.coordinate.Vec[2], 99);
});

test("invalid RTTs are refused and change nothing", () => {
  const client = new VivaldiClient({ config: cfg3 });
  const other = withVec(newCoordinate(cfg3), 2, 0.001);
  const before = client.distanceTo(other);
  for (const rtt of [Number.MAX_VALUE, -35, 11, Number.NaN]) {
    assert.throws(() => client.update("node", other, rtt), /round trip time not in valid range/);
    assert.is(client.distanceTo(other), before);
  }
  client.update("node", other, 0); // zero is allowed
});

test("distance: euclidean plus heights, adjustments only when the sum stays positive", () => {
  const client = new VivaldiClient({ config: { ...cfg3, heightMin: 0 } });
  const other = withVec(newCoordinate({ ...cfg3, heightMin: 0 }), 2, 12.345);
  close(client.distanceTo(other), 12.345);
  const a: Coordinate = { Vec: [-0.5, 1.3, 2.4], Error: 1.5, Adjustment: 0, Height: 0 };
  const b: Coordinate = { Vec: [1.2, -2.3, 3.4], Error: 1.5, Adjustment: 0, Height: 0 };
  close(distanceSeconds(a, b), 4.104875150354758, 1e-8);
  close(distanceSeconds({ ...a, Height: 0.7 }, { ...b, Height: 0.1 }), 4.104875150354758 + 0.8, 1e-8);
  close(distanceSeconds({ ...a, Adjustment: 0.1 }, { ...b, Adjustment: 0.1 }), 4.304875150354758, 1e-8);
  close(distanceSeconds({ ...a, Adjustment: -10 }, b), 4.104875150354758, 1e-8); // negative total ignored
});

test("latency filter is a median of the last 3 samples per node", () => {
  const client = new VivaldiClient({ config: cfg3 });
  const other = newCoordinate(cfg3);
  // Observe the filter through the adjustment window: with a single peer at the
  // origin the filtered RTT is what the client moves by. Compare two clients,
  // one fed the raw sequence, one fed the expected medians.
  const raw = [0.201, 0.2, 0.207, 1.9, 0.203, 0.199, 0.211];
  const medians = [0.201, 0.201, 0.201, 0.207, 0.207, 0.203, 0.203];
  const r1 = seeded(3), r2 = seeded(3);
  const a = new VivaldiClient({ config: cfg3, rand: r1 });
  const b = new VivaldiClient({ config: { ...cfg3, latencyFilterSize: 1 }, rand: r2 });
  for (let i = 0; i < raw.length; i++) {
    a.update("alice", other, raw[i]!);
    b.update("alice", other, medians[i]!);
  }
  assert.equal(a.coordinate, b.coordinate);
  a.forgetNode("alice");
  client.update("bob", other, 0.31);
  assert.ok(client.coordinate.Vec.some((x) => x !== 0));
});

test("NaN/Inf defence: invalid peers refused; a blown-up update resets", () => {
  const client = new VivaldiClient({ config: cfg3 });
  const bad = withVec(newCoordinate(cfg3), 0, Number.NaN);
  assert.throws(() => client.update("node", bad, 0.25), /invalid/);
  assert.throws(() => client.setCoordinate(bad), /invalid/);
  assert.throws(() => client.update("node", newCoordinate(DEFAULT_VIVALDI), 0.25), /dimensions/);
  // A huge peer coordinate overflows the force to Inf: the client resets.
  const huge = { ...newCoordinate(cfg3), Vec: [1e308, 1e308, 1e308], Error: 1e-300 };
  client.update("node", huge, 0.25);
  assert.equal(client.coordinate, newCoordinate(cfg3));
  assert.is(client.resets, 1);
});

test("gravity pulls a lone far coordinate toward the origin", () => {
  const client = new VivaldiClient({ config: cfg3 });
  client.setCoordinate({ ...newCoordinate(cfg3), Vec: [100, 0, 0] });
  const peer = { ...newCoordinate(cfg3), Vec: [100, 0, 0.001] };
  client.update("p", peer, 0.001);
  assert.ok(client.coordinate.Vec[0]! < 100, "pulled toward origin");
});

test.run();
