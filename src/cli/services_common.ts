/**
 * cli/services_common: what the services, catalog and maint commands share: an agent
 * client, JSON reads with api.requireOK semantics, Go's columnize output, key=value
 * flag maps, and service definitions read from config files (JSON or HCL, as Consul's
 * services.ServicesFromFiles) turned into api.AgentServiceRegistration JSON.
 *
 * Must never: print on its own or decide exit codes.
 */

import type { CliIO } from "./command.ts";
import { error } from "./command.ts";
import type { FlagSet } from "./flags.ts";
import { ConsulHttpClient, clientOptions, HttpClientError, requireOk, type QueryParams } from "./http_client.ts";
import { hostDeps, loadConfig } from "../agent/config/index.ts";
import type { ConfigTree, ConfigValue } from "../agent/config/index.ts";

export async function agentClient(fs: FlagSet, io: CliIO): Promise<ConsulHttpClient | null> {
  try {
    return new ConsulHttpClient(await clientOptions(fs, io.env));
  } catch (e) {
    error(io, `Error connecting to Consul agent: ${(e as Error).message}`);
    return null;
  }
}

export async function getJson(c: ConsulHttpClient, path: string, params: QueryParams = []): Promise<unknown> {
  const res = await c.request("GET", path, params, undefined, true);
  requireOk(res);
  try {
    return JSON.parse(res.body.toString("utf8")) as unknown;
  } catch (e) {
    throw new HttpClientError(`malformed response: ${(e as Error).message}`);
  }
}

export async function putJson(c: ConsulHttpClient, path: string, body: unknown, params: QueryParams = []): Promise<void> {
  const data = body === undefined ? undefined : new TextEncoder().encode(JSON.stringify(body));
  requireOk(await c.request("PUT", path, params, data));
}

/** ryanuber/columnize with Consul's defaults: columns padded to their widest cell, glue "  ". */
export function columnize(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0) + "  ")).join("").trimEnd())
    .join("\n");
}

/** -meta k=v style flags (flags.FlagMapValue): the last value of a key wins. */
export function flagMap(values: readonly string[], name: string): Record<string, string> | string {
  const out: Record<string, string> = {};
  for (const v of values) {
    const i = v.indexOf("=");
    if (i < 0) return `invalid value "${v}" for flag -${name}: missing "="`;
    out[v.slice(0, i)] = v.slice(i + 1);
  }
  return out;
}

const VERBATIM = new Set(["meta", "header", "node_meta"]);
const CHECK_KEYS = new Set(["check", "checks"]);

function pascal(k: string): string {
  return k
    .split("_")
    .map((p) => (p === "id" ? "ID" : p.charAt(0).toUpperCase() + p.slice(1)))
    .join("");
}

/** A config-file block (snake_case) as Consul's API JSON (keys match case-insensitively). */
export function toApiJson(v: ConfigValue, inCheck = false): unknown {
  if (Array.isArray(v)) return v.map((x) => toApiJson(x, inCheck));
  if (typeof v !== "object" || v === null) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as ConfigTree)) {
    if (VERBATIM.has(k)) {
      out[pascal(k)] = x;
      continue;
    }
    const key = inCheck && k === "id" ? "CheckID" : pascal(k);
    out[key] = toApiJson(x, CHECK_KEYS.has(k) || inCheck);
  }
  return out;
}

/** Services defined in config files (Consul loads them as a -dev agent config would). */
export async function servicesFromFiles(files: readonly string[]): Promise<Record<string, unknown>[]> {
  const r = await loadConfig(
    { configPaths: files, configFormat: "", devMode: true, flagSlices: {}, flagValues: {}, hcl: [] },
    hostDeps(),
  );
  if (!r.ok) throw new Error(r.errors.join("\n"));
  return r.config.services.map((s) => toApiJson(s) as Record<string, unknown>);
}
