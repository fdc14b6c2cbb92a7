/**
 * raft/driver_peers: the Raft driver's (RaftServer's) RPC traffic to other
 * servers: their addresses (learned, or from the configuration), sending the
 * core's messages in batches per peer ("Raft.Msgs", fire and forget), calling
 * the leader for forwarded writes and reads, and dropping connections to
 * peers that stay silent.
 *
 * Must never: retry a call whose outcome is unknown (forward() propagates
 * failures after sending), exceed RPC_RAFT_BATCH_BYTES per batch (but for a
 * single larger message), or wait without a bound.
 */

import { CairnError } from "../shared/errors.ts";
import { isRpcError } from "../rpc/index.ts";
import { RAFT_SILENT_PEER_ELECTIONS, RPC_RAFT_BATCH_BYTES } from "../shared/limits.ts";
import { messageBytes, toWire } from "./driver_wire.ts";
import type { ForwardReply, RaftServerDeps } from "./driver_types.ts";
import { METHOD_MSGS, METHOD_READ_INDEX, noLeader } from "./driver_types.ts";
import type { Message, NodeId } from "./types.ts";

export interface PeersHooks {
  /** The address the current configuration records for a server (undefined before start). */
  readonly configAddress: (id: NodeId) => string | undefined;
  /** A batch to `id` could not be sent. */
  readonly unreachable: (id: NodeId) => void;
}

export class Peers {
  private readonly deps: RaftServerDeps;
  private readonly hooks: PeersHooks;
  private readonly tickMs: number;
  readonly addresses = new Map<NodeId, string>();
  /** Per peer: when this server last sent it a message, last heard from it, last reset its connection. */
  private readonly lastSentTo = new Map<NodeId, number>();
  readonly lastHeardFrom = new Map<NodeId, number>();
  private readonly lastResetOf = new Map<NodeId, number>();

  constructor(deps: RaftServerDeps, hooks: PeersHooks) {
    this.deps = deps;
    this.hooks = hooks;
    this.tickMs = deps.timing.tickMs;
    for (const [id, a] of deps.addresses) this.addresses.set(id, a);
    this.addresses.set(deps.id, deps.advertiseAddr);
  }

  /** The latest address learned, else the one in the current configuration. */
  addressOf(id: NodeId): string | undefined {
    const a = this.addresses.get(id);
    if (a !== undefined) return a;
    return this.hooks.configAddress(id);
  }

  knownAddresses(): Record<NodeId, string> {
    return Object.fromEntries(this.addresses);
  }

  send(msgs: readonly Message[]): void {
    if (msgs.length === 0) return;
    const byPeer = new Map<NodeId, Message[]>();
    for (const m of msgs) {
      let list = byPeer.get(m.to);
      if (list === undefined) byPeer.set(m.to, (list = []));
      list.push(m);
    }
    const encoded = new Map<string, Uint8Array>();
    for (const [to, list] of byPeer) {
      const addr = this.addressOf(to);
      let ok = addr !== undefined;
      let batch: unknown[] = [];
      let bytes = 0;
      const flush = (): void => {
        if (batch.length === 0) return;
        if (ok) ok = this.deps.rpcClient.cast(addr!, METHOD_MSGS, { from: this.deps.id, addr: this.deps.advertiseAddr, msgs: batch });
        batch = [];
        bytes = 0;
      };
      for (const m of list) {
        const n = messageBytes(m);
        if (batch.length > 0 && bytes + n > RPC_RAFT_BATCH_BYTES) flush();
        batch.push(toWire(m, encoded));
        bytes += n;
      }
      flush();
      this.lastSentTo.set(to, this.deps.now());
      if (!ok) this.hooks.unreachable(to);
    }
  }

  /**
   * Call the leader. Undefined when the call never reached it (safe to retry);
   * failures after sending propagate: the outcome is unknown.
   */
  async forward(addr: string, method: string, body: unknown, deadline: number): Promise<ForwardReply | undefined> {
    const timeoutMs = Math.max(this.tickMs, deadline - this.deps.now());
    let raw: unknown;
    try {
      raw = await this.deps.rpcClient.call(addr, method, body, { timeoutMs });
    } catch (e) {
      if (isRpcError(e) && (e.code === "unreachable" || e.code === "overloaded")) return undefined;
      // A read changes nothing: one whose connection broke may be asked again (Consul retries reads on EOF).
      if (isRpcError(e) && e.code === "closed" && method === METHOD_READ_INDEX) return undefined;
      if (isRpcError(e) && e.code === "timeout" && this.deps.now() >= deadline) throw noLeader();
      throw e;
    }
    if (typeof raw === "object" && raw !== null && "ok" in raw) {
      const o = raw as Record<string, unknown>;
      if (o.ok === true) return { ok: true, value: o.value };
      if (o.ok === false && typeof o.leader === "string") return { ok: false, leader: o.leader };
    }
    throw new CairnError("internal", `raft: malformed ${method} reply from ${addr}`);
  }

  /**
   * Drop the connection to every peer this server keeps sending to but has not heard from
   * for RAFT_SILENT_PEER_ELECTIONS election timeouts. Across a partition (packets dropped,
   * no RST) a connection with unacknowledged data sits in TCP's retransmission back-off,
   * which grows towards minutes; after the network heals, traffic on it would resume only
   * at the next retransmission. A fresh connection is dialled at the next send instead (and
   * its SYNs retried by the RPC client's bounded back-off).
   */
  resetSilentPeers(startedAt: number): void {
    const d = this.deps;
    if (d.rpcClient.disconnect === undefined) return;
    const now = d.now();
    const electionMs = d.timing.electionTicks * this.tickMs;
    const silentMs = RAFT_SILENT_PEER_ELECTIONS * electionMs;
    for (const [id, sentAt] of this.lastSentTo) {
      if (now - sentAt > electionMs) continue; // not talking to it now: nothing to expect back
      const heard = Math.max(this.lastHeardFrom.get(id) ?? startedAt, this.lastResetOf.get(id) ?? startedAt);
      if (now - heard < silentMs) continue;
      const addr = this.addressOf(id);
      if (addr === undefined) continue;
      this.lastResetOf.set(id, now);
      d.logger("debug", `raft ${d.id}: nothing from ${id} (${addr}) for ${Math.round(now - heard)} ms; reconnecting`);
      d.rpcClient.disconnect(addr);
    }
  }
}
