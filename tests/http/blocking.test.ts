import { suite } from "uvu";
import * as assert from "uvu/assert";
import http from "node:http";
import { request, sleep, startHarness, until, type Harness, type Res } from "./helpers.ts";

const bq = suite<{ h: Harness; timers: number[] }>("blocking");

bq.before.each(async (ctx) => {
  ctx.timers = [];
  const timers = ctx.timers;
  ctx.h = await startHarness({
    deps: {
      setTimer: (fn, ms) => {
        timers.push(ms);
        return setTimeout(fn, ms);
      },
    },
  });
});
bq.after.each(async (ctx) => {
  await ctx.h.close();
});

function settled<T>(p: Promise<T>): { done: boolean; value?: T } {
  const s: { done: boolean; value?: T } = { done: false };
  void p.then((v) => {
    s.done = true;
    s.value = v;
  });
  return s;
}

bq("index=0 answers at once; index below current answers at once", async ({ h }) => {
  await request(h.port, "/v1/kv/k", { method: "PUT", body: "1" });
  const t0 = Date.now();
  const r = await request(h.port, "/v1/kv/k?index=0&wait=5s");
  assert.is(r.status, 200);
  const r2 = await request(h.port, "/v1/kv/k?index=1&wait=5s");
  assert.is(r2.status, 200);
  assert.is(r2.headers["x-consul-index"], "2");
  assert.ok(Date.now() - t0 < 1000);
});

bq("wakes on a write to the key, not on an unrelated key", async ({ h }) => {
  await request(h.port, "/v1/kv/k", { method: "PUT", body: "1" });
  const p = request(h.port, "/v1/kv/k?index=2&wait=5s");
  const s = settled(p);
  assert.ok(await until(() => h.server.stats().parked === 1));
  await request(h.port, "/v1/kv/other", { method: "PUT", body: "x" });
  await sleep(150);
  assert.is(s.done, false);
  assert.is(h.server.stats().parked, 1);
  await request(h.port, "/v1/kv/k", { method: "PUT", body: "2" });
  const r = await p;
  assert.is(r.status, 200);
  assert.is(r.headers["x-consul-index"], "4");
  assert.ok(r.text.includes('"Value":"Mg=="'));
  assert.is(h.server.stats().parked, 0);
  assert.is(h.backend.store.watchCount(), 0);
});

bq("prefix (recurse and keys) wakes on any change under the prefix", async ({ h }) => {
  await request(h.port, "/v1/kv/app/a", { method: "PUT", body: "1" });
  const p1 = request(h.port, "/v1/kv/app/?recurse&index=2&wait=5s");
  const p2 = request(h.port, "/v1/kv/app/?keys&index=2&wait=5s");
  const s1 = settled(p1);
  assert.ok(await until(() => h.server.stats().parked === 2));
  await request(h.port, "/v1/kv/apple", { method: "PUT", body: "x" }); // not under "app/"
  await sleep(100);
  assert.is(s1.done, false);
  await request(h.port, "/v1/kv/app/b/c", { method: "PUT", body: "2" });
  const [r1, r2] = await Promise.all([p1, p2]);
  assert.is(r1.headers["x-consul-index"], "4");
  assert.is((JSON.parse(r1.text) as unknown[]).length, 2);
  assert.is(r2.text, '["app/a","app/b/c"]');
});

bq("a fired watch with an unchanged index keeps waiting", async ({ h }) => {
  await request(h.port, "/v1/kv/k", { method: "PUT", body: "1" });
  const p = request(h.port, "/v1/kv/k?index=2&wait=5s");
  const s = settled(p);
  assert.ok(await until(() => h.server.stats().parked === 1));
  h.backend.store.fire({ key: "k" }); // spurious wake, nothing changed
  await sleep(100);
  assert.is(s.done, false);
  assert.is(h.backend.store.watchCount(), 1, "re-registered");
  await request(h.port, "/v1/kv/k", { method: "PUT", body: "2" });
  assert.is((await p).headers["x-consul-index"], "3");
});

bq("timeout returns the current result and index; timer = wait + jitter < wait/16", async ({ h, timers }) => {
  await request(h.port, "/v1/kv/k", { method: "PUT", body: "1" });
  const t0 = Date.now();
  const r = await request(h.port, "/v1/kv/k?index=2&wait=160ms");
  const dt = Date.now() - t0;
  assert.is(r.status, 200);
  assert.is(r.headers["x-consul-index"], "2");
  assert.ok(dt >= 150, `answered after ${dt} ms`);
  assert.is(timers.length, 1);
  const t = timers[0] ?? 0;
  assert.ok(t >= 160 && t < 170, `timer ${t}`);
  // Missing key: 404 after the timeout, still with an index.
  const nf = await request(h.port, "/v1/kv/none?index=5&wait=50ms");
  assert.is(nf.status, 404);
  assert.is(nf.headers["x-consul-index"], "2");
  // A huge wait is capped at 10 min (+ jitter).
  const p = request(h.port, "/v1/kv/k?index=2&wait=2h");
  assert.ok(await until(() => timers.length === 3));
  const capped = timers[2] ?? 0;
  assert.ok(capped >= 600_000 && capped < 637_500, `capped ${capped}`);
  await request(h.port, "/v1/kv/k", { method: "PUT", body: "2" });
  await p;
});

bq("client disconnect while parked removes the watcher and the timer", async ({ h }) => {
  await request(h.port, "/v1/kv/k", { method: "PUT", body: "1" });
  const ac = new AbortController();
  const p = request(h.port, "/v1/kv/k?index=2&wait=30s", { signal: ac.signal }).catch((e: unknown) => e);
  assert.ok(await until(() => h.server.stats().parked === 1));
  assert.is(h.backend.store.watchCount(), 1);
  ac.abort();
  await p;
  assert.ok(await until(() => h.server.stats().parked === 0));
  assert.is(h.backend.store.watchCount(), 0);
  // The server keeps serving.
  const r = await request(h.port, "/v1/kv/k");
  assert.is(r.status, 200);
});

bq("MAX parked: 429 beyond the limit", async () => {
  const h = await startHarness({ maxParked: 2 });
  try {
    await request(h.port, "/v1/kv/k", { method: "PUT", body: "1" });
    const a = request(h.port, "/v1/kv/k?index=2&wait=5s");
    const b = request(h.port, "/v1/kv/k?index=2&wait=5s");
    assert.ok(await until(() => h.server.stats().parked === 2));
    const c = await request(h.port, "/v1/kv/k?index=2&wait=5s");
    assert.is(c.status, 429);
    await request(h.port, "/v1/kv/k", { method: "PUT", body: "2" });
    assert.is((await a).status, 200);
    assert.is((await b).status, 200);
  } finally {
    await h.close();
  }
});

bq("1000 watchers of one key: all answered after one write, body rendered once", async ({ h }) => {
  await request(h.port, "/v1/kv/hot", { method: "PUT", body: "v1" });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 2000 });
  const get = (path: string): Promise<Res> =>
    new Promise((resolve, reject) => {
      const req = http.get({ host: "127.0.0.1", port: h.port, path, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const body = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString() });
        });
      });
      req.on("error", reject);
    });
  try {
    const N = 1000;
    const ps: Promise<Res>[] = [];
    for (let i = 0; i < N; i++) ps.push(get("/v1/kv/hot?index=2&wait=20s"));
    assert.ok(await until(() => h.server.stats().parked === N, 10_000), `parked ${h.server.stats().parked}`);
    const rendersBefore = h.server.stats().renders;
    const t0 = Date.now();
    await request(h.port, "/v1/kv/hot", { method: "PUT", body: "v2" });
    // Another request during the wake is not starved.
    const other = await request(h.port, "/v1/status/leader");
    const otherMs = Date.now() - t0;
    const rs = await Promise.all(ps);
    const allMs = Date.now() - t0;
    assert.is(other.status, 200);
    assert.ok(rs.every((r) => r.status === 200 && r.headers["x-consul-index"] === "3"));
    assert.ok(rs.every((r) => r.text === rs[0]?.text));
    assert.is(h.server.stats().renders - rendersBefore, 1, "rendered once");
    assert.is(h.server.stats().parked, 0);
    assert.is(h.backend.store.watchCount(), 0);
    assert.ok(allMs < 5000, `all answered in ${allMs} ms`);
    assert.ok(otherMs < 2000, `other request took ${otherMs} ms`);
  } finally {
    agent.destroy();
  }
});

bq("server close answers parked queries promptly with their current result", async () => {
  const h = await startHarness();
  await request(h.port, "/v1/kv/k", { method: "PUT", body: "1" });
  const p = request(h.port, "/v1/kv/k?index=2&wait=60s");
  assert.ok(await until(() => h.server.stats().parked === 1));
  const t0 = Date.now();
  await h.close();
  const r = await p;
  assert.is(r.status, 200);
  assert.is(r.headers["x-consul-index"], "2");
  assert.ok(Date.now() - t0 < 2000);
  assert.is(h.backend.store.watchCount(), 0);
});

bq.run();
