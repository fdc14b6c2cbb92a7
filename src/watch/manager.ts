/**
 * watch/manager: the agent's config watches (`watches [...]`). Parses every entry as
 * Consul's agent does (a handler is required: args, the deprecated handler string, or
 * handler_type "http"), runs each plan against this agent's own HTTP API, and calls the
 * handler: script output is logged at debug, failures at error. replace() (config
 * reload) validates the new list first and only then stops the old plans and starts the
 * new ones.
 *
 * Must never: start any plan of a list that has an invalid entry, or keep a plan running
 * after stop().
 */

import { AgentClient, type AgentEndpoint } from "./client.ts";
import { runHttpHandler, runScriptHandler } from "./handlers.ts";
import { parsePlan, type WatchPlan } from "./plan.ts";
import { type HandlerOutcome, realRunnerTime, runPlan, type RunnerDeps } from "./runner.ts";

export type WatchLogFn = (level: "debug" | "info" | "warn" | "error", msg: string) => void;

export interface WatchManagerDeps {
  /** This agent's HTTP API; undefined when HTTP is disabled. */
  endpoint(): AgentEndpoint | undefined;
  readonly log: WatchLogFn;
  /** Overrides for the runner (tests: faster back-off). */
  readonly runner?: Partial<RunnerDeps>;
  /** Blocking wait asked per query (ms); absent: the agent's default. */
  readonly waitMs?: number;
}

function lowerKeys(t: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(t)) out[k.toLowerCase()] = v;
  return out;
}

/** Parses config watch entries; an error text names the first bad entry. */
export function parseConfigWatches(trees: ReadonlyArray<Readonly<Record<string, unknown>>>): { ok: true; plans: WatchPlan[] } | { ok: false; error: string } {
  const plans: WatchPlan[] = [];
  for (const t of trees) {
    const r = parsePlan(lowerKeys(t));
    if (!r.ok) return { ok: false, error: `Failed to parse watch (${JSON.stringify(t)}): ${r.error}` };
    if (r.plan.handler === undefined) return { ok: false, error: "Must define a watch handler" };
    plans.push(r.plan);
  }
  return { ok: true, plans };
}

/** The runner's query through an agent client: ?index when blocking, ?wait when set. */
export function clientQuery(client: AgentClient, waitMs: number | undefined): RunnerDeps["query"] {
  return async (q, index, signal) => {
    const params: Array<readonly [string, string]> = [...q.params];
    if (index > 0n) {
      params.push(["index", index.toString()]);
      if (waitMs !== undefined) params.push(["wait", `${Math.max(1, Math.round(waitMs))}ms`]);
    }
    const r = await client.request("GET", q.path, params, undefined, signal);
    return { status: r.status, body: r.body.toString("utf8"), index: r.index };
  };
}

export class WatchManager {
  private readonly deps: WatchManagerDeps;
  private running: AbortController[] = [];
  private count = 0;

  constructor(deps: WatchManagerDeps) {
    this.deps = deps;
  }

  get size(): number {
    return this.count;
  }

  /** Validates without starting (reload checks this before changing anything). */
  validate(trees: ReadonlyArray<Readonly<Record<string, unknown>>>): string | undefined {
    if (trees.length === 0) return undefined;
    if (this.deps.endpoint() === undefined) return "watch plans require an HTTP or HTTPS endpoint";
    const r = parseConfigWatches(trees);
    return r.ok ? undefined : r.error;
  }

  /** Stops the running plans and starts `trees`; throws (and changes nothing) when one is invalid. */
  replace(trees: ReadonlyArray<Readonly<Record<string, unknown>>>): void {
    const err = this.validate(trees);
    if (err !== undefined) throw new Error(err);
    const parsed = parseConfigWatches(trees);
    if (!parsed.ok) throw new Error(parsed.error);
    this.stop();
    const ep = this.deps.endpoint();
    if (ep === undefined) return;
    for (const plan of parsed.plans) this.startPlan(plan, ep);
  }

  private startPlan(plan: WatchPlan, endpoint: AgentEndpoint): void {
    const ac = new AbortController();
    this.running.push(ac);
    this.count++;
    const log = this.deps.log;
    const client = new AgentClient({ endpoint, token: plan.token, datacenter: plan.datacenter, stale: plan.stale });
    const deps: RunnerDeps = {
      ...realRunnerTime,
      query: clientQuery(client, this.deps.waitMs),
      log: (level, msg) => log(level, msg),
      ...this.deps.runner,
    };
    const h = plan.handler;
    void runPlan(
      plan,
      deps,
      async (index, data): Promise<HandlerOutcome> => {
        if (h === undefined) return "continue";
        if (h.kind === "script") {
          const what = h.args !== undefined ? JSON.stringify(h.args) : (h.command ?? "");
          const r = await runScriptHandler({ args: h.args, command: h.command }, index, data);
          if (r.output !== "") log("debug", `watch handler output: watch_handler=${what} output=${JSON.stringify(r.output)}`);
          if (!r.ok) log("error", `Failed to run watch handler: watch_handler=${what} error=${r.error}`);
        } else {
          const r = await runHttpHandler(h, index, data);
          if (!r.ok) log("error", r.error);
          else if (r.output !== "") log("debug", `http watch handler output: ${JSON.stringify(r.output)}`);
        }
        return "continue";
      },
      ac.signal,
    ).catch((e: unknown) => log("error", `watch (type: ${plan.type}) stopped: ${String(e)}`));
  }

  stop(): void {
    for (const ac of this.running) ac.abort();
    this.running = [];
    this.count = 0;
  }
}
