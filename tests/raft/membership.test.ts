/**
 * tests/raft/membership: configurations carry members' RPC addresses (as Consul's
 * raft Configuration does), through changes and the log encoding; entries written
 * before addresses existed still decode.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { applyChange, decodeMembership, encodeMembership, membership } from "../../src/raft/membership.ts";

const enc = new TextEncoder();

test("bootstrap configuration keeps only members' addresses", () => {
  const m = membership(["b", "a"], [], [], { a: "10.0.0.1:8300", b: "10.0.0.2:8300", z: "10.0.0.9:8300" });
  assert.equal(m.voters, ["a", "b"]);
  assert.equal(m.addresses, { a: "10.0.0.1:8300", b: "10.0.0.2:8300" });
});

test("add-voter records the new server's address, promote keeps it, remove drops it", () => {
  const m0 = membership(["a"], [], [], { a: "10.0.0.1:8300" });
  const m1 = applyChange(m0, { type: "add-voter", id: "c", address: "10.0.0.3:8300" });
  assert.ok(m1 !== undefined);
  assert.equal(m1.staging, ["c"]);
  assert.is(m1.addresses?.c, "10.0.0.3:8300");
  const m2 = applyChange(m1, { type: "promote", id: "c" });
  assert.equal(m2?.voters, ["a", "c"]);
  assert.is(m2?.addresses?.c, "10.0.0.3:8300");
  const m3 = applyChange(m2!, { type: "remove", id: "a" });
  assert.equal(m3?.voters, ["c"]);
  assert.equal(m3?.addresses, { c: "10.0.0.3:8300" });
  // An add without an address leaves the map as it was.
  const m4 = applyChange(m3!, { type: "add-learner", id: "d" });
  assert.equal(m4?.addresses, { c: "10.0.0.3:8300" });
});

test("encoding round-trips addresses; an entry without them decodes to none", () => {
  const m = membership(["a", "b"], ["l"], [], { a: "x:1", l: "y:2" });
  assert.equal(decodeMembership(encodeMembership(m)), m);
  const old = decodeMembership(enc.encode(JSON.stringify({ voters: ["a"], learners: [], staging: [] })));
  assert.equal(old, { voters: ["a"], learners: [], staging: [] });
  assert.is(old.addresses, undefined);
  assert.throws(() => decodeMembership(enc.encode(JSON.stringify({ voters: ["a"], learners: [], staging: [], addresses: { a: 5 } }))), /address/);
});

test.run();
