import { suite } from "uvu";
import * as assert from "uvu/assert";
import net from "node:net";
import { sleep, startHarness, until, type Harness } from "./helpers.ts";

/** The wire transport over raw sockets; short client timeouts so slow clients are quick to test. */
const ws = suite<{ h: Harness }>("wire transport");

ws.before.each(async (ctx) => {
  ctx.h = await startHarness({
    transport: "wire",
    timeouts: { headersMs: 300, requestMs: 600, keepAliveMs: 800 },
  });
});
ws.after.each(async (ctx) => {
  await ctx.h.close();
});

interface RawRes {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

/** Split a response stream; `noBody[i]` marks responses to HEAD requests. */
function parseResponses(buf: Buffer, noBody: readonly boolean[] = []): RawRes[] {
  const out: RawRes[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const end = buf.indexOf("\r\n\r\n", pos, "latin1");
    if (end < 0) break;
    const lines = buf.toString("latin1", pos, end).split("\r\n");
    const status = Number((lines[0] ?? "").split(" ")[1]);
    const headers: Record<string, string> = {};
    for (const l of lines.slice(1)) {
      const i = l.indexOf(":");
      headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
    }
    let len = status === 100 || noBody[out.length] === true ? 0 : Number(headers["content-length"] ?? "0");
    if (status === 100) {
      pos = end + 4;
      out.push({ status, headers, body: Buffer.alloc(0) });
      continue;
    }
    if (end + 4 + len > buf.length) break;
    out.push({ status, headers, body: buf.subarray(end + 4, end + 4 + len) });
    pos = end + 4 + len;
    len = 0;
  }
  return out;
}

class Raw {
  readonly s: net.Socket;
  buf = Buffer.alloc(0);
  closed = false;
  /** Keep received bytes in `buf` (off for bulk reads). */
  keep = true;

  constructor(port: number) {
    this.s = net.connect(port, "127.0.0.1");
    this.s.on("data", (d: Buffer) => {
      if (this.keep) this.buf = Buffer.concat([this.buf, d]);
    });
    this.s.on("error", () => {});
    this.s.on("close", () => (this.closed = true));
  }

  static async open(port: number): Promise<Raw> {
    const r = new Raw(port);
    await new Promise<void>((res) => r.s.once("connect", () => res()));
    return r;
  }

  send(text: string | Buffer): void {
    this.s.write(text);
  }

  async responses(n: number, noBody: readonly boolean[] = [], ms = 3000): Promise<RawRes[]> {
    await until(() => parseResponses(this.buf, noBody).length >= n || this.closed, ms);
    return parseResponses(this.buf, noBody);
  }

  destroy(): void {
    this.s.destroy();
  }
}

const GET = (path: string, extra = ""): string => `GET ${path} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`;

ws("pipelined requests are answered strictly in order, even when the first one parks", async ({ h }) => {
  h.backend.store.kv.size; // store exists
  const put = await Raw.open(h.port);
  put.send("PUT /v1/kv/k HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nv1");
  const [p] = await put.responses(1);
  assert.is(p?.status, 200);
  const idx = Number(
    (await (async () => {
      const c = await Raw.open(h.port);
      c.send(GET("/v1/kv/k"));
      const [r] = await c.responses(1);
      c.destroy();
      return r?.headers["x-consul-index"];
    })()) ?? "0",
  );
  const c = await Raw.open(h.port);
  // 1: parks ~100 ms; 2: answers at once; 3: 404; 4: OPTIONS.
  c.send(
    GET(`/v1/kv/k?index=${idx}&wait=100ms`) + GET("/v1/status/leader") + GET("/v1/kv/missing") + "OPTIONS /v1/kv/k HTTP/1.1\r\nHost: x\r\n\r\n",
  );
  const rs = await c.responses(4);
  assert.equal(
    rs.map((r) => r.status),
    [200, 200, 404, 200],
  );
  assert.match(rs[0]?.body.toString() ?? "", /"Key":"k"/);
  assert.is(rs[1]?.body.toString(), '"127.0.0.1:8300"');
  assert.is(rs[3]?.headers.allow, "OPTIONS,GET,PUT,DELETE");
  assert.not.ok(c.closed, "keep-alive by default on HTTP/1.1");
  c.destroy();
  put.destroy();
});

ws("keep-alive vs Connection: close; HTTP/1.0 closes unless keep-alive is asked", async ({ h }) => {
  const a = await Raw.open(h.port);
  a.send(GET("/v1/status/leader"));
  await a.responses(1);
  a.send(GET("/v1/status/leader", "Connection: close\r\n"));
  const rs = await a.responses(2);
  assert.is(rs.length, 2);
  assert.is(rs[1]?.headers.connection, "close");
  assert.ok(await until(() => a.closed), "closed after Connection: close");

  const b = await Raw.open(h.port);
  b.send("GET /v1/status/leader HTTP/1.0\r\n\r\n");
  const [r0] = await b.responses(1);
  assert.is(r0?.status, 200);
  assert.is(r0?.headers.connection, "close");
  assert.ok(await until(() => b.closed), "HTTP/1.0 closes by default");

  const c = await Raw.open(h.port);
  c.send("GET /v1/status/leader HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  const [r1] = await c.responses(1);
  assert.is(r1?.headers.connection, "keep-alive");
  c.send("GET /v1/status/peers HTTP/1.0\r\n\r\n");
  const rs2 = await c.responses(2);
  assert.is(rs2[1]?.body.toString(), '["127.0.0.1:8300"]');
  assert.ok(await until(() => c.closed));
});

ws("HEAD has Content-Length and no body; Date and canonical Consul header names", async ({ h }) => {
  const c = await Raw.open(h.port);
  c.send("PUT /v1/kv/h HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
  await c.responses(1);
  c.send("HEAD /v1/kv/h HTTP/1.1\r\nHost: x\r\n\r\n" + GET("/v1/kv/h"));
  const rs = await c.responses(3, [false, true, false]);
  assert.is(rs.length, 3);
  const head = rs[1] as RawRes;
  const get = rs[2] as RawRes;
  // No route allows HEAD (as in Consul): 405 with its text's length, and no body bytes.
  assert.is(head.status, 405);
  assert.is(head.body.length, 0);
  assert.is(head.headers["content-length"], String("method HEAD not allowed".length));
  assert.is(get.status, 200);
  assert.ok(get.body.length > 0);
  const text = c.buf.toString("latin1");
  assert.match(text, /\r\nX-Consul-Index: \d+\r\n/);
  assert.match(text, /\r\nX-Consul-Default-Acl-Policy: allow\r\n|\r\nX-Consul-Default-ACL-Policy: allow\r\n/);
  assert.match(text, /\r\nDate: \w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT\r\n/);
  // Exactly the bytes of three responses: no stray HEAD body.
  const headBytes = c.buf.indexOf("\r\n\r\n", c.buf.indexOf("HTTP/1.1 405"), "latin1") + 4;
  assert.is(c.buf.toString("latin1", headBytes, headBytes + 8), "HTTP/1.1", "the next response follows the HEAD head at once");
  c.destroy();
});

ws("chunked request bodies (Go's client) and Expect: 100-continue", async ({ h }) => {
  const c = await Raw.open(h.port);
  c.send("PUT /v1/kv/ch HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\n");
  const [r] = await c.responses(1);
  assert.is(r?.status, 200);
  assert.is(Buffer.from(h.backend.store.kv.get("ch")?.value ?? new Uint8Array()).toString(), "abcde");

  c.send("PUT /v1/kv/ex HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
  const rs = await c.responses(2);
  assert.is(rs[1]?.status, 100, "100 Continue before the body is sent");
  c.send("wxyz");
  const rs2 = await c.responses(3);
  assert.is(rs2[2]?.status, 200);
  assert.is(Buffer.from(h.backend.store.kv.get("ex")?.value ?? new Uint8Array()).toString(), "wxyz");
  c.destroy();
});

ws("Expect: 100-continue over the limit: 413 at once, no 100, connection closed", async () => {
  const h = await startHarness({ transport: "wire", limits: { kvMaxValueSize: 1024, txnMaxReqLen: 1024 } });
  try {
    const c = await Raw.open(h.port);
    c.send("PUT /v1/kv/big HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n");
    const rs = await c.responses(1);
    assert.is(rs[0]?.status, 413);
    assert.not.match(c.buf.toString(), /100 Continue/);
    assert.ok(await until(() => c.closed));
  } finally {
    await h.close();
  }
});

ws("bad framing -> 400 and close; oversized headers -> 431", async ({ h }) => {
  const a = await Raw.open(h.port);
  a.send("PUT /v1/kv/x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc");
  const [r] = await a.responses(1);
  assert.is(r?.status, 400);
  assert.ok(await until(() => a.closed));
  assert.not.ok(h.backend.store.kv.has("x"));

  const b = await Raw.open(h.port);
  b.send("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + "a".repeat(70 * 1024) + "\r\n\r\n");
  const [r2] = await b.responses(1);
  assert.is(r2?.status, 431);
  assert.ok(await until(() => b.closed));
});

ws("slowloris: headers not finished in time -> 408 and close; idle keep-alive closes", async ({ h }) => {
  const c = await Raw.open(h.port);
  c.send("GET /v1/status/leader HTTP/1.1\r\nHost: x\r\n");
  const t0 = Date.now();
  assert.ok(await until(() => c.closed, 3000), "closed");
  assert.match(c.buf.toString(), /^HTTP\/1\.1 408/);
  assert.ok(Date.now() - t0 < 2000);

  const i = await Raw.open(h.port);
  i.send(GET("/v1/status/leader"));
  await i.responses(1);
  assert.ok(await until(() => i.closed, 3000), "idle keep-alive closed");
  // A connection that never sends a byte is closed too.
  const n = await Raw.open(h.port);
  assert.ok(await until(() => n.closed, 3000));
  assert.ok(await until(() => h.server.stats().connections === 0));
});

ws("half-sent body then close, or a body too slow, never crash and cost nothing after", async ({ h }) => {
  for (let i = 0; i < 5; i++) {
    const c = await Raw.open(h.port);
    c.send("PUT /v1/kv/half HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nabc");
    await sleep(10);
    c.destroy();
  }
  const c = await Raw.open(h.port);
  c.send("PUT /v1/txn HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n[{\"KV");
  c.s.end();
  const slow = await Raw.open(h.port);
  slow.send("PUT /v1/kv/slow HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab");
  assert.ok(await until(() => slow.closed, 3000), "request timeout closes a slow body");
  assert.ok(await until(() => h.server.stats().connections === 0));
  assert.not.ok(h.backend.store.kv.has("half"));
  assert.not.ok(h.backend.store.kv.has("slow"));
  assert.is(h.backend.applied.length, 0);
  const ok = await Raw.open(h.port);
  ok.send(GET("/v1/status/leader"));
  assert.is((await ok.responses(1))[0]?.status, 200);
  ok.destroy();
});

ws("a client that never reads its responses gets paused, then catches up", async () => {
  const h = await startHarness({ transport: "wire" });
  try {
    await neverReads(h);
  } finally {
    await h.close();
  }
});

async function neverReads(h: Harness): Promise<void> {
  const value = Buffer.alloc(400 * 1024, 0x61);
  const put = await Raw.open(h.port);
  put.send(Buffer.concat([Buffer.from(`PUT /v1/kv/big HTTP/1.1\r\nHost: x\r\nContent-Length: ${value.length}\r\n\r\n`), value]));
  assert.is((await put.responses(1))[0]?.status, 200);
  put.destroy();
  const N = 200;
  const c = await Raw.open(h.port);
  c.s.pause(); // never read
  let reqs = "";
  for (let i = 0; i < N; i++) reqs += GET("/v1/kv/big?raw");
  c.send(reqs);
  const count = (): number => h.metrics.samples.get("consul.http.GET.v1.kv._")?.count ?? 0;
  await sleep(500);
  const stalled = count();
  await sleep(300);
  assert.is(count(), stalled, "no progress while the client does not read");
  assert.ok(stalled < N / 2, `answered ${stalled} of ${N} without being read`);
  let got = 0;
  c.keep = false;
  c.s.on("data", (d: Buffer) => (got += d.length));
  c.s.resume();
  assert.ok(await until(() => count() === N, 10_000), `answered ${count()} (stalled at ${stalled})`);
  assert.ok(await until(() => got >= N * value.length, 10_000));
  c.destroy();
}

ws("close() answers parked queries, drops idle sockets, refuses new connections", async ({ h }) => {
  const c = await Raw.open(h.port);
  c.send("PUT /v1/kv/k HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n1");
  const [p] = await c.responses(1);
  assert.is(p?.status, 200);
  const idle = await Raw.open(h.port);
  c.send(GET("/v1/kv/k?index=100&wait=30s"));
  assert.ok(await until(() => h.server.stats().parked === 1));
  await h.close();
  const rs = await c.responses(2);
  assert.is(rs[1]?.status, 200);
  assert.is(rs[1]?.headers.connection, "close");
  assert.ok(await until(() => c.closed && idle.closed));
  assert.is(h.server.stats().connections, 0);
});

ws.run();
