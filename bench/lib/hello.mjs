// bench/lib/hello.mjs PORT [HOST] — the HTTP ceiling: raw node:http hello world on one main thread.
// Answers every request with a fixed 12-byte body (the request body, if any, is drained by node:http).
// Must never: do any per-request work beyond writing the fixed reply (it is the denominator of every ratio).
import http from "node:http";

const port = Number(process.argv[2] ?? 18701);
const host = process.argv[3] ?? "127.0.0.1";
const body = Buffer.from("hello world\n");
const server = http.createServer((_req, res) => {
  res.writeHead(200, { "Content-Type": "text/plain", "Content-Length": body.length });
  res.end(body);
});
server.listen(port, host, () => process.stdout.write(`hello on ${host}:${port}\n`));
process.on("SIGTERM", () => process.exit(0));
