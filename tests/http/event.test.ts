/**
 * tests/http/event: user events — the EventBus (index derivation, 256-entry ring, filters,
 * internal events) and /v1/event/fire + /v1/event/list over both transports (Consul's
 * response shape, reserved names, blocking on the UUID-derived index, client leaving).
 */

import { test } from "uvu";
import * as assert from "uvu/assert";
import { randomUUID } from "node:crypto";
import { EventBus, eventIndex, type UserEvent } from "../../src/agent/events.ts";
import { startHarness } from "./helpers.ts";

function bus(services: { service: string; tags: string[] }[] = [], logs: string[] = []): EventBus {
  return new EventBus({ nodeName: "node-a", services: () => services, newId: randomUUID, log: (_l, m) => logs.push(m) });
}

test("eventIndex: the UUID's two 64-bit halves XORed (uuidToUint64)", () => {
  assert.is(eventIndex("00000000-0000-0001-0000-000000000002"), 3n);
  assert.is(eventIndex("ffffffff-ffff-ffff-0000-000000000000"), 0xffffffffffffffffn);
  assert.is(eventIndex("12345678-9abc-def0-1234-56789abcdef0"), 0x123456789abcdef0n ^ 0x123456789abcdef0n);
  assert.is(eventIndex("not-a-uuid"), 0n);
});

test("ring keeps the last 256 events, oldest first", () => {
  const b = bus();
  for (let i = 0; i < 300; i++) b.fire({ name: `e${i}`, payload: null, nodeFilter: "", serviceFilter: "", tagFilter: "" });
  const l = b.list();
  assert.is(l.length, 256);
  assert.is(l[0]?.name, "e44");
  assert.is(l[255]?.name, "e299");
  assert.ok((l[255]?.ltime ?? 0) > (l[0]?.ltime ?? 0));
});

test("filters: node regexp, service + tag against this agent; internal events go to their handler", () => {
  const logs: string[] = [];
  const b = bus([{ service: "web", tags: ["v1", "blue"] }], logs);
  const fire = (nf: string, sf: string, tf: string): void => void b.fire({ name: "x", payload: null, nodeFilter: nf, serviceFilter: sf, tagFilter: tf });
  fire("^node-", "", "");
  fire("other", "", "");
  fire("", "we", "");
  fire("", "db", "");
  fire("", "web", "^blue$");
  fire("", "web", "green");
  assert.is(b.list().length, 3);
  assert.throws(() => fire("", "", "v1"), /Cannot provide tag filter without service filter/);
  assert.throws(() => fire("(", "", ""), /Invalid node filter/);
  b.fire({ name: "_rexec", payload: null, nodeFilter: "", serviceFilter: "", tagFilter: "" });
  assert.ok(logs.some((m) => m.includes("ignoring remote exec event")));
  const seen: UserEvent[] = [];
  b.onInternal("_rexec", (e) => seen.push(e));
  b.fire({ name: "_rexec", payload: new Uint8Array([1]), nodeFilter: "", serviceFilter: "", tagFilter: "" });
  assert.is(seen.length, 1);
  assert.is(b.list().length, 3, "internal events are not listed");
});

test("a transport carries fired events (gossip later); receive() ingests them", () => {
  const b = bus();
  const sent: UserEvent[] = [];
  b.setTransport((e) => sent.push(e));
  const e = b.fire({ name: "deploy", payload: new Uint8Array([104, 105]), nodeFilter: "", serviceFilter: "", tagFilter: "" });
  assert.is(e.ltime, 0);
  assert.is(e.version, 1);
  assert.is(b.list().length, 0);
  b.receive(sent[0] as UserEvent, 42);
  assert.is(b.list()[0]?.ltime, 42);
});

for (const transport of ["wire", "node"] as const) {
  test(`[${transport}] PUT /v1/event/fire: Consul's JSON, payload, filters, errors`, async () => {
    const events = bus([{ service: "web", tags: ["v1"] }]);
    const h = await startHarness({ transport, ops: { events } });
    try {
      let r = await fetch(`${h.base}/v1/event/fire/deploy?node=node&service=web&tag=v1`, { method: "PUT", body: "hello" });
      assert.is(r.status, 200);
      const j = (await r.json()) as Record<string, unknown>;
      assert.equal(Object.keys(j), ["ID", "Name", "Payload", "NodeFilter", "ServiceFilter", "TagFilter", "Version", "LTime"]);
      assert.is(j["Name"], "deploy");
      assert.is(j["Payload"], Buffer.from("hello").toString("base64"));
      assert.is(j["NodeFilter"], "node");
      assert.is(j["TagFilter"], "v1");
      assert.is(j["Version"], 1);
      assert.is(j["LTime"], 0);
      assert.match(String(j["ID"]), /^[0-9a-f-]{36}$/);
      r = await fetch(`${h.base}/v1/event/fire/empty`, { method: "PUT" });
      assert.is(((await r.json()) as Record<string, unknown>)["Payload"], null);
      r = await fetch(`${h.base}/v1/event/fire/`, { method: "PUT" });
      assert.is(r.status, 400);
      assert.is(await r.text(), "Missing name");
      r = await fetch(`${h.base}/v1/event/fire/_secret`, { method: "PUT" });
      assert.is(r.status, 400);
      assert.match(await r.text(), /reserved for internal use/);
      r = await fetch(`${h.base}/v1/event/fire/x?tag=a`, { method: "PUT" });
      assert.is(r.status, 500);
      assert.is(await r.text(), "Cannot provide tag filter without service filter");
      r = await fetch(`${h.base}/v1/event/fire/big`, { method: "PUT", body: "x".repeat(600) });
      assert.is(r.status, 500);
      assert.match(await r.text(), /exceeds configured limit of 512 bytes/);
      r = await fetch(`${h.base}/v1/event/fire/x`, { method: "GET" });
      assert.is(r.status, 405);
    } finally {
      await h.close();
    }
  });

  test(`[${transport}] GET /v1/event/list: name filter, index from the newest UUID, blocking`, async () => {
    const events = bus();
    const h = await startHarness({ transport, ops: { events } });
    try {
      let r = await fetch(`${h.base}/v1/event/list`);
      assert.is(r.headers.get("x-consul-index"), "1");
      assert.equal(await r.json(), []);
      const a = events.fire({ name: "a", payload: null, nodeFilter: "", serviceFilter: "", tagFilter: "" });
      const b2 = events.fire({ name: "b", payload: null, nodeFilter: "", serviceFilter: "", tagFilter: "" });
      r = await fetch(`${h.base}/v1/event/list`);
      const all = (await r.json()) as Array<{ ID: string; Name: string; LTime: number }>;
      assert.equal(all.map((e) => e.Name), ["a", "b"]);
      assert.is(r.headers.get("x-consul-index"), eventIndex(b2.id).toString());
      assert.ok(all[0] !== undefined && all[0].LTime > 0);
      r = await fetch(`${h.base}/v1/event/list?name=a`);
      const idxA = r.headers.get("x-consul-index") ?? "";
      assert.is(idxA, eventIndex(a.id).toString());
      // Blocking: waits while the index equals ?index, answers when a matching event arrives.
      const t0 = Date.now();
      const pending = fetch(`${h.base}/v1/event/list?name=a&index=${idxA}&wait=5s`);
      await new Promise((res) => setTimeout(res, 150));
      events.fire({ name: "b", payload: null, nodeFilter: "", serviceFilter: "", tagFilter: "" }); // not a match: keeps waiting
      await new Promise((res) => setTimeout(res, 150));
      const a2 = events.fire({ name: "a", payload: null, nodeFilter: "", serviceFilter: "", tagFilter: "" });
      r = await pending;
      const el = Date.now() - t0;
      assert.ok(el >= 250 && el < 4000, `answered after ${el} ms`);
      assert.is(r.headers.get("x-consul-index"), eventIndex(a2.id).toString());
      assert.is(((await r.json()) as unknown[]).length, 2);
      // Timeout answers with the current result.
      const t1 = Date.now();
      r = await fetch(`${h.base}/v1/event/list?name=a&index=${eventIndex(a2.id)}&wait=300ms`);
      assert.ok(Date.now() - t1 >= 280);
      assert.is(r.status, 200);
      r = await fetch(`${h.base}/v1/event/list?index=abc`);
      assert.is(r.status, 400);
      assert.is(await r.text(), "Invalid index");
      // A client that leaves releases its waiter.
      const ac = new AbortController();
      const gone = fetch(`${h.base}/v1/event/list?name=a&index=${eventIndex(a2.id)}&wait=10s`, { signal: ac.signal }).catch(() => undefined);
      await new Promise((res) => setTimeout(res, 100));
      assert.is(events.waiting, 1);
      ac.abort();
      await gone;
      const until = Date.now() + 2000;
      while (events.waiting > 0 && Date.now() < until) await new Promise((res) => setTimeout(res, 20));
      assert.is(events.waiting, 0);
    } finally {
      await h.close();
    }
  });
}

test.run();
