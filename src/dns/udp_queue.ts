/**
 * dns/udp_queue: fair scheduling of received UDP queries. Each source address has its
 * own bounded FIFO; work is taken round-robin, one query per source per turn, so a
 * storm from one client cannot starve others. Overload sheds the OLDEST work (its
 * client has likely retried or given up, Consul #1535): a full source queue drops its
 * head, a full total drops the head of the longest queue, and queries older than a
 * maximum age are dropped unanswered when their turn comes. A source's queue outlives its
 * idle moments (no allocation per packet at steady load); idle queues are swept when
 * DNS_UDP_MAX_SOURCES are tracked.
 *
 * Must never: grow past its named limits, or read the clock itself (time comes in).
 */

import {
  DNS_UDP_MAX_QUEUE_AGE_MS, DNS_UDP_MAX_SOURCES, DNS_UDP_QUEUE_PER_SOURCE, DNS_UDP_QUEUE_TOTAL,
} from "../shared/limits.ts";

export interface QueuedQuery {
  readonly msg: Buffer;
  readonly address: string;
  readonly port: number;
  readonly at: number;
}

class SourceQueue {
  readonly key: string;
  items: QueuedQuery[] = [];
  head = 0;
  /** In the round-robin ring (has work). An idle queue stays in `sources` for reuse. */
  queued = false;
  constructor(key: string) {
    this.key = key;
  }
  get length(): number {
    return this.items.length - this.head;
  }
  push(q: QueuedQuery): void {
    this.items.push(q);
  }
  shift(): QueuedQuery | undefined {
    if (this.head >= this.items.length) return undefined;
    const q = this.items[this.head]!;
    this.head++;
    if (this.head === this.items.length) {
      this.items.length = 0; // keep the array: the next burst from this source reuses it
      this.head = 0;
    } else if (this.head >= 64 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return q;
  }
}

export interface UdpQueueStats {
  enqueued: number;
  droppedSourceFull: number;
  droppedTotalFull: number;
  droppedStale: number;
}

export interface UdpQueueLimits {
  readonly perSource: number;
  readonly total: number;
  readonly maxAgeMs: number;
}

export class UdpQueue {
  private readonly sources = new Map<string, SourceQueue>();
  /** Sources with work, in round-robin order. */
  private ring: SourceQueue[] = [];
  private next = 0;
  private total = 0;
  private readonly limits: UdpQueueLimits;
  readonly stats: UdpQueueStats = { enqueued: 0, droppedSourceFull: 0, droppedTotalFull: 0, droppedStale: 0 };

  constructor(limits: Partial<UdpQueueLimits> = {}) {
    this.limits = {
      perSource: limits.perSource ?? DNS_UDP_QUEUE_PER_SOURCE,
      total: limits.total ?? DNS_UDP_QUEUE_TOTAL,
      maxAgeMs: limits.maxAgeMs ?? DNS_UDP_MAX_QUEUE_AGE_MS,
    };
  }

  get size(): number {
    return this.total;
  }

  /** Source queues kept, idle ones included (bounded by DNS_UDP_MAX_SOURCES). */
  get trackedSources(): number {
    return this.sources.size;
  }

  /** Sources with queued work. */
  get sourceCount(): number {
    return this.ring.length;
  }

  push(q: QueuedQuery): void {
    let sq = this.sources.get(q.address);
    if (sq === undefined) {
      if (this.sources.size >= DNS_UDP_MAX_SOURCES) this.sweepIdle();
      sq = new SourceQueue(q.address);
      this.sources.set(q.address, sq);
    }
    if (!sq.queued) {
      sq.queued = true;
      this.ring.push(sq);
    }
    if (sq.length >= this.limits.perSource) {
      sq.shift();
      this.total--;
      this.stats.droppedSourceFull++;
    } else if (this.total >= this.limits.total) {
      let longest = sq;
      for (const s of this.ring) if (s.length > longest.length) longest = s;
      if (longest.length > 0) {
        longest.shift();
        this.total--;
        this.stats.droppedTotalFull++;
      }
    }
    sq.push(q);
    this.total++;
    this.stats.enqueued++;
  }

  /** Next query to answer (round-robin over sources), skipping stale ones; undefined when empty. */
  take(now: number): QueuedQuery | undefined {
    while (this.total > 0) {
      if (this.next >= this.ring.length) this.next = 0;
      const sq = this.ring[this.next]!;
      const q = sq.shift();
      if (q === undefined || sq.length === 0) {
        // drop the empty source from the ring (keep the turn position); its queue stays for reuse
        this.ring.splice(this.next, 1);
        sq.queued = false;
      } else {
        this.next++;
      }
      if (q === undefined) continue;
      this.total--;
      if (now - q.at > this.limits.maxAgeMs) {
        this.stats.droppedStale++;
        continue;
      }
      return q;
    }
    return undefined;
  }

  /** Forget every source without queued work (bounds `sources`). */
  private sweepIdle(): void {
    for (const [key, sq] of this.sources) if (!sq.queued) this.sources.delete(key);
  }

  clear(): void {
    this.sources.clear();
    this.ring = [];
    this.next = 0;
    this.total = 0;
  }
}
