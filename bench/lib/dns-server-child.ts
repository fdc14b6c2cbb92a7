/**
 * bench/lib/dns-server-child: the DNS bench's server process — a real state Store with
 * services of 1, 10, 100 and 1000 passing instances (svc1 .. svc1000), cairn's DNS server
 * on 127.0.0.1:0, and on "churn on" a catalog write 100 times a second to the queried
 * services. Prints {"port":N} on stdout when ready; reads "churn on|off" lines on stdin.
 *
 * Must never: listen on anything but 127.0.0.1, or outlive its parent's stdin.
 */

import readline from "node:readline";
import { Store } from "../../src/state/store.ts";
import type { CheckInput, HealthStatus } from "../../src/state/catalog_types.ts";
import { startDnsServer } from "../../src/dns/index.ts";
import type { DnsConfig } from "../../src/agent/config/types.ts";

const store = new Store();
let index = 0;
const NO_DEF = {
  http: "", tlsServerName: "", tlsSkipVerify: false, header: {}, method: "", body: "", tcp: "", udp: "", grpc: "",
  grpcUseTls: false, intervalNs: 0, timeoutNs: 0, deregisterCriticalServiceAfterNs: 0,
};

function register(node: string, address: string, service: string, id: string, status: HealthStatus): void {
  const check: CheckInput = {
    node, checkId: `service:${id}`, name: "check", status, notes: "", output: "", serviceId: id, serviceName: service,
    serviceTags: [], type: "ttl", intervalNs: 0, timeoutNs: 0, exposedPort: 0, definition: NO_DEF,
  };
  store.apply(++index, {
    type: "catalog-register",
    req: {
      node: { id: "", node, address, datacenter: "dc1", taggedAddresses: {}, meta: {} },
      skipNodeUpdate: false,
      service: {
        kind: "", id, service, tags: [], address: "", taggedAddresses: {}, meta: {}, port: 8080, socketPath: "",
        weights: null, enableTagOverride: false, proxy: null, connect: null, locality: null,
      },
      checks: [check],
    },
  });
}

const SIZES = [1, 10, 100, 1000];
for (const n of SIZES) {
  for (let i = 0; i < n; i++) register(`svc${n}-n${i}`, `10.${n % 250}.${i >> 8}.${i & 255}`, `svc${n}`, `svc${n}-${i}`, "passing");
}

const config: DnsConfig = {
  allowStale: true, maxStaleMs: 0, nodeTtlMs: 0, serviceTtlMs: {}, onlyPassing: false, enableTruncate: false,
  udpAnswerLimit: 3, aRecordLimit: 0, disableCompression: false, recursorTimeoutMs: 2000, recursorStrategy: "sequential",
  enableAdditionalNodeMetaTxt: true, soa: { refresh: 3600, retry: 600, expire: 86400, minTtl: 0 }, useCache: false, cacheMaxAgeMs: 0,
};
const srv = await startDnsServer({
  catalog: store, config, host: "127.0.0.1", port: 0,
  agent: { nodeName: "bench", datacenter: "dc1", domain: "consul.", altDomain: "", servers: [{ node: "bench", address: "127.0.0.1" }] },
});

let churn: NodeJS.Timeout | null = null;
let flip = 0;
const rl = readline.createInterface({ input: process.stdin });
rl.on("line", (line) => {
  if (line === "churn on" && churn === null) {
    // 100 writes/s, 10 per 100 ms tick, round-robin over the four services: flips one instance's check.
    churn = setInterval(() => {
      for (let k = 0; k < 10; k++) {
        const n = SIZES[flip % SIZES.length]!;
        const i = Math.floor(flip / SIZES.length) % n;
        const status: HealthStatus = Math.floor(flip / (SIZES.length * n)) % 2 === 0 ? "warning" : "passing";
        register(`svc${n}-n${i}`, `10.${n % 250}.${i >> 8}.${i & 255}`, `svc${n}`, `svc${n}-${i}`, status);
        flip++;
      }
    }, 100);
  } else if (line === "churn off" && churn !== null) {
    clearInterval(churn);
    churn = null;
  } else if (line === "stats") {
    process.stdout.write(`${JSON.stringify({ stats: srv.stats, cache: srv.cache.stats, writes: index })}\n`);
  }
});
rl.on("close", () => {
  if (churn !== null) clearInterval(churn);
  void srv.close().then(() => process.exit(0));
});
process.stdout.write(`${JSON.stringify({ port: srv.address().udp.port })}\n`);
