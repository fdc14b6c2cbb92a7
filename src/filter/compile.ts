/**
 * compile: go-bexpr's validation pass. Checks every selector against an endpoint
 * schema (walking `.Field` / `.<map key>` exactly like bexpr's
 * FieldConfigurations), checks the operator is allowed on the selected field,
 * coerces the value once (Go ParseInt / ParseBool) and compiles `matches`
 * patterns once. Produces the plan eval.ts runs. Errors are go-bexpr's texts,
 * e.g. `Selector "Foo" is not valid`, `Invalid match operator "Equal" for selector "Tags"`.
 *
 * Must never: do I/O or look at data items (only the expression and the schema).
 */

import type { Ast, MatchOp } from "./parse.ts";
import { selectorText } from "./parse.ts";
import type { FieldSpec, FilterSchema } from "./schema.ts";
import { goParseBool, goParseInt, goQuote } from "./gostr.ts";
import { compileGoRegex } from "./regex.ts";
import { unreachable } from "../shared/errors.ts";

/** The value of a match, coerced to the selected field's type (schema mode). */
export type Coerced =
  | { readonly kind: "none" }
  | { readonly kind: "string"; readonly s: string }
  | { readonly kind: "int"; readonly n: bigint }
  | { readonly kind: "bool"; readonly b: boolean };

export type PlanMatch = {
  readonly type: "match";
  readonly selector: readonly string[];
  readonly op: MatchOp;
  readonly raw: string | null;
  readonly re: RegExp | null;
  /** With a schema: the spec of each selector part, and the coerced value; null when schemaless. */
  readonly specs: readonly FieldSpec[] | null;
  readonly value: Coerced;
};

export type Plan =
  | PlanMatch
  | { readonly type: "not"; readonly operand: Plan }
  | { readonly type: "and" | "or"; readonly left: Plan; readonly right: Plan };

export type CompileResult = { ok: true; plan: Plan } | { ok: false; error: string };

/** Go's MatchOperator.String(), used in messages. */
export function opName(op: MatchOp): string {
  switch (op) {
    case "==": return "Equal";
    case "!=": return "Not Equal";
    case "in": return "In";
    case "not in": return "Not In";
    case "is empty": return "Is Empty";
    case "is not empty": return "Is Not Empty";
    case "matches": return "Matches";
    case "not matches": return "Not Matches";
    default: return unreachable(op);
  }
}

const STRING_OPS: readonly MatchOp[] = ["==", "!=", "in", "not in", "matches", "not matches"];
const SCALAR_OPS: readonly MatchOp[] = ["==", "!="];
const COLLECTION_OPS: readonly MatchOp[] = ["is empty", "is not empty", "in", "not in"];
const EMPTY_OPS: readonly MatchOp[] = ["is empty", "is not empty"];

function supportedOps(spec: FieldSpec): readonly MatchOp[] {
  switch (spec.kind) {
    case "string": return STRING_OPS;
    case "int": case "bool": return SCALAR_OPS;
    case "string-list": case "string-map": case "struct-map": return COLLECTION_OPS;
    case "struct-list": return EMPTY_OPS;
    case "struct": return [];
    default: return unreachable(spec);
  }
}

const STRING_SPEC: FieldSpec = { kind: "string" };

/** The sub-fields reachable with one more selector part ("" is bexpr's FieldNameAny). */
function subFields(spec: FieldSpec): FilterSchema {
  switch (spec.kind) {
    case "struct": case "struct-list": return spec.fields;
    case "string-map": return { "": STRING_SPEC };
    case "struct-map": return { "": { kind: "struct", fields: spec.fields } };
    case "string": case "int": case "bool": case "string-list": return {};
    default: return unreachable(spec);
  }
}

function lookup(fields: FilterSchema, name: string): FieldSpec | undefined {
  return Object.hasOwn(fields, name) ? fields[name] : Object.hasOwn(fields, "") ? fields[""] : undefined;
}

function coerce(spec: FieldSpec, raw: string): { ok: true; value: Coerced } | { ok: false; error: string } {
  switch (spec.kind) {
    case "int": {
      const r = goParseInt(raw);
      return r.ok ? { ok: true, value: { kind: "int", n: r.value } } : r;
    }
    case "bool": {
      const r = goParseBool(raw);
      return r.ok ? { ok: true, value: { kind: "bool", b: r.value } } : r;
    }
    case "string": case "string-list": case "string-map": case "struct-map":
      return { ok: true, value: { kind: "string", s: raw } };
    case "struct": case "struct-list":
      return { ok: true, value: { kind: "none" } };
    default:
      return unreachable(spec);
  }
}

type Step<T> = { ok: true; value: T } | { ok: false; error: string };

function compileMatch(m: Extract<Ast, { type: "match" }>, schema: FilterSchema | undefined): Step<PlanMatch> {
  const sel = selectorText(m.selector);
  let specs: FieldSpec[] | null = null;
  let value: Coerced = { kind: "none" };
  if (schema !== undefined) {
    specs = [];
    let fields = schema;
    for (let idx = 0; idx < m.selector.length; idx++) {
      const spec = lookup(fields, m.selector[idx] ?? "");
      if (spec === undefined) {
        return { ok: false, error: `Selector ${goQuote(selectorText(m.selector.slice(0, idx + 1)))} is not valid` };
      }
      specs.push(spec);
      fields = subFields(spec);
    }
    const last = specs[specs.length - 1];
    if (last === undefined || !supportedOps(last).includes(m.op)) {
      return { ok: false, error: `Invalid match operator ${goQuote(opName(m.op))} for selector ${goQuote(sel)}` };
    }
    if (m.value !== null) {
      const c = coerce(last, m.value);
      if (!c.ok) {
        return { ok: false, error: `Failed to coerce value ${goQuote(m.value)} for selector ${goQuote(sel)}: ${c.error}` };
      }
      value = c.value;
    }
  }
  let re: RegExp | null = null;
  if ((m.op === "matches" || m.op === "not matches") && m.value !== null) {
    const r = compileGoRegex(m.value);
    if (!r.ok) return { ok: false, error: `Failed to compile regular expression ${goQuote(m.value)}: ${r.error}` };
    re = r.re;
  }
  return { ok: true, value: { type: "match", selector: m.selector, op: m.op, raw: m.value, re, specs, value } };
}

/** Validates and prepares an AST; the first error (left to right) wins, as in go-bexpr. */
export function compilePlan(ast: Ast, schema: FilterSchema | undefined): CompileResult {
  const walk = (a: Ast): Step<Plan> => {
    switch (a.type) {
      case "match":
        return compileMatch(a, schema);
      case "not": {
        const o = walk(a.operand);
        return o.ok ? { ok: true, value: { type: "not", operand: o.value } } : o;
      }
      case "and":
      case "or": {
        const l = walk(a.left);
        if (!l.ok) return l;
        const r = walk(a.right);
        return r.ok ? { ok: true, value: { type: a.type, left: l.value, right: r.value } } : r;
      }
      default:
        return unreachable(a);
    }
  };
  const r = walk(ast);
  return r.ok ? { ok: true, plan: r.value } : { ok: false, error: r.error };
}
