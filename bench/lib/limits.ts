/**
 * bench/lib/limits: read OS limits that decide whether a scenario can run here (open files).
 *
 * Must never: change limits (raising them is the operator's decision).
 */

import { execFileSync } from "node:child_process";

/** The soft `ulimit -n` that child processes of this bench inherit (Infinity for "unlimited"). */
export function fdLimit(): number {
  const out = execFileSync("/bin/sh", ["-c", "ulimit -n"], { encoding: "utf8" }).trim();
  return out === "unlimited" ? Number.POSITIVE_INFINITY : Number(out);
}
