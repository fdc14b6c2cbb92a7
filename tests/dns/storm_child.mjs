// tests/dns/storm_child.mjs: a UDP query storm from its own process (so it does not share the
// server's runtime): node storm_child.mjs <port> <hex packet> <packets per ms>. Runs until killed.
// Must never: target anything but 127.0.0.1.
import dgram from "node:dgram";
const [port, hex, per] = process.argv.slice(2);
const pkt = Buffer.from(hex, "hex");
const s = dgram.createSocket("udp4");
let replies = 0;
s.on("message", () => replies++);
s.bind(0, "127.0.0.2", () => {
  setInterval(() => {
    for (let i = 0; i < Number(per); i++) s.send(pkt, Number(port), "127.0.0.1");
  }, 1);
  setInterval(() => process.stdout.write(`${replies}\n`), 100);
});
