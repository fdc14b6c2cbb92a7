import { suite } from "uvu";
import * as assert from "uvu/assert";
import { request, startHarness, type Harness } from "./helpers.ts";

const tx = suite<{ h: Harness }>("txn");

tx.before.each(async (ctx) => {
  ctx.h = await startHarness();
});
tx.after.each(async (ctx) => {
  await ctx.h.close();
});

const b64 = (s: string): string => Buffer.from(s).toString("base64");

tx("write txn: 200 with Results (Value null for writes) and Errors null", async ({ h }) => {
  const body = JSON.stringify([
    { KV: { Verb: "set", Key: "a", Value: b64("1"), Flags: 7 } },
    { kv: { verb: "set", key: "b", value: b64("2") } }, // case-insensitive like Go
    { KV: { Verb: "delete", Key: "zz" } },
  ]);
  const r = await request(h.port, "/v1/txn", { method: "PUT", body });
  assert.is(r.status, 200);
  assert.is(r.headers["content-type"], "application/json");
  assert.is(
    r.text,
    '{"Results":[{"KV":{"LockIndex":0,"Key":"a","Flags":7,"Value":null,"CreateIndex":2,"ModifyIndex":2}},' +
      '{"KV":{"LockIndex":0,"Key":"b","Flags":0,"Value":null,"CreateIndex":2,"ModifyIndex":2}}],"Errors":null}',
  );
  assert.is(new TextDecoder().decode(h.backend.store.kv.get("b")?.value), "2");
  // Deletes only: no results -> null.
  const d = await request(h.port, "/v1/txn", { method: "PUT", body: '[{"KV":{"Verb":"delete","Key":"a"}}]' });
  assert.is(d.text, '{"Results":null,"Errors":null}');
});

tx("Flags above 2^53 stay exact through the body parser", async ({ h }) => {
  const body = '[{"KV":{"Verb":"set","Key":"f","Flags":18446744073709551615}}]';
  const r = await request(h.port, "/v1/txn", { method: "PUT", body });
  assert.is(r.status, 200);
  assert.is(h.backend.store.kv.get("f")?.flags, 18446744073709551615n);
  assert.ok(r.text.includes('"Flags":18446744073709551615'));
  const over = '[{"KV":{"Verb":"set","Key":"f","Flags":18446744073709551616}}]';
  const o = await request(h.port, "/v1/txn", { method: "PUT", body: over });
  assert.is(o.status, 400);
  assert.is(
    o.text,
    "Failed to parse body: json: cannot unmarshal number 18446744073709551616 into Go struct field KVTxnOp.KV.Flags of type uint64",
  );
});

tx("rolled back: 409 with Results null and Errors", async ({ h }) => {
  await request(h.port, "/v1/kv/x", { method: "PUT", body: "1" });
  const body = JSON.stringify([
    { KV: { Verb: "set", Key: "y", Value: b64("1") } },
    { KV: { Verb: "cas", Key: "x", Value: b64("2"), Index: 999 } },
  ]);
  const r = await request(h.port, "/v1/txn", { method: "PUT", body });
  assert.is(r.status, 409);
  assert.is(r.headers["content-type"], "application/json");
  assert.is(r.text, '{"Results":null,"Errors":[{"OpIndex":1,"What":"failed to set key \\"x\\", index is stale"}]}');
  assert.ok(!h.backend.store.kv.has("y"));
  const uv = await request(h.port, "/v1/txn", { method: "PUT", body: '[{"KV":{"Verb":"frob","Key":"x"}}]' });
  assert.is(uv.status, 409);
  assert.is(uv.text, '{"Results":null,"Errors":[{"OpIndex":0,"What":"unknown KV verb \\"frob\\""}]}');
});

tx("read-only txn is served from the store with consistency headers", async ({ h }) => {
  await request(h.port, "/v1/kv/x", { method: "PUT", body: "hi" });
  const body = JSON.stringify([{ KV: { Verb: "get", Key: "x" } }]);
  const r = await request(h.port, "/v1/txn?stale", { method: "PUT", body });
  assert.is(r.status, 200);
  assert.is(r.headers["x-consul-knownleader"], "true");
  assert.is(r.headers["x-consul-lastcontact"], "0");
  assert.is(r.headers["x-consul-index"], undefined);
  const j = JSON.parse(r.text) as { Results: { KV: { Value: string } }[]; Errors: null; KnownLeader: boolean };
  assert.is(j.Results[0]?.KV.Value, b64("hi"));
  assert.is(j.Errors, null);
  assert.is(j.KnownLeader, true);
  assert.equal(h.backend.barriers.at(-1), "stale");
  assert.is(h.backend.applied.length, 1, "no log entry for reads");
  const miss = await request(h.port, "/v1/txn", { method: "PUT", body: JSON.stringify([{ KV: { Verb: "get", Key: "nope" } }]) });
  assert.is(miss.status, 409);
  assert.ok(miss.text.startsWith('{"Results":null,"Errors":[{"OpIndex":0,'));
});

tx("too many operations: 413 with Consul's text", async ({ h }) => {
  const ops = Array.from({ length: 129 }, (_, i) => ({ KV: { Verb: "set", Key: `k${i}` } }));
  const r = await request(h.port, "/v1/txn", { method: "PUT", body: JSON.stringify(ops) });
  assert.is(r.status, 413);
  assert.is(r.text, "Transaction contains too many operations (129 > 128)");
  const ok = await request(h.port, "/v1/txn", { method: "PUT", body: JSON.stringify(ops.slice(0, 128)) });
  assert.is(ok.status, 200);
});

tx("malformed bodies: 400 Failed to parse body", async ({ h }) => {
  const cases: [string, string][] = [
    ["[{", "Failed to parse body: unexpected EOF"],
    ["nope", "Failed to parse body: invalid character 'o' in literal null (expecting 'u')"],
    ["{}", "Failed to parse body: json: cannot unmarshal object into Go value of type api.TxnOps"],
    ['[{"KV":{"Verb":"set","Key":1}}]', "Failed to parse body: json: cannot unmarshal number 1 into Go struct field KVTxnOp.KV.Key of type string"],
    ['[{"KV":{"Verb":"set","Key":"k","Value":"!!"}}]', "Failed to parse body: illegal base64 data at input byte 0"],
    ["", "Failed to parse body: EOF"],
  ];
  for (const [body, want] of cases) {
    const r = await request(h.port, "/v1/txn", { method: "PUT", body });
    assert.is(r.status, 400, body);
    assert.is(r.text, want, body);
  }
  // Node/Service/Check ops are decoded now (tests/http/catalog_txn.test.ts runs them on a real store).
  const node = await request(h.port, "/v1/txn", { method: "PUT", body: '[{"Node":{"Verb":"get","Node":{"Node":7}}}]' });
  assert.is(node.status, 400);
  assert.is(node.text, "Failed to parse body: json: cannot unmarshal number 7 into Go struct field NodeTxnOp.Node.Node of type string");
});

tx("oversized txn bodies and values: 413", async () => {
  const h = await startHarness({ limits: { kvMaxValueSize: 100, txnMaxReqLen: 1000 } });
  try {
    const big = JSON.stringify([{ KV: { Verb: "set", Key: "k", Value: b64("x".repeat(2000)) } }]);
    const r = await request(h.port, "/v1/txn", { method: "PUT", body: big });
    assert.is(r.status, 413);
    assert.match(r.text, /^Request body\(\d+ bytes\) too large, max size: 1000 bytes\. See https:\/\/.*txn_max_req_len\.$/);
    const chunked = await request(h.port, "/v1/txn", { method: "PUT", body: big, headers: { "Transfer-Encoding": "chunked" } });
    assert.is(chunked.status, 413);
    assert.match(chunked.text, /^Request body too large, max size: 1000 bytes\./);
    const val = JSON.stringify([{ KV: { Verb: "set", Key: "k", Value: b64("x".repeat(101)) } }]);
    const v = await request(h.port, "/v1/txn", { method: "PUT", body: val });
    assert.is(v.status, 413);
    assert.is(v.text, 'Value for key "k" is too large (101 > 100 bytes)');
  } finally {
    await h.close();
  }
});

tx.run();
