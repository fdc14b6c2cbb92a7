/**
 * cli/watch: `consul watch` (command/watch): builds a watch plan from -type and its
 * parameters, checks the agent answers, then either prints the first result (indented
 * JSON) and exits, or runs the handler command on every change with the result as JSON on
 * stdin and CONSUL_INDEX set, until interrupted (exit 0) or the handler fails (exit 1).
 *
 * Must never: run the handler concurrently with itself.
 */

import type { CliIO, Command } from "./command.ts";
import { error, info } from "./command.ts";
import { FlagSet, renderUsage } from "./flags.ts";
import { addHttpFlags, clientOptions } from "./http_client.ts";
import { EXIT_ERROR, EXIT_OK, parseFlags } from "./parse.ts";
import { indentJson } from "../http/json.ts";
import { AgentClient, clientQuery, parseEndpoint, parsePlan, realRunnerTime, runPlan, runScriptHandler, type HandlerOutcome } from "../watch/index.ts";
import { shutdownSignal } from "./watch_signal.ts";

function flags(): FlagSet {
  const fs = new FlagSet();
  addHttpFlags(fs, true);
  fs.string("type", "", "Specifies the watch type. One of key, keyprefix, services, nodes, service, checks, or event.");
  fs.string("key", "", "Specifies the key to watch. Only for 'key' type.");
  fs.string("prefix", "", "Specifies the key prefix to watch. Only for 'keyprefix' type.");
  fs.string("service", "", "Specifies the service to watch. Required for 'service' type, optional for 'checks' type.");
  fs.string("tag", "", "Specifies the service tag to filter on. Optional for 'service' type.");
  fs.string(
    "passingonly",
    "",
    "Specifies if only hosts passing all checks are displayed. Optional for 'service' type, must be one of `[true|false]`. Defaults false.",
  );
  fs.add({
    name: "shell",
    kind: "bool",
    section: "command",
    defaultValue: "true",
    usage: "Use a shell to run the command (can set a custom shell via the SHELL environment variable).",
  });
  fs.string("state", "", "Specifies the states to watch. Optional for 'checks' type.");
  fs.string("name", "", "Specifies an event name to watch. Only for 'event' type.");
  return fs;
}

const help = (prog: string): string => `
Usage: ${prog} watch [options] [child...]

  Watches for changes in a given data view from Consul. If a child process
  is specified, it will be invoked with the latest results on changes. Otherwise,
  the latest values are dumped to stdout and the watch terminates.

  Providing the watch type is required, and other parameters may be required
  or supported depending on the watch type.
`;

/** Test hook: stop a watch started in-process (the CLI otherwise stops on SIGINT/SIGTERM). */
export const watchTestHooks: { signal: AbortSignal | undefined; waitMs: number | undefined; retryBaseMs: number | undefined } = {
  signal: undefined,
  waitMs: undefined,
  retryBaseMs: undefined,
};

export const watchCommand: Command = {
  help: (prog) => renderUsage(help(prog), flags()),
  async run(argv: string[], io: CliIO): Promise<number> {
    const fs = flags();
    const p = parseFlags(fs, argv, io, help(io.prog));
    if (!p.ok) return p.code;
    const type = fs.getString("type");
    if (type === "") {
      error(io, "Watch type must be specified");
      error(io, "");
      error(io, renderUsage(help(io.prog), fs));
      return EXIT_ERROR;
    }
    const co = await clientOptions(fs, io.env);
    const params: Record<string, unknown> = { type };
    if (co.datacenter !== "") params["datacenter"] = co.datacenter;
    if (co.token !== "") params["token"] = co.token;
    for (const k of ["key", "prefix", "service", "tag", "state", "name"]) {
      const v = fs.getString(k);
      if (v !== "") params[k] = v;
    }
    if (co.stale) params["stale"] = true;
    const po = fs.getString("passingonly");
    if (po !== "") {
      const b = ({ "1": true, t: true, T: true, true: true, TRUE: true, True: true, "0": false, f: false, F: false, false: false, FALSE: false, False: false } as Record<string, boolean>)[po];
      if (b === undefined) {
        error(io, `Failed to parse passingonly flag: strconv.ParseBool: parsing ${JSON.stringify(po)}: invalid syntax`);
        return EXIT_ERROR;
      }
      params["passingonly"] = b;
    }
    const parsed = parsePlan(params);
    if (!parsed.ok) {
      error(io, parsed.error);
      return EXIT_ERROR;
    }
    const plan = parsed.plan;
    const client = new AgentClient({
      endpoint: parseEndpoint(co.address, co.ssl === "true" || co.ssl === "1"),
      token: co.token,
      datacenter: co.datacenter,
      stale: co.stale,
    });
    try {
      const r = await client.getJson("/v1/agent/self");
      void r;
    } catch (e) {
      error(io, `Error querying Consul agent: ${(e as Error).message}`);
      return EXIT_ERROR;
    }
    const stop = shutdownSignal();
    const ac = new AbortController();
    stop.signal.addEventListener("abort", () => ac.abort(), { once: true });
    watchTestHooks.signal?.addEventListener("abort", () => ac.abort(), { once: true });
    if (watchTestHooks.signal?.aborted === true) ac.abort();
    let exit = EXIT_OK;
    const child = p.args;
    const shell = fs.getOptionalBool("shell") ?? true;
    const handler = async (index: bigint, data: unknown): Promise<HandlerOutcome> => {
      if (child.length === 0) {
        info(io, indentJson(JSON.stringify(data === undefined ? null : data)));
        return "stop";
      }
      const r = await runScriptHandler(
        {
          args: shell ? undefined : child,
          command: shell ? child.join(" ") : undefined,
          onStdout: (d) => io.out(new Uint8Array(d)),
          onStderr: (d) => io.err(d.toString("utf8")),
        },
        index,
        data,
      );
      if (!r.ok) {
        error(io, r.error.startsWith("Error starting handler") ? r.error : `Error executing handler: ${r.error}`);
        exit = EXIT_ERROR;
        return "stop";
      }
      return "continue";
    };
    try {
      await runPlan(
        plan,
        {
          ...realRunnerTime,
          query: clientQuery(client, watchTestHooks.waitMs),
          log: (level, msg) => {
            if (level === "error" || level === "warn") error(io, msg);
          },
          ...(watchTestHooks.retryBaseMs !== undefined ? { retryBaseMs: watchTestHooks.retryBaseMs } : {}),
        },
        handler,
        ac.signal,
      );
    } finally {
      stop.off();
    }
    return exit;
  },
};
