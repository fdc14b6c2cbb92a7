/**
 * http/agent_ops: what the agent lends the HTTP layer beyond state: its user-event bus
 * (/v1/event/*), config reload (/v1/agent/reload) and log monitor (/v1/agent/monitor).
 *
 * Must never: hold logic; types only.
 */

import type { EventBus } from "../agent/events.ts";
import type { MonitorHub } from "../agent/monitor.ts";

export interface AgentOps {
  readonly events?: EventBus | undefined;
  /** Re-read and apply the config; rejects with the reason (the running config stays). */
  readonly reload?: (() => Promise<void>) | undefined;
  readonly monitor?: MonitorHub | undefined;
}
