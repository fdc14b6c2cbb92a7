/**
 * filter: the public face of cairn's `?filter=` engine, a re-implementation of
 * go-bexpr v0.1.2 (the version Consul uses) over JSON-shaped items.
 *
 *   const f = compileFilter(query.filter, FILTER_SCHEMAS.catalogNodes); // throws CairnError("bad-request")
 *   const kept = filterList(nodes, nodeToJson, f);
 *
 * Must never: do I/O, or let a bad expression through as anything but a
 * "bad-request" CairnError carrying Consul's text.
 */

import { CairnError } from "../shared/errors.ts";
import { parseFilter } from "./parse.ts";
import { compilePlan } from "./compile.ts";
import { evaluatePlan } from "./eval.ts";
import type { FilterSchema } from "./schema.ts";

export type { FieldSpec, FilterSchema } from "./schema.ts";
export {
  CHECK_SERVICE_NODE_SCHEMA,
  FILTER_SCHEMAS,
  HEALTH_CHECK_SCHEMA,
  NODE_INFO_SCHEMA,
  NODE_SCHEMA,
  NODE_SERVICE_SCHEMA,
  SERVICE_NODE_SCHEMA,
} from "./schema.ts";
export type { Ast, MatchOp } from "./parse.ts";
export { formatFilter, parseFilter } from "./parse.ts";

/** A compiled filter: true keeps the item. Never throws. */
export type Filter = (item: unknown) => boolean;

/** Consul's prefix for every bad filter (bexpr.CreateFilter's wrapping). */
export const FILTER_ERROR_PREFIX = "Failed to create boolean expression evaluator: ";

const KEEP_ALL: Filter = () => true;

/**
 * Parses and validates `expr` once (selectors against `schema` when given,
 * values coerced, regexes compiled). An empty expression keeps everything, as
 * in Consul. Throws CairnError("bad-request", "Failed to create boolean
 * expression evaluator: <go-bexpr error>").
 */
export function compileFilter(expr: string, schema?: FilterSchema): Filter {
  if (expr === "") return KEEP_ALL;
  const parsed = parseFilter(expr);
  if (!parsed.ok) throw new CairnError("bad-request", FILTER_ERROR_PREFIX + parsed.error);
  const compiled = compilePlan(parsed.ast, schema);
  if (!compiled.ok) throw new CairnError("bad-request", FILTER_ERROR_PREFIX + compiled.error);
  const plan = compiled.plan;
  return (item) => evaluatePlan(plan, item);
}

/** Keeps the items whose JSON form passes `f`, in order. */
export function filterList<T>(items: readonly T[], toJson: (t: T) => unknown, f: Filter): T[] {
  if (f === KEEP_ALL) return items.slice();
  const out: T[] = [];
  for (const it of items) if (f(toJson(it))) out.push(it);
  return out;
}
