/**
 * agent/config/load: reads config files and directories, merges them with the
 * defaults and the command-line flags in Consul's order, and builds the
 * RuntimeConfig.
 *
 * Merge order (agent/config/builder.go newBuilder): defaults, -dev defaults,
 * list-valued flags, config files and directories in the order given (a
 * directory's *.json / *.hcl files in lexical order, no subdirectories), the
 * other flags, -hcl fragments, then values users cannot set.
 * All parse errors of all files are collected before giving up.
 *
 * Must never: start listeners or write anything but the checks BuildDeps makes.
 */

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { type BuildDeps, buildRuntimeConfig } from "./build.ts";
import { devTailTree, devTree, defaultTree, tailTree } from "./defaults.ts";
import { applyDeprecated, enterpriseWarnings } from "./deprecated.ts";
import { type ConfigFormat, formatOf, parseDocument } from "./parse.ts";
import { CONFIG_SCHEMA } from "./schema.ts";
import { type ConfigTree, Normalizer, isTree, merge } from "./tree.ts";
import type { RuntimeConfig } from "./types.ts";

export interface LoadOptions {
  /** -config-file and -config-dir values, in command-line order. */
  readonly configPaths: readonly string[];
  /** -config-format: "", "json" or "hcl". */
  readonly configFormat: string;
  readonly devMode: boolean;
  /** List-valued flags (merged before the files). */
  readonly flagSlices: ConfigTree;
  /** Other flags (merged after the files). */
  readonly flagValues: ConfigTree;
  /** -hcl fragments. */
  readonly hcl: readonly string[];
}

export interface LoadDeps extends BuildDeps {
  readFile(p: string): Promise<string>;
  /** "file", "dir", or an error message (Go's wording) when the path cannot be opened. */
  kind(p: string): Promise<"file" | "dir" | { error: string }>;
  readDir(p: string): Promise<string[]>;
}

export type LoadResult =
  | { readonly ok: true; readonly config: RuntimeConfig; readonly warnings: string[] }
  | { readonly ok: false; readonly errors: string[]; readonly warnings: string[] };

interface Source {
  readonly name: string;
  readonly format: ConfigFormat;
  readonly text: string;
}

const SINGULAR_TO_LIST: ReadonlyArray<readonly [string, string]> = [
  ["service", "services"],
  ["check", "checks"],
];

/** Consul adds a single `service`/`check` to the `services`/`checks` list of the same source. */
function hoistSingulars(data: Record<string, unknown>): Record<string, unknown> {
  const out = { ...data };
  for (const [one, many] of SINGULAR_TO_LIST) {
    const key = Object.keys(out).find((k) => k.toLowerCase() === one);
    if (key === undefined) continue;
    const v = out[key];
    delete out[key];
    if (v === null || v === undefined) continue;
    const listKey = Object.keys(out).find((k) => k.toLowerCase() === many) ?? many;
    const existing = out[listKey];
    const list: unknown[] = Array.isArray(existing) ? [...(existing as unknown[])] : existing === undefined ? [] : [existing];
    if (Array.isArray(v)) list.push(...(v as unknown[]));
    else list.push(v);
    out[listKey] = list;
  }
  return out;
}

async function expandPath(p: string, format: string, deps: LoadDeps, warnings: string[]): Promise<Source[] | string> {
  const kind = await deps.kind(p);
  if (typeof kind === "object") return `config: Open failed on ${p}. ${kind.error}`;
  const files: string[] = [];
  if (kind === "file") files.push(p);
  else {
    const names = (await deps.readDir(p)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const n of names) {
      const full = path.join(p, n);
      if ((await deps.kind(full)) === "file") files.push(full);
    }
  }
  const out: Source[] = [];
  for (const f of files) {
    const fmt: ConfigFormat | undefined = format === "json" || format === "hcl" ? format : formatOf(f);
    if (fmt === undefined) {
      warnings.push(`skipping file ${f}, extension must be .hcl or .json, or config format must be set`);
      continue;
    }
    try {
      out.push({ name: f, format: fmt, text: await deps.readFile(f) });
    } catch (e) {
      return `config: failed to read ${f}: ${(e as Error).message}`;
    }
  }
  return out;
}

function mergeInto(acc: ConfigTree, next: ConfigTree): ConfigTree {
  const r = merge(acc, next, CONFIG_SCHEMA);
  return isTree(r) ? r : acc;
}

export async function loadConfig(opts: LoadOptions, deps: LoadDeps): Promise<LoadResult> {
  const warnings: string[] = [];
  const errors: string[] = [];
  if (opts.configFormat !== "" && opts.configFormat !== "json" && opts.configFormat !== "hcl") {
    return { ok: false, errors: ["config: -config-format must be either 'hcl' or 'json'"], warnings };
  }
  const files: Source[] = [];
  for (const p of opts.configPaths) {
    const r = await expandPath(p, opts.configFormat, deps, warnings);
    if (typeof r === "string") errors.push(r);
    else files.push(...r);
  }
  const fragments: Source[] = opts.hcl.map((text, i) => ({ name: `flags-${i}.hcl`, format: "hcl", text }));

  const parsed = new Map<Source, ConfigTree>();
  for (const src of [...files, ...fragments]) {
    const doc = await parseDocument(src.text, src.format);
    if (!doc.ok) {
      errors.push(`failed to parse ${src.name}: ${doc.error}`);
      continue;
    }
    const n = new Normalizer();
    const tree = n.normalize(hoistSingulars(doc.data), CONFIG_SCHEMA, "");
    if (n.errors.length > 0) {
      for (const e of n.errors) errors.push(`failed to parse ${src.name}: ${e}`);
      continue;
    }
    const t = isTree(tree) ? tree : {};
    warnings.push(...applyDeprecated(t), ...enterpriseWarnings(t));
    parsed.set(src, t);
  }
  if (errors.length > 0) return { ok: false, errors, warnings };

  let acc = defaultTree();
  if (opts.devMode) acc = mergeInto(acc, devTree());
  acc = mergeInto(acc, opts.flagSlices);
  for (const src of files) acc = mergeInto(acc, parsed.get(src) ?? {});
  acc = mergeInto(acc, opts.flagValues);
  for (const src of fragments) acc = mergeInto(acc, parsed.get(src) ?? {});
  acc = mergeInto(acc, tailTree());
  if (opts.devMode) acc = mergeInto(acc, devTailTree());

  const built = buildRuntimeConfig(
    { tree: acc, devMode: opts.devMode, sources: files.map((f) => f.name), warnings },
    deps,
  );
  return built;
}

const PRIVATE_V4: ReadonlyArray<readonly [number, number]> = [
  [0x0a000000, 8], // 10.0.0.0/8
  [0xac100000, 12], // 172.16.0.0/12
  [0xc0a80000, 16], // 192.168.0.0/16
  [0x64400000, 10], // 100.64.0.0/10 (RFC 6598)
];

function ipv4Number(a: string): number {
  return a.split(".").reduce((n, p) => n * 256 + Number(p), 0);
}

export function isPrivateIPv4(a: string): boolean {
  const n = ipv4Number(a);
  return PRIVATE_V4.some(([net, bits]) => Math.floor(n / 2 ** (32 - bits)) === Math.floor(net / 2 ** (32 - bits)));
}

/** Where data_dir does not exist yet, its nearest existing ancestor must be a writable directory. */
function checkDataDir(p: string): string | null {
  try {
    const st = fs.statSync(p);
    return st.isDirectory() ? null : `data_dir ${JSON.stringify(p)} is not a directory`;
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code !== "ENOENT" && code !== "ENOTDIR") return `Error getting info on data_dir: ${(e as Error).message}`;
  }
  let dir = path.dirname(path.resolve(p));
  for (;;) {
    try {
      const st = fs.statSync(dir);
      if (!st.isDirectory()) return `data_dir ${JSON.stringify(p)} cannot be created: ${dir} is not a directory`;
      fs.accessSync(dir, fs.constants.W_OK);
      return null;
    } catch (e) {
      const code = (e as { code?: string }).code;
      if ((code === "ENOENT" || code === "ENOTDIR") && path.dirname(dir) !== dir) {
        dir = path.dirname(dir);
        continue;
      }
      return `data_dir ${JSON.stringify(p)} cannot be created: ${(e as Error).message}`;
    }
  }
}

/** The real host: files, hostname, interface addresses. */
export function hostDeps(): LoadDeps {
  const addrs = (family: "IPv4" | "IPv6"): string[] =>
    Object.values(os.networkInterfaces())
      .flatMap((l) => l ?? [])
      .filter((i) => i.family === family && !i.internal)
      .map((i) => i.address);
  return {
    hostname: () => os.hostname(),
    privateIPv4: () => addrs("IPv4").filter(isPrivateIPv4),
    publicIPv6: () => addrs("IPv6").filter((a) => !/^(fe80|fc|fd)/i.test(a)),
    checkDataDir,
    readFile: (p) => fs.promises.readFile(p, "utf8"),
    readDir: (p) => fs.promises.readdir(p),
    kind: async (p) => {
      try {
        const st = await fs.promises.stat(p);
        return st.isDirectory() ? "dir" : "file";
      } catch (e) {
        const code = (e as { code?: string }).code;
        const why = code === "ENOENT" ? "no such file or directory" : (e as Error).message;
        return { error: `open ${p}: ${why}` };
      }
    },
  };
}
