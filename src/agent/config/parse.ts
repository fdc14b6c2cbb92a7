/**
 * agent/config/parse: one config document (JSON or HCL v1 text) -> plain data.
 *
 * HCL goes through js-hcl-parser (HashiCorp's Go parser compiled to JS), which
 * turns every block into a list of objects; tree.ts folds those back.
 * An empty (or blank) document is valid and has no keys.
 *
 * Must never: read files (load.ts does) or interpret keys.
 */

export type ConfigFormat = "json" | "hcl";

export type ParsedDoc = { readonly ok: true; readonly data: Record<string, unknown> } | { readonly ok: false; readonly error: string };

interface HclModule {
  parse(text: string): string;
}

let hclModule: HclModule | undefined;

async function loadHcl(): Promise<HclModule> {
  if (!hclModule) {
    const mod = await import("js-hcl-parser");
    hclModule = mod.default;
  }
  return hclModule;
}

/** Line and column of a character offset, 1-based. */
function lineCol(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  const col = offset - before.lastIndexOf("\n");
  return `line ${line}, column ${col}`;
}

/** Offset of the first JSON syntax error (a small recursive-descent scan), or -1. */
export function jsonErrorOffset(text: string): number {
  let i = 0;
  const ws = (): void => {
    while (i < text.length && " \t\r\n".includes(text[i] ?? "")) i++;
  };
  const fail = (): never => {
    throw i;
  };
  const str = (): void => {
    if (text[i] !== '"') fail();
    i++;
    while (i < text.length && text[i] !== '"') {
      if (text[i] === "\\") i++;
      else if ((text.charCodeAt(i) ?? 0) < 0x20) fail();
      i++;
    }
    if (i >= text.length) fail();
    i++;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      ws();
      if (text[i] === "}") {
        i++;
        return;
      }
      for (;;) {
        ws();
        str();
        ws();
        if (text[i] !== ":") fail();
        i++;
        value();
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "}") {
          i++;
          return;
        }
        fail();
      }
    }
    if (c === "[") {
      i++;
      ws();
      if (text[i] === "]") {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "]") {
          i++;
          return;
        }
        fail();
      }
    }
    if (c === '"') return str();
    const m = /^(-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?|true|false|null)/.exec(text.slice(i, i + 400));
    if (!m) fail();
    i += m ? m[0].length : 0;
  };
  try {
    value();
    ws();
    if (i < text.length) fail();
    return -1;
  } catch (e) {
    return typeof e === "number" ? e : -1;
  }
}

function parseJson(text: string): ParsedDoc {
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== "object" || v === null || Array.isArray(v)) {
      const what = Array.isArray(v) ? "array" : v === null ? "null" : typeof v;
      return { ok: false, error: `json: cannot unmarshal ${what} into Go value of type map[string]interface {}` };
    }
    return { ok: true, data: v as Record<string, unknown> };
  } catch (e) {
    const msg = (e as Error).message.replace(/ \(line \d+ column \d+\)$/, "");
    const at = jsonErrorOffset(text);
    const where = at >= 0 ? ` (${lineCol(text, at)})` : "";
    return { ok: false, error: `invalid JSON: ${msg}${where}` };
  }
}

async function parseHcl(text: string): Promise<ParsedDoc> {
  const hcl = await loadHcl();
  let out: string;
  try {
    out = hcl.parse(text);
  } catch (e) {
    return { ok: false, error: String(e) };
  }
  if (!out.trimStart().startsWith("{")) {
    return { ok: false, error: out.replace(/^unable to parse JSON: /, "") };
  }
  return parseJson(out);
}

export async function parseDocument(text: string, format: ConfigFormat): Promise<ParsedDoc> {
  if (text.trim() === "") return { ok: true, data: {} };
  return format === "json" ? parseJson(text) : parseHcl(text);
}

/** Format by extension, as Consul decides it; undefined for other files. */
export function formatOf(path: string): ConfigFormat | undefined {
  if (path.endsWith(".json")) return "json";
  if (path.endsWith(".hcl")) return "hcl";
  return undefined;
}
