/**
 * tests/dns/udp_queue: fairness and shedding of the UDP work queue.
 */

import { test } from "uvu";
import * as assert from "uvu/assert";
import { DNS_UDP_MAX_SOURCES } from "../../src/shared/limits.ts";
import { UdpQueue } from "../../src/dns/index.ts";

const msg = Buffer.alloc(1);

test("round-robin across sources", () => {
  const q = new UdpQueue();
  for (let i = 0; i < 100; i++) q.push({ msg, address: "storm", port: i, at: 0 });
  q.push({ msg, address: "quiet", port: 1, at: 0 });
  const first = [q.take(0)!.address, q.take(0)!.address];
  assert.equal(first.sort(), ["quiet", "storm"]);
});

test("a full source queue drops its oldest", () => {
  const q = new UdpQueue({ perSource: 4 });
  for (let i = 0; i < 10; i++) q.push({ msg, address: "a", port: i, at: 0 });
  assert.is(q.size, 4);
  assert.equal([q.take(0)!.port, q.take(0)!.port, q.take(0)!.port, q.take(0)!.port], [6, 7, 8, 9]);
  assert.is(q.stats.droppedSourceFull, 6);
  assert.is(q.take(0), undefined);
  assert.is(q.sourceCount, 0);
});

test("a full queue drops the oldest of the longest source; stale work is dropped", () => {
  const q = new UdpQueue({ perSource: 100, total: 10, maxAgeMs: 50 });
  for (let i = 0; i < 9; i++) q.push({ msg, address: "a", port: i, at: 0 });
  q.push({ msg, address: "b", port: 100, at: 0 });
  q.push({ msg, address: "c", port: 200, at: 0 });
  assert.is(q.size, 10);
  assert.is(q.stats.droppedTotalFull, 1);
  const got: number[] = [];
  for (let x = q.take(10); x !== undefined; x = q.take(10)) got.push(x.port);
  assert.ok(!got.includes(0), "a's oldest dropped");
  assert.ok(got.includes(100) && got.includes(200));
  q.push({ msg, address: "a", port: 1, at: 0 });
  assert.is(q.take(1000), undefined, "older than maxAge: dropped");
  assert.is(q.stats.droppedStale, 1);
});

test("idle source queues are reused, and the sources kept stay within DNS_UDP_MAX_SOURCES", () => {
  const q = new UdpQueue();
  for (let round = 0; round < 3; round++) {
    q.push({ msg, address: "steady", port: round, at: 0 });
    assert.is(q.take(0)!.port, round);
  }
  assert.is(q.trackedSources, 1, "one queue for the steady source across its idle moments");
  assert.is(q.sourceCount, 0);
  for (let i = 0; i < DNS_UDP_MAX_SOURCES + 1000; i++) {
    q.push({ msg, address: `s${i}`, port: i, at: 0 });
    assert.is(q.take(0)!.port, i);
  }
  assert.ok(q.trackedSources <= DNS_UDP_MAX_SOURCES, `${q.trackedSources} sources kept`);
});

test.run();
