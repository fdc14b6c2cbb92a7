/**
 * dns/route: turn a lower-cased question name (and type) into what is being asked,
 * following Consul's router (agent/dns/router.go, router_query.go, parser.go):
 * which domain answers, SOA/NS, PTR under arpa., <hex>.addr., service (incl. RFC 2782
 * `_svc._tag`), node, the forms cairn does not serve, and out-of-domain names.
 *
 * Must never: look at the catalog, or do I/O.
 */

import { T_NS, T_SOA, T_SRV, splitName } from "./wire.ts";

export type Route =
  | { readonly kind: "outside" } // not our domain: recurse if recursors, else REFUSED
  | { readonly kind: "soa"; readonly domain: string }
  | { readonly kind: "ns"; readonly domain: string }
  | { readonly kind: "ptr"; readonly domain: string; readonly ip: Uint8Array | null }
  | { readonly kind: "addr"; readonly domain: string; readonly ip: Uint8Array | null }
  | { readonly kind: "service"; readonly domain: string; readonly name: string; readonly tag: string | null; readonly dc: string | null }
  | { readonly kind: "node"; readonly domain: string; readonly name: string; readonly dc: string | null }
  | { readonly kind: "nxdomain"; readonly domain: string }
  | { readonly kind: "notimp"; readonly domain: string };

export interface RouteDomains {
  /** Lower-case FQDN, e.g. "consul.". */
  readonly domain: string;
  /** Lower-case FQDN or "". */
  readonly altDomain: string;
}

/** Which of our domains (if any) `qname` falls under; the longest matching suffix wins, arpa. answers in the primary domain. */
export function matchDomain(qname: string, d: RouteDomains): { domain: string; suffix: string } | null {
  let off = 0;
  for (;;) {
    const sub = qname.slice(off);
    if (sub === "." || sub === "") return null;
    if (sub === d.domain) return { domain: d.domain, suffix: d.domain };
    if (d.altDomain !== "" && sub === d.altDomain) return { domain: d.altDomain, suffix: d.altDomain };
    if (sub === "arpa.") return { domain: d.domain, suffix: "arpa." };
    const dot = qname.indexOf(".", off);
    if (dot < 0) return null;
    off = dot + 1;
  }
}

const HEX = /^[0-9a-f]+$/;

function hexToIp(h: string): Uint8Array | null {
  if ((h.length !== 8 && h.length !== 32) || !HEX.test(h)) return null;
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** IP from a reverse name ("4.3.2.1.in-addr.arpa." / 32 nibbles + "ip6.arpa."), or null. */
export function ipFromArpa(labels: readonly string[]): Uint8Array | null {
  const n = labels.length;
  if (n >= 2 && labels[n - 1] === "arpa" && labels[n - 2] === "in-addr") {
    if (n !== 6) return null;
    const out = new Uint8Array(4);
    for (let i = 0; i < 4; i++) {
      const l = labels[3 - i]!;
      if (!/^\d{1,3}$/.test(l) || Number(l) > 255) return null;
      out[i] = Number(l);
    }
    return out;
  }
  if (n >= 2 && labels[n - 1] === "arpa" && labels[n - 2] === "ip6") {
    if (n !== 34) return null;
    const out = new Uint8Array(16);
    for (let i = 0; i < 32; i++) {
      const l = labels[31 - i]!;
      if (l.length !== 1 || !HEX.test(l)) return null;
      const v = parseInt(l, 16);
      if (i % 2 === 0) out[i >> 1] = v << 4;
      else out[i >> 1]! |= v;
    }
    return out;
  }
  return null;
}

const TYPE_LABELS = new Set(["service", "node", "connect", "virtual", "ingress", "query", "workload"]);

/**
 * Suffix labels after the type label (Consul's parseLabels, CE): [] -> local dc;
 * [dc]; [x, "dc"|"cluster"] pairs; ns/ap only "default"; peers and sameness groups are
 * not served here. Returns undefined for an invalid suffix (NXDOMAIN).
 */
function parseDc(suffix: readonly string[]): string | null | undefined {
  if (suffix.length === 0) return null;
  if (suffix.length === 1) return suffix[0]!;
  if (suffix.length % 2 !== 0 || suffix.length > 6) return undefined;
  let dc: string | null = null;
  for (let i = 0; i < suffix.length; i += 2) {
    const v = suffix[i]!;
    switch (suffix[i + 1]) {
      case "dc":
      case "cluster":
        dc = v;
        break;
      case "ns":
      case "ap":
        if (v !== "default") return undefined;
        break;
      default:
        // "<namespace>.<datacenter>" (two labels only)
        if (suffix.length === 2 && v === "default") return suffix[1]!;
        return undefined;
    }
  }
  return dc;
}

/** Route a lower-cased question name. */
export function route(qname: string, qtype: number, d: RouteDomains): Route {
  const m = matchDomain(qname, d);
  if (m === null) return { kind: "outside" };
  const domain = m.domain;
  if (qtype === T_SOA) return { kind: "soa", domain };
  if (qtype === T_NS) return { kind: "ns", domain };
  const all = splitName(qname);
  if (all.length > 0 && all[all.length - 1] === "arpa") return { kind: "ptr", domain, ip: ipFromArpa(all) };
  if (all.length > 2 && all[1] === "addr") return { kind: "addr", domain, ip: hexToIp(all[0]!) };
  const labels = splitName(qname.slice(0, qname.length - m.suffix.length) || ".");
  let typeAt = -1;
  let type = "";
  for (let i = labels.length - 1; i >= 0; i--) {
    const l = labels[i]!;
    if (TYPE_LABELS.has(l)) {
      typeAt = i;
      type = l;
      break;
    }
    if (qtype === T_SRV && l.startsWith("_")) {
      // RFC 2782: the "service" label is optional for SRV.
      typeAt = i + 1;
      type = "service";
      break;
    }
  }
  if (typeAt < 0) return { kind: "nxdomain", domain };
  const parts = labels.slice(0, typeAt);
  const suffix = type === "service" && typeAt < labels.length && labels[typeAt] !== "service"
    ? labels.slice(typeAt)
    : labels.slice(typeAt + 1);
  const dc = parseDc(suffix);
  if (dc === undefined || parts.length === 0) return { kind: "nxdomain", domain };
  switch (type) {
    case "service": {
      const n = parts.length;
      if (n === 2 && parts[0]!.startsWith("_") && parts[1]!.startsWith("_")) {
        const tag = parts[1]!.slice(1);
        return { kind: "service", domain, name: parts[0]!.slice(1), tag: tag === "tcp" ? null : tag, dc };
      }
      return { kind: "service", domain, name: parts[n - 1]!, tag: n >= 2 ? parts.slice(0, n - 1).join(".") : null, dc };
    }
    case "node":
      return { kind: "node", domain, name: parts[parts.length - 1]!, dc };
    default:
      // connect / virtual / ingress / prepared query / workload: not served by cairn.
      return { kind: "notimp", domain };
  }
}
