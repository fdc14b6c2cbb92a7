/**
 * tests/http/agent_monitor: the streaming reply kind on both transports (chunked on
 * HTTP/1.1, until close on HTTP/1.0), /v1/agent/monitor (level filter, JSON lines, a
 * reader that leaves is unsubscribed, agent shutdown ends streams), the monitor's bounded
 * per-reader buffer, and /v1/agent/reload's error answer.
 */

import { test } from "uvu";
import * as assert from "uvu/assert";
import net from "node:net";
import { MonitorHub, monitoredLogger } from "../../src/agent/monitor.ts";
import { createLogger } from "../../src/agent/log.ts";
import { startHarness } from "./helpers.ts";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await sleep(10);
}

test("monitor hub: per-reader level and format; a slow reader drops lines and is told how many", () => {
  const hub = new MonitorHub(() => new Date(0));
  const base: string[] = [];
  const logger = monitoredLogger(createLogger({ level: "info", json: false, write: (l) => base.push(l) }), hub);
  const dbg = hub.subscribe({ level: "debug", json: false });
  const js = hub.subscribe({ level: "warn", json: true });
  const small = hub.subscribe({ level: "trace", json: false, bufferLines: 2 });
  const log = logger.named("agent.test");
  log("debug", "d1");
  log("info", "i1");
  log("warn", "w1");
  assert.equal(base.length, 2, "the base logger keeps its own level");
  assert.equal(dbg.take(), [
    "1970-01-01T00:00:00.000Z [DEBUG] agent.test: d1\n",
    "1970-01-01T00:00:00.000Z [INFO]  agent.test: i1\n",
    "1970-01-01T00:00:00.000Z [WARN]  agent.test: w1\n",
  ]);
  const j = js.take();
  assert.is(j.length, 1);
  assert.equal(JSON.parse(j[0] ?? ""), { "@level": "warn", "@message": "w1", "@module": "agent.test", "@timestamp": "1970-01-01T00:00:00.000Z" });
  const s = small.take();
  assert.is(s.length, 3);
  assert.match(s[2] ?? "", /Monitor dropped 1 logs during monitor request/);
  assert.is(small.dropped, 1);
  dbg.close();
  js.close();
  small.close();
  assert.is(hub.subscribers, 0);
  assert.not.ok(hub.wants("error"));
});

async function rawRequest(port: number, req: string, readMs: number): Promise<string> {
  return await new Promise<string>((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    let out = "";
    s.on("data", (d: Buffer) => (out += d.toString("latin1")));
    s.on("error", () => undefined);
    s.write(req);
    setTimeout(() => {
      s.destroy();
      resolve(out);
    }, readMs);
  });
}

for (const transport of ["wire", "node"] as const) {
  test(`[${transport}] /v1/agent/monitor streams lines at the chosen level and stops when the client leaves`, async () => {
    const hub = new MonitorHub();
    const logger = monitoredLogger(createLogger({ level: "error", json: false, write: () => undefined }), hub);
    const h = await startHarness({ transport, ops: { monitor: hub } });
    const log = logger.named("agent.t");
    try {
      let r = await fetch(`${h.base}/v1/agent/monitor?loglevel=bogus`);
      assert.is(r.status, 400);
      assert.is(await r.text(), "Unknown log level: bogus");
      const ac = new AbortController();
      r = await fetch(`${h.base}/v1/agent/monitor?loglevel=debug`, { signal: ac.signal });
      assert.is(r.status, 200);
      assert.match(r.headers.get("content-type") ?? "", /text\/plain/);
      assert.is(r.headers.get("content-length"), null);
      await until(() => hub.subscribers === 1);
      const reader = (r.body as ReadableStream<Uint8Array>).getReader();
      log("trace", "not shown");
      log("debug", "first line");
      log("info", "second line");
      let text = "";
      const dec = new TextDecoder();
      const end = Date.now() + 3000;
      while (!text.includes("second line") && Date.now() < end) {
        const c = await reader.read();
        if (c.done) break;
        text += dec.decode(c.value);
      }
      assert.match(text, /\[DEBUG\] agent\.t: first line\n/);
      assert.match(text, /\[INFO\]  agent\.t: second line\n/);
      assert.not.match(text, /not shown/);
      ac.abort();
      await reader.cancel().catch(() => undefined);
      await until(() => hub.subscribers === 0);
      assert.is(hub.subscribers, 0, "the subscription ends with the client");
      // JSON lines.
      const ac2 = new AbortController();
      r = await fetch(`${h.base}/v1/agent/monitor?loglevel=warn&logjson`, { signal: ac2.signal });
      await until(() => hub.subscribers === 1);
      const rd2 = (r.body as ReadableStream<Uint8Array>).getReader();
      log("info", "skip");
      log("error", "boom");
      const c2 = await rd2.read();
      const line = JSON.parse(dec.decode(c2.value).trim()) as Record<string, string>;
      assert.is(line["@message"], "boom");
      assert.is(line["@level"], "error");
      // Agent shutdown (hub close) ends the stream.
      hub.close();
      let done = false;
      const end2 = Date.now() + 3000;
      while (!done && Date.now() < end2) done = (await rd2.read()).done;
      assert.ok(done, "the stream ended");
      ac2.abort();
    } finally {
      await h.close();
    }
  });

  test(`[${transport}] streaming framing: chunked on HTTP/1.1 (keep-alive), raw until close on HTTP/1.0`, async () => {
    const hub = new MonitorHub();
    const logger = monitoredLogger(createLogger({ level: "error", json: false, write: () => undefined }), hub);
    const h = await startHarness({ transport, ops: { monitor: hub } });
    try {
      const p11 = rawRequest(h.port, "GET /v1/agent/monitor?loglevel=info HTTP/1.1\r\nHost: x\r\n\r\n", 400);
      await until(() => hub.subscribers === 1);
      logger.log("info", "m", "hello");
      const out11 = await p11;
      assert.match(out11, /^HTTP\/1\.1 200 OK\r\n/);
      assert.match(out11.toLowerCase(), /transfer-encoding: chunked\r\n/);
      assert.match(out11, /\r\n[0-9a-f]+\r\n[^\r]*\[INFO\]  m: hello\n\r\n/);
      await until(() => hub.subscribers === 0);
      assert.is(hub.subscribers, 0);
      const p10 = rawRequest(h.port, "GET /v1/agent/monitor?loglevel=info HTTP/1.0\r\n\r\n", 400);
      await until(() => hub.subscribers === 1);
      logger.log("warn", "m", "old client");
      const out10 = await p10;
      assert.match(out10, /^HTTP\/1\.[01] 200 OK\r\n/);
      assert.not.match(out10.toLowerCase(), /transfer-encoding: chunked/);
      assert.match(out10, /\r\n\r\n[^\r]*\[WARN\]  m: old client\n$/);
      // A pipelined request after a stream waits for it (the stream holds the connection).
      await until(() => hub.subscribers === 0);
    } finally {
      await h.close();
    }
  });

  test(`[${transport}] PUT /v1/agent/reload: 200 on success, 500 with the reason on failure`, async () => {
    let fail = false;
    const h = await startHarness({
      transport,
      ops: { reload: () => (fail ? Promise.reject(new Error("Failed to reload configs: bad file")) : Promise.resolve()) },
    });
    try {
      let r = await fetch(`${h.base}/v1/agent/reload`, { method: "PUT" });
      assert.is(r.status, 200);
      fail = true;
      r = await fetch(`${h.base}/v1/agent/reload`, { method: "PUT" });
      assert.is(r.status, 500);
      assert.is(await r.text(), "Failed to reload configs: bad file");
    } finally {
      await h.close();
    }
  });
}

test.run();
