/**
 * agent/local/validate: the checks Consul applies to a service definition before it is
 * registered (weights, metadata, tagged addresses) and the node's default tagged addresses.
 * Pure functions of their arguments.
 *
 * Must never: change state; every check returns an error text (or throws CairnError) and
 * leaves applying to the caller, so a registration never half-applies.
 */

import { CairnError } from "../../shared/errors.ts";

export function ipv4(a: string): boolean {
  return /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(a) && a.split(".").every((p) => Number(p) <= 255);
}

export function ipv6(a: string): boolean {
  return a.includes(":") && /^[0-9a-fA-F:.]+$/.test(a);
}

/** structs.ValidateWeights. */
export function weightsError(w: { passing: number; warning: number }): string | undefined {
  if (w.passing < 1) return "Passing must be greater than 0";
  if (w.warning < 0) return "Warning must be greater or equal than 0";
  if (w.passing > 65535 || w.warning > 65535) return "DNS Weight must be between 0 and 65535";
  return undefined;
}

/** structs.ValidateServiceMetadata (non-gateway services). */
export function metaError(meta: Readonly<Record<string, string>>): string | undefined {
  const keys = Object.keys(meta);
  if (keys.length > 64) return `Node metadata cannot contain more than 64 key/value pairs`;
  for (const k of keys) {
    if (k === "") return "Key cannot be blank";
    if (!/^[a-zA-Z0-9_-]+$/.test(k)) return `Key contains invalid characters`;
    if (k.length > 128) return `Key is too long (limit: 128 characters)`;
    if (k.startsWith("consul-")) return `Key prefix 'consul-' is reserved for internal use`;
    if ((meta[k] ?? "").length > 512) return `Value is too long (limit: 512 characters)`;
  }
  return undefined;
}

type TaggedAddresses = Record<string, { address: string; port: number }>;

/**
 * A service's tagged addresses as Consul stores them: lan/wan _ipv4 or _ipv6 default to the
 * service address; a given lan_/wan_ipvN that is not an address of that family is an error.
 */
export function serviceTaggedAddresses(address: string, port: number, given: Readonly<TaggedAddresses>): TaggedAddresses {
  const ta: TaggedAddresses = { ...given };
  if (ipv4(address)) {
    ta["lan_ipv4"] ??= { address, port };
    ta["wan_ipv4"] ??= { address, port };
  } else if (ipv6(address)) {
    ta["lan_ipv6"] ??= { address, port };
    ta["wan_ipv6"] ??= { address, port };
  }
  for (const [k, want] of [["lan_ipv4", 4], ["wan_ipv4", 4], ["lan_ipv6", 6], ["wan_ipv6", 6]] as const) {
    const a = ta[k];
    if (a !== undefined && !(want === 4 ? ipv4(a.address) : ipv6(a.address))) {
      throw new CairnError("internal", `Service tagged address ${JSON.stringify(k)} must be a valid ipv${want} address`);
    }
  }
  return ta;
}

/** Consul's default node tagged addresses: lan/wan (+ _ipv4/_ipv6) = the advertise address. */
export function defaultNodeTaggedAddresses(address: string): Record<string, string> {
  const out: Record<string, string> = { lan: address, wan: address };
  if (ipv4(address)) {
    out["lan_ipv4"] = address;
    out["wan_ipv4"] = address;
  } else if (ipv6(address)) {
    out["lan_ipv6"] = address;
    out["wan_ipv6"] = address;
  }
  return out;
}
