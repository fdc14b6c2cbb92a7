/**
 * agent/client_pool: a client agent's list of known servers (Consul's router.Manager).
 *
 * Servers come from LAN member events: alive members tagged role=consul with this agent's
 * datacenter and a valid `port` tag (their server RPC port). The list is ordered; calls go
 * to the first server. A failed call moves that server to the end (the next call tries the
 * next one), new servers join at a random position and rebalance() shuffles the list so
 * client agents spread their load over the servers instead of all using the same one.
 *
 * Must never: do I/O or read clocks (randomness comes in through deps), or hand out a
 * server that is not alive in the LAN pool.
 */

import type { MemberView } from "../server/types.ts";

export interface PoolServer {
  /** Node name of the server. */
  readonly name: string;
  /** "ip:port" of its server RPC port. */
  readonly addr: string;
}

export interface ServerPoolDeps {
  readonly random: () => number;
}

/** The servers of datacenter `dc` in a member list, as pool entries. */
export function serversOf(members: readonly MemberView[], dc: string): PoolServer[] {
  const out: PoolServer[] = [];
  for (const m of members) {
    if (m.status !== 1 || m.tags.role !== "consul" || m.tags.dc !== dc) continue;
    const port = Number(m.tags.port ?? "");
    if (!Number.isInteger(port) || port <= 0 || port > 65535) continue;
    const addr = m.addr.includes(":") ? `[${m.addr}]:${port}` : `${m.addr}:${port}`;
    out.push({ name: m.name, addr });
  }
  return out;
}

export class ServerPool {
  private list: PoolServer[] = [];
  private readonly deps: ServerPoolDeps;
  private readonly dc: string;

  constructor(dc: string, deps: ServerPoolDeps) {
    this.dc = dc;
    this.deps = deps;
  }

  /**
   * Take the LAN pool's member list: keep the order of servers still alive, drop the others,
   * insert new ones at random positions. Returns the servers that were not known before.
   */
  update(members: readonly MemberView[]): PoolServer[] {
    const now = serversOf(members, this.dc);
    const byName = new Map(now.map((s) => [s.name, s]));
    const kept: PoolServer[] = [];
    for (const s of this.list) {
      const cur = byName.get(s.name);
      if (cur === undefined) continue;
      kept.push(cur); // its address may have changed
      byName.delete(s.name);
    }
    const added = [...byName.values()];
    for (const s of added) kept.splice(Math.floor(this.deps.random() * (kept.length + 1)), 0, s);
    this.list = kept;
    return added;
  }

  /** The server to call now, undefined when none is known. */
  current(): PoolServer | undefined {
    return this.list[0];
  }

  /** Servers in the order calls try them. */
  servers(): PoolServer[] {
    return [...this.list];
  }

  get size(): number {
    return this.list.length;
  }

  /** A call to `addr` failed: when it is the current server, move it to the end. */
  notifyFailed(addr: string): void {
    if (this.list.length > 1 && this.list[0]?.addr === addr) this.list.push(this.list.shift() as PoolServer);
  }

  /** Shuffle (Fisher-Yates), so the agents of a cluster spread over its servers. */
  rebalance(): void {
    const a = this.list;
    for (let i = a.length - 1; i > 0; i--) {
      const j = Math.floor(this.deps.random() * (i + 1));
      const t = a[i] as PoolServer;
      a[i] = a[j] as PoolServer;
      a[j] = t;
    }
  }
}
