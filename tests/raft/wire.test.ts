/**
 * tests/raft/wire: the wire form of Raft message batches (src/raft/driver_wire):
 * an append's entries as one byte string, decoded back exactly, and malformed
 * byte strings refused before they reach the core.
 */

import { test } from "uvu";
import * as assert from "uvu/assert";
import { decodeEntries, encodeEntries, parseBatch, toWire } from "../../src/raft/driver_wire.ts";
import type { AppendMessage, LogEntry } from "../../src/raft/index.ts";

const enc = new TextEncoder();
const entries: LogEntry[] = [
  { index: 8, term: 3, type: "noop", data: new Uint8Array(0) },
  { index: 9, term: 3, type: "command", data: enc.encode("put a=1") },
  { index: 10, term: 2 ** 40, type: "config", data: enc.encode("cfg") },
];
const append: AppendMessage = { type: "append", from: "s1", to: "s2", term: 3, prevIndex: 7, prevTerm: 2, entries, commit: 6 };

test("entries round-trip through their byte string, indexes following prevIndex", () => {
  const back = decodeEntries(encodeEntries(entries), 7);
  assert.ok(back !== undefined);
  assert.equal(back.map((e) => [e.index, e.term, e.type, [...e.data]]), entries.map((e) => [e.index, e.term, e.type, [...e.data]]));
  assert.equal(decodeEntries(new Uint8Array(0), 5), []);
});

test("a truncated byte string, an unknown type or a bad term is refused", () => {
  const b = encodeEntries(entries);
  assert.is(decodeEntries(b.subarray(0, b.byteLength - 1), 7), undefined);
  assert.is(decodeEntries(b.subarray(0, 5), 7), undefined);
  const badType = b.slice();
  badType[0] = 9;
  assert.is(decodeEntries(badType, 7), undefined);
  const badTerm = b.slice();
  new DataView(badTerm.buffer).setFloat64(1, -1);
  assert.is(decodeEntries(badTerm, 7), undefined);
});

test("toWire encodes a slice once for every follower; parseBatch turns it back into entries", () => {
  const cache = new Map<string, Uint8Array>();
  const w1 = toWire(append, cache) as Record<string, unknown>;
  const w2 = toWire({ ...append, to: "s3" }, cache) as Record<string, unknown>;
  assert.ok(w1.eb instanceof Uint8Array && w1.entries === undefined);
  assert.ok(w1.eb === w2.eb, "encoded once");
  const batch = parseBatch({ from: "s1", addr: "127.0.0.1:1", msgs: [{ ...w1 }] }, "s2");
  assert.ok(batch !== undefined);
  const m = batch.msgs[0]!;
  assert.ok(m.type === "append");
  assert.equal(m.entries.map((e) => e.index), [8, 9, 10]);
  assert.equal([...m.entries[1]!.data], [...entries[1]!.data]);
  const hb = { type: "heartbeat", from: "s1", to: "s2", term: 3, commit: 1, seq: 2 } as const;
  assert.ok(toWire(hb, cache) === hb, "other messages go as they are");
  const bad = new Uint8Array((w1.eb as Uint8Array).subarray(0, 3));
  assert.is(parseBatch({ from: "s1", addr: "", msgs: [{ ...w1, eb: bad }] }, "s2"), undefined);
});

test.run();
