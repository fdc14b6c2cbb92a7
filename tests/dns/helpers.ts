/**
 * tests/dns/helpers: resolver contexts, a Store-backed catalog writer, and UDP/TCP
 * query helpers (dns-packet encoded) for the DNS tests and bench.
 *
 * Must never: use non-loopback addresses or leave sockets open (every helper closes what it opens).
 */

import dgram from "node:dgram";
import net from "node:net";
import * as dnsPacket from "dns-packet";
import type { DnsConfig } from "../../src/agent/config/types.ts";
import type { CatalogReader, CheckInput, HealthStatus } from "../../src/state/catalog_types.ts";
import { Store } from "../../src/state/store.ts";
import type { DnsAgentInfo, ResolveContext } from "../../src/dns/index.ts";
import { dnsDefaults, seeded } from "./fake_catalog.ts";

export function agentInfo(over: Partial<DnsAgentInfo> = {}): DnsAgentInfo {
  return {
    nodeName: "s1", datacenter: "dc1", domain: "consul.", altDomain: "", servers: [{ node: "s1", address: "127.0.0.1" }],
    ...over,
  };
}

export function ctxFor(
  catalog: CatalogReader, o: { config?: Partial<DnsConfig>; agent?: Partial<DnsAgentInfo>; recursors?: string[]; seed?: number } = {},
): ResolveContext {
  return {
    catalog, agent: agentInfo(o.agent), config: dnsDefaults(o.config), recursors: o.recursors ?? [],
    rng: seeded(o.seed ?? 42), nowMs: () => 1_700_000_000_000,
  };
}

const NO_DEF = {
  http: "", tlsServerName: "", tlsSkipVerify: false, header: {}, method: "", body: "", tcp: "", udp: "", grpc: "",
  grpcUseTls: false, intervalNs: 0, timeoutNs: 0, deregisterCriticalServiceAfterNs: 0,
};

/** Writes catalog registrations into a real Store with increasing indexes. */
export class StoreCatalog {
  readonly store = new Store();
  private index = 0;

  register(o: {
    node: string; address: string; meta?: Record<string, string>; service?: string; id?: string; port?: number;
    serviceAddress?: string; tags?: string[]; status?: HealthStatus;
  }): void {
    const checks: CheckInput[] = [];
    if (o.status !== undefined) {
      checks.push({
        node: o.node, checkId: o.service !== undefined ? `service:${o.id ?? o.service}` : "serfHealth", name: "check",
        status: o.status, notes: "", output: "", serviceId: o.service !== undefined ? (o.id ?? o.service) : "",
        serviceName: o.service ?? "", serviceTags: [], type: "ttl", intervalNs: 0, timeoutNs: 0, exposedPort: 0, definition: NO_DEF,
      });
    }
    this.store.apply(++this.index, {
      type: "catalog-register",
      req: {
        node: { id: "", node: o.node, address: o.address, datacenter: "dc1", taggedAddresses: {}, meta: o.meta ?? {} },
        skipNodeUpdate: false,
        service: o.service === undefined ? null : {
          kind: "", id: o.id ?? o.service, service: o.service, tags: o.tags ?? [], address: o.serviceAddress ?? "",
          taggedAddresses: {}, meta: {}, port: o.port ?? 0, socketPath: "", weights: null, enableTagOverride: false,
          proxy: null, connect: null, locality: null,
        },
        checks,
      },
    });
  }

  deregister(node: string, serviceId = "", checkId = ""): void {
    this.store.apply(++this.index, { type: "catalog-deregister", node, serviceId, checkId });
  }
}

/** dns-packet's decode result with the fields its typings leave out or optional. */
export interface Decoded {
  readonly id: number;
  readonly rcode: string;
  readonly flag_aa: boolean;
  readonly flag_tc: boolean;
  readonly flag_rd: boolean;
  readonly flag_ra: boolean;
  readonly questions: dnsPacket.Question[];
  readonly answers: dnsPacket.Answer[];
  readonly authorities: dnsPacket.Answer[];
  readonly additionals: dnsPacket.Answer[];
}

export function decode(b: Buffer): Decoded {
  const d = dnsPacket.decode(b) as dnsPacket.DecodedPacket & { rcode?: string };
  return {
    id: d.id ?? 0, rcode: d.rcode ?? "", flag_aa: d.flag_aa, flag_tc: d.flag_tc, flag_rd: d.flag_rd, flag_ra: d.flag_ra,
    questions: d.questions ?? [], answers: d.answers ?? [], authorities: d.authorities ?? [], additionals: d.additionals ?? [],
  };
}

/** Record types we ask for (dns-packet's RecordType lacks ANY). */
export type QType = dnsPacket.RecordType | "ANY";

export function query(name: string, type: QType, o: { id?: number; edns?: number; rd?: boolean } = {}): Buffer {
  const opt = { type: "OPT", name: ".", udpPayloadSize: o.edns ?? 512, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] };
  return dnsPacket.encode({
    type: "query", id: o.id ?? 4242, flags: o.rd === false ? 0 : dnsPacket.RECURSION_DESIRED,
    questions: [{ type: type as dnsPacket.RecordType, name, class: "IN" }],
    additionals: o.edns !== undefined ? [opt as dnsPacket.Answer] : [],
  });
}

/** Send one UDP packet and wait for one reply (or null after timeoutMs). */
export function udpAsk(port: number, packet: Buffer, timeoutMs = 2000): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const s = dgram.createSocket("udp4");
    const t = setTimeout(() => {
      s.close();
      resolve(null);
    }, timeoutMs);
    s.on("message", (m) => {
      clearTimeout(t);
      s.close();
      resolve(m);
    });
    s.send(packet, port, "127.0.0.1");
  });
}

export async function udpQuery(port: number, name: string, type: QType, o: { edns?: number } = {}): Promise<Decoded> {
  const r = await udpAsk(port, query(name, type, o));
  if (r === null) throw new Error(`no UDP answer for ${name} ${type}`);
  return decode(r);
}

/** Open a TCP connection, send the framed packets (pipelined), and collect `expect` framed replies. */
export function tcpAsk(port: number, packets: Buffer[], expect = packets.length, timeoutMs = 3000): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, "127.0.0.1");
    const replies: Buffer[] = [];
    let buf = Buffer.alloc(0);
    const t = setTimeout(() => {
      sock.destroy();
      resolve(replies);
    }, timeoutMs);
    sock.on("connect", () => {
      for (const p of packets) {
        const len = Buffer.alloc(2);
        len.writeUInt16BE(p.length);
        sock.write(Buffer.concat([len, p]));
      }
    });
    sock.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const n = buf.readUInt16BE(0);
        replies.push(buf.subarray(2, 2 + n));
        buf = buf.subarray(2 + n);
      }
      if (replies.length >= expect) {
        clearTimeout(t);
        sock.destroy();
        resolve(replies);
      }
    });
    sock.on("error", (e) => {
      clearTimeout(t);
      if (replies.length >= expect) resolve(replies);
      else reject(e);
    });
    sock.on("close", () => {
      clearTimeout(t);
      resolve(replies);
    });
  });
}

export async function tcpQuery(port: number, name: string, type: QType): Promise<Decoded> {
  const [r] = await tcpAsk(port, [query(name, type)]);
  if (r === undefined) throw new Error(`no TCP answer for ${name} ${type}`);
  return decode(r);
}

export { dnsDefaults, seeded };
