/**
 * agent/reload: config reload (SIGHUP, PUT /v1/agent/reload, `cairn reload`). Re-reads
 * the config the agent was started with (same flags, files and directories), validates
 * everything that would change first (the config itself, service and check definitions,
 * watches), and only then applies: log level, services and checks from config files
 * (diffed against the config-sourced definitions of the running config: removed ones are
 * deregistered, new or changed ones registered), and watches (restarted). A bad config
 * rejects with the reason and changes nothing.
 *
 * Must never: apply part of a config that failed validation, or touch services and
 * checks registered through the API.
 */

import type { RuntimeConfig } from "./config/types.ts";
import type { ConfigTree } from "./config/tree.ts";
import type { LogLevel } from "./log.ts";
import { decodeCheck, decodeService, type CheckDefinition, type ServiceDefinition } from "./local/decode.ts";
import type { LocalAgentApi } from "./local/types.ts";

export type ReloadLoad = () => Promise<{ ok: true; config: RuntimeConfig } | { ok: false; errors: readonly string[] }>;

/** The reloadable part of a running config. */
export interface ReloadableConfig {
  readonly logLevel: LogLevel;
  readonly services: readonly ConfigTree[];
  readonly checks: readonly ConfigTree[];
  readonly watches: readonly ConfigTree[];
}

export interface ReloadDeps {
  readonly load: ReloadLoad;
  setLogLevel(level: LogLevel): void;
  readonly local: Pick<LocalAgentApi, "registerService" | "deregisterService" | "registerCheck" | "deregisterCheck" | "service" | "check"> | undefined;
  readonly watches: { validate(trees: readonly ConfigTree[]): string | undefined; replace(trees: readonly ConfigTree[]): void } | undefined;
  readonly log: (level: "debug" | "info" | "warn" | "error", msg: string) => void;
}

interface Decoded {
  readonly services: Map<string, { def: ServiceDefinition; key: string }>;
  readonly checks: Map<string, { def: CheckDefinition; key: string }>;
}

function decodeAll(c: ReloadableConfig): Decoded {
  const services = new Map<string, { def: ServiceDefinition; key: string }>();
  for (const tree of c.services) {
    let def: ServiceDefinition;
    try {
      def = decodeService(tree, true);
    } catch (e) {
      throw new Error(`Failed to validate checks for service ${JSON.stringify(String(tree["name"] ?? ""))}: ${e instanceof Error ? e.message : String(e)}`);
    }
    services.set(def.service.id !== "" ? def.service.id : def.service.service, { def, key: JSON.stringify(tree) });
  }
  const checks = new Map<string, { def: CheckDefinition; key: string }>();
  for (const tree of c.checks) {
    let def: CheckDefinition;
    try {
      def = decodeCheck(tree, "CheckDefinition", true);
    } catch (e) {
      throw new Error(`Failed to register check ${JSON.stringify(String(tree["name"] ?? ""))}: ${e instanceof Error ? e.message : String(e)}`);
    }
    checks.set(def.id !== "" ? def.id : def.spec.name, { def, key: JSON.stringify(tree) });
  }
  return { services, checks };
}

export class Reloader {
  private current: ReloadableConfig;
  private readonly deps: ReloadDeps;
  private running: Promise<void> | undefined;

  constructor(initial: ReloadableConfig, deps: ReloadDeps) {
    this.current = initial;
    this.deps = deps;
  }

  get config(): ReloadableConfig {
    return this.current;
  }

  /** One reload at a time; a second caller waits for the first and then runs its own. */
  reload(): Promise<void> {
    const prev = this.running ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(() => this.reloadOnce());
    this.running = next;
    return next;
  }

  private async reloadOnce(): Promise<void> {
    const log = this.deps.log;
    log("info", "Reloading configuration...");
    const loaded = await this.deps.load();
    if (!loaded.ok) {
      const msg = `Failed to reload configs: ${loaded.errors.join("; ")}`;
      log("error", msg);
      throw new Error(msg);
    }
    const cfg = loaded.config;
    const next: ReloadableConfig = { logLevel: cfg.logLevel, services: cfg.services, checks: cfg.checks, watches: cfg.watches };
    // Validate everything before changing anything.
    let oldDefs: Decoded;
    let newDefs: Decoded;
    try {
      oldDefs = decodeAll(this.current);
      newDefs = decodeAll(next);
      const werr = this.deps.watches?.validate(next.watches);
      if (werr !== undefined) throw new Error(werr);
    } catch (e) {
      const msg = `Failed to reload configs: ${e instanceof Error ? e.message : String(e)}`;
      log("error", msg);
      throw new Error(msg);
    }
    this.deps.setLogLevel(next.logLevel);
    const local = this.deps.local;
    const errors: string[] = [];
    if (local !== undefined) {
      for (const [id] of oldDefs.checks) {
        if (!newDefs.checks.has(id) && local.check(id) !== undefined) {
          await local.deregisterCheck(id).catch((e: unknown) => errors.push(`Failed to deregister check ${JSON.stringify(id)}: ${String(e)}`));
        }
      }
      for (const [id] of oldDefs.services) {
        if (!newDefs.services.has(id) && local.service(id) !== undefined) {
          await local.deregisterService(id).catch((e: unknown) => errors.push(`Failed to deregister service ${JSON.stringify(id)}: ${String(e)}`));
        }
      }
      for (const [id, s] of newDefs.services) {
        if (oldDefs.services.get(id)?.key === s.key && local.service(id) !== undefined) continue;
        await local
          .registerService(s.def, { replaceExistingChecks: true, token: s.def.token })
          .catch((e: unknown) => errors.push(`Failed to register service ${JSON.stringify(s.def.service.service)}: ${e instanceof Error ? e.message : String(e)}`));
      }
      for (const [id, c] of newDefs.checks) {
        if (oldDefs.checks.get(id)?.key === c.key && local.check(id) !== undefined) continue;
        await local
          .registerCheck(c.def, c.def.token)
          .catch((e: unknown) => errors.push(`Failed to register check ${JSON.stringify(c.def.spec.name)}: ${e instanceof Error ? e.message : String(e)}`));
      }
    }
    this.deps.watches?.replace(next.watches);
    this.current = next;
    if (errors.length > 0) {
      const msg = `Failed to reload configs: ${errors.join("; ")}`;
      log("error", msg);
      throw new Error(msg);
    }
    log("info", "Configuration reload complete");
  }
}
