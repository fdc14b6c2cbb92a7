/**
 * http/agent_monitor: GET /v1/agent/monitor?loglevel=&logjson (AgentMonitor): streams the
 * agent's log lines at the chosen level (default info), as hclog text or JSON, until the
 * client leaves or the agent shuts down. A slow client loses lines (the monitor's bounded
 * buffer drops them and says how many), never the agent's memory.
 *
 * Must never: keep a subscription after the client left, or write past the transport's
 * high-water mark.
 */

import { CairnError } from "../shared/errors.ts";
import { parseLogLevel } from "../agent/log.ts";
import type { Env, RequestCtx } from "./context.ts";
import type { Reply } from "./respond.ts";
import { textReply } from "./respond.ts";
import type { StreamWriter } from "./wire/index.ts";
import type { MonitorSubscription } from "../agent/monitor.ts";

/** Drain the subscription into the writer, respecting backpressure, until either side closes. */
export function pump(sub: MonitorSubscription, w: StreamWriter): void {
  sub.whenClosed(() => w.end());
  const loop = (): void => {
    if (sub.closed || w.closed) {
      sub.close();
      w.end();
      return;
    }
    const lines = sub.take();
    let writable = true;
    if (lines.length > 0) writable = w.write(Buffer.from(lines.join(""), "utf8"));
    if (writable) sub.whenReady(loop);
    else w.onDrain(() => sub.whenReady(loop));
  };
  sub.whenReady(loop);
}

export function agentMonitor(ctx: RequestCtx, env: Env): Reply {
  const hub = env.ops?.monitor;
  if (hub === undefined) throw new CairnError("internal", "log monitor is not available on this agent");
  const raw = ctx.query.get("loglevel") || "INFO";
  const level = parseLogLevel(raw);
  if (level === undefined) return textReply(400, `Unknown log level: ${raw}`);
  const json = ctx.query.has("logjson") && ctx.query.get("logjson") !== "false";
  const sub = hub.subscribe({ level, json });
  ctx.onAbort(() => sub.close());
  return {
    status: 200,
    headers: {},
    body: {
      kind: "stream",
      contentType: "text/plain; charset=utf-8",
      start: (w) => {
        if (ctx.isAborted()) {
          sub.close();
          w.end();
          return;
        }
        pump(sub, w);
      },
    },
  };
}
