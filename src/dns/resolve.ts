/**
 * dns/resolve: the pure core of the DNS interface. `build` turns one question into the
 * full, unshuffled record set Consul would answer with (agent/dns/router.go semantics);
 * `resolve` then shuffles, applies a_record_limit and Consul's UDP/TCP truncation, and
 * returns a structured Answer. The server uses the same `build` + prepared.ts `select`
 * through its cache, so both paths answer alike.
 *
 * Must never: open sockets, read clocks or Math.random (time and randomness come in
 * through ResolveContext), or mutate the catalog.
 */

import type { CatalogReader, NodeRow, ServiceHealth } from "../state/catalog_types.ts";
import type { DnsConfig } from "../agent/config/types.ts";
import type { Rr } from "./records.ts";
import type { Answer, BuildResult, Built, CatalogNames, Dep, Entry, Question, ResolveContext } from "./types.ts";
import { route, type Route } from "./route.ts";
import {
  RCODE_NOERROR, RCODE_NOTIMP, RCODE_NXDOMAIN, RCODE_REFUSED, T_A, T_AAAA, T_ANY, T_AXFR, T_IXFR, T_NS, T_SRV, T_TXT,
  ipToString, parseIp,
} from "./wire.ts";
import { DNS_MAX_CNAME_DEPTH } from "../shared/limits.ts";
import { materialize, prepare, select } from "./prepared.ts";

/** Lower-case FQDN form of a domain setting. */
export function fqdnLower(d: string): string {
  if (d === "") return "";
  const l = d.toLowerCase();
  return l.endsWith(".") ? l : `${l}.`;
}

export function canonicalQname(name: string): string {
  const l = name.toLowerCase();
  return l.endsWith(".") ? l : `${l}.`;
}

/** Scans the catalog on every call (the cache supplies a memoized CatalogNames). */
export function scanNames(catalog: CatalogReader): CatalogNames {
  return {
    services(lower) {
      const out: string[] = [];
      for (const name of catalog.catalogServices().value.keys()) if (name.toLowerCase() === lower) out.push(name);
      return out;
    },
    node(lower) {
      for (const n of catalog.catalogNodes().value) if (n.node.toLowerCase() === lower) return n.node;
      return undefined;
    },
  };
}

/** Consul's service TTL: exact name first, then the longest "prefix*" pattern, else node_ttl. */
export function serviceTtl(cfg: DnsConfig, name: string): number {
  const exact = cfg.serviceTtlMs[name];
  if (exact !== undefined) return Math.floor(exact / 1000);
  let best = -1;
  let ttl = cfg.nodeTtlMs;
  for (const [k, v] of Object.entries(cfg.serviceTtlMs)) {
    if (!k.endsWith("*")) continue;
    const p = k.slice(0, -1);
    if (name.startsWith(p) && p.length > best) {
      best = p.length;
      ttl = v;
    }
  }
  return Math.floor(ttl / 1000);
}

/** RFC 1464 TXT text of one meta pair, as Consul writes it (keys "rfc1035-*" give the bare value). */
export function metaTxt(key: string, value: string): string {
  if (key.toLowerCase().startsWith("rfc1035-")) return value;
  let k = key.replace(/`/g, "``").replace(/=/g, "`=");
  const lead = /^ +/.exec(k)?.[0].length ?? 0;
  k = "` ".repeat(lead) + k.slice(lead);
  const trail = / +$/.exec(k)?.[0].length ?? 0;
  k = k.slice(0, k.length - trail) + "` ".repeat(trail);
  return `${k}=${value.replace(/`/g, "``")}`;
}

type Family = 4 | 6 | 0; // 0 = any

interface Addr {
  readonly text: string;
  readonly ip: Uint8Array | null;
}

function addrOf(s: string): Addr {
  return { text: s, ip: s === "" ? null : parseIp(s) };
}

/**
 * Pick the address to use for the asked family (Consul's TranslateAddress for the local
 * DC): the address itself if it fits, else a lan_ipv4 / lan_ipv6 tagged address, else the address.
 */
function pickAddr(address: string, tagged: (k: string) => string | undefined, fam: Family): Addr {
  const a = addrOf(address);
  if (fam === 0 || a.ip === null) return a;
  if ((a.ip.length === 4) === (fam === 4)) return a;
  const alt = tagged(fam === 4 ? "lan_ipv4" : "lan_ipv6");
  if (alt !== undefined && alt !== "") {
    const b = addrOf(alt);
    if (b.ip !== null && (b.ip.length === 4) === (fam === 4)) return b;
  }
  return a;
}

function famFor(qtype: number): Family {
  return qtype === T_A ? 4 : qtype === T_AAAA ? 6 : 0;
}

/** Consul's getAnswerExtrasForIP rule: may an A/AAAA be produced for this qtype, and does it go to the answer? */
function ipPlacement(ip: Uint8Array, qtype: number): "answer" | "extra" | "none" {
  const v4 = ip.length === 4;
  const ok = qtype === T_SRV || qtype === T_ANY || qtype === T_NS || qtype === T_TXT || qtype === (v4 ? T_A : T_AAAA);
  if (!ok) return "none";
  return qtype === T_ANY || qtype === (v4 ? T_A : T_AAAA) ? "answer" : "extra";
}

function ipRr(name: string, ip: Uint8Array, ttl: number): Rr {
  return ip.length === 4
    ? { type: "A", name, ttl, address: ipToString(ip) }
    : { type: "AAAA", name, ttl, address: ipToString(ip) };
}

function hexOf(ip: Uint8Array): string {
  let s = "";
  for (const b of ip) s += b.toString(16).padStart(2, "0");
  return s;
}

function fqdn(s: string): string {
  return s.endsWith(".") ? s : `${s}.`;
}

class Builder {
  readonly ctx: ResolveContext;
  readonly domain: string;
  readonly altDomain: string;
  readonly dc: string;
  readonly names: CatalogNames;
  readonly ra: boolean;
  constructor(ctx: ResolveContext) {
    this.ctx = ctx;
    this.domain = fqdnLower(ctx.agent.domain);
    this.altDomain = fqdnLower(ctx.agent.altDomain);
    this.dc = ctx.agent.datacenter;
    this.names = ctx.names ?? scanNames(ctx.catalog);
    this.ra = ctx.recursors.length > 0;
  }

  soa(domain: string): Rr {
    const s = this.ctx.config.soa;
    return {
      type: "SOA", name: domain, ttl: s.minTtl, mname: `ns.${domain}`, rname: `hostmaster.${domain}`,
      serial: Math.floor(this.ctx.nowMs() / 1000) >>> 0, refresh: s.refresh, retry: s.retry, expire: s.expire, minimum: s.minTtl,
    };
  }

  negative(domain: string, rcode: number, deps: Dep[] = []): Built {
    return {
      kind: "records", rcode, aa: true, ra: this.ra, entries: [], shuffle: false, aLimit: false, srv: false,
      authority: [this.soa(domain)], additional: [], deps,
    };
  }

  records(entries: Entry[], extras: Rr[], deps: Dep[], opts: { shuffle?: boolean; aLimit?: boolean; srv?: boolean; authority?: Rr[] } = {}): Built {
    return {
      kind: "records", rcode: RCODE_NOERROR, aa: true, ra: this.ra, entries, shuffle: opts.shuffle ?? false,
      aLimit: opts.aLimit ?? false, srv: opts.srv ?? false, authority: opts.authority ?? [], additional: extras, deps,
    };
  }

  knownDc(dc: string | null): boolean {
    if (dc === null) return true;
    if (dc === this.dc.toLowerCase()) return true;
    return (this.ctx.agent.datacenters ?? []).some((d) => d.toLowerCase() === dc);
  }

  nodeName(node: string, domain: string): string {
    return `${node}.node.${this.dc}.${domain}`;
  }

  build(qname: string, qtype: number, depth: number): BuildResult {
    const r: Route = route(qname, qtype, { domain: this.domain, altDomain: this.altDomain });
    switch (r.kind) {
      case "outside":
        if (this.ra) return { kind: "recurse" };
        return {
          kind: "records", rcode: RCODE_REFUSED, aa: false, ra: false, entries: [], shuffle: false, aLimit: false, srv: false,
          authority: [], additional: [], deps: [],
        };
      case "nxdomain":
        return this.negative(r.domain, RCODE_NXDOMAIN);
      case "notimp":
        return this.negative(r.domain, RCODE_NOTIMP);
      case "soa":
        return this.soaAnswer(r.domain);
      case "ns":
        return this.nsAnswer(r.domain);
      case "ptr":
        return this.ptr(qname, r.domain, r.ip);
      case "addr":
        return this.addr(qname, qtype, r.domain, r.ip);
      case "node":
        if (qtype === T_AXFR || qtype === T_IXFR) return this.negative(r.domain, RCODE_NOTIMP);
        if (!this.knownDc(r.dc)) return this.negative(r.domain, RCODE_NXDOMAIN);
        return this.node(qname, qtype, r.domain, r.name);
      case "service":
        if (qtype === T_AXFR || qtype === T_IXFR) return this.negative(r.domain, RCODE_NOTIMP);
        if (!this.knownDc(r.dc)) return this.negative(r.domain, RCODE_NXDOMAIN);
        return this.service(qname, qtype, r.domain, r.name, r.tag, depth);
    }
  }

  servers(domain: string): { entries: Entry[]; ttl: number } {
    const ttl = serviceTtl(this.ctx.config, "consul");
    const entries: Entry[] = [];
    for (const s of this.ctx.agent.servers.slice(0, 3)) {
      const target = this.nodeName(s.node, domain);
      const ip = parseIp(s.address);
      const extra: Rr[] = ip === null ? [] : [ipRr(target, ip, ttl)];
      entries.push({ rr: { type: "NS", name: domain, ttl, target }, extra, group: target.toLowerCase() });
    }
    return { entries, ttl };
  }

  soaAnswer(domain: string): Built {
    const { entries } = this.servers(domain);
    return this.records([{ rr: this.soa(domain), extra: [], group: null }], entries.flatMap((e) => e.extra), [], {
      authority: entries.map((e) => e.rr),
    });
  }

  nsAnswer(domain: string): Built {
    const { entries } = this.servers(domain);
    if (entries.length === 0) return this.negative(domain, RCODE_NOERROR);
    return this.records(entries, [], []);
  }

  ptr(qname: string, domain: string, ip: Uint8Array | null): Built {
    if (ip === null) return this.negative(domain, RCODE_NXDOMAIN);
    const want = ipToString(ip);
    const ttl = Math.floor(this.ctx.config.nodeTtlMs / 1000);
    const deps: Dep[] = [{ kind: "table", table: "nodes" }, { kind: "table", table: "services" }];
    const entries: Entry[] = [];
    for (const n of this.ctx.catalog.catalogNodes().value) {
      const a = parseIp(n.address);
      if (a !== null && ipToString(a) === want) {
        entries.push({ rr: { type: "PTR", name: qname, ttl, target: this.nodeName(n.node, domain) }, extra: [], group: null });
      }
    }
    if (entries.length === 0) {
      // Services registered with an explicit address answer with their service name.
      const seen = new Set<string>();
      for (const svc of this.ctx.catalog.catalogServices().value.keys()) {
        for (const inst of this.ctx.catalog.catalogService(svc).value) {
          const a = parseIp(inst.service.address);
          if (a === null || ipToString(a) !== want || seen.has(svc)) continue;
          seen.add(svc);
          entries.push({ rr: { type: "PTR", name: qname, ttl, target: `${svc}.service.${this.dc}.${domain}` }, extra: [], group: null });
        }
      }
    }
    if (entries.length === 0) return this.negative(domain, RCODE_NXDOMAIN, deps);
    return this.records(entries, [], deps);
  }

  addr(qname: string, qtype: number, domain: string, ip: Uint8Array | null): Built {
    if (ip === null) return this.negative(domain, RCODE_NXDOMAIN);
    const ttl = Math.floor(this.ctx.config.nodeTtlMs / 1000);
    const rr = ipRr(qname, ip, ttl);
    const inAnswer = qtype === T_ANY || qtype === (ip.length === 4 ? T_A : T_AAAA);
    return inAnswer ? this.records([{ rr, extra: [], group: null }], [], []) : this.records([], [rr], []);
  }

  nodeMetaTxt(name: string, node: NodeRow, ttl: number): Rr[] {
    return Object.keys(node.meta).sort().map((k) => ({ type: "TXT" as const, name, ttl, text: metaTxt(k, node.meta[k]!) }));
  }

  node(qname: string, qtype: number, domain: string, lower: string): Built {
    const actual = this.names.node(lower);
    const deps: Dep[] = actual === undefined ? [{ kind: "table", table: "nodes" }] : [{ kind: "node", name: actual }];
    const found = actual === undefined ? undefined : this.ctx.catalog.catalogNode(actual).value;
    if (found === undefined) return this.negative(domain, RCODE_NXDOMAIN, deps);
    const node = found.node;
    const ttl = Math.floor(this.ctx.config.nodeTtlMs / 1000);
    const entries: Entry[] = [];
    const extras: Rr[] = [];
    const a = pickAddr(node.address, (k) => node.taggedAddresses[k], famFor(qtype));
    if (a.ip !== null) {
      const place = ipPlacement(a.ip, qtype);
      const rr = ipRr(qname, a.ip, ttl);
      if (place === "answer") entries.push({ rr, extra: [], group: null });
      else if (place === "extra") extras.push(rr);
    } else if (a.text !== "") {
      entries.push({ rr: { type: "CNAME", name: qname, ttl, target: fqdn(a.text) }, extra: [], group: null });
    }
    const txtInAnswer = qtype === T_ANY || qtype === T_TXT;
    if (txtInAnswer || this.ctx.config.enableAdditionalNodeMetaTxt) {
      const txt = this.nodeMetaTxt(qname, node, ttl);
      if (txtInAnswer) for (const t of txt) entries.push({ rr: t, extra: [], group: null });
      else extras.push(...txt);
    }
    if (entries.length === 0 && extras.length === 0) return this.negative(domain, RCODE_NOERROR, deps);
    return this.records(entries, extras, deps);
  }

  healthy(name: string, tag: string | null): ServiceHealth[] {
    const out: ServiceHealth[] = [];
    const onlyPassing = this.ctx.config.onlyPassing;
    for (const sh of this.ctx.catalog.healthService(name).value) {
      if (tag !== null && !sh.service.tags.some((t) => t.toLowerCase() === tag)) continue;
      let bad = false;
      for (const c of sh.checks) {
        if (c.status === "critical" || c.status === "maintenance" || (onlyPassing && c.status === "warning")) {
          bad = true;
          break;
        }
      }
      if (!bad) out.push(sh);
    }
    return out;
  }

  /** Answers for a CNAME target inside our own domain (Consul resolves those internally). */
  internal(target: string, depth: number): Rr[] {
    const t = target.toLowerCase();
    const inside = t.endsWith(`.${this.domain}`) || (this.altDomain !== "" && t.endsWith(`.${this.altDomain}`));
    if (!inside || depth <= 0) return [];
    const b = this.build(t, T_ANY, depth - 1);
    if (b.kind !== "records") return [];
    return b.entries.map((e) => e.rr);
  }

  service(qname: string, qtype: number, domain: string, lower: string, tag: string | null, depth: number): Built {
    const actual = this.names.services(lower);
    const deps: Dep[] = actual.length === 0
      ? [{ kind: "table", table: "services" }]
      : actual.map((name) => ({ kind: "service" as const, name }));
    const results: ServiceHealth[] = [];
    for (const name of actual) results.push(...this.healthy(name, tag));
    if (results.length === 0) return this.negative(domain, RCODE_NXDOMAIN, deps);
    const ttl = serviceTtl(this.ctx.config, lower);
    return qtype === T_SRV
      ? this.serviceSrv(qname, domain, results, ttl, deps, depth)
      : this.serviceGeneric(qname, qtype, domain, results, ttl, deps, depth);
  }

  serviceSrv(qname: string, domain: string, results: ServiceHealth[], ttl: number, deps: Dep[], depth: number): Built {
    const entries: Entry[] = [];
    const seen = new Set<string>();
    const metaTxtOn = this.ctx.config.enableAdditionalNodeMetaTxt;
    for (const sh of results) {
      const { node, service } = sh;
      const address = service.address !== "" ? service.address : node.address;
      const tuple = `${node.node}:${address}:${service.port}`;
      if (seen.has(tuple)) continue;
      seen.add(tuple);
      const warning = sh.checks.some((c) => c.status === "warning");
      const weight = Math.max(0, Math.min(65535, warning ? service.weights.warning : service.weights.passing));
      const nodeFqdn = this.nodeName(node.node, domain);
      const svc = addrOf(service.address);
      const nod = addrOf(node.address);
      let target: string;
      const extra: Rr[] = [];
      if (svc.text === "" && nod.ip !== null) {
        target = nodeFqdn;
        extra.push(ipRr(target, nod.ip, ttl));
      } else if (svc.ip !== null) {
        target = svc.text === node.address ? nodeFqdn : `${hexOf(svc.ip)}.addr.${this.dc}.${domain}`;
        extra.push(ipRr(target, svc.ip, ttl));
      } else {
        // a hostname (service address, or node address when the service has none)
        target = fqdn(svc.text !== "" ? svc.text : nod.text);
        if (target === ".") continue;
        extra.push(...this.internal(target, depth));
      }
      if (metaTxtOn && (svc.ip !== null || svc.text === "")) extra.push(...this.nodeMetaTxt(nodeFqdn, node, ttl));
      entries.push({
        rr: { type: "SRV", name: qname, ttl, priority: 1, weight, port: service.port, target },
        extra, group: target.toLowerCase(),
      });
    }
    return this.records(entries, [], deps, { shuffle: true, srv: true });
  }

  serviceGeneric(qname: string, qtype: number, domain: string, results: ServiceHealth[], ttl: number, deps: Dep[], depth: number): Built {
    void domain;
    const entries: Entry[] = [];
    const extras: Rr[] = [];
    const seen = new Set<string>();
    let cname: Entry[] | null = null;
    const fam = famFor(qtype);
    for (const { node, service } of results) {
      const svc = pickAddr(service.address, (k) => service.taggedAddresses[k]?.address, fam);
      const nod = pickAddr(node.address, (k) => node.taggedAddresses[k], fam);
      let ip: Uint8Array | null = null;
      let host = "";
      if (svc.text === "") {
        if (nod.ip !== null) ip = nod.ip;
        else host = nod.text;
      } else if (svc.ip !== null) {
        ip = svc.ip;
      } else if (fqdn(svc.text).toLowerCase() === qname && nod.ip !== null) {
        ip = nod.ip;
      } else {
        host = svc.text;
      }
      if (ip !== null) {
        const place = ipPlacement(ip, qtype);
        if (place === "none") continue;
        const rr = ipRr(qname, ip, ttl);
        if (place === "extra") {
          extras.push(rr);
          continue;
        }
        const key = `${rr.type}:${ipToString(ip)}`;
        if (seen.has(key)) continue;
        seen.add(key);
        entries.push({ rr, extra: [], group: null });
      } else if (host !== "" && cname === null) {
        const target = fqdn(host);
        cname = [
          { rr: { type: "CNAME", name: qname, ttl, target }, extra: [], group: null },
          ...this.internal(target, depth).map((rr) => ({ rr, extra: [], group: null })),
        ];
      }
    }
    if (entries.length === 0 && cname !== null) return this.records(cname, extras, deps);
    if (entries.length === 0 && extras.length === 0) {
      return { ...this.negative(domain, RCODE_NOERROR, deps) };
    }
    return this.records(entries, extras, deps, { shuffle: true, aLimit: true });
  }
}

/** Build the full (unshuffled, untrimmed) answer to a question. Pure apart from ctx reads. */
export function build(qname: string, qtype: number, ctx: ResolveContext): BuildResult {
  return new Builder(ctx).build(canonicalQname(qname), qtype, DNS_MAX_CNAME_DEPTH);
}

/** Answer one question: build, shuffle with ctx.rng, apply a_record_limit and truncation. */
export function resolve(q: Question, ctx: ResolveContext): Answer {
  const b = build(q.name, q.type, ctx);
  if (b.kind === "recurse") return b;
  const p = prepare(b, canonicalQname(q.name), q.type, q.class ?? 1, !ctx.config.disableCompression, true);
  const sel = select(p, {
    transport: q.transport, udpSize: q.udpSize ?? null, ecsLen: q.ecsLen ?? 0, config: ctx.config, rng: ctx.rng,
  });
  return materialize(p, sel, ctx.config.enableTruncate);
}
