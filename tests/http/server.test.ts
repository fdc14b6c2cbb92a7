import { suite } from "uvu";
import * as assert from "uvu/assert";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import fs from "node:fs";
import { gunzipSync } from "node:zlib";
import { fakeAgent, request, sleep, startHarness, until, type Harness } from "./helpers.ts";

const sv = suite<{ h: Harness }>("server");

sv.before.each(async (ctx) => {
  ctx.h = await startHarness({ responseHeaders: { "access-control-allow-origin": "*" } });
});
sv.after.each(async (ctx) => {
  await ctx.h.close();
});

/** Send raw bytes on a fresh socket and collect everything until the server closes or `ms` pass. */
function raw(port: number, data: string, ms = 1000): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    let out = "";
    s.on("data", (d) => (out += d.toString()));
    s.on("error", () => {});
    const t = setTimeout(() => {
      s.destroy();
      resolve(out);
    }, ms);
    s.on("close", () => {
      clearTimeout(t);
      resolve(out);
    });
    s.write(data);
  });
}

sv("wrong method: 405 with Allow; OPTIONS: 200 with Allow only", async ({ h }) => {
  const r = await request(h.port, "/v1/txn", { method: "GET" });
  assert.is(r.status, 405);
  assert.is(r.headers.allow, "OPTIONS,PUT");
  assert.is(r.text, "method GET not allowed");
  const k = await request(h.port, "/v1/kv/x", { method: "POST", body: "" });
  assert.is(k.status, 405);
  assert.is(k.headers.allow, "OPTIONS,GET,PUT,DELETE");
  const o = await request(h.port, "/v1/kv/x", { method: "OPTIONS" });
  assert.is(o.status, 200);
  assert.is(o.headers.allow, "OPTIONS,GET,PUT,DELETE");
  assert.is(o.body.length, 0);
  const s = await request(h.port, "/v1/status/leader", { method: "PUT" });
  assert.is(s.status, 405);
  assert.is(s.headers.allow, "OPTIONS,GET");
});

sv("unknown paths: 404", async ({ h }) => {
  const a = await request(h.port, "/v1/nope");
  assert.is(a.status, 404);
  assert.is(a.text, "Invalid URL path: not a recognized HTTP API endpoint\n");
  assert.is(a.headers["x-consul-default-acl-policy"], undefined, "Index is not a wrapped endpoint");
  assert.is(a.headers["access-control-allow-origin"], "*");
  const b = await request(h.port, "/favicon.ico");
  assert.is(b.status, 404);
  assert.is(b.text, "Invalid URL path: if attempting to use the HTTP API, ensure the path starts with '/v1/'\n");
  const root = await request(h.port, "/");
  assert.is(root.status, 200);
  assert.match(root.text, /^Consul Agent: UI disabled/);
});

sv("common headers: ACL policy, configured headers, Vary", async ({ h }) => {
  const r = await request(h.port, "/v1/status/leader");
  assert.is(r.headers["x-consul-default-acl-policy"], "allow");
  assert.is(r.headers["access-control-allow-origin"], "*");
  assert.is(r.headers.vary, "Accept-Encoding");
  const e = await request(h.port, "/v1/kv/");
  assert.is(e.headers["access-control-allow-origin"], "*");
  assert.is(e.headers["content-type"], "text/plain; charset=utf-8");
});

sv("pretty output like json.MarshalIndent plus newline; prettyByDefault", async ({ h }) => {
  await request(h.port, "/v1/kv/p", { method: "PUT", body: "v", headers: {} });
  const r = await request(h.port, "/v1/kv/p?pretty");
  assert.is(
    r.text,
    '[\n    {\n        "LockIndex": 0,\n        "Key": "p",\n        "Flags": 0,\n        "Value": "dg==",\n        "CreateIndex": 2,\n        "ModifyIndex": 2\n    }\n]\n',
  );
  const h2 = await startHarness({ agent: fakeAgent({ prettyByDefault: true }) });
  try {
    const p = await request(h2.port, "/v1/status/peers");
    assert.is(p.text, '[\n    "127.0.0.1:8300"\n]\n');
  } finally {
    await h2.close();
  }
});

sv("gzip when the client accepts it and the body reaches gziphandler's 1400-byte minimum", async ({ h }) => {
  await request(h.port, "/v1/kv/small", { method: "PUT", body: "tiny" });
  const small = await request(h.port, "/v1/kv/small", { headers: { "Accept-Encoding": "gzip" } });
  assert.is(small.headers["content-encoding"], undefined);
  assert.is(small.headers.vary, "Accept-Encoding");
  await request(h.port, "/v1/kv/g", { method: "PUT", body: "x".repeat(1500) });
  const r = await request(h.port, "/v1/kv/g", { headers: { "Accept-Encoding": "gzip, deflate" } });
  assert.is(r.headers["content-encoding"], "gzip");
  const text = gunzipSync(r.body).toString();
  assert.ok(text.startsWith('[{"LockIndex":0,"Key":"g"'));
  const rp = await request(h.port, "/v1/kv/g?pretty", { headers: { "Accept-Encoding": "gzip" } });
  assert.ok(gunzipSync(rp.body).toString().endsWith("]\n"));
  const raw0 = await request(h.port, "/v1/kv/g?raw", { headers: { "Accept-Encoding": "gzip" } });
  assert.is(gunzipSync(raw0.body).toString(), "x".repeat(1500));
  const no = await request(h.port, "/v1/kv/g", { headers: { "Accept-Encoding": "gzip;q=0" } });
  assert.is(no.headers["content-encoding"], undefined);
  const nf = await request(h.port, "/v1/kv/none", { headers: { "Accept-Encoding": "gzip" } });
  assert.is(nf.status, 404);
  assert.is(nf.headers["content-encoding"], undefined);
});

sv("status endpoints", async ({ h }) => {
  const l = await request(h.port, "/v1/status/leader");
  assert.is(l.text, '"127.0.0.1:8300"');
  assert.is(l.headers["content-type"], "application/json");
  const p = await request(h.port, "/v1/status/peers");
  assert.is(p.text, '["127.0.0.1:8300"]');
  h.backend.hasLeader = false;
  assert.is((await request(h.port, "/v1/status/leader")).text, '""');
  const dc = await request(h.port, "/v1/status/leader?dc=elsewhere");
  assert.is(dc.status, 500);
  assert.is(dc.text, "No path to datacenter");
});

sv("agent self and members", async ({ h }) => {
  const s = await request(h.port, "/v1/agent/self");
  assert.is(s.status, 200);
  assert.ok(
    s.text.startsWith(
      '{"Config":{"BuildDate":"2026-11-01T00:00:00Z","Datacenter":"dc1","NodeID":"6e2d1f1a-0000-4000-8000-000000000001",' +
        '"NodeName":"node1","Partition":"","PrimaryDatacenter":"dc1","Revision":"abc123","Server":true,"Version":"1.21.5"}',
    ),
    s.text,
  );
  const j = JSON.parse(s.text) as Record<string, unknown>;
  assert.equal(j.DebugConfig, { Datacenter: "dc1", NodeName: "node1" });
  assert.equal(j.Coord, { Vec: [0, 0, 0, 0, 0, 0, 0, 0], Error: 1.5, Adjustment: 0, Height: 0.00001 });
  assert.ok(typeof j.Stats === "object" && j.Stats !== null && "consul" in j.Stats);
  const m = await request(h.port, "/v1/agent/members");
  assert.is(
    m.text,
    '[{"Name":"node1","Addr":"127.0.0.1","Port":8301,"Tags":{"dc":"dc1","role":"consul"},"Status":1,' +
      '"ProtocolMin":1,"ProtocolMax":5,"ProtocolCur":2,"DelegateMin":2,"DelegateMax":5,"DelegateCur":4}]',
  );
  // Consul: `wan` counts only with a value; WAN members without a WAN pool are Go's nil list.
  assert.is((await request(h.port, "/v1/agent/members?wan")).text, m.text);
  assert.is((await request(h.port, "/v1/agent/members?wan=1")).text, "null");
});

sv("agent metrics: JSON and Prometheus", async ({ h }) => {
  h.metrics.incr("consul.kvs.apply", 2);
  h.metrics.setGauge("consul.runtime.alloc_bytes", 1024);
  h.metrics.sample("consul.raft.commitTime", 3);
  h.metrics.sample("consul.raft.commitTime", 5);
  const r = await request(h.port, "/v1/agent/metrics");
  assert.is(r.status, 200);
  const j = JSON.parse(r.text) as {
    Timestamp: string;
    Gauges: { Name: string; Value: number; Labels: object }[];
    Points: unknown[];
    Counters: { Name: string; Count: number; Sum: number }[];
    Samples: { Name: string; Count: number; Mean: number; Min: number; Max: number }[];
  };
  assert.match(j.Timestamp, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 UTC$/);
  assert.equal(j.Gauges.find((g) => g.Name === "consul.runtime.alloc_bytes"), { Name: "consul.runtime.alloc_bytes", Value: 1024, Labels: {} });
  assert.equal(j.Points, []);
  assert.is(j.Counters.find((c) => c.Name === "consul.kvs.apply")?.Sum, 2);
  const s = j.Samples.find((x) => x.Name === "consul.raft.commitTime");
  assert.is(s?.Mean, 4);
  assert.is(s?.Min, 3);
  assert.is(s?.Max, 5);
  const p = await request(h.port, "/v1/agent/metrics?format=prometheus");
  assert.match(p.headers["content-type"] ?? "", /^text\/plain; version=0\.0\.4/);
  assert.ok(p.text.includes("# TYPE consul_kvs_apply counter\nconsul_kvs_apply 2\n"), p.text);
  assert.ok(p.text.includes("consul_runtime_alloc_bytes 1024\n"));
  assert.ok(p.text.includes("consul_raft_commitTime_count 2\n"));
});

sv("garbage and half-sent requests never crash the server", async ({ h }) => {
  const g = await raw(h.port, "THIS IS NOT HTTP\r\n\r\n");
  assert.match(g, /^HTTP\/1\.1 400/);
  // Half a body, then the client vanishes.
  const s = net.connect(h.port, "127.0.0.1");
  s.on("error", () => {});
  await new Promise<void>((r) => s.on("connect", () => r()));
  s.write("PUT /v1/kv/half HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nabc");
  await sleep(50);
  s.destroy();
  // Half a txn body too.
  const t = net.connect(h.port, "127.0.0.1");
  t.on("error", () => {});
  await new Promise<void>((r) => t.on("connect", () => r()));
  t.write("PUT /v1/txn HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n[{\"KV");
  await sleep(50);
  t.destroy();
  await sleep(50);
  assert.ok(!h.backend.store.kv.has("half"));
  assert.is(h.backend.applied.length, 0);
  const ok = await request(h.port, "/v1/status/leader");
  assert.is(ok.status, 200);
  assert.ok(await until(() => h.server.stats().connections === 0));
});

sv("oversized body is refused without reading it all", async () => {
  const h = await startHarness({ limits: { kvMaxValueSize: 1024, txnMaxReqLen: 1024 } });
  try {
    // Declares 100 MB, sends a little: the server answers 413 at once and closes.
    const out = await raw(h.port, "PUT /v1/kv/big HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\nabc", 2000);
    assert.match(out, /^HTTP\/1\.1 413/);
    assert.match(out, /Request body\(100000000 bytes\) too large, max size: 1024 bytes/);
  } finally {
    await h.close();
  }
});

sv("connection cap and close() with idle keep-alive sockets", async () => {
  const h = await startHarness({ maxConnections: 3 });
  const socks: net.Socket[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const s = net.connect(h.port, "127.0.0.1");
      s.on("error", () => {});
      socks.push(s);
    }
    assert.ok(await until(() => h.server.stats().connections === 3));
    const extra = await raw(h.port, "GET /v1/status/leader HTTP/1.1\r\nHost: x\r\n\r\n", 500);
    assert.is(extra, "", "refused beyond the cap");
    const t0 = Date.now();
    await h.close();
    assert.ok(Date.now() - t0 < 2000, "idle sockets do not hold close()");
    assert.is(h.server.stats().connections, 0);
  } finally {
    for (const s of socks) s.destroy();
  }
});

sv("unix socket listener", async () => {
  const sock = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "cairn-http-")), "http.sock");
  const h = await startHarness({ port: -1, socketPath: sock });
  try {
    assert.is(h.server.address(), sock);
    const r = await request(0, "/v1/status/leader", { socketPath: sock });
    assert.is(r.text, '"127.0.0.1:8300"');
  } finally {
    await h.close();
    fs.rmSync(path.dirname(sock), { recursive: true, force: true });
  }
});

sv.run();
