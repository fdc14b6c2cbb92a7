// bench/lib/dns-tcp-load.mjs: a DNS-over-TCP load generator for replies dnsperf 2.10 cannot
// read (it loses every reply over ~16-24 KB; a 1,000-instance SRV answer is ~64 KB). C
// connections each keep D queries in flight for the duration, timing each query from its write
// to its whole reply. Prints one JSON line: {qps, p50, p99, lost, sent, bytes} (latencies in ms).
// Usage: node dns-tcp-load.mjs <port> <name> <A|SRV> <durationS> [conns=4] [depth=100]
// Must never: run past its duration plus a 2 s grace, or connect anywhere but 127.0.0.1.
import net from "node:net";

const [port, name, type, durationS, conns = "4", depth = "100"] = process.argv.slice(2);
const TYPES = { A: 1, SRV: 33 };
const qtype = TYPES[type];
if (!port || !name || qtype === undefined || !durationS) {
  process.stderr.write("usage: dns-tcp-load.mjs <port> <name> <A|SRV> <durationS> [conns] [depth]\n");
  process.exit(2);
}

/** One framed query with the given id (RD set, no EDNS). */
function frame(id) {
  const labels = name.split(".").filter((l) => l.length > 0);
  const qname = Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, "latin1")])), Buffer.from([0])]);
  const msg = Buffer.alloc(12 + qname.length + 4);
  msg.writeUInt16BE(id, 0);
  msg.writeUInt16BE(0x0100, 2);
  msg.writeUInt16BE(1, 4);
  qname.copy(msg, 12);
  msg.writeUInt16BE(qtype, 12 + qname.length);
  msg.writeUInt16BE(1, 14 + qname.length);
  const out = Buffer.alloc(2 + msg.length);
  out.writeUInt16BE(msg.length, 0);
  msg.copy(out, 2);
  return out;
}

const lat = [];
let sent = 0;
let received = 0;
let bytes = 0;
let stopping = false;
const t0 = performance.now();
const endAt = t0 + Number(durationS) * 1000;
let measuredEnd = endAt;

function run(c) {
  return new Promise((resolve) => {
    const sock = net.connect(Number(port), "127.0.0.1");
    sock.setNoDelay(true);
    const inflight = new Map(); // id -> start time
    let nextId = (c * 16384) & 0xffff;
    // Received bytes as a list of chunks: a reply is copied out only once it is whole.
    const chunks = [];
    let have = 0;
    const take = (n) => {
      let first = chunks[0];
      if (first.length < n) {
        first = Buffer.concat(chunks.splice(0, chunks.length));
        chunks.push(first);
      }
      const out = first.subarray(0, n);
      if (first.length === n) chunks.shift();
      else chunks[0] = first.subarray(n);
      have -= n;
      return out;
    };
    const peek16 = (at) => {
      // the 16-bit value at byte `at` of the buffered stream (at + 2 <= have)
      let i = 0;
      let off = at;
      while (off >= chunks[i].length) off -= chunks[i++].length;
      const hi = chunks[i][off];
      const lo = off + 1 < chunks[i].length ? chunks[i][off + 1] : chunks[i + 1][0];
      return (hi << 8) | lo;
    };
    const send = () => {
      nextId = (nextId + 1) & 0xffff;
      inflight.set(nextId, performance.now());
      sent++;
      sock.write(frame(nextId));
    };
    sock.on("connect", () => {
      for (let i = 0; i < Number(depth); i++) send();
    });
    sock.on("data", (d) => {
      chunks.push(d);
      have += d.length;
      while (have >= 4) {
        const len = peek16(0);
        if (have < 2 + len) break;
        const id = peek16(2);
        take(2 + len);
        const start = inflight.get(id);
        const now = performance.now();
        if (start !== undefined) {
          inflight.delete(id);
          received++;
          bytes += len;
          lat.push(now - start);
        }
        if (now < endAt) send();
        else if (!stopping) stopping = true;
      }
      if (stopping && inflight.size === 0) sock.end();
    });
    const done = () => resolve();
    sock.on("close", done);
    sock.on("error", done);
    setTimeout(() => sock.destroy(), Number(durationS) * 1000 + 2000).unref();
  });
}

await Promise.all(Array.from({ length: Number(conns) }, (_, c) => run(c)));
measuredEnd = Math.min(performance.now(), endAt + 2000);
lat.sort((a, b) => a - b);
const pct = (p) => (lat.length === 0 ? NaN : lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))]);
const seconds = (Math.min(measuredEnd, endAt) - t0) / 1000;
process.stdout.write(`${JSON.stringify({ qps: received / seconds, p50: pct(50), p99: pct(99), lost: sent - received, sent, bytes })}\n`);
