/**
 * agent/agent_extras: the agent's user events (agent/events.ts), remote exec
 * (agent/remote_exec.ts, only with disable_remote_exec = false), config `watches`
 * (src/watch, run against the agent's own first HTTP listener), config reload
 * (agent/reload.ts) and the log monitor hub, with the AgentOps the HTTP layer gets of them.
 * Watches are validated before anything starts (Consul refuses to start with a bad one).
 *
 * Must never: run a watch or an exec job before the agent's HTTP listener is up, or reload
 * before the agent has started.
 */

import { randomUUID } from "node:crypto";
import type { AgentOps } from "../http/agent_ops.ts";
import type { HttpServer } from "../http/index.ts";
import { AgentClient, parseConfigWatches, parseEndpoint, WatchManager, type AgentEndpoint } from "../watch/index.ts";
import type { AgentOptions, HttpListener } from "./agent_types.ts";
import { EventBus, REMOTE_EXEC_EVENT } from "./events.ts";
import type { LocalAgent } from "./local/index.ts";
import type { Logger } from "./log.ts";
import { Reloader } from "./reload.ts";
import { RemoteExec } from "./remote_exec.ts";

/** Throws when a config watch is malformed or there is no HTTP listener for watches to use. */
export function validateWatches(opts: Pick<AgentOptions, "watches" | "httpListeners">): void {
  if ((opts.watches ?? []).length === 0) return;
  const pw = parseConfigWatches(opts.watches ?? []);
  if (!pw.ok) throw new Error(pw.error);
  if (opts.httpListeners.length === 0) throw new Error("watch plans require an HTTP or HTTPS endpoint");
}

/** The endpoint the agent's own watches and exec jobs call: its first HTTP listener (wildcards → loopback). */
function selfEndpointOf(first: HttpListener, port: number): AgentEndpoint {
  if (first.kind === "unix") return { kind: "unix", socketPath: first.path };
  const host = first.host === "0.0.0.0" || first.host === "" ? "127.0.0.1" : first.host === "::" ? "::1" : first.host;
  return parseEndpoint(host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`);
}

export class AgentExtras {
  readonly events: EventBus;
  /** Events, reload and monitor for the HTTP layer (gossip, raft and wan are added by the agent). */
  readonly ops: AgentOps;
  private readonly opts: AgentOptions;
  private readonly logger: Logger;
  private readonly rexec: RemoteExec;
  private readonly watches: WatchManager;
  private selfEndpoint: AgentEndpoint | undefined;
  private reloader: Reloader | undefined;

  constructor(opts: AgentOptions, local: LocalAgent, logger: Logger) {
    this.opts = opts;
    this.logger = logger;
    this.events = new EventBus({
      nodeName: opts.nodeName,
      services: () => local.services(),
      newId: randomUUID,
      log: logger.named("agent"),
    });
    const selfClient = (): AgentClient | undefined => (this.selfEndpoint === undefined ? undefined : new AgentClient({ endpoint: this.selfEndpoint }));
    this.rexec = new RemoteExec({ nodeName: opts.nodeName, client: selfClient, log: logger.named("agent") });
    if (opts.disableRemoteExec === false) this.events.onInternal(REMOTE_EXEC_EVENT, (e) => this.rexec.handle(e));
    this.watches = new WatchManager({ endpoint: () => this.selfEndpoint, log: logger.named("agent.watch") });
    this.ops = {
      events: this.events,
      monitor: opts.monitor,
      reload:
        opts.reloadLoad === undefined
          ? undefined
          : () => (this.reloader === undefined ? Promise.reject(new Error("agent is starting")) : this.reloader.reload()),
    };
  }

  /** The HTTP listeners are up: point watches and exec at the first, start the watches, make reload work. */
  start(http: readonly HttpServer[], local: LocalAgent): void {
    const opts = this.opts;
    const firstHttp = opts.httpListeners[0];
    if (firstHttp !== undefined && http[0] !== undefined) this.selfEndpoint = selfEndpointOf(firstHttp, http[0].port);
    this.watches.replace(opts.watches ?? []);
    if (opts.reloadLoad !== undefined) {
      this.reloader = new Reloader(
        {
          logLevel: opts.logLevel ?? "info",
          services: opts.local?.services ?? [],
          checks: opts.local?.checks ?? [],
          watches: opts.watches ?? [],
        },
        {
          load: opts.reloadLoad,
          setLogLevel: (level) => this.logger.setLevel(level),
          local,
          watches: this.watches,
          log: this.logger.named("agent"),
        },
      );
    }
  }

  /** Undo what the constructor started (a later part of the agent failed to start). */
  stopEarly(): void {
    this.events.close();
    this.watches.stop();
    this.rexec.stop();
  }

  /** Shutdown: the monitor's readers too. */
  stop(): void {
    this.opts.monitor?.close();
    this.stopEarly();
  }
}
