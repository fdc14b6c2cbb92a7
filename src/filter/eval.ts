/**
 * eval: runs a compiled filter plan against one item, a plain JS value shaped
 * like Consul's JSON for that item. Semantics are go-bexpr v0.1.2's:
 *   - and/or short-circuit; `not` negates
 *   - a selector walks struct fields and map keys; a list on the way means
 *     "any element matches" (Checks.Status == "critical")
 *   - a missing map key (Meta.env when Meta has no env): ==, in, is not empty → false;
 *     !=, not in, is empty → true; and, as in v0.1.2, matches AND not matches → true
 *   - strings compare exactly; `in`/`contains` is substring on strings, element
 *     equality on lists, key presence on maps
 * With a schema, absent JSON fields count as Go zero values ("" / 0 / false / empty).
 * Without one, types are taken from the data; a value that cannot be compared
 * (wrong type, value that does not coerce) makes the match false, where go-bexpr
 * would fail the whole request.
 *
 * Must never: throw on any input item, do I/O, or mutate the item.
 */

import type { MatchOp } from "./parse.ts";
import type { Coerced, Plan, PlanMatch } from "./compile.ts";
import type { FieldSpec } from "./schema.ts";
import { goParseBool, goParseInt } from "./gostr.ts";
import { unreachable } from "../shared/errors.ts";

type Obj = { readonly [k: string]: unknown };

function asObj(v: unknown): Obj | null {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Obj) : null;
}
function asList(v: unknown): readonly unknown[] {
  return Array.isArray(v) ? v : [];
}
function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

/** What go-bexpr v0.1.2 answers when a selector runs into a missing map key. */
export function missingKeyResult(op: MatchOp): boolean {
  switch (op) {
    case "==": case "is not empty": case "in":
      return false;
    case "!=": case "is empty": case "not in": case "matches": case "not matches":
      return true;
    default:
      return unreachable(op);
  }
}

function negated(op: MatchOp): boolean {
  return op === "!=" || op === "not in" || op === "is not empty" || op === "not matches";
}

function intEquals(v: unknown, n: bigint): boolean {
  if (typeof v === "bigint") return v === n;
  if (v === undefined || v === null) return n === 0n;
  return typeof v === "number" && Number.isInteger(v) && BigInt(v) === n;
}

// ---- schema mode ------------------------------------------------------------------

function applyTyped(m: PlanMatch, spec: FieldSpec, v: unknown, c: Coerced): boolean {
  let r: boolean;
  switch (m.op) {
    case "==":
    case "!=":
      r = c.kind === "string" ? str(v) === c.s
        : c.kind === "int" ? intEquals(v, c.n)
        : c.kind === "bool" ? (v === true) === c.b
        : false;
      break;
    case "in":
    case "not in": {
      const needle = c.kind === "string" ? c.s : (m.raw ?? "");
      if (spec.kind === "string") r = str(v).includes(needle);
      else if (spec.kind === "string-list") r = asList(v).some((x) => str(x) === needle);
      else r = Object.hasOwn(asObj(v) ?? {}, needle);
      break;
    }
    case "is empty":
    case "is not empty":
      r = Array.isArray(v) ? v.length === 0
        : typeof v === "string" ? v.length === 0
        : Object.keys(asObj(v) ?? {}).length === 0;
      break;
    case "matches":
    case "not matches":
      r = m.re !== null && m.re.test(str(v));
      break;
    default:
      return unreachable(m.op);
  }
  return negated(m.op) ? !r : r;
}

function evalTyped(m: PlanMatch, specs: readonly FieldSpec[], v: unknown, depth: number, spec: FieldSpec): boolean {
  if (depth >= m.selector.length) return applyTyped(m, spec, v, m.value);
  const part = m.selector[depth] ?? "";
  switch (spec.kind) {
    case "struct": {
      const next = specs[depth];
      if (next === undefined) return false;
      return evalTyped(m, specs, asObj(v)?.[part], depth + 1, next);
    }
    case "struct-list": {
      const elem: FieldSpec = { kind: "struct", fields: spec.fields };
      return asList(v).some((x) => evalTyped(m, specs, x, depth, elem));
    }
    case "string-map":
    case "struct-map": {
      const o = asObj(v);
      const next = specs[depth];
      if (o === null || !Object.hasOwn(o, part) || next === undefined) return missingKeyResult(m.op);
      return evalTyped(m, specs, o[part], depth + 1, next);
    }
    case "string": case "int": case "bool": case "string-list":
      return false; // validation never lets a selector go below a scalar
    default:
      return unreachable(spec);
  }
}

// ---- schemaless mode --------------------------------------------------------------

/** `raw == v` with the raw text coerced to v's JSON type; null when they cannot be compared. */
function dynEquals(raw: string, v: unknown): boolean | null {
  if (typeof v === "string") return v === raw;
  if (typeof v === "boolean") {
    const b = goParseBool(raw);
    return b.ok ? b.value === v : null;
  }
  if (typeof v === "number") {
    if (Number.isInteger(v)) {
      const n = goParseInt(raw);
      return n.ok ? BigInt(v) === n.value : null;
    }
    const f = Number(raw);
    return raw.trim() !== "" && !Number.isNaN(f) ? f === v : null;
  }
  return null;
}

function applyDyn(m: PlanMatch, v: unknown): boolean {
  if (v === undefined || v === null) return missingKeyResult(m.op);
  const raw = m.raw ?? "";
  let r: boolean | null;
  switch (m.op) {
    case "==":
    case "!=":
      r = dynEquals(raw, v);
      break;
    case "in":
    case "not in":
      r = typeof v === "string" ? v.includes(raw)
        : Array.isArray(v) ? v.some((x) => dynEquals(raw, x) === true)
        : asObj(v) !== null ? Object.hasOwn(asObj(v) ?? {}, raw)
        : null;
      break;
    case "is empty":
    case "is not empty":
      r = typeof v === "string" || Array.isArray(v) ? v.length === 0
        : asObj(v) !== null ? Object.keys(asObj(v) ?? {}).length === 0
        : null;
      break;
    case "matches":
    case "not matches":
      r = typeof v === "string" && m.re !== null ? m.re.test(v) : null;
      break;
    default:
      return unreachable(m.op);
  }
  if (r === null) return false; // go-bexpr would report an error; no match here
  return negated(m.op) ? !r : r;
}

function evalDyn(m: PlanMatch, v: unknown, depth: number): boolean {
  if (depth >= m.selector.length) return applyDyn(m, v);
  if (Array.isArray(v)) return v.some((x) => evalDyn(m, x, depth));
  if (v === undefined || v === null) return missingKeyResult(m.op);
  const o = asObj(v);
  if (o === null) return false; // no nested selection on a scalar (an error in go-bexpr)
  const part = m.selector[depth] ?? "";
  return Object.hasOwn(o, part) ? evalDyn(m, o[part], depth + 1) : missingKeyResult(m.op);
}

// ---- entry ------------------------------------------------------------------------

function evalMatch(m: PlanMatch, item: unknown): boolean {
  if (m.specs === null) return evalDyn(m, item, 0);
  const root: FieldSpec = { kind: "struct", fields: {} };
  return evalTyped(m, m.specs, item, 0, root);
}

/** Evaluates a plan against one item. */
export function evaluatePlan(plan: Plan, item: unknown): boolean {
  switch (plan.type) {
    case "match":
      return evalMatch(plan, item);
    case "not":
      return !evaluatePlan(plan.operand, item);
    case "and":
      return evaluatePlan(plan.left, item) && evaluatePlan(plan.right, item);
    case "or":
      return evaluatePlan(plan.left, item) || evaluatePlan(plan.right, item);
    default:
      return unreachable(plan);
  }
}
