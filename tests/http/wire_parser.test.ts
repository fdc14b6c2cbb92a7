import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseHead, type ParserSink, type RequestHead, RequestParser } from "../../src/http/wire/parser.ts";

/** Everything a parser reported, as comparable data. */
interface Trace {
  heads: RequestHead[];
  bodies: string[];
  ends: number;
  error: { status: number; reason: string } | undefined;
}

function sink(t: Trace): ParserSink {
  return {
    onHead: (h) => {
      t.heads.push(h);
      t.bodies.push("");
    },
    onBody: (c) => {
      t.bodies[t.bodies.length - 1] += c.toString("latin1");
    },
    onBodyEnd: () => {
      t.ends++;
    },
    onError: (status, reason) => {
      t.error = { status, reason };
    },
  };
}

function parse(pieces: readonly Buffer[]): Trace {
  const t: Trace = { heads: [], bodies: [], ends: 0, error: undefined };
  const p = new RequestParser(sink(t));
  for (const b of pieces) p.execute(b);
  return t;
}

function summary(t: Trace): unknown {
  return {
    heads: t.heads.map((h) => ({ ...h, headers: { ...h.headers } })),
    bodies: t.bodies,
    ends: t.ends,
    status: t.error?.status,
  };
}

/** Parse whole, split at every byte boundary, and byte by byte: all must agree. */
function parseAllSplits(text: string): Trace {
  const buf = Buffer.from(text, "latin1");
  const whole = parse([buf]);
  const expect = summary(whole);
  for (let i = 1; i < buf.length; i++) {
    const t = parse([buf.subarray(0, i), buf.subarray(i)]);
    assert.equal(summary(t), expect, `split at ${i}`);
  }
  const bytes: Buffer[] = [];
  for (let i = 0; i < buf.length; i++) bytes.push(buf.subarray(i, i + 1));
  assert.equal(summary(parse(bytes)), expect, "byte by byte");
  return whole;
}

test("pipelined requests: GET, PUT with Content-Length, HTTP/1.0, in any split", () => {
  const t = parseAllSplits(
    "GET /v1/kv/a?index=3 HTTP/1.1\r\nHost: x\r\nX-Consul-Token: t\r\n\r\n" +
      "PUT /v1/kv/b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello" +
      "\r\nGET /c HTTP/1.0\r\n\r\n",
  );
  assert.is(t.error, undefined);
  assert.is(t.heads.length, 3);
  const [a, b, c] = t.heads as [RequestHead, RequestHead, RequestHead];
  assert.is(a.method, "GET");
  assert.is(a.target, "/v1/kv/a?index=3");
  assert.is(a.headers["x-consul-token"], "t");
  assert.ok(a.keepAlive);
  assert.is(a.contentLength, -1);
  assert.is(b.contentLength, 5);
  assert.is(t.bodies[1], "hello");
  assert.is(c.minor, 0);
  assert.not.ok(c.keepAlive, "HTTP/1.0 defaults to close");
  assert.is(t.ends, 3);
});

test("chunked body with extensions and trailers", () => {
  const t = parseAllSplits(
    "PUT /v1/txn HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
      "5;name=value\r\nhello\r\n6 ; x\r\n world\r\nA\r\n0123456789\r\n0\r\nX-Trailer: y\r\nX-Other: z\r\n\r\n" +
      "GET /next HTTP/1.1\r\nHost: x\r\n\r\n",
  );
  assert.is(t.error, undefined);
  assert.is(t.heads.length, 2);
  assert.ok(t.heads[0]?.chunked);
  assert.is(t.heads[0]?.contentLength, -1);
  assert.is(t.bodies[0], "hello world0123456789");
  assert.is(t.heads[1]?.target, "/next");
  assert.is(t.ends, 2);
});

test("Expect: 100-continue, keep-alive and close rules", () => {
  const t = parseAllSplits(
    "PUT /k HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\nContent-Length: 2\r\n\r\nab" +
      "GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" +
      "GET /b HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n" +
      "GET /c HTTP/1.1\r\nHost: x\r\nConnection: upgrade, close\r\n\r\n",
  );
  assert.is(t.error, undefined);
  const hs = t.heads;
  assert.ok(hs[0]?.expectContinue);
  assert.is(t.bodies[0], "ab");
  assert.not.ok(hs[1]?.keepAlive);
  assert.ok(hs[2]?.keepAlive);
  assert.not.ok(hs[3]?.keepAlive);
  // Expect on HTTP/1.0 is ignored; other expectations are refused.
  assert.not.ok((parseHead("PUT / HTTP/1.0\r\nExpect: 100-continue") as RequestHead).expectContinue);
  assert.equal(parseHead("PUT / HTTP/1.1\r\nHost: x\r\nExpect: magic"), {
    status: 417,
    reason: "unsupported expectation",
  });
});

test("duplicate headers combine as node:http does; names are lower-cased, values trimmed", () => {
  const h = parseHead(
    "GET / HTTP/1.1\r\nHOST: one\r\nhost: two\r\nX-A: 1\r\nx-a:  2 \r\nCookie: a=1\r\ncookie: b=2\r\n" +
      "Set-Cookie: s=1\r\nset-cookie: s=2\r\nUser-Agent: u1\r\nUser-Agent: u2\r\nAuthorization: Bearer t\r\nEmpty:\r\n",
  ) as RequestHead;
  assert.is(h.headers.host, "one");
  assert.is(h.headers["x-a"], "1, 2");
  assert.is(h.headers.cookie, "a=1; b=2");
  assert.equal(h.headers["set-cookie"], ["s=1", "s=2"]);
  assert.is(h.headers["user-agent"], "u1");
  assert.is(h.headers.authorization, "Bearer t");
  assert.is(h.headers.empty, "");
});

test("absolute-form and asterisk targets are passed through", () => {
  const a = parseHead("GET http://127.0.0.1:8500/v1/kv/x?raw HTTP/1.1\r\nHost: x") as RequestHead;
  assert.is(a.target, "http://127.0.0.1:8500/v1/kv/x?raw");
  const o = parseHead("OPTIONS * HTTP/1.1\r\nHost: x") as RequestHead;
  assert.is(o.target, "*");
});

const BAD: readonly [string, string, number][] = [
  ["both Content-Length and Transfer-Encoding", "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400],
  ["invalid Content-Length", "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 3a\r\n\r\n", 400],
  ["negative Content-Length", "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400],
  ["duplicate Content-Length", "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n", 400],
  ["Transfer-Encoding not ending in chunked", "PUT / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 400],
  ["chunked twice", "PUT / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 400],
  ["bad chunk size", "PUT / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400],
  ["chunk data without CRLF", "PUT / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX\r\n", 400],
  ["missing Host on HTTP/1.1", "GET / HTTP/1.1\r\n\r\n", 400],
  ["not HTTP", "THIS IS NOT HTTP\r\n\r\n", 400],
  ["space in target", "GET /a b HTTP/1.1\r\nHost: x\r\n\r\n", 400],
  ["obsolete line folding", "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n 2\r\n\r\n", 400],
  ["space before colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400],
  ["control character in value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\u0001b\r\n\r\n", 400],
  ["HTTP/2.0", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505],
];

for (const [name, text, status] of BAD) {
  test(`bad framing: ${name} -> ${status}, and parsing stops`, () => {
    const t = parseAllSplits(text + "GET /after HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.is(t.error?.status, status, t.error?.reason);
    assert.not.ok(t.heads.some((h) => h.target === "/after"), "nothing parsed after an error");
  });
}

test("oversized header section -> 431, too many fields -> 431, long request line -> 414", () => {
  const big = "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + "a".repeat(70 * 1024) + "\r\n\r\n";
  assert.is(parse([Buffer.from(big)]).error?.status, 431);
  // Arriving in small pieces without an end: refused once past the limit, not buffered forever.
  const t: Trace = { heads: [], bodies: [], ends: 0, error: undefined };
  const p = new RequestParser(sink(t));
  p.execute(Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n"));
  for (let i = 0; i < 100 && t.error === undefined; i++) p.execute(Buffer.from("X-Pad: " + "b".repeat(1000) + "\r\n"));
  assert.is(t.error?.status, 431);
  let many = "GET / HTTP/1.1\r\nHost: x\r\n";
  for (let i = 0; i < 300; i++) many += `X-${i}: v\r\n`;
  assert.is(parse([Buffer.from(many + "\r\n")]).error?.status, 431);
  assert.is(parse([Buffer.from("GET /" + "a".repeat(20 * 1024) + " HTTP/1.1\r\nHost: x\r\n\r\n")]).error?.status, 414);
  assert.is(parse([Buffer.from("GET /" + "a".repeat(20 * 1024))]).error?.status, 414, "without a line end yet");
});

test("pause holds events until resume; state getters", () => {
  const t: Trace = { heads: [], bodies: [], ends: 0, error: undefined };
  let p: RequestParser | undefined;
  const s = sink(t);
  const pausing: ParserSink = {
    ...s,
    onHead: (h) => {
      s.onHead(h);
      p?.pause();
    },
  };
  p = new RequestParser(pausing);
  assert.ok(p.idle);
  p.execute(Buffer.from("GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\nGET /3 HT"));
  assert.is(t.heads.length, 1);
  assert.ok(p.paused);
  p.execute(Buffer.from("TP/1.1\r\nHost: x\r\n\r\n"));
  assert.is(t.heads.length, 1, "held while paused");
  p.resume();
  assert.is(t.heads.length, 2);
  p.resume();
  assert.is(t.heads.length, 3);
  p.resume();
  assert.ok(p.idle);
  p.execute(Buffer.from("PUT /4 HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nab"));
  assert.ok(p.inBody);
  p.resume();
  p.execute(Buffer.from("cd"));
  assert.is(t.bodies[3], "abcd");
  assert.ok(p.idle);
});

test.run();
