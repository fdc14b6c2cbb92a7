import { test } from "uvu";
import * as assert from "uvu/assert";
import { runCheck } from "../../src/workers/checks_worker.ts";
import { createCheckPool } from "../../src/agent/local/pool.ts";
import { resultKey, type CheckTask } from "../../src/checks/index.ts";
import { isDeno } from "../../src/platform/runtime.ts";
import { closedPort, grpcHealthServer, httpServer, tcpServer, udpEcho } from "./servers.ts";

const tls = { tlsSkipVerify: false, tlsServerName: "" };
const httpTask = (url: string, over: Partial<Extract<CheckTask, { kind: "http" }>> = {}): CheckTask => ({
  kind: "http",
  url,
  method: "GET",
  header: {},
  body: "",
  disableRedirects: false,
  timeoutMs: 2000,
  maxOutput: 4096,
  prevKey: "",
  ...tls,
  ...over,
});

test("http: 2xx passing, 429 warning, 5xx critical, output format, headers, method, body, truncation", async () => {
  let code = 200;
  let seen: { method?: string; ua?: string; accept?: string; x?: string; body?: string } = {};
  const s = await httpServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      seen = { method: req.method, ua: req.headers["user-agent"], accept: req.headers.accept, x: req.headers["x-a"] as string, body };
      res.statusCode = code;
      res.end(code === 200 ? "hello" : "x".repeat(100));
    });
  });
  try {
    const url = `http://127.0.0.1:${s.port}/health`;
    let r = await runCheck(httpTask(url));
    assert.equal(r, { status: "passing", output: `HTTP GET ${url}: 200 OK Output: hello` });
    assert.is(seen.ua, "Consul Health Check");
    assert.is(seen.accept, "text/plain, text/*, */*");
    code = 429;
    r = await runCheck(httpTask(url, { method: "POST", body: "ping", header: { "X-A": ["b"] }, maxOutput: 10 }));
    assert.is(r.status, "warning");
    assert.is(r.output, `HTTP POST ${url}: 429 Too Many Requests Output: xxxxxxxxxx`);
    assert.equal([seen.method, seen.x, seen.body], ["POST", "b", "ping"]);
    code = 503;
    r = await runCheck(httpTask(url));
    assert.is(r.status, "critical");
    assert.ok(r.output.startsWith(`HTTP GET ${url}: 503 Service Unavailable Output: `));
  } finally {
    await s.close();
  }
});

test("http: redirects followed unless disabled; refused and timeouts are critical with Go's texts", async () => {
  const s = await httpServer((req, res) => {
    if (req.url === "/r") {
      res.writeHead(302, { Location: "/ok" }).end();
      return;
    }
    if (req.url === "/hang") return; // never answers
    res.end("fine");
  });
  try {
    const base = `http://127.0.0.1:${s.port}`;
    assert.is((await runCheck(httpTask(base + "/r"))).status, "passing");
    const nr = await runCheck(httpTask(base + "/r", { disableRedirects: true }));
    assert.equal(nr.status, "critical");
    assert.ok(nr.output.includes(": 302 Found Output:"));
    const t0 = Date.now();
    const hang = await runCheck(httpTask(base + "/hang", { timeoutMs: 300 }));
    assert.ok(Date.now() - t0 < 2000, "cut at its timeout");
    assert.is(hang.output, `Get "${base}/hang": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`);
    const port = await closedPort();
    const refused = await runCheck(httpTask(`http://127.0.0.1:${port}/`));
    assert.is(refused.output, `Get "http://127.0.0.1:${port}/": dial tcp 127.0.0.1:${port}: connect: connection refused`);
  } finally {
    await s.close();
  }
});

test("tcp: connect is passing, refused is critical", async () => {
  const s = await tcpServer();
  try {
    const ok = await runCheck({ kind: "tcp", address: `127.0.0.1:${s.port}`, useTls: false, timeoutMs: 1000, prevKey: "", ...tls });
    assert.equal(ok, { status: "passing", output: `TCP connect 127.0.0.1:${s.port}: Success` });
  } finally {
    await s.close();
  }
  const port = await closedPort();
  const bad = await runCheck({ kind: "tcp", address: `127.0.0.1:${port}`, useTls: false, timeoutMs: 1000, prevKey: "", ...tls });
  assert.equal(bad, { status: "critical", output: `dial tcp 127.0.0.1:${port}: connect: connection refused` });
});

test("udp: an answer or silence is passing; ICMP refusal is critical (Node)", async () => {
  const s = await udpEcho();
  try {
    const ok = await runCheck({ kind: "udp", address: `127.0.0.1:${s.port}`, timeoutMs: 500, prevKey: "" });
    assert.equal(ok, { status: "passing", output: `UDP connect 127.0.0.1:${s.port}: Success` });
  } finally {
    await s.close();
  }
  const gone = await runCheck({ kind: "udp", address: `127.0.0.1:${s.port}`, timeoutMs: 300, prevKey: "" });
  if (isDeno) assert.ok(gone.status === "passing" || gone.status === "critical");
  else {
    assert.is(gone.status, "critical");
    assert.ok(gone.output.endsWith(`->127.0.0.1:${s.port}: read: connection refused`), gone.output);
  }
});

test("grpc: SERVING passing, NOT_SERVING critical, unknown service and refused connection critical", async () => {
  const s = await grpcHealthServer(new Map([["", 1], ["db", 2]]));
  try {
    const t = (target: string): CheckTask => ({ kind: "grpc", target, useTls: false, timeoutMs: 2000, prevKey: "", ...tls });
    const a = `127.0.0.1:${s.port}`;
    assert.equal(await runCheck(t(a)), { status: "passing", output: `gRPC check ${a}: success` });
    assert.equal(await runCheck(t(a + "/db")), { status: "critical", output: `gRPC ${a}/db serving status: NOT_SERVING` });
    assert.equal(await runCheck(t(a + "/nope")), { status: "critical", output: "rpc error: code = NotFound desc = unknown service" });
  } finally {
    await s.close();
  }
  const port = await closedPort();
  const r = await runCheck({ kind: "grpc", target: `127.0.0.1:${port}`, useTls: false, timeoutMs: 1000, prevKey: "", ...tls });
  assert.is(r.status, "critical");
  assert.ok(r.output.startsWith("rpc error: code = Unavailable desc = connection error"), r.output);
});

test("script: exit 0 passing, 1 warning, 2 critical, output captured and cut, hang cut at timeout", async () => {
  const sh = (cmd: string, timeoutMs = 2000, maxOutput = 4096): CheckTask => ({ kind: "script", args: ["/bin/sh", "-c", cmd], timeoutMs, maxOutput, prevKey: "" });
  assert.equal(await runCheck(sh("echo hi")), { status: "passing", output: "hi\n" });
  assert.equal(await runCheck(sh("echo warn >&2; exit 1")), { status: "warning", output: "warn\n" });
  assert.is((await runCheck(sh("exit 2"))).status, "critical");
  const big = await runCheck(sh("printf '%s' 0123456789", 2000, 4));
  assert.is(big.output, "Captured 4 of 10 bytes\n...\n6789");
  const t0 = Date.now();
  const hung = await runCheck(sh("echo started; sleep 30", 300));
  assert.ok(Date.now() - t0 < 3000, "hang is cut");
  assert.equal(hung, { status: "critical", output: "Timed out (300ms) running check\n\nstarted\n" });
  const missing = await runCheck({ kind: "script", args: ["/nonexistent/cairn-check"], timeoutMs: 1000, maxOutput: 100, prevKey: "" });
  assert.is(missing.status, "critical");
});

test("pool: results cross as 'same' when unchanged; a crashing worker is replaced; a wedged worker is cut", async () => {
  const pool = createCheckPool({ maxThreads: 1, graceMs: 200 });
  const s = await tcpServer();
  try {
    const task: CheckTask = { kind: "tcp", address: `127.0.0.1:${s.port}`, useTls: false, timeoutMs: 1000, prevKey: "", ...tls };
    const first = await pool.execute(task, 1000);
    assert.is(first.same, false);
    const key = resultKey("passing", `TCP connect 127.0.0.1:${s.port}: Success`);
    assert.equal(first, { same: false, status: "passing", output: `TCP connect 127.0.0.1:${s.port}: Success`, key });
    assert.equal(await pool.execute({ ...task, prevKey: key }, 1000), { same: true });
    // crash
    let crashed = false;
    try {
      await pool.execute({ kind: "fault", mode: "exit", prevKey: "" }, 1000);
    } catch {
      crashed = true;
    }
    assert.ok(crashed);
    assert.is((await pool.execute(task, 1000)).same, false, "a new worker answers");
    // wedged
    const t0 = Date.now();
    let aborted = "";
    try {
      await pool.execute({ kind: "fault", mode: "hang", prevKey: "" }, 100);
    } catch (e) {
      aborted = (e as Error).name;
    }
    assert.is(aborted, "AbortError");
    assert.ok(Date.now() - t0 < 5000);
    assert.is((await pool.execute(task, 1000)).same, false, "replaced after the wedge");
  } finally {
    await s.close();
    await pool.close();
  }
});

test.run();
