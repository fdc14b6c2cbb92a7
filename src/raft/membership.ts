/**
 * raft/membership: cluster configurations and one-server-at-a-time changes.
 *
 * A configuration entry takes effect on a server as soon as it is in its log
 * (committed or not), as in the Raft thesis §4.1; the leader allows one
 * uncommitted change at a time, so any two consecutive configurations have
 * overlapping majorities. New voters join as `staging` learners and are
 * promoted once they have caught up, so an empty server never dilutes the
 * quorum.
 *
 * Must never: apply more than one server change per configuration.
 */

import { assert, unreachable } from "../shared/errors.ts";
import { RAFT_MAX_SERVERS } from "../shared/limits.ts";
import type { ConfChange, Membership, NodeId } from "./types.ts";

export const EMPTY_MEMBERSHIP: Membership = { voters: [], learners: [], staging: [] };

export function membership(
  voters: readonly NodeId[],
  learners: readonly NodeId[] = [],
  staging: readonly NodeId[] = [],
  addresses?: Readonly<Record<NodeId, string>>,
): Membership {
  const m: Membership = { voters: [...voters].sort(), learners: [...learners].sort(), staging: [...staging].sort() };
  assertValid(m);
  if (addresses === undefined) return m;
  // Keep only members' addresses, in a stable key order (the encoding is compared byte-wise in tests).
  const kept: Record<NodeId, string> = {};
  for (const id of members(m).sort()) {
    const a = addresses[id];
    if (a !== undefined && a !== "") kept[id] = a;
  }
  return Object.keys(kept).length === 0 ? m : { ...m, addresses: kept };
}

export function assertValid(m: Membership): void {
  const all = new Set<NodeId>();
  for (const id of [...m.voters, ...m.learners, ...m.staging]) {
    assert(id !== "", "membership: empty server id");
    assert(!all.has(id), `membership: ${id} listed twice`);
    all.add(id);
  }
  assert(all.size <= RAFT_MAX_SERVERS, "membership: too many servers");
}

export function members(m: Membership): NodeId[] {
  return [...m.voters, ...m.learners, ...m.staging];
}

export function isVoter(m: Membership, id: NodeId): boolean {
  return m.voters.includes(id);
}

export function isMember(m: Membership, id: NodeId): boolean {
  return m.voters.includes(id) || m.learners.includes(id) || m.staging.includes(id);
}

/** Apply one change; returns undefined when it is not valid against `m`. */
export function applyChange(m: Membership, c: ConfChange): Membership | undefined {
  const without = (list: readonly NodeId[]): NodeId[] => list.filter((x) => x !== c.id);
  const addrs = (address?: string): Record<NodeId, string> | undefined =>
    address === undefined || address === "" ? m.addresses : { ...m.addresses, [c.id]: address };
  switch (c.type) {
    case "add-voter":
      if (isMember(m, c.id)) return undefined;
      return membership(m.voters, m.learners, [...m.staging, c.id], addrs(c.address));
    case "add-learner":
      if (isMember(m, c.id)) return undefined;
      return membership(m.voters, [...m.learners, c.id], m.staging, addrs(c.address));
    case "promote":
      if (!m.learners.includes(c.id) && !m.staging.includes(c.id)) return undefined;
      return membership([...m.voters, c.id], without(m.learners), without(m.staging), m.addresses);
    case "remove":
      if (!isMember(m, c.id)) return undefined;
      if (m.voters.length === 1 && m.voters[0] === c.id) return undefined; // never remove the last voter
      return membership(without(m.voters), without(m.learners), without(m.staging), m.addresses);
    default:
      return unreachable(c);
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeMembership(m: Membership): Uint8Array {
  const o: Record<string, unknown> = { voters: m.voters, learners: m.learners, staging: m.staging };
  if (m.addresses !== undefined) o.addresses = m.addresses;
  return encoder.encode(JSON.stringify(o));
}

function stringList(v: unknown, what: string): NodeId[] {
  assert(Array.isArray(v), `membership: ${what} is not a list`);
  return v.map((x: unknown) => {
    assert(typeof x === "string", `membership: ${what} holds a non-string`);
    return x;
  });
}

export function decodeMembership(data: Uint8Array): Membership {
  const raw: unknown = JSON.parse(decoder.decode(data));
  assert(typeof raw === "object" && raw !== null, "membership: not an object");
  const o = raw as Record<string, unknown>;
  let addresses: Record<NodeId, string> | undefined;
  if (o.addresses !== undefined) {
    assert(typeof o.addresses === "object" && o.addresses !== null && !Array.isArray(o.addresses), "membership: addresses is not an object");
    addresses = {};
    for (const [id, a] of Object.entries(o.addresses as Record<string, unknown>)) {
      assert(typeof a === "string", "membership: an address is not a string");
      addresses[id] = a;
    }
  }
  return membership(stringList(o.voters, "voters"), stringList(o.learners, "learners"), stringList(o.staging, "staging"), addresses);
}

export function sameMembership(a: Membership, b: Membership): boolean {
  const eq = (x: readonly NodeId[], y: readonly NodeId[]): boolean => x.length === y.length && x.every((v, i) => v === y[i]);
  return eq(a.voters, b.voters) && eq(a.learners, b.learners) && eq(a.staging, b.staging);
}
