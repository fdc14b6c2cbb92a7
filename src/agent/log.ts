/**
 * agent/log: the agent's logger, in Consul's (hclog) line format.
 *
 *   2026-11-26T10:00:00.000Z [INFO]  agent: Consul agent running!
 *
 * With json=true each line is a JSON object ({"@level","@message","@module","@timestamp"}).
 * Lines are written to stderr/stdout without blocking the event loop for long.
 *
 * Must never: throw on a write error (a closed stdout must not kill the agent).
 */

export type LogLevel = "trace" | "debug" | "info" | "warn" | "error";

const ORDER: Record<LogLevel, number> = { trace: 0, debug: 1, info: 2, warn: 3, error: 4 };
const TAG: Record<LogLevel, string> = {
  trace: "[TRACE] ",
  debug: "[DEBUG] ",
  info: "[INFO]  ",
  warn: "[WARN]  ",
  error: "[ERROR] ",
};

export function parseLogLevel(s: string): LogLevel | undefined {
  const l = s.trim().toLowerCase();
  if (l === "warning") return "warn";
  if (l === "err") return "error";
  return l in ORDER ? (l as LogLevel) : undefined;
}

export interface Logger {
  log(level: LogLevel, module: string, msg: string): void;
  named(module: string): (level: LogLevel, msg: string) => void;
  setLevel(level: LogLevel): void;
}

export function createLogger(opts: {
  level: LogLevel;
  json: boolean;
  write?: (line: string) => void;
  now?: () => Date;
}): Logger {
  let min = ORDER[opts.level];
  const now = opts.now ?? (() => new Date());
  const write =
    opts.write ??
    ((line: string) => {
      try {
        process.stdout.write(line);
      } catch {
        // stdout closed: drop the line
      }
    });
  const log = (level: LogLevel, module: string, msg: string): void => {
    if (ORDER[level] < min) return;
    const ts = now().toISOString();
    if (opts.json) {
      write(JSON.stringify({ "@level": level, "@message": msg, "@module": module, "@timestamp": ts }) + "\n");
    } else {
      write(`${ts} ${TAG[level]}${module}: ${msg}\n`);
    }
  };
  return {
    log,
    named: (module) => (level, msg) => log(level, module, msg),
    setLevel: (level) => {
      min = ORDER[level];
    },
  };
}
