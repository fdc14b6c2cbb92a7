/**
 * cli/connect_ca: `connect ca get-config` and `connect ca set-config` (command/connect/ca/get
 * and set): GET/PUT /v1/connect/ca/configuration. get-config prints the configuration as
 * Go's json.MarshalIndent(api.CAConfig, "", "\t") does; set-config reads -config-file (JSON),
 * applies -force-without-cross-signing and prints "Configuration updated!".
 *
 * Must never: change the configuration from get-config, or send set-config without a file.
 */

import { readFile } from "node:fs/promises";
import type { CliIO, Command } from "./command.ts";
import { error, info } from "./command.ts";
import { FlagSet, renderUsage } from "./flags.ts";
import { addHttpFlags, clientOptions, ConsulHttpClient, requireOk } from "./http_client.ts";
import { EXIT_ERROR, EXIT_OK, parseFlags } from "./parse.ts";

const GET_HELP = (prog: string): string => `
Usage: ${prog} connect ca get-config [options]

  Displays the current Connect Certificate Authority (CA) configuration.
`;

const SET_HELP = (prog: string): string => `
Usage: ${prog} connect ca set-config [options]

  Modifies the current Connect Certificate Authority (CA) configuration.
`;

function getFlags(): FlagSet {
  const fs = new FlagSet();
  addHttpFlags(fs);
  return fs;
}

function setFlags(): FlagSet {
  const fs = new FlagSet();
  fs.string("config-file", "", "The path to the config file to use.");
  fs.bool(
    "force-without-cross-signing",
    "Indicates that the CA reconfiguration should go ahead even if the current " +
      "CA is unable to cross sign certificates. This risks temporary connection " +
      "failures during the rollout as new leafs will be rejected by proxies that " +
      "have not yet observed the new root cert but is the only option if a CA that " +
      "doesn't support cross signing needs to be reconfigured or mirated away from.",
  );
  addHttpFlags(fs);
  return fs;
}

async function client(fs: FlagSet, io: CliIO): Promise<ConsulHttpClient | undefined> {
  try {
    return new ConsulHttpClient(await clientOptions(fs, io.env));
  } catch (e) {
    error(io, `Error initializing client: ${(e as Error).message}`);
    return undefined;
  }
}

/** Go's encoding/json string escaping (HTML-safe: <, >, & and U+2028/9 escaped). */
function goString(s: string): string {
  return JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** json.MarshalIndent with prefix "" and indent "\t"; map keys sorted, struct keys in `order`. */
export function goIndent(v: unknown, depth = 0, order?: readonly string[]): string {
  if (v === null || v === undefined) return "null";
  if (typeof v === "string") return goString(v);
  if (typeof v === "number" || typeof v === "boolean") return JSON.stringify(v);
  const pad = "\t".repeat(depth + 1);
  const end = "\t".repeat(depth);
  if (Array.isArray(v)) {
    if (v.length === 0) return "[]";
    return `[\n${v.map((x) => pad + goIndent(x, depth + 1)).join(",\n")}\n${end}]`;
  }
  const obj = v as Record<string, unknown>;
  const keys = order ?? Object.keys(obj).sort();
  if (keys.length === 0) return "{}";
  return `{\n${keys.map((k) => `${pad}${goString(k)}: ${goIndent(obj[k], depth + 1)}`).join(",\n")}\n${end}}`;
}

/** api.CAConfig's fields in struct order. */
const CA_CONFIG_FIELDS = ["Provider", "Config", "State", "ForceWithoutCrossSigning", "CreateIndex", "ModifyIndex"] as const;

function asCAConfig(x: unknown): Record<string, unknown> {
  const o = typeof x === "object" && x !== null && !Array.isArray(x) ? (x as Record<string, unknown>) : {};
  return {
    Provider: typeof o["Provider"] === "string" ? o["Provider"] : "",
    Config: o["Config"] ?? null,
    State: o["State"] ?? null,
    ForceWithoutCrossSigning: o["ForceWithoutCrossSigning"] === true,
    CreateIndex: typeof o["CreateIndex"] === "number" ? o["CreateIndex"] : 0,
    ModifyIndex: typeof o["ModifyIndex"] === "number" ? o["ModifyIndex"] : 0,
  };
}

export const connectCAGetCommand: Command = {
  help: (prog) => renderUsage(GET_HELP(prog), getFlags()),
  async run(argv: string[], io: CliIO): Promise<number> {
    const fs = getFlags();
    const p = parseFlags(fs, argv, io, GET_HELP(io.prog));
    if (!p.ok) return p.code;
    const c = await client(fs, io);
    if (c === undefined) return EXIT_ERROR;
    let cfg: Record<string, unknown>;
    try {
      const res = await c.request("GET", "/v1/connect/ca/configuration", [], undefined, true);
      requireOk(res);
      cfg = asCAConfig(JSON.parse(res.body.toString("utf8")) as unknown);
    } catch (e) {
      error(io, `Error querying CA configuration: ${(e as Error).message}`);
      return EXIT_ERROR;
    }
    info(io, goIndent(cfg, 0, CA_CONFIG_FIELDS));
    return EXIT_OK;
  },
};

export const connectCASetCommand: Command = {
  help: (prog) => renderUsage(SET_HELP(prog), setFlags()),
  async run(argv: string[], io: CliIO): Promise<number> {
    const fs = setFlags();
    const p = parseFlags(fs, argv, io, SET_HELP(io.prog));
    if (!p.ok) return p.code;
    const c = await client(fs, io);
    if (c === undefined) return EXIT_ERROR;
    const file = fs.getString("config-file");
    if (file === "") {
      error(io, "The -config-file flag is required");
      return EXIT_ERROR;
    }
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (e) {
      error(io, `Error reading config file: ${(e as Error).message}`);
      return EXIT_ERROR;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      error(io, `Error parsing config file: ${(e as Error).message}`);
      return EXIT_ERROR;
    }
    const cfg = asCAConfig(parsed);
    cfg["ForceWithoutCrossSigning"] = fs.getBool("force-without-cross-signing");
    try {
      requireOk(await c.request("PUT", "/v1/connect/ca/configuration", [], Buffer.from(JSON.stringify(cfg), "utf8")));
    } catch (e) {
      error(io, `Error setting CA configuration: ${(e as Error).message}`);
      return EXIT_ERROR;
    }
    info(io, "Configuration updated!");
    return EXIT_OK;
  },
};
