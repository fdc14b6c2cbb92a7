/**
 * cli/agent: `cairn agent [flags]`: flags + config files -> RuntimeConfig, then
 * hands it to the agent runtime (src/agent/lifecycle.ts, loaded on demand).
 * Config errors print as "==> message" (Consul's agent UI prefix) and exit 1.
 *
 * Must never: run agent logic itself.
 */

import { agentFlagSet, hostDeps, loadConfig, loadOptionsFromFlags } from "../agent/config/index.ts";
import type { RuntimeConfig } from "../agent/config/index.ts";
import type { CliIO, Command } from "./command.ts";
import { error } from "./command.ts";
import { renderUsage } from "./flags.ts";
import { EXIT_ERROR, parseFlags } from "./parse.ts";

function helpText(prog: string): string {
  return `
Usage: ${prog} agent [options]

  Starts the agent and runs until an interrupt is received. The agent
  represents a single node in a cluster.
`;
}

type RunAgent = (cfg: RuntimeConfig, reload?: () => ReturnType<typeof loadConfig>) => Promise<number>;

/** Loads src/agent/lifecycle.ts lazily (a literal specifier, so bundlers include it). */
async function loadRuntime(): Promise<RunAgent | string> {
  try {
    const mod = await import("../agent/lifecycle.ts");
    return mod.runAgent;
  } catch (e) {
    return `agent runtime is not available: ${(e as Error).message}`;
  }
}

export const agentCommand: Command = {
  help: (prog) => renderUsage(helpText(prog), agentFlagSet()),
  async run(argv: string[], io: CliIO): Promise<number> {
    const fs = agentFlagSet();
    const p = parseFlags(fs, argv, io, helpText(io.prog));
    if (!p.ok) return p.code;
    if (p.args.length > 0) {
      error(io, `==> Unexpected extra arguments: ${p.args.join(" ")}`);
      return EXIT_ERROR;
    }
    const opts = loadOptionsFromFlags(fs);
    if (!opts.ok) {
      for (const e of opts.errors) error(io, `==> ${e}`);
      return EXIT_ERROR;
    }
    const result = await loadConfig(opts.options, hostDeps());
    if (!result.ok) {
      for (const e of result.errors) error(io, `==> ${e}`);
      return EXIT_ERROR;
    }
    const run = await loadRuntime();
    if (typeof run === "string") {
      error(io, `==> ${run}`);
      return EXIT_ERROR;
    }
    const loadOpts = opts.options;
    return run(result.config, () => loadConfig(loadOpts, hostDeps())); // reload re-reads the same flags and paths
  },
};
