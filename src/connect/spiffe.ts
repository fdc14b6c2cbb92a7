/**
 * spiffe: Consul's SPIFFE identities (agent/connect/uri_*.go) as strings.
 *
 *   signing (CA root):  spiffe://<cluster-id>.consul
 *   service:            spiffe://<trust-domain>/ns/<ns>/dc/<dc>/svc/<service>
 *                       (with "/ap/<partition>" first for a non-default partition)
 *   agent:              spiffe://<trust-domain>/agent/client/dc/<dc>/id/<node>
 *
 * Must never: do I/O or depend on the X.509 library.
 */

export const DEFAULT_NAMESPACE = "default";
export const DEFAULT_PARTITION = "default";

/** The trust domain of a cluster: "<cluster-id>.consul". */
export function trustDomainFor(clusterId: string): string {
  return `${clusterId}.consul`;
}

/** The CA signing URI put on a root: "spiffe://<cluster-id>.consul". */
export function signingURI(trustDomain: string): string {
  return `spiffe://${trustDomain}`;
}

/** Go's url.PathEscape for one path segment (unreserved and sub-delims kept). */
function escapeSegment(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%(24|26|2B|2C|3B|3D|3A|40)/g, (_m, h: string) => String.fromCharCode(Number.parseInt(h, 16)));
}

export interface ServiceIdentity {
  kind: "service";
  trustDomain: string;
  partition: string;
  namespace: string;
  datacenter: string;
  service: string;
}

export interface AgentIdentity {
  kind: "agent";
  trustDomain: string;
  partition: string;
  datacenter: string;
  agent: string;
}

export interface SigningIdentity {
  kind: "signing";
  trustDomain: string;
}

export type SpiffeIdentity = ServiceIdentity | AgentIdentity | SigningIdentity;

/** The service URI of a leaf: spiffe://<td>/ns/<ns>/dc/<dc>/svc/<service>. */
export function serviceURI(
  trustDomain: string,
  datacenter: string,
  service: string,
  namespace: string = DEFAULT_NAMESPACE,
  partition: string = DEFAULT_PARTITION,
): string {
  const ap = partition === DEFAULT_PARTITION || partition === "" ? "" : `/ap/${escapeSegment(partition)}`;
  const ns = namespace === "" ? DEFAULT_NAMESPACE : namespace;
  return `spiffe://${trustDomain}${ap}/ns/${escapeSegment(ns)}/dc/${escapeSegment(datacenter)}/svc/${escapeSegment(service)}`;
}

/** Parses a Connect SPIFFE URI; undefined when it is not one (Consul: "not a valid Connect identifier"). */
export function parseSpiffeURI(uri: string): SpiffeIdentity | undefined {
  const m = /^spiffe:\/\/([^/?#]+)(\/[^?#]*)?$/.exec(uri);
  if (m === null) return undefined;
  const trustDomain = (m[1] ?? "").toLowerCase();
  const path = m[2] ?? "";
  if (path === "" || path === "/") return { kind: "signing", trustDomain };
  let segs: string[];
  try {
    segs = path.slice(1).split("/").map((s) => decodeURIComponent(s));
  } catch {
    return undefined;
  }
  let partition = DEFAULT_PARTITION;
  if (segs[0] === "ap" && segs.length >= 2) {
    partition = segs[1] ?? DEFAULT_PARTITION;
    segs = segs.slice(2);
  }
  if (segs.length === 6 && segs[0] === "ns" && segs[2] === "dc" && segs[4] === "svc") {
    return {
      kind: "service",
      trustDomain,
      partition,
      namespace: segs[1] ?? "",
      datacenter: segs[3] ?? "",
      service: segs[5] ?? "",
    };
  }
  if (segs.length === 6 && segs[0] === "agent" && segs[1] === "client" && segs[2] === "dc" && segs[4] === "id") {
    return { kind: "agent", trustDomain, partition, datacenter: segs[3] ?? "", agent: segs[5] ?? "" };
  }
  return undefined;
}
