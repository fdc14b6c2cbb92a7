/**
 * dns/server: the DNS listeners — UDP and TCP on one port (node:dgram / node:net, the
 * same on Node and Deno). Queries are parsed by hand, answered from the DnsCache
 * (prepared chunks: shuffle + truncation + copy), and names outside our domains are
 * forwarded to recursors. A UDP query that finds nothing queued is answered on arrival
 * (while that takes under 0.9 ms of each millisecond); past it, UDP work goes through a
 * fair per-source queue drained for up to 1 ms per event-loop turn; TCP takes
 * 2-byte-framed, pipelined queries with an idle timeout, a connection cap and per-turn /
 * write-buffer bounds.
 *
 * Must never: crash or stop answering on hostile input (bad packets get FORMERR or are
 * dropped), answer a response packet, or let one client starve the others.
 */

import dgram from "node:dgram";
import net from "node:net";
import { performance } from "node:perf_hooks";
import { setImmediate } from "node:timers";
import type { AddressInfo } from "node:net";
import type { CatalogReader } from "../state/catalog_types.ts";
import type { DnsConfig } from "../agent/config/types.ts";
import {
  DNS_TCP_FRAMES_PER_TURN, DNS_TCP_IDLE_TIMEOUT_MS, DNS_TCP_MAX_CONNECTIONS, DNS_TCP_MAX_PENDING_WRITE, DNS_UDP_BATCH,
  DNS_UDP_DRAIN_BUDGET_MS, DNS_UDP_INLINE_BUDGET_MS, DNS_UDP_INLINE_WINDOW_MS, DNS_UDP_MAX_PENDING_SENDS, DNS_UDP_RECV_BUFFER, DNS_UDP_SEND_POLL_MS,
  DNS_UDP_SEND_STALL_MS,
} from "../shared/limits.ts";
import { isDeno } from "../platform/runtime.ts";
import { DnsCache, RECURSE } from "./cache.ts";
import { assemble, bareResponse, responseFlags, select, type Selection } from "./prepared.ts";
import { assemblePooled, pooledChunks } from "./order_pool.ts";
import { forward, parseRecursor, type RecursorAddr } from "./recursor.ts";
import { UdpQueue } from "./udp_queue.ts";
import { route, type RouteDomains } from "./route.ts";
import { fqdnLower } from "./resolve.ts";
import type { DnsAgentInfo } from "./types.ts";
import {
  HEADER_LEN, RCODE_FORMERR, RCODE_NOTIMP, RCODE_REFUSED, RCODE_SERVFAIL, nameToWire, parseQuery, type ParsedQuery,
} from "./wire.ts";

export type DnsLogLevel = "debug" | "info" | "warn" | "error";
export type DnsLog = (level: DnsLogLevel, msg: string, fields?: Record<string, unknown>) => void;

export interface DnsServerOptions {
  readonly catalog: CatalogReader;
  readonly agent: DnsAgentInfo;
  readonly config: DnsConfig;
  readonly recursors?: readonly string[];
  readonly host: string;
  /** 0 picks a free port (the same one for UDP and TCP). */
  readonly port: number;
  readonly log?: DnsLog;
  /** Randomness for shuffles and random recursor order (default Math.random). */
  readonly rng?: () => number;
  /** Unix ms for SOA serials (default Date.now). */
  readonly nowMs?: () => number;
  /** Override the UDP queue bounds (tests). */
  readonly udpQueue?: { perSource?: number; total?: number; maxAgeMs?: number };
  /** Override DNS_UDP_INLINE_BUDGET_MS, the time per millisecond spent answering UDP queries on arrival (tests). */
  readonly udpInlineBudgetMs?: number;
  /**
   * Client agents: every well-formed query is answered by this instead of the local catalog
   * (a server's resolver over RPC; the reply comes without TCP framing). A rejection or null
   * answers SERVFAIL.
   */
  readonly forward?: ((msg: Buffer, tcp: boolean) => Promise<Buffer | null>) | undefined;
  /**
   * Servers with a WAN pool: a service or node question for another datacenter (`.<dc>.`)
   * is answered by a server of it when this gives a forwarder for that datacenter (Consul
   * forwards such lookups to the remote datacenter); undefined leaves it to the local resolver.
   */
  readonly forwardRemote?: ((dc: string) => ((msg: Buffer, tcp: boolean) => Promise<Buffer | null>) | undefined) | undefined;
}

export interface DnsServerStats {
  udpQueries: number;
  /** UDP queries answered on arrival, without passing through the fair queue. */
  udpInline: number;
  tcpQueries: number;
  formerr: number;
  dropped: number;
  recursed: number;
  servfail: number;
  tcpRejected: number;
}

export interface DnsServer {
  address(): { udp: AddressInfo; tcp: AddressInfo };
  close(): Promise<void>;
  readonly cache: DnsCache;
  readonly stats: DnsServerStats;
  readonly queue: UdpQueue;
}

/** Bytes buffered from one TCP connection at most: a few whole frames (reading pauses while busy). */
const MAX_TCP_BUFFERED = 4 * (2 + 65535);

/** A reply to send now, nothing (drop), or a reply that comes later (recursion). */
type Reply = Buffer | null | Promise<Buffer | null>;
/** A TCP listener's reply: also chunks to write in order (a pooled large answer, sharing its bytes). */
type TcpReply = Reply | Buffer[];

function withPrefix(b: Buffer, headroom: number): Buffer {
  if (headroom === 0) return b;
  const out = Buffer.allocUnsafe(b.length + 2);
  out.writeUInt16BE(b.length, 0);
  b.copy(out, 2);
  return out;
}

/** A response with the question echoed and no records (SERVFAIL after recursion, NOTIMP opcodes). */
function questionOnly(q: ParsedQuery, rcode: number, ra: boolean): Buffer {
  const name = nameToWire(q.qname) ?? Buffer.from([0]);
  const out = Buffer.alloc(HEADER_LEN + name.length + 4);
  out.writeUInt16BE(q.id, 0);
  out.writeUInt16BE(responseFlags(q.flags, rcode, false, ra, false), 2);
  out.writeUInt16BE(1, 4);
  name.copy(out, HEADER_LEN);
  out.writeUInt16BE(q.qtype, HEADER_LEN + name.length);
  out.writeUInt16BE(q.qclass, HEADER_LEN + name.length + 2);
  return out;
}

export class DnsHandler {
  readonly cache: DnsCache;
  readonly stats: DnsServerStats = { udpQueries: 0, udpInline: 0, tcpQueries: 0, formerr: 0, dropped: 0, recursed: 0, servfail: 0, tcpRejected: 0 };
  private readonly config: DnsConfig;
  private readonly rng: () => number;
  private readonly nowMs: () => number;
  private readonly recursors: RecursorAddr[];
  private readonly log: DnsLog;
  private readonly sel: Selection = { count: 0, dropAuth: false, truncated: false, size: 0, optLen: 0, extraCount: 0 };
  private readonly udpOpts: { transport: "udp"; udpSize: number | null; ecsLen: number; config: DnsConfig; rng: () => number };
  private readonly tcpOpts: { transport: "tcp"; udpSize: number | null; ecsLen: number; config: DnsConfig; rng: () => number };
  private readonly forwardTo: ((msg: Buffer, tcp: boolean) => Promise<Buffer | null>) | undefined;
  private readonly forwardRemote: DnsServerOptions["forwardRemote"];
  private readonly domains: RouteDomains;
  private readonly localDc: string;

  constructor(o: DnsServerOptions) {
    this.forwardTo = o.forward;
    this.forwardRemote = o.forwardRemote;
    this.domains = { domain: fqdnLower(o.agent.domain), altDomain: fqdnLower(o.agent.altDomain) };
    this.localDc = o.agent.datacenter.toLowerCase();
    this.config = o.config;
    this.rng = o.rng ?? Math.random;
    this.nowMs = o.nowMs ?? Date.now;
    this.log = o.log ?? (() => undefined);
    this.recursors = [];
    for (const r of o.recursors ?? []) {
      const a = parseRecursor(r);
      if (a === null) this.log("warn", "dns: ignoring recursor that is not an IP address", { recursor: r });
      else this.recursors.push(a);
    }
    this.cache = new DnsCache({
      catalog: o.catalog, agent: o.agent, config: o.config, recursors: this.recursors.map((r) => r.host), nowMs: this.nowMs,
    });
    this.udpOpts = { transport: "udp", udpSize: null, ecsLen: 0, config: o.config, rng: this.rng };
    this.tcpOpts = { transport: "tcp", udpSize: null, ecsLen: 0, config: o.config, rng: this.rng };
  }

  /** Answer one query packet (TCP: with the 2-byte length prefix). */
  handle(msg: Buffer, tcp: boolean): Reply {
    return this.answer(msg, tcp, false) as Reply;
  }

  /** Answer one query from a TCP listener: large pooled answers come as chunks for one writev, without a copy. */
  handleTcp(msg: Buffer): TcpReply {
    return this.answer(msg, true, true);
  }

  private answer(msg: Buffer, tcp: boolean, chunked: boolean): TcpReply {
    const headroom = tcp ? 2 : 0;
    const r = parseQuery(msg);
    if (!r.ok) {
      if (!r.formerr) {
        this.stats.dropped++;
        return null;
      }
      this.stats.formerr++;
      return withPrefix(bareResponse(r.id, r.flags, RCODE_FORMERR), headroom);
    }
    const q: ParsedQuery = r;
    if (q.opcode !== 0) return withPrefix(bareResponse(q.id, q.flags, RCODE_NOTIMP), headroom);
    if (q.qdcount === 0) return withPrefix(bareResponse(q.id, q.flags, RCODE_REFUSED), headroom);
    if (this.forwardTo !== undefined) return this.forwarded(this.forwardTo, msg, q, tcp);
    if (this.forwardRemote !== undefined) {
      const rt = route(q.qname, q.qtype, this.domains);
      if ((rt.kind === "service" || rt.kind === "node") && rt.dc !== null && rt.dc !== this.localDc) {
        const fwd = this.forwardRemote(rt.dc);
        if (fwd !== undefined) return this.forwarded(fwd, msg, q, tcp);
      }
    }
    let p;
    try {
      p = this.cache.getKey(q.key);
    } catch (e) {
      this.log("error", "dns: building an answer failed", { name: q.qname, error: String(e) });
      this.stats.servfail++;
      return withPrefix(questionOnly(q, RCODE_SERVFAIL, this.recursors.length > 0), headroom);
    }
    if (p === RECURSE) return this.recurse(msg, q, headroom);
    const o = tcp ? this.tcpOpts : this.udpOpts;
    o.udpSize = q.udpSize;
    o.ecsLen = q.ecs === null ? 0 : q.ecs.length;
    const pooled = chunked ? pooledChunks(p, q, o, this.config.enableTruncate, headroom) : assemblePooled(p, q, o, this.config.enableTruncate, headroom);
    if (pooled !== null) return pooled;
    const sel = select(p, o, this.sel);
    const tc = sel.truncated && this.config.enableTruncate;
    return assemble(p, q, sel, tc, p.serials ? Math.floor(this.nowMs() / 1000) : 0, headroom);
  }

  /** Client agents: a server answers (its reply carries no TCP framing). */
  private async forwarded(fwd: (msg: Buffer, tcp: boolean) => Promise<Buffer | null>, msg: Buffer, q: ParsedQuery, tcp: boolean): Promise<Buffer | null> {
    const headroom = tcp ? 2 : 0;
    try {
      const reply = await fwd(msg, tcp);
      if (reply !== null && reply.length >= HEADER_LEN) return withPrefix(reply, headroom);
    } catch (e) {
      this.log("debug", "dns: forwarding to a server failed", { name: q.qname, error: String(e) });
    }
    this.stats.servfail++;
    return withPrefix(questionOnly(q, RCODE_SERVFAIL, false), headroom);
  }

  private async recurse(msg: Buffer, q: ParsedQuery, headroom: number): Promise<Buffer | null> {
    this.stats.recursed++;
    const reply = await forward(msg, {
      recursors: this.recursors, strategy: this.config.recursorStrategy, timeoutMs: this.config.recursorTimeoutMs, rng: this.rng,
    });
    if (reply !== null) return withPrefix(reply, headroom);
    this.stats.servfail++;
    this.log("debug", "dns: all recursors failed", { name: q.qname });
    return withPrefix(questionOnly(q, RCODE_SERVFAIL, true), headroom);
  }
}

function listenUdp(sock: dgram.Socket, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onErr = (e: Error): void => reject(e);
    sock.once("error", onErr);
    sock.bind(port, host, () => {
      sock.off("error", onErr);
      resolve();
    });
  });
}

function listenTcp(srv: net.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onErr = (e: Error): void => reject(e);
    srv.once("error", onErr);
    srv.listen(port, host, () => {
      srv.off("error", onErr);
      resolve();
    });
  });
}

/**
 * UDP replies go back to the address a query came from, always an IP literal: answer the
 * socket's lookup at once instead of through dns.lookup, which validates the text and
 * defers every send by a nextTick.
 */
const literalLookup = (address: string, _opts: unknown, cb: (err: Error | null, address: string, family: number) => void): void => {
  cb(null, address, address.includes(":") ? 6 : 4);
};

/** Start UDP and TCP DNS listeners on host:port. */
export async function startDnsServer(o: DnsServerOptions): Promise<DnsServer> {
  const handler = new DnsHandler(o);
  const log = o.log ?? (() => undefined);
  const family = net.isIPv6(o.host) ? "udp6" : "udp4";
  const queue = new UdpQueue(o.udpQueue ?? {});
  let closed = false;

  // ---- UDP ----
  let udp: dgram.Socket | null = null;
  let tcp: net.Server | null = null;
  const conns = new Set<net.Socket>();
  let drainScheduled = false;
  // Replies handed to the socket and not yet sent. On runtimes where send is asynchronous
  // (Deno) answering faster than the socket drains would queue replies for seconds; past
  // the bound the work queue waits instead, and its oldest entries age out.
  // Node sends synchronously while the socket buffer has room (uv_udp_try_send) and keeps a
  // count of the sends it had to queue; a completion callback there would cost a nextTick per
  // reply (measured on a raw responder: 1,472 -> 658 B allocated per query without it and
  // without the DNS lookup below), so only Deno's sends are counted by callback.
  const countSends = isDeno;
  let pendingSends = 0;
  let waitingForSends = false;
  let lastSent = performance.now();
  const sent = (): void => {
    pendingSends--;
    lastSent = performance.now();
    if (waitingForSends && pendingSends <= DNS_UDP_MAX_PENDING_SENDS / 2) {
      waitingForSends = false;
      schedule();
    }
  };

  const send = (reply: Buffer, port: number, address: string): void => {
    if (closed || udp === null) return;
    try {
      if (countSends) {
        pendingSends++;
        udp.send(reply, port, address, sent);
      } else {
        udp.send(reply, port, address);
      }
    } catch (e) {
      if (countSends) pendingSends--;
      log("debug", "dns: udp send failed", { error: String(e) });
    }
  };
  const sendBacklog = (): number => (countSends ? pendingSends : (udp?.getSendQueueCount() ?? 0));

  /** Answers one UDP query: the reply to send now, or null (none, or a recursion that sends it later). */
  const answer = (msg: Buffer, port: number, address: string): Buffer | null => {
    handler.stats.udpQueries++;
    let reply: Reply;
    try {
      reply = handler.handle(msg, false);
    } catch (e) {
      log("error", "dns: query failed", { error: String(e) });
      return null;
    }
    if (reply === null || !(reply instanceof Promise)) return reply;
    reply.then((b) => {
      if (b !== null) send(b, port, address);
    }, (e: unknown) => log("error", "dns: recursion failed", { error: String(e) }));
    return null;
  };

  // A query that arrives with nothing queued is answered at once while answering on arrival
  // took under DNS_UDP_INLINE_BUDGET_MS of the current DNS_UDP_INLINE_WINDOW_MS: no wait for
  // the rest of the socket's read batch and the next loop phase. Past that (the server is near
  // overload: a burst or a storm) queries go through the fair queue until it is empty again;
  // under sustained overload it never empties, so from then on every query is queued fairly.
  const inlineBudgetMs = o.udpInlineBudgetMs ?? DNS_UDP_INLINE_BUDGET_MS;
  let windowStart = 0;
  let inlineMs = 0;
  const onMessage = (msg: Buffer, address: string, port: number): void => {
    if (closed) return;
    const now = performance.now();
    if (queue.size === 0 && !waitingForSends) {
      if (now - windowStart >= DNS_UDP_INLINE_WINDOW_MS) {
        windowStart = now;
        inlineMs = 0;
      }
      if (inlineMs < inlineBudgetMs && sendBacklog() < DNS_UDP_MAX_PENDING_SENDS) {
        handler.stats.udpInline++;
        const reply = answer(msg, port, address);
        if (reply !== null) send(reply, port, address);
        inlineMs += performance.now() - now;
        return;
      }
    }
    queue.push({ msg, address, port, at: now });
    schedule();
  };

  // A drain turn answers queued queries for up to DNS_UDP_DRAIN_BUDGET_MS, sending each group
  // of DNS_UDP_BATCH replies together (the arrays are reused), then yields to the loop.
  const outReply: Buffer[] = [];
  const outPort: number[] = [];
  const outAddr: string[] = [];
  const drain = (): void => {
    drainScheduled = false;
    if (closed) return;
    const start = performance.now();
    const backlog = sendBacklog();
    if (backlog >= DNS_UDP_MAX_PENDING_SENDS) {
      if (countSends && start - lastSent > DNS_UDP_SEND_STALL_MS) {
        // no send completed for a long time: do not stall forever on lost callbacks
        log("warn", "dns: udp sends stalled; resetting the pending count", { pending: pendingSends });
        pendingSends = 0;
        lastSent = start;
      } else {
        waitingForSends = true;
        setTimeout(() => {
          if (waitingForSends) {
            waitingForSends = false;
            schedule();
          }
        }, countSends ? DNS_UDP_SEND_STALL_MS : DNS_UDP_SEND_POLL_MS).unref();
        return;
      }
    }
    let room = DNS_UDP_MAX_PENDING_SENDS - backlog;
    let now = start;
    while (room > 0 && queue.size > 0 && now - start < DNS_UDP_DRAIN_BUDGET_MS) {
      let n = 0;
      for (let i = 0; i < DNS_UDP_BATCH && n < room; i++) {
        const item = queue.take(now);
        if (item === undefined) break;
        const reply = answer(item.msg, item.port, item.address);
        if (reply === null) continue;
        outReply[n] = reply;
        outPort[n] = item.port;
        outAddr[n] = item.address;
        n++;
      }
      for (let i = 0; i < n; i++) send(outReply[i]!, outPort[i]!, outAddr[i]!);
      outReply.length = 0;
      room -= n;
      now = performance.now();
    }
    if (queue.size > 0 && !waitingForSends) schedule();
  };
  const schedule = (): void => {
    if (drainScheduled) return;
    drainScheduled = true;
    // Deno runs setImmediate rarely while sockets are busy (measured: ~6 turns/s under a
    // UDP storm); a microtask keeps the queue moving there. Node batches per loop turn.
    if (isDeno) queueMicrotask(drain);
    else setImmediate(drain);
  };

  // ---- TCP ----
  const onConnection = (sock: net.Socket): void => {
    if (closed || conns.size >= DNS_TCP_MAX_CONNECTIONS) {
      handler.stats.tcpRejected++;
      sock.destroy();
      return;
    }
    conns.add(sock);
    sock.setNoDelay(true);
    sock.setTimeout(DNS_TCP_IDLE_TIMEOUT_MS);
    let buf: Buffer = Buffer.alloc(0);
    let busy = false;
    let pausedForWrite = false;
    const write = (b: Buffer): void => {
      if (sock.destroyed) return;
      sock.write(b);
      if (sock.writableLength > DNS_TCP_MAX_PENDING_WRITE && !pausedForWrite) {
        pausedForWrite = true;
        sock.pause();
        sock.once("drain", () => {
          pausedForWrite = false;
          if (busy || sock.destroyed) return;
          process(); // frames that arrived while replies were backed up
          if (!busy && !pausedForWrite && !sock.destroyed) sock.resume();
        });
      }
    };
    // Replies of one batch of frames leave in one writev: cork for the batch, uncork after it.
    const process = (): void => {
      sock.cork();
      try {
        processFrames();
      } finally {
        if (!sock.destroyed) sock.uncork();
      }
    };
    const processFrames = (): void => {
      let frames = 0;
      while (!sock.destroyed && !pausedForWrite && buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (len < HEADER_LEN) {
          // cannot hold a DNS header: FORMERR is impossible to address, close.
          sock.destroy();
          return;
        }
        if (buf.length < 2 + len) break;
        if (frames >= DNS_TCP_FRAMES_PER_TURN) {
          // yield to other connections and UDP; continue next turn
          if (!busy) {
            busy = true;
            sock.pause();
            setImmediate(() => {
              busy = false;
              process();
              if (!busy && !pausedForWrite && !sock.destroyed) sock.resume();
            });
          }
          return;
        }
        const msg = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        frames++;
        handler.stats.tcpQueries++;
        let reply: TcpReply;
        try {
          reply = handler.handleTcp(msg);
        } catch (e) {
          log("error", "dns: query failed", { error: String(e) });
          sock.destroy();
          return;
        }
        if (reply === null) continue;
        if (reply instanceof Promise) {
          reply.then((b) => {
            if (b !== null) write(b);
          }, (e: unknown) => log("error", "dns: recursion failed", { error: String(e) }));
        } else if (Array.isArray(reply)) {
          for (const c of reply) write(c);
        } else {
          write(reply);
        }
      }
    };
    sock.on("data", (chunk: Buffer) => {
      if (buf.length + chunk.length > MAX_TCP_BUFFERED) {
        sock.destroy();
        return;
      }
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      if (!busy) process();
    });
    sock.on("timeout", () => sock.destroy());
    sock.on("error", () => sock.destroy());
    sock.on("close", () => conns.delete(sock));
  };

  // Bind UDP, then TCP on the same port (retry a few times when port 0 picked one TCP cannot have).
  for (let attempt = 0; ; attempt++) {
    const u = dgram.createSocket({ type: family, lookup: literalLookup });
    u.on("message", (msg, rinfo) => onMessage(msg, rinfo.address, rinfo.port));
    await listenUdp(u, o.host, o.port);
    try {
      u.setRecvBufferSize(DNS_UDP_RECV_BUFFER);
    } catch {
      // best effort: the kernel may refuse or cap it
    }
    u.on("error", (e) => log("warn", "dns: udp socket error", { error: String(e) }));
    const t = net.createServer(onConnection);
    t.on("error", (e) => log("warn", "dns: tcp server error", { error: String(e) }));
    try {
      await listenTcp(t, o.host, (u.address() as AddressInfo).port);
      udp = u;
      tcp = t;
      break;
    } catch (e) {
      u.close();
      if (o.port !== 0 || attempt >= 10) throw e;
    }
  }
  const udpSock = udp;
  const tcpSrv = tcp;
  log("info", "dns: listening", { udp: udpSock.address(), tcp: tcpSrv.address() });

  return {
    cache: handler.cache,
    stats: handler.stats,
    queue,
    address: () => ({ udp: udpSock.address() as AddressInfo, tcp: tcpSrv.address() as AddressInfo }),
    close: async () => {
      if (closed) return;
      closed = true;
      queue.clear();
      for (const c of conns) c.destroy();
      await Promise.all([
        new Promise<void>((r) => udpSock.close(() => r())),
        new Promise<void>((r) => tcpSrv.close(() => r())),
      ]);
      handler.cache.clear();
    },
  };
}
