/**
 * duration: Go's time.ParseDuration / Duration.String and Go's JSON time format,
 * as Consul's CA configuration and CA JSON use them.
 *
 * Durations are carried as milliseconds (number); nanosecond inputs are kept
 * exactly only down to the millisecond, which is far below every CA bound.
 *
 * Must never: do I/O, read the clock, or throw anything but CairnError("bad-request").
 */

import { CairnError } from "../shared/errors.ts";

const NS_PER_MS = 1_000_000;

/** Unit -> nanoseconds, as Go's time package spells them. */
const UNIT_NS: ReadonlyMap<string, number> = new Map([
  ["ns", 1],
  ["us", 1_000],
  ["µs", 1_000], // U+00B5 micro sign
  ["μs", 1_000], // U+03BC Greek mu
  ["ms", 1_000_000],
  ["s", 1_000_000_000],
  ["m", 60_000_000_000],
  ["h", 3_600_000_000_000],
]);

function invalid(orig: string): CairnError {
  return new CairnError("bad-request", `time: invalid duration ${JSON.stringify(orig)}`);
}

/**
 * Parses a Go duration string ("72h", "1h30m", "1.5h", "-2m", "0") and returns
 * nanoseconds as a float. Errors carry Go's texts.
 */
export function parseGoDurationNs(orig: string): number {
  let s = orig;
  let neg = false;
  if (s.startsWith("-") || s.startsWith("+")) {
    neg = s[0] === "-";
    s = s.slice(1);
  }
  if (s === "0") return 0;
  if (s === "") throw invalid(orig);
  let total = 0;
  while (s !== "") {
    const num = /^([0-9]*)(\.([0-9]*))?/.exec(s);
    const whole = num?.[1] ?? "";
    const frac = num?.[3] ?? "";
    const hasDot = num?.[2] !== undefined;
    if (whole === "" && frac === "") throw invalid(orig);
    if (!hasDot && whole === "") throw invalid(orig);
    s = s.slice((num?.[0] ?? "").length);
    const unitMatch = /^[^0-9.]+/.exec(s);
    if (unitMatch === null) {
      throw new CairnError("bad-request", `time: missing unit in duration ${JSON.stringify(orig)}`);
    }
    const unit = unitMatch[0];
    const mult = UNIT_NS.get(unit);
    if (mult === undefined) {
      throw new CairnError(
        "bad-request",
        `time: unknown unit ${JSON.stringify(unit)} in duration ${JSON.stringify(orig)}`,
      );
    }
    s = s.slice(unit.length);
    const value = Number(`${whole === "" ? "0" : whole}.${frac === "" ? "0" : frac}`);
    total += value * mult;
    if (!Number.isFinite(total) || total > 9.223372036854775e18) throw invalid(orig);
  }
  return neg ? -total : total;
}

/** Go duration string -> milliseconds. */
export function parseGoDurationMs(s: string): number {
  return parseGoDurationNs(s) / NS_PER_MS;
}

/** Milliseconds -> Go's Duration.String() ("72h0m0s", "1h0m0s", "1.5s", "250ms", "0s"). */
export function formatGoDuration(ms: number): string {
  const neg = ms < 0;
  const totalNs = Math.round(Math.abs(ms) * NS_PER_MS);
  const sign = neg ? "-" : "";
  if (totalNs === 0) return "0s";
  if (totalNs < 1_000_000_000) {
    // Go prints sub-second values in the largest fitting unit with a fraction.
    if (totalNs < 1_000) return `${sign}${totalNs}ns`;
    if (totalNs < 1_000_000) return `${sign}${trimFrac(totalNs / 1_000)}µs`;
    return `${sign}${trimFrac(totalNs / 1_000_000)}ms`;
  }
  const hours = Math.floor(totalNs / 3_600_000_000_000);
  let rest = totalNs - hours * 3_600_000_000_000;
  const minutes = Math.floor(rest / 60_000_000_000);
  rest -= minutes * 60_000_000_000;
  const seconds = trimFrac(rest / 1_000_000_000);
  if (hours > 0) return `${sign}${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${sign}${minutes}m${seconds}s`;
  return `${sign}${seconds}s`;
}

function trimFrac(v: number): string {
  // Up to 9 fractional digits, trailing zeros dropped, as Go does.
  return v.toFixed(9).replace(/\.?0+$/, "");
}

/** A Date as Go's time.Time JSON (RFC 3339 with nanoseconds, trailing zeros dropped), in UTC. */
export function formatGoTime(d: Date): string {
  const iso = d.toISOString(); // 2024-01-02T03:04:05.678Z
  return iso.replace(/\.(\d*?)0*Z$/, (_m, frac: string) => (frac === "" ? "Z" : `.${frac}Z`));
}
