/**
 * bench/lib/values: deterministic test values (printable ASCII, so raw and base64 forms are predictable).
 *
 * Must never: use randomness (runs must be comparable).
 */

export function makeValue(bytes: number, seed = 0): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  let s = "";
  for (let i = 0; i < bytes; i++) s += alphabet[(i * 7 + seed) % alphabet.length];
  return s;
}
