/**
 * Gossip coordinates: serf's ack payload codec (the initial coordinate is byte-exact
 * with serf's), and real pools on 127.0.0.1 updating their Vivaldi coordinates from
 * probe RTTs and the peers' coordinates (in-process and through the worker).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { GossipDriver, startGossip } from "../../src/gossip/index.ts";
import type { GossipHandle } from "../../src/gossip/index.ts";
import { decodeCoordinatePayload, encodeCoordinatePayload } from "../../src/gossip/coordinate_payload.ts";
import { distanceSeconds, newCoordinate } from "../../src/coordinate/index.ts";

const FAST = { probeIntervalMs: 100, probeTimeoutMs: 100, gossipIntervalMs: 50, suspicionMult: 3, pushPullIntervalMs: 5000 };

test("payload: serf's initial coordinate bytes; round trip; malformed payloads ignored", () => {
  const bytes = encodeCoordinatePayload(newCoordinate());
  // [1] + fixmap(4) "Adjustment" f64 0, "Error" f64 1.5, "Height" f64 1e-5, "Vec" fixarray(8) of f64 0.
  assert.is(bytes[0], 1);
  assert.is(bytes[1], 0x84);
  assert.is(bytes.length, 1 + 1 + (1 + 10 + 9) + (1 + 5 + 9) + (1 + 6 + 9) + (1 + 3 + 1 + 8 * 9));
  assert.equal(decodeCoordinatePayload(bytes), newCoordinate());
  const c = { Vec: [0.001, -0.002, 0, 0, 0, 0, 0, 0.5], Error: 0.3, Adjustment: -0.0001, Height: 0.00002 };
  assert.equal(decodeCoordinatePayload(encodeCoordinatePayload(c)), c);
  assert.is(decodeCoordinatePayload(null), undefined);
  assert.is(decodeCoordinatePayload(new Uint8Array([2, 0x80])), undefined);
  assert.is(decodeCoordinatePayload(new Uint8Array([1, 0xc1])), undefined);
  assert.is(decodeCoordinatePayload(new Uint8Array([1, 0x80])), undefined);
});

async function waitFor(what: string, fn: () => Promise<boolean>, timeoutMs = 8000): Promise<void> {
  const t0 = Date.now();
  while (!(await fn())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const moved = async (h: GossipHandle): Promise<boolean> => {
  const c = await h.coordinate();
  return c.Error < 1.5 && c.Vec.some((x) => x !== 0);
};

test("pools update their coordinates from probes; the estimate between them is a loopback RTT", async () => {
  const a = await GossipDriver.start({ name: "ca", bindPort: 0, config: FAST, tags: { role: "node" } });
  const b = await GossipDriver.start({ name: "cb", bindPort: 0, config: FAST, tags: { role: "node" } });
  try {
    assert.equal(await a.coordinate(), newCoordinate());
    await b.join([`127.0.0.1:${a.port}`]);
    await waitFor("both coordinates move", async () => (await moved(a)) && (await moved(b)));
    const est = distanceSeconds(await a.coordinate(), await b.coordinate());
    assert.ok(Number.isFinite(est) && est >= 0 && est < 0.05, `estimate ${est}s`);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test("the supervised worker surfaces the coordinate", async () => {
  const seed = await GossipDriver.start({ name: "cs", bindPort: 0, config: FAST, tags: { role: "node" } });
  const h = await startGossip({ name: "cw", bindPort: 0, config: FAST, tags: { role: "node" } });
  try {
    await h.join([`127.0.0.1:${seed.port}`]);
    await waitFor("worker coordinate moves", () => moved(h));
  } finally {
    await Promise.all([h.close(), seed.close()]);
  }
});

test.run();
