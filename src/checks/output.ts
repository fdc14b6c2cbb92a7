/**
 * checks/output: how Consul trims check output to a size (byte-based, like Go strings).
 *
 * Must never: do I/O.
 */

/** CheckTTL.SetStatus and /agent/check/update: keep the head, say how much was captured. */
export function truncateHead(output: string, max: number): string {
  const buf = Buffer.from(output, "utf8");
  if (buf.length <= max) return output;
  return `${buf.subarray(0, max).toString("utf8")} ... (captured ${max} of ${buf.length} bytes)`;
}

/** A circular buffer of `max` bytes (armon/circbuf): keeps the tail of what was written. */
export class TailBuffer {
  private readonly max: number;
  private chunks: Buffer[] = [];
  private size = 0;
  total = 0;

  constructor(max: number) {
    this.max = Math.max(0, max);
  }

  write(b: Buffer): void {
    this.total += b.length;
    if (this.max === 0) return;
    this.chunks.push(b);
    this.size += b.length;
    while (this.size - (this.chunks[0]?.length ?? 0) >= this.max && this.chunks.length > 1) {
      this.size -= this.chunks.shift()!.length;
    }
  }

  bytes(): Buffer {
    const all = Buffer.concat(this.chunks, this.size);
    return all.length > this.max ? all.subarray(all.length - this.max) : all;
  }

  toString(): string {
    return this.bytes().toString("utf8");
  }
}

/** CheckMonitor's output: the tail, prefixed with "Captured N of M bytes" when cut. */
export function scriptOutput(buf: TailBuffer): string {
  const out = buf.bytes();
  const s = out.toString("utf8");
  if (buf.total > out.length) return `Captured ${out.length} of ${buf.total} bytes\n...\n${s}`;
  return s;
}

/** Go's time.Duration.String() for whole milliseconds (e.g. 10s, 1m30s, 500ms). */
export function goDurationMs(ms: number): string {
  if (ms === 0) return "0s";
  if (ms < 1000) return `${ms}ms`;
  let rest = ms;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const s = (rest / 1000).toString();
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}
