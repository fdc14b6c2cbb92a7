/**
 * Golden codec tests over the memberlist/serf wire captures: every annotated vector
 * decodes to the captured fields, and re-encodes byte for byte (encrypted ones by
 * re-sealing with the captured nonce); every raw wiretap record (all UDP datagrams
 * and TCP writes of all runs) does the same. Serf payloads round-trip through the
 * generic msgpack codec.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  decodeFrame,
  decodeValue,
  encodeFrame,
  encodeValue,
  fromUtf8,
  labelHeader,
  MsgFloat,
  openPacket,
  openStream,
  sealPacket,
  sealStream,
  stripLabel,
} from "../../src/gossip/index.ts";
import type { Frame, Message, MsgValue, StreamMessage } from "../../src/gossip/index.ts";
import { b64, hex, loadVectors, loadWireRecords, RUN_KEY, RUN_LABEL, toHex } from "./fixtures.ts";
import type { Vector } from "./fixtures.ts";

const vectors = loadVectors();

function bytesJson(b: Uint8Array | null | undefined): unknown {
  return b === null || b === undefined ? null : { hex: toHex(b) };
}

/** A decoded message in the fixtures' form: Go field names, bytes as {hex}. */
function goFields(m: Message | StreamMessage): Record<string, unknown> {
  switch (m.type) {
    case "ping": {
      const o: Record<string, unknown> = { Node: m.node, SeqNo: m.seqNo };
      if (m.sourceAddr) o["SourceAddr"] = bytesJson(m.sourceAddr);
      if (m.sourceNode) o["SourceNode"] = m.sourceNode;
      if (m.sourcePort) o["SourcePort"] = m.sourcePort;
      return o;
    }
    case "indirectPing": {
      const o: Record<string, unknown> = { Nack: m.nack, Node: m.node, Port: m.port, SeqNo: m.seqNo };
      if (m.sourceAddr) o["SourceAddr"] = bytesJson(m.sourceAddr);
      if (m.sourceNode) o["SourceNode"] = m.sourceNode;
      if (m.sourcePort) o["SourcePort"] = m.sourcePort;
      o["Target"] = bytesJson(m.target);
      return o;
    }
    case "ack": return { Payload: bytesJson(m.payload), SeqNo: m.seqNo };
    case "nack": return { SeqNo: m.seqNo };
    case "suspect":
    case "dead": return { From: m.from, Incarnation: m.incarnation, Node: m.node };
    case "alive":
      return { Addr: bytesJson(m.addr), Incarnation: m.incarnation, Meta: bytesJson(m.meta), Node: m.node, Port: m.port, Vsn: bytesJson(m.vsn) };
    case "err": return { Error: m.error };
    case "user": return "userState" in m ? {} : { UserMsgLen: m.payload.length };
    case "pushPull": return { Join: m.join, Nodes: m.nodes.length, UserStateLen: m.userState.length };
  }
}

/** Generic msgpack value vs the fixture's JSON (strings or {hex} for raw). */
function matches(v: MsgValue, want: unknown): boolean {
  if (v instanceof Uint8Array) {
    if (typeof want === "string") return fromUtf8(v) === want;
    if (want && typeof want === "object" && "hex" in want) return toHex(v) === (want as { hex: string }).hex;
    if (Array.isArray(want)) return want.length === v.length && want.every((x, i) => x === v[i]);
    return false;
  }
  if (v instanceof MsgFloat) return typeof want === "number" && Math.abs(v.value - want) <= Math.abs(want) * 1e-12;
  if (v instanceof Map) {
    if (!want || typeof want !== "object") return false;
    const w = want as Record<string, unknown>;
    return Object.keys(w).length === v.size && [...v].every(([k, x]) => k in w && matches(x, w[k]));
  }
  if (Array.isArray(v)) return Array.isArray(want) && want.length === v.length && v.every((x, i) => matches(x, want[i]));
  return v === want;
}

function targetMessage(frame: Frame, layers: Vector["layers"]): Message {
  let f = frame;
  let li = 0;
  for (;;) {
    if (f.kind === "msg") return f.msg;
    if (f.kind === "compound") {
      const layer = layers.slice(li).find((l) => l.layer === "compound");
      li = layers.indexOf(layer ?? layers[0]!) + 1;
      const p = f.parts[layer?.index ?? 0];
      assert.ok(p, "compound part exists");
      f = p;
    } else f = f.inner;
  }
}

let exact = 0;
for (const v of vectors) {
  test(`vector ${v.file}: decodes to the captured fields and re-encodes byte-exact`, () => {
    const wire = hex(v.wire_hex);
    const key = v.layers.some((l) => l.layer === "encryption") && v.key_b64 ? b64(v.key_b64) : undefined;
    const enc = v.layers.find((l) => l.layer === "encryption");
    const nonce = enc?.nonce ? hex(enc.nonce) : undefined;
    const label = v.label ?? "";
    assert.ok(v.msg, "vector has a message");
    if (v.proto === "udp") {
      const opened = openPacket(wire, { label, keys: key ? [key] : [], verifyIncoming: key !== undefined });
      assert.is(opened.encrypted, key !== undefined);
      const frame = decodeFrame(opened.frame);
      const msg = targetMessage(frame, v.layers);
      assert.is(msg.type, v.msg.name);
      if (v.msg.fields) assert.equal(goFields(msg), v.msg.fields);
      else if (msg.type === "user") assert.is(toHex(msg.payload), v.msg.body_hex);
      if (v.msg.field_order) assert.equal(Object.keys(goFields(msg)), v.msg.field_order, "key order");
      checkSerf(msg, v);
      assert.is(toHex(encodeFrame(frame)), toHex(opened.frame), "frame re-encodes");
      assert.is(toHex(sealPacket(encodeFrame(frame), { label, key, nonce })), v.wire_hex, "datagram re-seals");
    } else if (v.msg.name === "stream-label-header") {
      assert.is(toHex(labelHeader(label)), v.wire_hex);
    } else {
      const { msg, compressed, encrypted } = openStream(wire, { keys: key ? [key] : [], verifyIncoming: false, label });
      assert.is(encrypted, key !== undefined);
      assert.is(msg.type, v.msg.name);
      if (v.msg.fields) assert.equal(goFields(msg), v.msg.fields);
      if (msg.type === "pushPull") checkPushPull(msg, v);
      assert.is(toHex(sealStream(msg, { compress: compressed, label, key, nonce })), v.wire_hex, "stream re-seals");
    }
    exact++;
  });
}

function checkSerf(msg: Message, v: Vector): void {
  const extra = v.msg as Record<string, unknown>;
  if (msg.type === "user" && extra["serf"]) {
    const serf = extra["serf"] as { serf_type: number; fields?: Record<string, unknown> };
    assert.is(msg.payload[0], serf.serf_type);
    const body = msg.payload.subarray(1);
    const val = decodeValue(body);
    if (serf.fields) assert.ok(matches(val, serf.fields), "serf fields");
    assert.is(toHex(encodeValue(val)), toHex(body), "serf body re-encodes");
  }
  if (msg.type === "ack" && extra["ack_payload"] && msg.payload) {
    const ap = extra["ack_payload"] as { version: number; coordinate: Record<string, unknown> };
    assert.is(msg.payload[0], ap.version);
    const val = decodeValue(msg.payload.subarray(1));
    assert.ok(matches(val, ap.coordinate), "coordinate fields");
    assert.is(toHex(encodeValue(val)), toHex(msg.payload.subarray(1)));
  }
  if (msg.type === "alive" && msg.meta && msg.meta[0] === 0xff) {
    const tags = decodeValue(msg.meta.subarray(1));
    assert.ok(tags instanceof Map, "serf tags are a map");
    assert.is(toHex(encodeValue(tags)), toHex(msg.meta.subarray(1)), "serf tags re-encode in wire order");
  }
}

function checkPushPull(msg: StreamMessage, v: Vector): void {
  if (msg.type !== "pushPull") return;
  const nodes = (v.msg as Record<string, unknown>)["nodes"] as Record<string, unknown>[] | undefined;
  if (!nodes) return;
  assert.is(msg.nodes.length, nodes.length);
  msg.nodes.forEach((n, i) => {
    const w = nodes[i]!;
    assert.is(n.name, w["Name"]);
    assert.is(n.state, w["_state_name"]);
    assert.equal(bytesJson(n.meta), w["Meta"]);
    assert.equal(bytesJson(n.vsn), w["Vsn"]);
  });
  if (msg.userState.length > 0 && msg.userState[0] === 2) {
    const body = msg.userState.subarray(1);
    assert.is(toHex(encodeValue(decodeValue(body))), toHex(body), "serf push/pull state re-encodes");
  }
}

test("all 71 vectors were exercised", () => {
  assert.is(vectors.length, 71);
  assert.is(exact, 71);
});

const records = loadWireRecords();
test(`every raw wiretap record (${records.length}) decodes and re-encodes byte-exact`, () => {
  let udp = 0;
  let tcp = 0;
  for (const r of records) {
    const wire = hex(r.hex);
    const key = RUN_KEY[r.run] ?? (r.run === "err" ? "MTIzNDU2Nzg5MDEyMzQ1Ng==" : undefined);
    const keys = key ? [b64(key)] : [];
    const label = RUN_LABEL[r.run] ?? "";
    const where = `${r.run}-${r.node} ${r.dir} ${r.proto} ${r.hex.slice(0, 24)}`;
    if (r.proto === "udp") {
      const opened = openPacket(wire, { label, keys, verifyIncoming: keys.length > 0 });
      const frame = decodeFrame(opened.frame);
      assert.is(toHex(encodeFrame(frame)), toHex(opened.frame), where);
      const body = stripLabel(wire).rest;
      const nonce = opened.encrypted ? body.subarray(1, 13) : undefined;
      assert.is(toHex(sealPacket(encodeFrame(frame), { label, key: opened.encrypted ? keys[0] : undefined, nonce })), r.hex, where);
      udp++;
    } else {
      if (r.note === "label header" || wire[0] === 244) {
        assert.is(toHex(labelHeader(label)), r.hex, where);
        continue;
      }
      const { msg, compressed, encrypted } = openStream(wire, { keys, verifyIncoming: false, label });
      const nonce = encrypted ? wire.subarray(6, 18) : undefined;
      const again = sealStream(msg, { compress: compressed, label, key: encrypted ? keys[0] : undefined, nonce });
      assert.is(toHex(again), r.hex, where);
      tcp++;
    }
  }
  assert.ok(udp > 300 && tcp > 40, `udp ${udp} tcp ${tcp}`);
});

test.run();
