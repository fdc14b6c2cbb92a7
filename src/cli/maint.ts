/**
 * cli/maint: `consul maint` (command/maint): list, enable or disable node or service
 * maintenance mode through /v1/agent/maintenance and /v1/agent/service/maintenance/<id>.
 *
 * Must never: change anything in list mode.
 */

import type { CliIO, Command } from "./command.ts";
import { error, info } from "./command.ts";
import { FlagSet, renderUsage } from "./flags.ts";
import { addHttpFlags } from "./http_client.ts";
import { EXIT_ERROR, EXIT_OK, parseFlags } from "./parse.ts";
import { agentClient, getJson, putJson } from "./services_common.ts";

function flags(): FlagSet {
  const fs = new FlagSet();
  addHttpFlags(fs, false);
  fs.bool("enable", "Enable maintenance mode.");
  fs.bool("disable", "Disable maintenance mode.");
  fs.string("reason", "", "Text describing the maintenance reason.");
  fs.string("service", "", "Control maintenance mode for a specific service ID.");
  return fs;
}

const help = (prog: string): string => `
Usage: ${prog} maint [options]

  Places a node or service into maintenance mode. During maintenance mode,
  the node or service will be excluded from all queries through the DNS
  or API interfaces, effectively taking it out of the pool of available
  nodes. This is done by registering an additional critical health check.

  When enabling maintenance mode for a node or service, you may optionally
  specify a reason string. This string will appear in the "Notes" field
  of the critical health check which is registered against the node or
  service. If no reason is provided, a default value will be used.

  Maintenance mode is persistent, and will be restored in the event of an
  agent restart. It is therefore required to disable maintenance mode on
  a given node or service before it will be placed back into the pool.

  By default, we operate on the node as a whole. By specifying the
  "-service" argument, this behavior can be changed to enable or disable
  only a specific service.

  If no arguments are given, the agent's maintenance status will be shown.
  This will return blank if nothing is currently under maintenance.
`;

export const maintCommand: Command = {
  help: (prog) => renderUsage(help(prog), flags()),
  async run(argv: string[], io: CliIO): Promise<number> {
    const fs = flags();
    const p = parseFlags(fs, argv, io, help(io.prog));
    if (!p.ok) return p.code;
    const enable = fs.getBool("enable");
    const disable = fs.getBool("disable");
    const reason = fs.getString("reason");
    const serviceId = fs.getString("service");
    if (enable && disable) {
      error(io, "Only one of -enable or -disable may be provided");
      return EXIT_ERROR;
    }
    if (!enable && reason !== "") {
      error(io, "Reason may only be provided with -enable");
      return EXIT_ERROR;
    }
    if (!enable && !disable && serviceId !== "") {
      error(io, "Service requires either -enable or -disable");
      return EXIT_ERROR;
    }
    const client = await agentClient(fs, io);
    if (!client) return EXIT_ERROR;
    let nodeName: string;
    try {
      const self = (await getJson(client, "/v1/agent/self")) as { Config?: { NodeName?: string } };
      nodeName = self.Config?.NodeName ?? "";
    } catch (e) {
      error(io, `Error querying Consul agent: ${(e as Error).message}`);
      return EXIT_ERROR;
    }
    if (!enable && !disable) {
      let checks: Record<string, { CheckID: string; ServiceID: string; Notes: string }>;
      try {
        checks = (await getJson(client, "/v1/agent/checks")) as typeof checks;
      } catch (e) {
        error(io, `Error getting checks: ${(e as Error).message}`);
        return EXIT_ERROR;
      }
      for (const c of Object.values(checks)) {
        if (c.CheckID === "_node_maintenance") {
          info(io, "Node:");
          info(io, "  Name:   " + nodeName);
          info(io, "  Reason: " + c.Notes);
          info(io, "");
        } else if (c.CheckID.startsWith("_service_maintenance:")) {
          info(io, "Service:");
          info(io, "  ID:     " + c.ServiceID);
          info(io, "  Reason: " + c.Notes);
          info(io, "");
        }
      }
      return EXIT_OK;
    }
    const params = (on: boolean): [string, string][] => (on ? [["enable", "true"], ["reason", reason]] : [["enable", "false"]]);
    const what = enable ? "enabling" : "disabling";
    try {
      if (serviceId === "") await putJson(client, "/v1/agent/maintenance", undefined, params(enable));
      else await putJson(client, `/v1/agent/service/maintenance/${serviceId}`, undefined, params(enable));
    } catch (e) {
      error(io, `Error ${what} ${serviceId === "" ? "node" : "service"} maintenance: ${(e as Error).message}`);
      return EXIT_ERROR;
    }
    const state = enable ? "enabled" : "disabled";
    info(io, serviceId === "" ? `Node maintenance is now ${state}` : `Service maintenance is now ${state} for ${JSON.stringify(serviceId)}`);
    return EXIT_OK;
  },
};
