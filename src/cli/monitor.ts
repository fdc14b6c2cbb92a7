/**
 * cli/monitor: `consul monitor` (command/monitor): streams the agent's log lines from
 * GET /v1/agent/monitor?loglevel=<-log-level>[&logjson] to stdout until interrupted or the
 * agent goes away.
 *
 * Must never: buffer the whole stream; lines are written as they arrive.
 */

import * as http from "node:http";
import * as https from "node:https";
import type { CliIO, Command } from "./command.ts";
import { error } from "./command.ts";
import { FlagSet, renderUsage } from "./flags.ts";
import { addHttpFlags, clientOptions } from "./http_client.ts";
import { EXIT_ERROR, EXIT_OK, parseFlags } from "./parse.ts";
import { escapePath, parseEndpoint } from "../watch/client.ts";
import { shutdownSignal } from "./watch_signal.ts";

function flags(): FlagSet {
  const fs = new FlagSet();
  addHttpFlags(fs, false);
  fs.string("log-level", "INFO", "Log level of the agent.");
  fs.bool("log-json", "Output logs in JSON format.");
  return fs;
}

const help = (prog: string): string => `
Usage: ${prog} monitor [options]

  Shows recent log messages of a Consul agent, and attaches to the agent,
  outputting log messages as they occur in real time. The monitor lets you
  listen for log levels that may be filtered out of the Consul agent. For
  example your agent may only be logging at INFO level, but with the monitor
  you can see the DEBUG level logs.
`;

export const monitorCommand: Command = {
  help: (prog) => renderUsage(help(prog), flags()),
  async run(argv: string[], io: CliIO): Promise<number> {
    const fs = flags();
    const p = parseFlags(fs, argv, io, help(io.prog));
    if (!p.ok) return p.code;
    const co = await clientOptions(fs, io.env);
    const ep = parseEndpoint(co.address, co.ssl === "true" || co.ssl === "1");
    const q = `loglevel=${encodeURIComponent(fs.getString("log-level"))}${fs.getBool("log-json") ? "&logjson" : ""}`;
    const path = escapePath("/v1/agent/monitor") + "?" + q;
    const headers: Record<string, string> = {};
    if (co.token) headers["X-Consul-Token"] = co.token;
    const stop = shutdownSignal();
    try {
      return await new Promise<number>((resolve) => {
        const base: https.RequestOptions = { method: "GET", path, headers, agent: false };
        const opts: https.RequestOptions = ep.kind === "unix" ? { ...base, socketPath: ep.socketPath } : { ...base, host: ep.host, port: ep.port };
        const lib = ep.kind === "tcp" && ep.scheme === "https" ? https : http;
        let interrupted = false;
        const req = lib.request(opts, (res) => {
          if (res.statusCode !== 200) {
            let body = "";
            res.on("data", (d: Buffer) => (body += d.toString("utf8")));
            res.on("end", () => {
              error(io, `Error starting monitor: Unexpected response code: ${res.statusCode ?? 0} (${body.trim()})`);
              resolve(EXIT_ERROR);
            });
            return;
          }
          res.on("data", (d: Buffer) => io.out(d.toString("utf8")));
          res.on("end", () => {
            if (!interrupted) error(io, "Remote side ended the monitor! This usually means that the\nremote side has exited or crashed.");
            resolve(interrupted ? EXIT_OK : EXIT_ERROR);
          });
          res.on("error", () => resolve(interrupted ? EXIT_OK : EXIT_ERROR));
        });
        req.on("error", (e) => {
          if (interrupted) resolve(EXIT_OK);
          else {
            error(io, `Error starting monitor: ${e.message}`);
            resolve(EXIT_ERROR);
          }
        });
        stop.signal.addEventListener("abort", () => {
          interrupted = true;
          req.destroy();
          resolve(EXIT_OK);
        });
        req.end();
      });
    } finally {
      stop.off();
    }
  },
};
