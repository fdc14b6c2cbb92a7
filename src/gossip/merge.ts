/**
 * gossip/merge: Consul's serf merge delegates as pure checks of a member's name and tags.
 *
 *   consul-wan  (wanMergeDelegate) every WAN member must be a Consul server: role=consul with a dc.
 *   consul-lan  (lanMergeDelegate) a LAN member must belong to this datacenter (role=consul or
 *               role=node with another `dc` is refused) and to this segment (`segment` tag),
 *               and no member may carry this agent's node ID under another name, nor two
 *               members the same node ID within one merge.
 *
 * The driver asks on every join's push/pull (the whole remote state: the first refusal fails
 * the join) and on every alive message about another node (refused: ignored).
 *
 * Must never: throw on bad input (undecodable tags are a refusal), or look at anything but the
 * member's name and tags.
 */

import { decodeTags } from "./serf/messages.ts";

/** Consul's lanMergeDelegate parameters (this agent's identity). */
export interface ConsulLanMerge {
  readonly kind: "consul-lan";
  readonly datacenter: string;
  readonly segment: string;
  readonly nodeId: string;
  readonly nodeName: string;
}

export type MergePolicy = "consul-wan" | ConsulLanMerge;

/**
 * Why `node` (with serf tags `meta`) may not join, or null. `seen` (node ID -> name) carries the
 * node IDs already accepted within one merge, for the pairwise conflict check.
 */
export function mergeRejection(policy: MergePolicy, node: string, meta: Uint8Array | null, seen?: Map<string, string>): string | null {
  let tags: Record<string, string>;
  try {
    tags = decodeTags(meta);
  } catch {
    return policy === "consul-wan" ? `Member '${node}' is not a server` : `Member '${node}' has unreadable tags`;
  }
  if (policy === "consul-wan") return tags.role === "consul" && (tags.dc ?? "") !== "" ? null : `Member '${node}' is not a server`;
  const id = tags.id ?? "";
  if (id !== "") {
    if (id === policy.nodeId && node.toLowerCase() !== policy.nodeName.toLowerCase()) {
      return `Member '${node}' has conflicting node ID '${id}' with this agent's ID`;
    }
    const other = seen?.get(id);
    if (other !== undefined && other !== node) return `Member '${node}' has conflicting node ID '${id}' with member '${other}'`;
    seen?.set(id, node);
  }
  // isConsulNode (role=node: its dc, even when absent) and IsConsulServer (role=consul with a dc).
  const dc = tags.role === "node" ? (tags.dc ?? "") : tags.role === "consul" ? tags.dc : undefined;
  if (dc !== undefined && dc !== policy.datacenter) return `Member '${node}' part of wrong datacenter '${dc}'`;
  const segment = tags.segment ?? "";
  if (segment !== policy.segment) return `Member '${node}' part of wrong segment '${segment}' (expected '${policy.segment}')`;
  return null;
}
