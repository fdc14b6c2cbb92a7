/**
 * gossip/queue: memberlist's TransmitLimitedQueue. Broadcasts are encoded messages,
 * optionally named after the node they are about (a newer one invalidates an older
 * one of the same name). getBroadcasts fills a byte budget from the least-transmitted
 * tier first, largest message that fits first, newest first among equals; each
 * broadcast is dropped after retransmitLimit(mult, n) sends.
 *
 * Must never: hold more than GOSSIP_MAX_QUEUED_BROADCASTS items, or return a set of
 * messages larger than the budget.
 */

import { GOSSIP_MAX_QUEUED_BROADCASTS } from "../shared/limits.ts";
import { retransmitLimit } from "./config.ts";

export interface Broadcast {
  /** The node this is about; a newer broadcast with the same name replaces it. */
  name: string | null;
  msg: Uint8Array;
}

interface Item {
  b: Broadcast;
  transmits: number;
  id: number;
}

/** Order inside one tier: larger first, then newer first. */
function beforeInTier(a: Item, b: Item): boolean {
  if (a.b.msg.length !== b.b.msg.length) return a.b.msg.length > b.b.msg.length;
  return a.id > b.id;
}

export class BroadcastQueue {
  /** tier (transmits so far) -> items in tier order. */
  readonly #tiers = new Map<number, Item[]>();
  readonly #byName = new Map<string, Item>();
  #size = 0;
  #nextId = 0;
  readonly #retransmitMult: number;

  constructor(retransmitMult: number) {
    this.#retransmitMult = retransmitMult;
  }

  get length(): number {
    return this.#size;
  }

  #insert(it: Item): void {
    let tier = this.#tiers.get(it.transmits);
    if (tier === undefined) {
      tier = [];
      this.#tiers.set(it.transmits, tier);
    }
    let lo = 0;
    let hi = tier.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (beforeInTier(tier[mid]!, it)) lo = mid + 1;
      else hi = mid;
    }
    tier.splice(lo, 0, it);
    if (it.b.name !== null) this.#byName.set(it.b.name, it);
    this.#size++;
  }

  #remove(it: Item): void {
    const tier = this.#tiers.get(it.transmits);
    const i = tier ? tier.indexOf(it) : -1;
    if (tier === undefined || i < 0) return;
    tier.splice(i, 1);
    if (tier.length === 0) this.#tiers.delete(it.transmits);
    if (it.b.name !== null && this.#byName.get(it.b.name) === it) this.#byName.delete(it.b.name);
    this.#size--;
  }

  queue(b: Broadcast): void {
    if (b.name !== null) {
      const old = this.#byName.get(b.name);
      if (old) this.#remove(old);
    }
    this.#insert({ b, transmits: 0, id: this.#nextId++ });
    if (this.#size > GOSSIP_MAX_QUEUED_BROADCASTS) {
      // Shed from the most-transmitted tier, oldest (last in tier order among equals) first.
      const top = Math.max(...this.#tiers.keys());
      const tier = this.#tiers.get(top);
      const victim = tier?.[tier.length - 1];
      if (victim) this.#remove(victim);
    }
  }

  /** Messages to piggyback: each costs overhead + its length, all within limit bytes. */
  getBroadcasts(overhead: number, limit: number, numNodes: number): Uint8Array[] {
    if (this.#size === 0) return [];
    const maxTransmits = retransmitLimit(this.#retransmitMult, numNodes);
    const out: Uint8Array[] = [];
    const picked: Item[] = [];
    let used = 0;
    const tiers = [...this.#tiers.keys()].sort((a, b) => a - b);
    for (const t of tiers) {
      const tier = this.#tiers.get(t);
      if (tier === undefined) continue;
      for (let i = 0; i < tier.length;) {
        const free = limit - used - overhead;
        if (free <= 0) break;
        const it = tier[i]!;
        if (it.b.msg.length > free) {
          i++;
          continue;
        }
        used += overhead + it.b.msg.length;
        out.push(it.b.msg);
        tier.splice(i, 1);
        picked.push(it);
      }
      if (tier.length === 0) this.#tiers.delete(t);
      if (limit - used - overhead <= 0) break;
    }
    for (const it of picked) {
      this.#size--;
      if (it.b.name !== null && this.#byName.get(it.b.name) === it) this.#byName.delete(it.b.name);
      it.transmits++;
      if (it.transmits < maxTransmits) this.#insert(it);
    }
    return out;
  }

  /** Drops everything (e.g. after leaving). */
  reset(): void {
    this.#tiers.clear();
    this.#byName.clear();
    this.#size = 0;
  }
}
