/**
 * agent/config/tree: the normalized config tree and its schema-driven checks and merge.
 *
 * normalize() turns one parsed JSON/HCL document into a tree keyed by Consul's
 * canonical names, reporting unknown keys ("invalid config key a.b") and wrong
 * types in mapstructure's words. HCL blocks (which arrive as lists of objects)
 * become objects where the schema wants an object. merge() follows Consul's
 * Merge: later scalars win, lists append, maps overlay key by key.
 *
 * Must never: apply defaults or semantic validation (build.ts does).
 */

import { parseGoDuration } from "./duration.ts";
import type { ScalarKind, Schema } from "./schema.ts";

export type ConfigValue = string | number | boolean | ConfigValue[] | ConfigTree;
export interface ConfigTree {
  [key: string]: ConfigValue;
}

export function isTree(v: unknown): v is ConfigTree {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Go type name of a decoded JSON/HCL value, as mapstructure prints it. */
function goType(v: unknown): string {
  if (typeof v === "string") return "string";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "number") return Number.isInteger(v) ? "int" : "float64";
  if (Array.isArray(v)) return "[]interface {}";
  return "map[string]interface {}";
}

const SCALAR_GO_NAME: Readonly<Record<ScalarKind, string>> = {
  string: "string",
  bool: "bool",
  int: "int",
  uint: "uint64",
  float: "float64",
  duration: "string",
};

function show(v: unknown): string {
  return typeof v === "string" ? v : JSON.stringify(v);
}

/** Copies raw JSON data into the ConfigValue domain (drops nulls). */
function toRaw(v: unknown): ConfigValue | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") return v;
  if (Array.isArray(v)) {
    const out: ConfigValue[] = [];
    for (const e of v) {
      const r = toRaw(e);
      if (r !== undefined) out.push(r);
    }
    return out;
  }
  if (typeof v === "object") {
    const out: ConfigTree = {};
    for (const [k, e] of Object.entries(v as Record<string, unknown>)) {
      const r = toRaw(e);
      if (r !== undefined) out[k] = r;
    }
    return out;
  }
  return undefined;
}

function childPath(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

/** HCL turns `name { ... }` into a list of objects: fold it into one object. */
function foldBlocks(v: unknown): unknown {
  if (!Array.isArray(v)) return v;
  const items = v.filter((e) => e !== null);
  if (items.length > 0 && items.every((e) => isTree(e))) {
    return Object.assign({}, ...(items as object[])) as unknown;
  }
  return v;
}

export class Normalizer {
  readonly errors: string[] = [];

  normalize(v: unknown, schema: Schema, path: string): ConfigValue | undefined {
    if (v === null || v === undefined) return undefined;
    switch (schema.t) {
      case "scalar":
        return this.scalar(Array.isArray(v) && v.length === 1 ? v[0] : v, schema.s, path);
      case "strings": {
        if (!Array.isArray(v)) {
          this.errors.push(`'${path}': source data must be an array or slice, got ${goType(v)}`);
          return undefined;
        }
        const out: string[] = [];
        v.forEach((e, i) => {
          const s = this.scalar(e, "string", `${path}[${i}]`);
          if (typeof s === "string") out.push(s);
        });
        return out;
      }
      case "smap":
      case "map": {
        const m = foldBlocks(v);
        if (!isTree(m)) {
          this.errors.push(`'${path}' expected a map, got '${goType(v)}'`);
          return undefined;
        }
        const out: ConfigTree = {};
        for (const [k, e] of Object.entries(m)) {
          const r =
            schema.t === "smap" ? this.scalar(e, "string", `${path}[${k}]`) : this.normalize(e, schema.e, `${path}[${k}]`);
          if (r !== undefined) out[k] = r;
        }
        return out;
      }
      case "raw": {
        const m = Array.isArray(v) && v.length === 1 && isTree(v[0]) ? v[0] : v;
        return toRaw(m);
      }
      case "rawlist": {
        const arr = Array.isArray(v) ? v : [v];
        const out: ConfigValue[] = [];
        arr.forEach((e, i) => {
          if (e === null) return;
          if (!isTree(e)) {
            this.errors.push(`'${path}[${i}]' expected a map, got '${goType(e)}'`);
            return;
          }
          const r = toRaw(e);
          if (r !== undefined) out.push(r);
        });
        return out;
      }
      case "list": {
        if (!Array.isArray(v)) {
          this.errors.push(`'${path}': source data must be an array or slice, got ${goType(v)}`);
          return undefined;
        }
        const out: ConfigValue[] = [];
        v.forEach((e, i) => {
          const r = this.normalize(e, schema.e, `${path}[${i}]`);
          if (r !== undefined) out.push(r);
        });
        return out;
      }
      case "obj":
        return this.object(v, schema.f, schema.aliases ?? {}, path);
    }
  }

  private object(
    v: unknown,
    fields: Readonly<Record<string, Schema>>,
    aliases: Readonly<Record<string, string>>,
    path: string,
  ): ConfigTree | undefined {
    const m = foldBlocks(v);
    if (!isTree(m)) {
      this.errors.push(`'${path}' expected a map, got '${goType(v)}'`);
      return undefined;
    }
    const out: ConfigTree = {};
    for (const [rawKey, e] of Object.entries(m)) {
      const key = resolveKey(rawKey, fields, aliases);
      const fs = key === undefined ? undefined : fields[key];
      if (key === undefined || fs === undefined) {
        this.errors.push(`invalid config key ${childPath(path, rawKey)}`);
        continue;
      }
      const r = this.normalize(e, fs, childPath(path, key));
      if (r !== undefined) out[key] = r;
    }
    return out;
  }

  private scalar(v: unknown, kind: ScalarKind, path: string): ConfigValue | undefined {
    if (v === null || v === undefined) return undefined;
    const bad = (): undefined => {
      this.errors.push(
        `'${path}' expected type '${SCALAR_GO_NAME[kind]}', got unconvertible type '${goType(v)}', value: '${show(v)}'`,
      );
      return undefined;
    };
    switch (kind) {
      case "string":
        return typeof v === "string" ? v : bad();
      case "duration":
        if (typeof v !== "string") return bad();
        if (parseGoDuration(v) === undefined) {
          this.errors.push(`${path}: invalid duration: "${v}"`);
          return undefined;
        }
        return v;
      case "bool":
        return typeof v === "boolean" ? v : bad();
      case "float":
        return typeof v === "number" ? v : bad();
      case "int":
        return typeof v === "number" ? Math.trunc(v) : bad();
      case "uint":
        if (typeof v !== "number") return bad();
        if (v < 0) {
          this.errors.push(`cannot parse '${path}', ${v} overflows uint`);
          return undefined;
        }
        return Math.trunc(v);
    }
  }
}

/** Exact name, else case-insensitive (mapstructure), else a declared alias. */
function resolveKey(
  raw: string,
  fields: Readonly<Record<string, Schema>>,
  aliases: Readonly<Record<string, string>>,
): string | undefined {
  if (Object.hasOwn(fields, raw)) return raw;
  const lower = raw.toLowerCase();
  for (const k of Object.keys(fields)) if (k.toLowerCase() === lower) return k;
  return aliases[lower] ?? aliases[lower.replaceAll("_", "")];
}

/** Consul's Merge: later scalars win, lists append, maps overlay key by key. */
export function merge(a: ConfigValue | undefined, b: ConfigValue | undefined, schema: Schema): ConfigValue | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  switch (schema.t) {
    case "scalar":
      return b;
    case "strings":
    case "list":
    case "rawlist":
      return Array.isArray(a) && Array.isArray(b) ? [...a, ...b] : b;
    case "smap":
    case "map":
      return isTree(a) && isTree(b) ? { ...a, ...b } : b;
    case "raw":
      return isTree(a) && isTree(b) ? { ...a, ...b } : b;
    case "obj": {
      if (!isTree(a) || !isTree(b)) return b;
      const out: ConfigTree = { ...a };
      for (const [k, v] of Object.entries(b)) {
        const fs = schema.f[k];
        const r = fs ? merge(out[k], v, fs) : v;
        if (r !== undefined) out[k] = r;
      }
      return out;
    }
  }
}
