/**
 * State: the coordinates table: coordinate-batch-update (unknown nodes dropped),
 * reads and index, watches, node deletion, codec round-trip, snapshot (version 5)
 * and reading a version 4 snapshot.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Packr } from "msgpackr";
import { Store, decodeCommand, encodeCommand, type Command } from "../../src/state/index.ts";
import { H, reg } from "./session_helpers.ts";

const vec = (x: number): number[] => [x, 0, 0, 0, 0, 0, 0, 0];
const coord = (x: number) => ({ Vec: vec(x), Error: 0.5, Adjustment: 0.001, Height: 0.0001 });
const upd = (node: string, x: number): Command => ({ type: "coordinate-batch-update", updates: [{ node, segment: "", coord: coord(x) }] });

test("batch update stores rows of known nodes only, sorted by node, with the table index", () => {
  const h = new H();
  h.apply(reg("b"));
  h.apply(reg("a"));
  let woke = 0;
  h.s.watchCoordinates(() => woke++);
  assert.is(h.s.coordinates().index, 1);
  h.apply({ type: "coordinate-batch-update", updates: [
    { node: "b", segment: "", coord: coord(0.01) },
    { node: "ghost", segment: "", coord: coord(0.02) },
    { node: "a", segment: "", coord: coord(0.03) },
  ] });
  assert.is(woke, 1);
  const all = h.s.coordinates();
  assert.is(all.index, 3);
  assert.equal(all.value.map((r) => r.node), ["a", "b"]);
  assert.equal(all.value[0]!.coord, coord(0.03));
  assert.equal(h.s.coordinatesOfNode("B").value.map((r) => r.node), ["b"]);
  assert.is(h.s.coordinatesOfNode("ghost").value.length, 0);
  // Only unknown nodes: nothing changes, no wakeup, index kept.
  h.apply(upd("ghost", 0.5));
  assert.is(h.s.coordinates().index, 3);
  assert.is(woke, 1);
});

test("deregistering a node removes its coordinates", () => {
  const h = new H();
  h.apply(reg("a"));
  h.apply(reg("b"));
  h.apply(upd("a", 0.01));
  h.apply(upd("b", 0.02));
  let woke = 0;
  h.s.watchCoordinates(() => woke++);
  h.apply({ type: "catalog-deregister", node: "a", serviceId: "", checkId: "" });
  assert.equal(h.s.coordinates().value.map((r) => r.node), ["b"]);
  assert.is(h.s.coordinates().index, 5);
  assert.is(woke, 1);
});

test("codec round-trips coordinate-batch-update", () => {
  const c: Command = { type: "coordinate-batch-update", updates: [{ node: "n", segment: "", coord: coord(0.25) }, { node: "m", segment: "seg", coord: { Vec: vec(0), Error: 1.5, Adjustment: 0, Height: 1e-5 } }] };
  assert.equal(decodeCommand(encodeCommand(c)), c);
});

test("snapshot keeps coordinates and their index; replay is byte-identical", () => {
  const h = new H();
  const cmds: Command[] = [reg("a"), reg("b"), upd("a", 0.01), upd("b", -0.02)];
  for (const c of cmds) h.apply(c);
  const snap = h.s.snapshot();
  assert.is(snap[4], 5);
  const r = Store.restore(snap);
  assert.equal(r.coordinates(), h.s.coordinates());
  const again = new Store();
  cmds.forEach((c, i) => again.apply(i + 1, decodeCommand(encodeCommand(c))));
  assert.equal(Buffer.from(again.snapshot()).equals(Buffer.from(snap)), true);
});

test("a version 4 snapshot (no coordinates section) still restores", () => {
  const s = new Store();
  s.apply(1, { type: "kv-set", key: "k", value: new Uint8Array([7]), flags: 0n });
  s.apply(2, reg("a"));
  s.apply(3, upd("a", 0.01));
  const v5 = s.snapshot();
  const headLen = new DataView(v5.buffer, v5.byteOffset, v5.byteLength).getUint32(8, true);
  const packr = new Packr({ useRecords: false });
  const header = packr.unpack(v5.subarray(12, 12 + headLen)) as Record<string, unknown>;
  const coordBytes = header["coordBytes"] as number;
  assert.ok(coordBytes > 0);
  const renamed: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(header)) renamed[k === "coordBytes" ? "zzzzzzzzzz" : k] = v;
  const head2 = packr.pack(renamed);
  assert.is(head2.byteLength, headLen);
  const end = v5.byteLength - 4 - ((coordBytes + 7) & ~7);
  const v4 = new Uint8Array(new ArrayBuffer(end + 4));
  v4.set(v5.subarray(0, end));
  v4[4] = 4;
  v4.set(head2, 12);
  const words = new Uint32Array(v4.buffer, 0, end >>> 2);
  let x = 0x811c9dc5;
  for (let i = 0; i < words.length; i++) x = Math.imul(x ^ words[i]!, 0x01000193);
  new DataView(v4.buffer).setUint32(end, x >>> 0, true);
  const t = Store.restore(v4);
  assert.is(t.coordinates().value.length, 0);
  assert.is(t.kvGet("k").value?.value[0], 7);
  assert.equal(t.catalogNodes().value.map((n) => n.node), ["a"]);
});

test.run();
