/**
 * agent/config/duration: Go's time.ParseDuration ("300ms", "1m30s", "72h", "0").
 *
 * Must never: accept bare numbers other than "0" (Go does not).
 */

const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3,
  "μs": 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Milliseconds, or undefined when the text is not a Go duration. */
export function parseGoDuration(text: string): number | undefined {
  let s = text;
  let sign = 1;
  if (s.startsWith("-") || s.startsWith("+")) {
    if (s[0] === "-") sign = -1;
    s = s.slice(1);
  }
  if (s === "0") return 0;
  if (s === "") return undefined;
  let total = 0;
  const re = /^([0-9]*(?:\.[0-9]*)?)([a-zµμ]+)/;
  while (s.length > 0) {
    const m = re.exec(s);
    if (!m) return undefined;
    const num = m[1] ?? "";
    const unit = UNIT_MS[m[2] ?? ""];
    if (num === "" || num === "." || unit === undefined) return undefined;
    total += Number(num) * unit;
    s = s.slice(m[0].length);
  }
  return sign * total;
}
