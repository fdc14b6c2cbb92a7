/**
 * agent/monitor: log fan-out for /v1/agent/monitor and `cairn monitor`. monitoredLogger()
 * wraps the agent's logger: every line still goes to the base logger (at its own level),
 * and, when readers are subscribed, to each reader whose level admits it, formatted in
 * hclog text or JSON as that reader asked. Each reader has a bounded buffer: while it is
 * slow, new lines are dropped and counted, and the count is reported in-line once it
 * catches up ("Monitor dropped N logs during monitor request", as Consul's monitor says).
 *
 * Must never: block the logging caller, hold more than MONITOR_BUFFER_LINES lines per
 * reader, or keep a reader after it was closed.
 */

import { MONITOR_BUFFER_LINES, MONITOR_MAX_SUBSCRIBERS } from "../shared/limits.ts";
import { CairnError } from "../shared/errors.ts";
import type { Logger, LogLevel } from "./log.ts";

const ORDER: Record<LogLevel, number> = { trace: 0, debug: 1, info: 2, warn: 3, error: 4 };
const TAG: Record<LogLevel, string> = {
  trace: "[TRACE] ",
  debug: "[DEBUG] ",
  info: "[INFO]  ",
  warn: "[WARN]  ",
  error: "[ERROR] ",
};

/** One line as hclog writes it (text) or as a JSON object. */
export function formatLine(level: LogLevel, module: string, msg: string, ts: string, json: boolean): string {
  if (json) return JSON.stringify({ "@level": level, "@message": msg, "@module": module, "@timestamp": ts }) + "\n";
  return `${ts} ${TAG[level]}${module}: ${msg}\n`;
}

export interface MonitorOptions {
  readonly level: LogLevel;
  readonly json: boolean;
  /** Lines kept while the reader is slow (default MONITOR_BUFFER_LINES). */
  readonly bufferLines?: number;
}

/** One reader: take() drains the buffer; onReady runs when lines arrive after a drain. */
export class MonitorSubscription {
  readonly level: LogLevel;
  readonly json: boolean;
  private readonly cap: number;
  private lines: string[] = [];
  private droppedNow = 0;
  /** Lines dropped over the subscription's life. */
  dropped = 0;
  private ready: (() => void) | undefined;
  private readonly hub: MonitorHub;
  closed = false;
  private onClose: (() => void) | undefined;

  constructor(hub: MonitorHub, o: MonitorOptions) {
    this.hub = hub;
    this.level = o.level;
    this.json = o.json;
    this.cap = Math.max(1, o.bufferLines ?? MONITOR_BUFFER_LINES);
  }

  /** Called by the hub. */
  push(line: string): void {
    if (this.closed) return;
    if (this.lines.length >= this.cap) {
      this.droppedNow++;
      this.dropped++;
      return;
    }
    this.lines.push(line);
    const r = this.ready;
    if (r !== undefined) {
      this.ready = undefined;
      r();
    }
  }

  /** The buffered lines (and a note on lines dropped since the last take). */
  take(): string[] {
    const out = this.lines;
    this.lines = [];
    if (this.droppedNow > 0) {
      out.push(formatLine("warn", "agent.monitor", `Monitor dropped ${this.droppedNow} logs during monitor request`, new Date().toISOString(), this.json));
      this.droppedNow = 0;
    }
    return out;
  }

  get buffered(): number {
    return this.lines.length;
  }

  /** Run cb once when lines are (or become) available. */
  whenReady(cb: () => void): void {
    if (this.lines.length > 0 || this.droppedNow > 0 || this.closed) cb();
    else this.ready = cb;
  }

  /** Run cb once when the subscription is closed (by the reader or the hub). */
  whenClosed(cb: () => void): void {
    if (this.closed) cb();
    else this.onClose = cb;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.lines = [];
    this.hub.remove(this);
    const r = this.ready;
    this.ready = undefined;
    r?.();
    const c = this.onClose;
    this.onClose = undefined;
    c?.();
  }
}

export class MonitorHub {
  private readonly subs = new Set<MonitorSubscription>();
  private min = 99;
  private readonly now: () => Date;
  private closedHub = false;

  constructor(now: () => Date = () => new Date()) {
    this.now = now;
  }

  subscribe(o: MonitorOptions): MonitorSubscription {
    if (this.closedHub) throw new CairnError("unavailable", "agent is shutting down");
    if (this.subs.size >= MONITOR_MAX_SUBSCRIBERS) throw new CairnError("rate-limited", "too many monitor requests");
    const s = new MonitorSubscription(this, o);
    this.subs.add(s);
    this.recompute();
    return s;
  }

  remove(s: MonitorSubscription): void {
    if (this.subs.delete(s)) this.recompute();
  }

  private recompute(): void {
    let m = 99;
    for (const s of this.subs) m = Math.min(m, ORDER[s.level]);
    this.min = m;
  }

  get subscribers(): number {
    return this.subs.size;
  }

  /** Whether any reader wants lines of `level` (cheap; called on every log line). */
  wants(level: LogLevel): boolean {
    return ORDER[level] >= this.min;
  }

  publish(level: LogLevel, module: string, msg: string): void {
    if (ORDER[level] < this.min) return;
    const ts = this.now().toISOString();
    let text: string | undefined;
    let json: string | undefined;
    for (const s of this.subs) {
      if (ORDER[level] < ORDER[s.level]) continue;
      if (s.json) s.push((json ??= formatLine(level, module, msg, ts, true)));
      else s.push((text ??= formatLine(level, module, msg, ts, false)));
    }
  }

  /** Close every reader (agent shutdown); later subscriptions are refused. */
  close(): void {
    this.closedHub = true;
    for (const s of [...this.subs]) s.close();
  }
}

/** The agent's logger with a tap for monitor readers. */
export function monitoredLogger(base: Logger, hub: MonitorHub): Logger {
  const log = (level: LogLevel, module: string, msg: string): void => {
    base.log(level, module, msg);
    if (hub.wants(level)) hub.publish(level, module, msg);
  };
  return {
    log,
    named: (module) => (level, msg) => log(level, module, msg),
    setLevel: (level) => base.setLevel(level),
  };
}
