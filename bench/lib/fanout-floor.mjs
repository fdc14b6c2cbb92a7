// bench/lib/fanout-floor: the fan-out bench's lower bound for any server — an in-memory KV on raw
// node:net that does the least work a blocking-query server can do. A PUT renders the key's
// answer once (head and body in one Buffer) and writes that same Buffer to every parked socket
// in one synchronous loop; nothing else happens per watcher. Whatever wake-all time the bench's
// client shows against this server is the client's own cost, which no server can go below.
//
// Usage: node fanout-floor.mjs PORT. Speaks just enough HTTP/1.1 for the bench's clients:
// GET /v1/kv/<key>[?index=N...] (200 JSON or 404) and PUT /v1/kv/<key> (raw body, answers true).
//
// Must never: be used as a reference for correctness (it skips Consul's headers, validation and
// durability on purpose), listen on anything but 127.0.0.1, or buffer more than a request head
// plus MAX_BODY bytes per connection.
import net from "node:net";

const port = Number(process.argv[2] ?? 18710);
const MAX_BODY = 1 << 20;
const MAX_HEAD = 16 << 10;
const kv = new Map(); // key -> { value: Buffer, create, modify }
const parked = new Map(); // key -> sockets waiting for a change
let index = 1;

function answer(key) {
  const e = kv.get(key);
  if (e === undefined) return Buffer.from(`HTTP/1.1 404 Not Found\r\nX-Consul-Index: ${index}\r\nContent-Length: 0\r\n\r\n`, "latin1");
  const body = JSON.stringify([{ LockIndex: 0, Key: key, Flags: 0, Value: e.value.toString("base64"), CreateIndex: e.create, ModifyIndex: e.modify }]);
  return Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Consul-Index: ${e.modify}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`, "utf8");
}

function onRequest(sock, method, target, body) {
  const q = target.indexOf("?");
  const path = q < 0 ? target : target.slice(0, q);
  if (!path.startsWith("/v1/kv/")) return void sock.write("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
  const key = decodeURIComponent(path.slice(7));
  if (method === "PUT") {
    const idx = ++index;
    const old = kv.get(key);
    kv.set(key, { value: body, create: old ? old.create : idx, modify: idx });
    sock.write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4\r\n\r\ntrue");
    const waiting = parked.get(key);
    if (waiting !== undefined) {
      parked.delete(key);
      const reply = answer(key);
      for (const s of waiting) if (!s.destroyed) s.write(reply);
    }
    return;
  }
  if (method !== "GET") return void sock.write("HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n");
  const m = q < 0 ? null : /(?:^|&)index=(\d+)/.exec(target.slice(q + 1));
  const e = kv.get(key);
  if (m !== null && Number(m[1]) > 0 && (e === undefined || e.modify <= Number(m[1]))) {
    let set = parked.get(key);
    if (set === undefined) parked.set(key, (set = new Set()));
    set.add(sock);
    sock.once("close", () => set.delete(sock));
    return;
  }
  sock.write(answer(key));
}

net.createServer((sock) => {
  sock.setNoDelay(true);
  let buf = Buffer.alloc(0);
  sock.on("data", (d) => {
    buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
    for (;;) {
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) {
        if (buf.length > MAX_HEAD) sock.destroy();
        return;
      }
      const head = buf.subarray(0, end).toString("latin1");
      const cl = /\r\ncontent-length: *(\d+)/i.exec(head);
      const len = cl === null ? 0 : Number(cl[1]);
      if (len > MAX_BODY) return void sock.destroy();
      if (buf.length < end + 4 + len) return;
      const body = Buffer.from(buf.subarray(end + 4, end + 4 + len));
      buf = buf.subarray(end + 4 + len);
      const [method = "", target = ""] = head.slice(0, head.indexOf("\r\n") >>> 0).split(" ");
      onRequest(sock, method, target, body);
    }
  });
  sock.on("error", () => sock.destroy());
}).listen(port, "127.0.0.1", () => console.log(`fanout floor on ${port}`));
process.on("SIGTERM", () => process.exit(0));
