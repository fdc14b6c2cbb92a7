/**
 * cli/flags: Go `flag`-package style command-line parsing, as Consul's CLI uses it.
 *
 * Rules (Go's flag.FlagSet.Parse): `-name`, `--name`, `-name=value`, `-name value`
 * (not for booleans: `-b=false` only), repeated list flags append, `--` ends the
 * flags and is consumed, parsing stops at the first non-flag argument (`-` alone
 * is an argument). Also renders Consul's help layout (command/flags/usage.go).
 *
 * Must never: print, exit, or read the environment; callers decide what to do
 * with a ParseOutcome.
 */

export type FlagKind = "bool" | "string" | "int" | "uint" | "list";
export type FlagSection = "http" | "command";

export interface FlagDef {
  readonly name: string;
  readonly kind: FlagKind;
  readonly usage: string;
  readonly section: FlagSection;
  /** Placeholder shown as `-name=<example>`; derived from the kind when absent. */
  readonly example?: string;
  readonly defaultValue?: string;
}

export type ParseOutcome =
  | { readonly kind: "ok"; readonly args: string[] }
  | { readonly kind: "help" }
  | { readonly kind: "error"; readonly message: string };

/** The help flags mitchellh/cli intercepts anywhere before `--`. */
export function wantsHelp(args: readonly string[]): boolean {
  for (const a of args) {
    if (a === "--") return false;
    if (a === "-h" || a === "-help" || a === "--help") return true;
  }
  return false;
}

const TRUE_WORDS = new Set(["1", "t", "T", "TRUE", "true", "True"]);
const FALSE_WORDS = new Set(["0", "f", "F", "FALSE", "false", "False"]);

/** Go's strconv.ParseBool. */
export function parseGoBool(s: string): boolean | undefined {
  if (TRUE_WORDS.has(s)) return true;
  if (FALSE_WORDS.has(s)) return false;
  return undefined;
}

/** Go's strconv.ParseInt(s, 0, 64) for the ranges JS numbers hold exactly. */
export function parseGoInt(s: string): number | undefined {
  const m = /^([+-]?)(0x[0-9a-fA-F]+|0o?[0-7]+|0b[01]+|[0-9]+)$/.exec(s.replaceAll("_", ""));
  if (!m) return undefined;
  const body = m[2] ?? "";
  let n: number;
  if (/^0x/i.test(body)) n = parseInt(body.slice(2), 16);
  else if (/^0b/i.test(body)) n = parseInt(body.slice(2), 2);
  else if (/^0o/i.test(body)) n = parseInt(body.slice(2), 8);
  else if (body.length > 1 && body.startsWith("0")) n = parseInt(body.slice(1), 8);
  else n = parseInt(body, 10);
  if (!Number.isSafeInteger(n)) return undefined;
  return m[1] === "-" ? -n : n;
}

export class FlagSet {
  private readonly defs = new Map<string, FlagDef>();
  private readonly values = new Map<string, string[]>();
  private readonly order: Array<readonly [string, string]> = [];

  add(def: FlagDef): this {
    this.defs.set(def.name, def);
    return this;
  }
  bool(name: string, usage: string, section: FlagSection = "command"): this {
    return this.add({ name, kind: "bool", usage, section, defaultValue: "false" });
  }
  string(name: string, def: string, usage: string, section: FlagSection = "command"): this {
    return this.add({ name, kind: "string", usage, section, defaultValue: def });
  }
  int(name: string, def: number, usage: string): this {
    return this.add({ name, kind: "int", usage, section: "command", defaultValue: String(def) });
  }
  uint(name: string, def: number, usage: string): this {
    return this.add({ name, kind: "uint", usage, section: "command", defaultValue: String(def) });
  }
  list(name: string, usage: string, example = "value"): this {
    return this.add({ name, kind: "list", usage, section: "command", example });
  }

  definitions(): FlagDef[] {
    return [...this.defs.values()];
  }

  parse(argv: readonly string[]): ParseOutcome {
    this.values.clear();
    this.order.length = 0;
    const args = [...argv];
    while (args.length > 0) {
      const s = args[0] ?? "";
      if (s.length < 2 || s[0] !== "-") break;
      let minuses = 1;
      if (s[1] === "-") {
        minuses = 2;
        if (s.length === 2) {
          args.shift();
          break;
        }
      }
      let name = s.slice(minuses);
      if (name.length === 0 || name[0] === "-" || name[0] === "=") {
        return { kind: "error", message: `bad flag syntax: ${s}` };
      }
      args.shift();
      let value: string | undefined;
      const eq = name.indexOf("=");
      if (eq > 0) {
        value = name.slice(eq + 1);
        name = name.slice(0, eq);
      }
      const def = this.defs.get(name);
      if (!def) {
        if (name === "help" || name === "h") return { kind: "help" };
        return { kind: "error", message: `flag provided but not defined: -${name}` };
      }
      if (def.kind === "bool") {
        if (value !== undefined && parseGoBool(value) === undefined) {
          return { kind: "error", message: `invalid boolean value "${value}" for -${name}: parse error` };
        }
        this.record(name, value ?? "true", false);
        continue;
      }
      if (value === undefined) {
        if (args.length === 0) return { kind: "error", message: `flag needs an argument: -${name}` };
        value = args.shift() ?? "";
      }
      if (def.kind === "int" || def.kind === "uint") {
        const n = parseGoInt(value);
        if (n === undefined || (def.kind === "uint" && n < 0)) {
          return { kind: "error", message: `invalid value "${value}" for flag -${name}: parse error` };
        }
      }
      this.record(name, value, def.kind === "list");
    }
    return { kind: "ok", args };
  }

  private record(name: string, value: string, append: boolean): void {
    this.order.push([name, value]);
    const prev = this.values.get(name);
    if (append && prev) prev.push(value);
    else this.values.set(name, [value]);
  }

  isSet(name: string): boolean {
    return this.values.has(name);
  }
  getString(name: string): string {
    const v = this.values.get(name);
    return v ? (v[v.length - 1] ?? "") : (this.defs.get(name)?.defaultValue ?? "");
  }
  getBool(name: string): boolean {
    return parseGoBool(this.getString(name)) ?? false;
  }
  getInt(name: string): number {
    return parseGoInt(this.getString(name)) ?? 0;
  }
  /** Values of several flags, in the order they were given on the command line. */
  getOrdered(names: readonly string[]): string[] {
    return this.order.filter(([n]) => names.includes(n)).map(([, v]) => v);
  }
  getList(name: string): string[] {
    return [...(this.values.get(name) ?? [])];
  }
  /** A boolean that was given, or undefined when it was not on the command line. */
  getOptionalBool(name: string): boolean | undefined {
    return this.isSet(name) ? this.getBool(name) : undefined;
  }
  getOptionalString(name: string): string | undefined {
    return this.isSet(name) ? this.getString(name) : undefined;
  }
}

/** Go flag.UnquoteUsage: the `quoted` word of the usage, else a name for the kind. */
function unquoteUsage(def: FlagDef): { example: string; usage: string } {
  const m = /`([^`]*)`/.exec(def.usage);
  if (m) {
    return { example: m[1] ?? "", usage: def.usage.replace(/`([^`]*)`/, "$1") };
  }
  if (def.example !== undefined) return { example: def.example, usage: def.usage };
  switch (def.kind) {
    case "bool":
      return { example: "", usage: def.usage };
    case "string":
      return { example: "string", usage: def.usage };
    case "int":
      return { example: "int", usage: def.usage };
    case "uint":
      return { example: "uint", usage: def.usage };
    case "list":
      return { example: "value", usage: def.usage };
  }
}

const HELP_LINE_LENGTH = 72;
const WRAP_PENALTY = 100000;

/** github.com/kr/text Wrap: minimum-raggedness word wrap at `lim` columns. */
export function wrapText(s: string, lim: number): string {
  const words = s.trim().replaceAll("\n", " ").split(" ");
  const n = words.length;
  const len = (i: number, j: number): number => {
    let total = 0;
    for (let k = i; k <= j; k++) total += (words[k] ?? "").length + (k > i ? 1 : 0);
    return total;
  };
  const cost = new Array<number>(n).fill(Number.MAX_SAFE_INTEGER);
  const brk = new Array<number>(n).fill(n);
  for (let i = n - 1; i >= 0; i--) {
    if (len(i, n - 1) <= lim || i === n - 1) {
      cost[i] = 0;
      brk[i] = n;
      continue;
    }
    for (let j = i + 1; j < n; j++) {
      const l = len(i, j - 1);
      const d = lim - l;
      let c = d * d + (cost[j] ?? 0);
      if (l > lim) c += WRAP_PENALTY;
      if (c < (cost[i] ?? 0)) {
        cost[i] = c;
        brk[i] = j;
      }
    }
  }
  const lines: string[] = [];
  for (let i = 0; i < n; ) {
    const next = brk[i] ?? n;
    lines.push(words.slice(i, next).join(" "));
    i = next;
  }
  return lines.join("\n");
}

function wrapAtLength(s: string, pad: number): string {
  return wrapText(s, HELP_LINE_LENGTH - pad)
    .split("\n")
    .map((l) => " ".repeat(pad) + l)
    .join("\n");
}

/** Consul's flags.Usage: help text, then "HTTP API Options" and "Command Options". */
export function renderUsage(help: string, fs: FlagSet | null): string {
  let out = help.trim() + "\n\n";
  if (fs) {
    const defs = fs.definitions().sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const [title, section] of [
      ["HTTP API Options", "http"],
      ["Command Options", "command"],
    ] as const) {
      const inSection = defs.filter((d) => d.section === section);
      if (inSection.length === 0) continue;
      out += `${title}\n\n`;
      for (const d of inSection) {
        const { example, usage } = unquoteUsage(d);
        out += example ? `  -${d.name}=<${example}>\n` : `  -${d.name}\n`;
        out += wrapAtLength(usage, 5) + "\n\n";
      }
    }
  }
  return out.replace(/\n+$/, "");
}
