// bench/lib/dns-echo-child.mjs: the DNS ceiling — a raw node:dgram + node:net responder that
// answers every query with one precomputed A response, patching only the 2-byte ID (UDP and
// TCP with 2-byte framing). Prints {"port":N}; exits when stdin closes.
// Usage: node dns-echo-child.mjs [answers=1] — with N > 1 the fixed reply carries N A records
// (16 bytes each), the ceiling for large TCP answers of the same size as cairn's.
// Must never: parse or allocate more than the reply copy per query.
import dgram from "node:dgram";
import net from "node:net";
const answers = Math.max(1, Math.min(4090, Number(process.argv[2] ?? 1) || 1));
const head = Buffer.from("0000850000010001000000000377656207736572766963650663" + "6f6e73756c0000010001", "hex");
head.writeUInt16BE(answers, 6);
const rr = Buffer.from("c00c000100010000000000040a000001", "hex");
const resp = Buffer.concat([head, ...Array.from({ length: answers }, () => rr)]);
function onTcp(s) {
  let buf = Buffer.alloc(0);
  s.on("data", (d) => {
    buf = buf.length ? Buffer.concat([buf, d]) : d;
    while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
      const n = buf.readUInt16BE(0);
      const out = Buffer.allocUnsafe(resp.length + 2);
      out.writeUInt16BE(resp.length, 0);
      resp.copy(out, 2);
      out[2] = buf[2]; out[3] = buf[3];
      s.write(out);
      buf = buf.subarray(2 + n);
    }
  });
  s.on("error", () => s.destroy());
}

// UDP takes a port the kernel picks, TCP the same number; when that TCP port is taken
// (the kernel knows nothing of UDP's choice there), try another one.
function start(attempt) {
  const udp = dgram.createSocket("udp4");
  udp.on("message", (m, r) => {
    const out = Buffer.from(resp);
    out[0] = m[0]; out[1] = m[1];
    udp.send(out, r.port, r.address);
  });
  udp.bind(0, "127.0.0.1", () => {
    const port = udp.address().port;
    const tcp = net.createServer(onTcp);
    tcp.once("error", (e) => {
      if (e.code !== "EADDRINUSE" || attempt >= 20) throw e;
      udp.close(() => start(attempt + 1));
    });
    tcp.listen(port, "127.0.0.1", () => process.stdout.write(JSON.stringify({ port }) + "\n"));
  });
}
start(0);
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
