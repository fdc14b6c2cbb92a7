/**
 * tests/snapshot/restore_command: the "restore" Command in the FSM — state replaced by
 * the snapshot's, everything stamped at the restore entry's index (no read index goes
 * backwards), every watch fires, sessions re-announced to the TTL timers, bad bytes
 * refused without change, codec round trip, and a restored store snapshots and restores.
 */

import { test } from "uvu";
import * as assert from "uvu/assert";
import { Store, decodeCommand, encodeCommand, type Command, type SessionEvents } from "../../src/state/index.ts";
import { H, chk, enc, reg, sess, svc } from "../state/session_helpers.ts";

const text = (b: Uint8Array | undefined): string => (b === undefined ? "<none>" : new TextDecoder().decode(b));

/** A world: KV (a, dir/x, dir/y), node n1 with web, a session holding lock "l". */
function world(): H {
  const h = new H();
  h.world("n1");
  h.apply({ type: "kv-set", key: "a", value: enc("1"), flags: 7n });
  h.apply({ type: "kv-set", key: "dir/x", value: enc("x1"), flags: 0n });
  h.apply({ type: "kv-set", key: "dir/y", value: enc("y1"), flags: 0n });
  h.apply({ type: "session-create", session: sess("s1", "n1") });
  h.lock("l", "s1", 1000);
  return h;
}

test("restore brings the saved state back, stamped at the restore index", () => {
  const h = world();
  const saved = h.s.snapshot();
  const savedIndex = h.i;
  // change everything
  h.apply({ type: "kv-set", key: "a", value: enc("2"), flags: 0n });
  h.apply({ type: "kv-delete", key: "dir/x" });
  h.apply({ type: "kv-set", key: "new", value: enc("n"), flags: 0n });
  h.apply({ type: "catalog-deregister", node: "n1", serviceId: "web", checkId: "" });
  h.apply(reg("n2", { service: svc("db"), checks: [chk("n2", "serfHealth", "passing")] }));
  h.apply({ type: "session-destroy", id: "s1", now: 2000 });
  const before = h.i;
  const r = h.apply({ type: "restore", data: saved });
  assert.equal(r, { type: "none" });
  const ri = h.i;
  assert.is(ri, before + 1);
  assert.ok(ri > savedIndex);
  assert.is(h.s.lastIndex(), ri);
  // data is back
  assert.is(text(h.s.kvGet("a").value?.value), "1");
  assert.is(h.s.kvGet("a").value?.flags, 7n);
  assert.is(text(h.s.kvGet("dir/x").value?.value), "x1");
  assert.is(h.s.kvGet("new").value, undefined);
  assert.is(h.s.kvGet("l").value?.session, "s1");
  assert.equal(h.s.catalogNodes().value.map((n) => n.node), ["n1"]);
  assert.is(h.s.catalogService("web").value.length, 1);
  assert.is(h.s.catalogService("db").value.length, 0);
  assert.is(h.s.sessionGet("s1").value?.node, "n1");
  // indexes: every read reports the restore index (never below what was seen before)
  assert.is(h.s.kvGet("a").index, ri);
  assert.is(h.s.kvGet("a").value?.modifyIndex, ri);
  assert.ok((h.s.kvGet("a").value?.createIndex ?? 0) <= ri);
  assert.is(h.s.kvGet("new").index, ri); // absent key: the table index
  assert.is(h.s.kvList("dir/").index, ri);
  assert.is(h.s.kvList("").index, ri);
  assert.is(h.s.catalogNodes().index, ri);
  assert.is(h.s.catalogService("web").index, ri);
  assert.is(h.s.catalogService("db").index, ri);
  assert.is(h.s.catalogNode("n2").index, ri);
  assert.is(h.s.healthService("web").index, ri);
  assert.is(h.s.sessionList().index, ri);
  assert.is(h.s.caRoots().index, ri);
  // writes continue after it as usual
  h.apply({ type: "kv-set", key: "a", value: enc("3"), flags: 0n });
  assert.is(h.s.kvGet("a").index, ri + 1);
  assert.is(h.s.kvGet("a").value?.createIndex, 2); // CreateIndex survives the restore
});

test("restore fires every watch (KV key, prefix, catalog, sessions) once the new state is in place", () => {
  const h = world();
  const saved = h.s.snapshot();
  h.apply({ type: "kv-set", key: "a", value: enc("2"), flags: 0n });
  const seen: string[] = [];
  h.s.watchKey("a", () => seen.push(`key a=${text(h.s.kvGet("a").value?.value)}`));
  h.s.watchKey("untouched", () => seen.push("key untouched"));
  h.s.watchPrefix("dir/", () => seen.push("prefix dir/"));
  h.s.watchService("web", () => seen.push("service web"));
  h.s.watchTable("nodes", () => seen.push("nodes"));
  h.s.watchSessions(() => seen.push("sessions"));
  h.s.watchCoordinates(() => seen.push("coordinates"));
  h.s.watchCARoots(() => seen.push("ca roots"));
  h.apply({ type: "restore", data: saved });
  assert.equal(seen.sort(), ["ca roots", "coordinates", "key a=1", "key untouched", "nodes", "prefix dir/", "service web", "sessions"]);
  assert.is(h.s.watchCount(), 0);
});

test("sessions are re-announced to the leader's TTL timers: old destroyed, restored created", () => {
  const h = world();
  const saved = h.s.snapshot();
  h.apply({ type: "session-create", session: sess("s2", "n1") });
  const events: SessionEvents[] = [];
  h.s.onSessionEvents((ev) => events.push(ev));
  h.apply({ type: "restore", data: saved });
  assert.is(events.length, 1);
  assert.equal([...events[0]!.destroyed].sort(), ["s1", "s2"]);
  assert.equal(events[0]!.created.map((r) => r.id), ["s1"]);
});

test("bytes that are not a cairn snapshot change nothing and answer an error", () => {
  const h = world();
  const good = h.s.snapshot();
  const bad = good.slice();
  bad[bad.length - 9] = bad[bad.length - 9]! ^ 0xff;
  const fired: string[] = [];
  h.s.watchKey("a", () => fired.push("a"));
  const r = h.apply({ type: "restore", data: bad });
  assert.is(r.type, "error");
  assert.match(r.type === "error" ? r.message : "", /^failed to restore snapshot: invalid snapshot: /);
  const r2 = h.apply({ type: "restore", data: enc("CONSUL msgpack stream") });
  assert.is(r2.type, "error");
  assert.is(text(h.s.kvGet("a").value?.value), "1");
  assert.is(h.s.lastIndex(), h.i); // the entry was applied (index advanced), the state kept
  assert.equal(fired, []);
});

test("codec round trip of the restore command; a restored store snapshots and restores the same", () => {
  const h = world();
  const data = h.s.snapshot();
  const cmd: Command = { type: "restore", data };
  const back = decodeCommand(encodeCommand(cmd));
  assert.is(back.type, "restore");
  assert.equal(Buffer.from(back.type === "restore" ? back.data : new Uint8Array(0)), Buffer.from(data));
  assert.throws(() => decodeCommand(encodeCommand({ type: "restore", data }).slice(0, 10)));
  const h2 = new H();
  h2.apply({ type: "kv-set", key: "zzz", value: enc("gone"), flags: 0n });
  h2.i = 100;
  h2.apply({ type: "restore", data });
  const again = Store.restore(h2.s.snapshot());
  assert.is(again.lastIndex(), 101);
  assert.is(text(again.kvGet("dir/y").value?.value), "y1");
  assert.is(again.kvGet("zzz").value, undefined);
  assert.is(again.kvGet("dir/y").index, 101);
});

test.run();
