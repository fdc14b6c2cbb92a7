import { suite } from "uvu";
import * as assert from "uvu/assert";
import { request, startHarness, type Harness } from "./helpers.ts";

const kv = suite<{ h: Harness }>("kv");

kv.before.each(async (ctx) => {
  ctx.h = await startHarness();
});
kv.after.each(async (ctx) => {
  await ctx.h.close();
});

kv("PUT then GET returns Consul's entry JSON byte-exact, with headers", async ({ h }) => {
  const put = await request(h.port, "/v1/kv/web/cfg?flags=42", { method: "PUT", body: "hello" });
  assert.is(put.status, 200);
  assert.is(put.text, "true");
  assert.is(put.headers["content-type"], "application/json");
  assert.is(put.headers["x-consul-default-acl-policy"], "allow");
  const get = await request(h.port, "/v1/kv/web/cfg");
  assert.is(get.status, 200);
  assert.is(get.text, '[{"LockIndex":0,"Key":"web/cfg","Flags":42,"Value":"aGVsbG8=","CreateIndex":2,"ModifyIndex":2}]');
  assert.is(get.headers["x-consul-index"], "2");
  assert.is(get.headers["x-consul-knownleader"], "true");
  assert.is(get.headers["x-consul-lastcontact"], "0");
  assert.is(get.headers["x-consul-effective-consistency"], "leader");
  assert.is(get.headers["x-consul-query-backend"], "blocking-query");
  assert.is(get.headers["content-type"], "application/json");
});

kv("flags 2^64-1 round trip; out of range is Consul's 500 strconv error", async ({ h }) => {
  const put = await request(h.port, "/v1/kv/f?flags=18446744073709551615", { method: "PUT", body: "" });
  assert.is(put.status, 200);
  const get = await request(h.port, "/v1/kv/f");
  assert.ok(get.text.includes('"Flags":18446744073709551615,"Value":null'), get.text);
  const bad = await request(h.port, "/v1/kv/f?flags=18446744073709551616", { method: "PUT", body: "" });
  assert.is(bad.status, 500);
  assert.is(bad.text, 'strconv.ParseUint: parsing "18446744073709551616": value out of range');
  const bad2 = await request(h.port, "/v1/kv/f?cas=x", { method: "PUT", body: "" });
  assert.is(bad2.status, 500);
  assert.is(bad2.text, 'strconv.ParseUint: parsing "x": invalid syntax');
});

kv("missing key: 404 with empty body and index headers (never 0)", async ({ h }) => {
  const r = await request(h.port, "/v1/kv/nope");
  assert.is(r.status, 404);
  assert.is(r.body.length, 0);
  assert.is(r.headers["x-consul-index"], "1");
  assert.is(r.headers["x-consul-knownleader"], "true");
  h.backend.store.kvIndex = 0; // a store reporting 0 must still give 1
  const r2 = await request(h.port, "/v1/kv/nope");
  assert.is(r2.headers["x-consul-index"], "1");
});

kv("raw returns the bare value with hardening headers", async ({ h }) => {
  await request(h.port, "/v1/kv/r", { method: "PUT", body: "<b>x</b>" });
  const r = await request(h.port, "/v1/kv/r?raw");
  assert.is(r.status, 200);
  assert.is(r.text, "<b>x</b>");
  assert.is(r.headers["content-type"], "text/plain");
  assert.is(r.headers["x-content-type-options"], "nosniff");
  assert.is(r.headers["content-security-policy"], "sandbox");
  assert.is(r.headers["x-consul-index"], "2");
});

kv("recurse, keys, separator (and seperator), root keys []", async ({ h }) => {
  const root = await request(h.port, "/v1/kv/?keys");
  assert.is(root.status, 200);
  assert.is(root.text, "[]");
  const none = await request(h.port, "/v1/kv/x?keys");
  assert.is(none.status, 404);
  for (const k of ["a/1", "a/b/2", "a/b/3", "c"]) await request(h.port, "/v1/kv/" + k, { method: "PUT", body: k });
  const keys = await request(h.port, "/v1/kv/a/?keys&separator=/");
  assert.is(keys.text, '["a/1","a/b/"]');
  const keys2 = await request(h.port, "/v1/kv/?keys&seperator=/");
  assert.is(keys2.text, '["a/","c"]');
  const all = await request(h.port, "/v1/kv/a?recurse");
  const parsed = JSON.parse(all.text) as { Key: string }[];
  assert.equal(parsed.map((e) => e.Key), ["a/1", "a/b/2", "a/b/3"]);
  assert.is(all.headers["x-consul-index"], "4");
  const empty = await request(h.port, "/v1/kv/zzz?recurse");
  assert.is(empty.status, 404);
  const whole = await request(h.port, "/v1/kv/?recurse");
  assert.is((JSON.parse(whole.text) as unknown[]).length, 4);
});

kv("Missing key name; conflicting flags; key validation", async ({ h }) => {
  const g = await request(h.port, "/v1/kv/");
  assert.is(g.status, 400);
  assert.is(g.text, "Missing key name");
  const p = await request(h.port, "/v1/kv/", { method: "PUT", body: "x" });
  assert.is(p.status, 400);
  assert.is(p.text, "Missing key name");
  const d = await request(h.port, "/v1/kv/", { method: "DELETE" });
  assert.is(d.status, 400);
  assert.is(d.text, "Missing key name");
  const c = await request(h.port, "/v1/kv/k?cas=1&acquire=abc", { method: "PUT", body: "x" });
  assert.is(c.status, 400);
  assert.is(c.text, "Conflicting flags: acquire=abc&cas=1\n");
  const c2 = await request(h.port, "/v1/kv/k?recurse&cas=0", { method: "DELETE" });
  assert.is(c2.status, 400);
  assert.is(c2.text, "Conflicting flags: cas=0&recurse=\n");
  const v = await request(h.port, "/v1/kv/%20lead", { method: "PUT", body: "x" });
  assert.is(v.status, 400);
  const t = await request(h.port, "/v1/kv/a/..%252fb", { method: "GET" });
  assert.is(t.status, 400);
  assert.is(t.text, "key contains encoded path traversal sequence");
  const ok = await request(h.port, "/v1/kv/sp%20ace/%C3%A7:x", { method: "PUT", body: "x" });
  assert.is(ok.status, 200);
  assert.ok(h.backend.store.kv.has("sp ace/ç:x"));
});

kv("key validation can be disabled", async () => {
  const h = await startHarness({ disableKvKeyValidation: true });
  try {
    const v = await request(h.port, "/v1/kv/%20lead", { method: "PUT", body: "x" });
    assert.is(v.status, 200);
    assert.ok(h.backend.store.kv.has(" lead"));
  } finally {
    await h.close();
  }
});

kv("CAS and delete variants answer true/false", async ({ h }) => {
  const c0 = await request(h.port, "/v1/kv/c?cas=0", { method: "PUT", body: "1" });
  assert.is(c0.text, "true");
  const c0b = await request(h.port, "/v1/kv/c?cas=0", { method: "PUT", body: "2" });
  assert.is(c0b.text, "false");
  const idx = h.backend.store.kv.get("c")?.modifyIndex ?? 0;
  const c1 = await request(h.port, `/v1/kv/c?cas=${idx}`, { method: "PUT", body: "3" });
  assert.is(c1.text, "true");
  const dcas = await request(h.port, "/v1/kv/c?cas=1", { method: "DELETE" });
  assert.is(dcas.text, "false");
  const del = await request(h.port, "/v1/kv/c", { method: "DELETE" });
  assert.is(del.text, "true");
  assert.ok(!h.backend.store.kv.has("c"));
  await request(h.port, "/v1/kv/t/1", { method: "PUT", body: "x" });
  await request(h.port, "/v1/kv/t/2", { method: "PUT", body: "x" });
  const tree = await request(h.port, "/v1/kv/t/?recurse", { method: "DELETE" });
  assert.is(tree.text, "true");
  assert.is(h.backend.store.kv.size, 0);
});

kv("acquire/release go through the log as kv-lock/kv-unlock; FSM errors are 500", async ({ h }) => {
  const a = await request(h.port, "/v1/kv/l?acquire=abc", { method: "PUT", body: "x" });
  assert.is(a.status, 500);
  assert.is(a.text, 'invalid session "abc"');
  const r = await request(h.port, "/v1/kv/l?release=", { method: "PUT", body: "x" });
  assert.is(r.status, 500);
  assert.is(r.text, "missing session");
  h.backend.sessions.add("s1");
  h.backend.sessions.add("s2");
  const ok = await request(h.port, "/v1/kv/l?acquire=s1&flags=3", { method: "PUT", body: "x" });
  assert.is(ok.text, "true");
  const busy = await request(h.port, "/v1/kv/l?acquire=s2", { method: "PUT", body: "y" });
  assert.is(busy.text, "false");
  const g = await request(h.port, "/v1/kv/l");
  assert.ok(g.text.includes('"LockIndex":1,"Key":"l","Flags":3,"Value":"eA==","Session":"s1"'), g.text);
  const rel = await request(h.port, "/v1/kv/l?release=s1", { method: "PUT", body: "z" });
  assert.is(rel.text, "true");
  assert.equal(
    h.backend.applied.map((c) => c.type),
    ["kv-lock", "kv-unlock", "kv-lock", "kv-lock", "kv-unlock"],
  );
});

kv("oversized value: 413 with Consul's text, by Content-Length and by chunked stream", async () => {
  const h = await startHarness({ limits: { kvMaxValueSize: 1024, txnMaxReqLen: 1024 } });
  try {
    const r = await request(h.port, "/v1/kv/big", { method: "PUT", body: Buffer.alloc(2000, 97) });
    assert.is(r.status, 413);
    assert.is(
      r.text,
      "Request body(2000 bytes) too large, max size: 1024 bytes. See https://developer.hashicorp.com/docs/agent/config/config-files#kv_max_value_size.",
    );
    // Chunked: no Content-Length; the server stops reading past the limit.
    const r2 = await request(h.port, "/v1/kv/big", {
      method: "PUT",
      body: Buffer.alloc(1500, 97),
      headers: { "Transfer-Encoding": "chunked" },
    });
    assert.is(r2.status, 413);
    assert.match(r2.text, /^Request body\(\d+ bytes\) too large, max size: 1024 bytes/);
    const ok = await request(h.port, "/v1/kv/big", { method: "PUT", body: Buffer.alloc(1024, 97) });
    assert.is(ok.status, 200);
  } finally {
    await h.close();
  }
});

kv("consistency modes: headers, barrier, conflicts, no leader, dc", async ({ h }) => {
  await request(h.port, "/v1/kv/k", { method: "PUT", body: "v" });
  const s = await request(h.port, "/v1/kv/k?stale");
  assert.is(s.headers["x-consul-effective-consistency"], "stale");
  const c = await request(h.port, "/v1/kv/k?consistent");
  assert.is(c.headers["x-consul-effective-consistency"], "consistent");
  assert.equal(h.backend.barriers.slice(-2), ["stale", "consistent"]);
  const both = await request(h.port, "/v1/kv/k?stale&consistent");
  assert.is(both.status, 400);
  assert.is(both.text, "Cannot specify ?stale with ?consistent, conflicting semantics.");
  const ms = await request(h.port, "/v1/kv/k?max_stale=bogus");
  assert.is(ms.status, 400);
  assert.is(ms.text, 'Invalid max_stale value "bogus"');
  const bi = await request(h.port, "/v1/kv/k?index=abc");
  assert.is(bi.status, 400);
  assert.is(bi.text, "Invalid index");
  const bw = await request(h.port, "/v1/kv/k?index=1&wait=10");
  assert.is(bw.status, 400);
  assert.is(bw.text, "Invalid wait time");
  const dc = await request(h.port, "/v1/kv/k?dc=dc2");
  assert.is(dc.status, 500);
  assert.is(dc.text, "No path to datacenter");
  const dcok = await request(h.port, "/v1/kv/k?dc=dc1");
  assert.is(dcok.status, 200);
  h.backend.hasLeader = false;
  h.backend.lastContactMs = 1234.7;
  const nl = await request(h.port, "/v1/kv/k");
  assert.is(nl.status, 500);
  assert.is(nl.text, "No cluster leader");
  const st = await request(h.port, "/v1/kv/k?stale");
  assert.is(st.status, 200);
  assert.is(st.headers["x-consul-knownleader"], "false");
  assert.is(st.headers["x-consul-lastcontact"], "1234");
  const w = await request(h.port, "/v1/kv/k", { method: "PUT", body: "v" });
  assert.is(w.status, 500);
  assert.is(w.text, "No cluster leader");
});

kv("keys with any UTF-8 and escapes are decoded like Go", async ({ h }) => {
  const put = await request(h.port, "/v1/kv/%E2%82%AC/%3Fq%26%23", { method: "PUT", body: "x" });
  assert.is(put.status, 200);
  assert.ok(h.backend.store.kv.has("€/?q&#"));
  const get = await request(h.port, "/v1/kv/%E2%82%AC/%3Fq%26%23");
  assert.ok(get.text.includes('"Key":"€/?q\\u0026#"'), get.text);
  const bad = await request(h.port, "/v1/kv/%zz");
  assert.is(bad.status, 400);
  // Unclean paths redirect like Go's ServeMux; /v1/kv redirects to /v1/kv/.
  const dbl = await request(h.port, "/v1/kv/a//b?raw");
  assert.is(dbl.status, 301);
  assert.is(dbl.headers.location, "/v1/kv/a/b?raw");
  const bare = await request(h.port, "/v1/kv?keys");
  assert.is(bare.status, 301);
  assert.is(bare.headers.location, "/v1/kv/?keys");
});

kv.run();
