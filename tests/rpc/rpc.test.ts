// rpc: framing, multiplexing, timeouts, back-pressure, malformed frames, reconnect — over real loopback TCP.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { connect, createServer, type Socket } from "node:net";
import { CairnError } from "../../src/shared/errors.ts";
import { FrameDecoder, PROTOCOL_CAIRN, RpcClient, RpcServer, encodeFrame, isRpcError, parseFrame } from "../../src/rpc/index.ts";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const a = s.address();
  const port = typeof a === "object" && a !== null ? a.port : 0;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected a rejection");
}

function rawSocket(addr: string): Promise<Socket> {
  const [host, port] = addr.split(":");
  return new Promise((resolve, reject) => {
    const s = connect({ host: host!, port: Number(port) }, () => resolve(s));
    s.once("error", reject);
  });
}

function closedWithin(s: Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (s.destroyed) return resolve(true);
    const t = setTimeout(() => resolve(false), ms);
    s.once("close", () => {
      clearTimeout(t);
      resolve(true);
    });
    s.on("data", () => {});
    s.on("error", () => {});
  });
}

test("frame decoder: frames split at every byte and joined in one chunk", () => {
  const bodies = [{ t: "cast", method: "a", body: { x: 1 } }, { t: "request", id: 7, method: "m", body: new Uint8Array([1, 2, 3]) }] as const;
  const bytes = Buffer.concat(bodies.flatMap((f) => encodeFrame(f)));
  const d1 = new FrameDecoder();
  const out1: Buffer[] = [];
  for (let i = 0; i < bytes.length; i++) out1.push(...d1.push(bytes.subarray(i, i + 1)));
  const d2 = new FrameDecoder();
  const out2 = d2.push(bytes);
  assert.is(out1.length, 2);
  assert.is(out2.length, 2);
  assert.equal(parseFrame(out1[0]!), { t: "cast", method: "a", body: { x: 1 } });
  const r = parseFrame(out2[1]!);
  assert.is(r.t, "request");
  assert.equal(r.t === "request" ? [...(r.body as Uint8Array)] : [], [1, 2, 3]);
  assert.is(d1.buffered(), 0);
  const d3 = new FrameDecoder(10);
  assert.throws(() => d3.push(Buffer.from([0, 0, 0, 11])), /exceeds/);
  assert.throws(() => parseFrame(Buffer.from([0xc1])), /undecodable|malformed|not an array/);
  assert.throws(() => parseFrame(encodeFrame({ t: "cast", method: "x", body: 1 })[1].subarray(0, 2)), /undecodable|malformed|not an array/);
});

test("multiplexing: 200 concurrent calls on one connection answer out of order, each to its caller", async () => {
  const srv = new RpcServer();
  srv.handle("echo", async (b) => {
    const n = (b as { n: number }).n;
    await sleep((200 - n) % 17);
    return { n, sq: n * n };
  });
  const addr = await srv.listen("127.0.0.1", 0);
  const cli = new RpcClient();
  try {
    const order: number[] = [];
    const calls = Array.from({ length: 200 }, (_, n) =>
      cli.call(addr, "echo", { n }).then((r) => {
        order.push(n);
        return r;
      }),
    );
    const res = await Promise.all(calls);
    for (let n = 0; n < 200; n++) assert.equal(res[n], { n, sq: n * n });
    assert.not.equal(order, [...order].sort((a, b) => a - b), "answers arrived out of order");
    assert.is(srv.connections(), 1, "one connection carried all calls");
  } finally {
    cli.close();
    await srv.close();
  }
});

test("timeouts: a call without an answer times out; the connection keeps working; a late answer is ignored", async () => {
  const srv = new RpcServer();
  let release: (() => void) | undefined;
  srv.handle("slow", () => new Promise<string>((r) => (release = () => r("late"))));
  srv.handle("fast", () => "ok");
  const addr = await srv.listen("127.0.0.1", 0);
  const cli = new RpcClient();
  try {
    const t0 = performance.now();
    const e = await rejection(cli.call(addr, "slow", null, { timeoutMs: 150 }));
    const took = performance.now() - t0;
    assert.ok(isRpcError(e) && e.code === "timeout", String(e));
    assert.ok(took >= 140 && took < 1000, `timed out after ${took} ms`);
    release?.();
    assert.is(await cli.call(addr, "fast", null), "ok");
  } finally {
    cli.close();
    await srv.close();
  }
});

test("errors: a handler's CairnError keeps its kind; unknown methods are bad requests; plain errors are internal", async () => {
  const srv = new RpcServer();
  srv.handle("nl", () => {
    throw new CairnError("no-leader", "No cluster leader");
  });
  srv.handle("boom", async () => {
    throw new Error("kaput");
  });
  const addr = await srv.listen("127.0.0.1", 0);
  const cli = new RpcClient();
  try {
    const a = await rejection(cli.call(addr, "nl", null));
    assert.ok(isRpcError(a) && a.code === "remote" && a.kind === "no-leader" && a.message === "No cluster leader");
    const b = await rejection(cli.call(addr, "nope", null));
    assert.ok(isRpcError(b) && b.kind === "bad-request" && /unknown method/.test(b.message));
    const c = await rejection(cli.call(addr, "boom", null));
    assert.ok(isRpcError(c) && c.kind === "internal" && c.message === "kaput");
  } finally {
    cli.close();
    await srv.close();
  }
});

test("back-pressure: in-flight calls are bounded on both sides with a clear error", async () => {
  const srv = new RpcServer({ limits: { maxInflight: 3 } });
  const waiting: Array<() => void> = [];
  srv.handle("hang", () => new Promise<void>((r) => waiting.push(r)));
  const addr = await srv.listen("127.0.0.1", 0);
  const cli = new RpcClient({ limits: { maxInflight: 5 } });
  try {
    const held = [0, 1, 2, 3, 4].map(() => cli.call(addr, "hang", null, { timeoutMs: 5000 }));
    const refused = Promise.allSettled(held.slice(3));
    const sixth = await rejection(cli.call(addr, "hang", null));
    assert.ok(isRpcError(sixth) && sixth.code === "overloaded" && sixth.kind === "rate-limited", String(sixth));
    assert.match((sixth as Error).message, /5 calls in flight/);
    // the server runs 3 and refuses the other 2
    const settled = await refused;
    for (const s of settled) {
      assert.is(s.status, "rejected");
      const e = (s as PromiseRejectedResult).reason as unknown;
      assert.ok(isRpcError(e) && e.code === "remote" && e.kind === "rate-limited", String(e));
    }
    assert.is(waiting.length, 3);
    for (const w of waiting) w();
    await Promise.all(held.slice(0, 3));
  } finally {
    cli.close();
    await srv.close();
  }
});

test("back-pressure: a full write buffer refuses calls and drops casts", async () => {
  const srv = new RpcServer();
  srv.handle("big", () => "ok");
  const addr = await srv.listen("127.0.0.1", 0);
  const cli = new RpcClient({ limits: { maxWriteBuffer: 16 * 1024 } });
  try {
    const blob = new Uint8Array(64 * 1024);
    // Before the TCP handshake completes, everything queues in the socket's buffer.
    const first = cli.call(addr, "big", blob);
    const second = await rejection(cli.call(addr, "big", blob));
    assert.ok(isRpcError(second) && second.code === "overloaded", String(second));
    assert.match((second as Error).message, /write buffer/);
    assert.is(cli.cast(addr, "big", blob), false, "cast dropped at the bound");
    assert.is(await first, "ok");
    assert.is(await cli.call(addr, "big", blob), "ok", "accepted again once drained");
  } finally {
    cli.close();
    await srv.close();
  }
});

test("malformed input closes that connection only", async () => {
  const srv = new RpcServer();
  srv.handle("ping", () => "pong");
  const addr = await srv.listen("127.0.0.1", 0);
  const cli = new RpcClient();
  try {
    assert.is(await cli.call(addr, "ping", null), "pong");
    // 1. a wrong protocol byte
    const s1 = await rawSocket(addr);
    s1.write(Buffer.from([0x00, 0, 0, 0, 1, 0xc0]));
    assert.ok(await closedWithin(s1, 2000), "wrong protocol byte closes");
    // 2. a frame whose body is not msgpack
    const s2 = await rawSocket(addr);
    s2.write(Buffer.from([PROTOCOL_CAIRN, 0, 0, 0, 1, 0xc1]));
    assert.ok(await closedWithin(s2, 2000), "undecodable body closes");
    // 3. a valid msgpack value of the wrong shape
    const s3 = await rawSocket(addr);
    s3.write(Buffer.from([PROTOCOL_CAIRN, 0, 0, 0, 2, 0x91, 0x07]));
    assert.ok(await closedWithin(s3, 2000), "wrong shape closes");
    // 4. an oversized length prefix
    const s4 = await rawSocket(addr);
    s4.write(Buffer.from([PROTOCOL_CAIRN, 0xff, 0xff, 0xff, 0xff]));
    assert.ok(await closedWithin(s4, 2000), "oversized frame closes");
    // 5. a response frame sent to a server
    const s5 = await rawSocket(addr);
    s5.write(Buffer.concat([Buffer.of(PROTOCOL_CAIRN), ...encodeFrame({ t: "ok", id: 1, body: 1 })]));
    assert.ok(await closedWithin(s5, 2000), "response to a server closes");
    // 6. a well-formed request on a raw socket is answered
    const s6 = await rawSocket(addr);
    const got = new Promise<unknown>((resolve) => {
      const d = new FrameDecoder();
      s6.on("data", (b: Buffer) => {
        for (const f of d.push(b)) resolve(parseFrame(f));
      });
    });
    s6.write(Buffer.concat([Buffer.of(PROTOCOL_CAIRN), ...encodeFrame({ t: "request", id: 9, method: "ping", body: null })]));
    assert.equal(await got, { t: "ok", id: 9, body: "pong" });
    s6.destroy();
    // the long-lived client connection was never disturbed
    assert.ok(cli.isConnected(addr));
    assert.is(await cli.call(addr, "ping", null), "pong");
  } finally {
    cli.close();
    await srv.close();
  }
});

test("reconnect: unreachable fails fast with back-off, then connects once the server is up; a restart closes in-flight calls", async () => {
  const port = await freePort();
  const addr = `127.0.0.1:${port}`;
  const cli = new RpcClient({ reconnectMinMs: 100, reconnectMaxMs: 400 });
  let srv = new RpcServer();
  try {
    const a = await rejection(cli.call(addr, "ping", null));
    assert.ok(isRpcError(a) && a.code === "unreachable", String(a));
    const t0 = performance.now();
    const b = await rejection(cli.call(addr, "ping", null));
    assert.ok(performance.now() - t0 < 50, "fails fast while backing off");
    assert.match((b as Error).message, /next attempt/);
    assert.is(cli.cast(addr, "ping", null), false);
    srv.handle("ping", () => "pong");
    srv.handle("hang", () => new Promise(() => {}));
    await srv.listen("127.0.0.1", port);
    let answer: unknown;
    const deadline = performance.now() + 3000;
    while (answer === undefined && performance.now() < deadline) {
      answer = await cli.call(addr, "ping", null).catch(async () => {
        await sleep(20);
        return undefined;
      });
    }
    assert.is(answer, "pong", "reconnected within the back-off bound");
    const inflight = rejection(cli.call(addr, "hang", null, { timeoutMs: 5000 }));
    await sleep(50);
    await srv.close();
    const c = await inflight;
    assert.ok(isRpcError(c) && c.code === "closed", String(c));
    srv = new RpcServer();
    srv.handle("ping", () => "pong again");
    await srv.listen("127.0.0.1", port);
    answer = undefined;
    const deadline2 = performance.now() + 3000;
    while (answer === undefined && performance.now() < deadline2) {
      answer = await cli.call(addr, "ping", null).catch(async () => {
        await sleep(20);
        return undefined;
      });
    }
    assert.is(answer, "pong again");
  } finally {
    cli.close();
    await srv.close();
  }
});

test("casts are one-way and ordered; faults drop traffic both ways", async () => {
  const srv = new RpcServer();
  const got: number[] = [];
  srv.handle("note", (b) => {
    got.push(b as number);
  });
  srv.handle("ping", () => "pong");
  const addr = await srv.listen("127.0.0.1", 0);
  const cli = new RpcClient();
  try {
    for (let i = 0; i < 100; i++) assert.ok(cli.cast(addr, "note", i));
    assert.is(await cli.call(addr, "ping", null), "pong");
    assert.equal(got, Array.from({ length: 100 }, (_, i) => i));
    srv.faults = { drop: (m) => m === "ping" };
    const e = await rejection(cli.call(addr, "ping", null, { timeoutMs: 100 }));
    assert.ok(isRpcError(e) && e.code === "timeout");
    srv.faults = undefined;
    cli.faults = { drop: () => true };
    assert.ok(cli.cast(addr, "note", 1000));
    const e2 = await rejection(cli.call(addr, "ping", null, { timeoutMs: 100 }));
    assert.ok(isRpcError(e2) && e2.code === "timeout");
    cli.faults = undefined;
    assert.is(await cli.call(addr, "ping", null), "pong");
    assert.not.ok(got.includes(1000));
  } finally {
    cli.close();
    await srv.close();
  }
});

test.run();
