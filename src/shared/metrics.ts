/**
 * shared/metrics: a tiny in-process metrics registry in Consul's go-metrics shape.
 *
 * Modules record counters, gauges and samples by name (Consul naming, e.g.
 * "consul.kvs.apply"); /v1/agent/metrics renders them as JSON or Prometheus text.
 * Samples keep running aggregates only (count, sum, min, max, sum of squares),
 * so memory is bounded by the number of distinct names.
 *
 * Must never: do I/O, or keep per-event data.
 */

export interface Aggregate {
  count: number;
  sum: number;
  min: number;
  max: number;
  sumSq: number;
}

/** Most distinct metric names; past it new names are dropped. */
export const MAX_METRIC_NAMES = 4096;

export class Metrics {
  readonly counters = new Map<string, Aggregate>();
  readonly samples = new Map<string, Aggregate>();
  readonly gauges = new Map<string, number>();
  private readonly gaugeFns = new Map<string, () => number>();

  private size(): number {
    return this.counters.size + this.samples.size + this.gauges.size + this.gaugeFns.size;
  }

  incr(name: string, by = 1): void {
    this.observe(this.counters, name, by);
  }

  sample(name: string, value: number): void {
    this.observe(this.samples, name, value);
  }

  setGauge(name: string, value: number): void {
    if (!this.gauges.has(name) && this.size() >= MAX_METRIC_NAMES) return;
    this.gauges.set(name, value);
  }

  /** A gauge computed when metrics are read. */
  gaugeFn(name: string, fn: () => number): void {
    if (!this.gaugeFns.has(name) && this.size() >= MAX_METRIC_NAMES) return;
    this.gaugeFns.set(name, fn);
  }

  /** Current gauges, including computed ones. */
  allGauges(): Map<string, number> {
    const out = new Map(this.gauges);
    for (const [k, fn] of this.gaugeFns) out.set(k, fn());
    return out;
  }

  private observe(m: Map<string, Aggregate>, name: string, v: number): void {
    let a = m.get(name);
    if (a === undefined) {
      if (this.size() >= MAX_METRIC_NAMES) return;
      a = { count: 0, sum: 0, min: Infinity, max: -Infinity, sumSq: 0 };
      m.set(name, a);
    }
    a.count++;
    a.sum += v;
    a.sumSq += v * v;
    if (v < a.min) a.min = v;
    if (v > a.max) a.max = v;
  }
}

/** The process-wide registry. */
export const metrics = new Metrics();
