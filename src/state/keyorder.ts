/**
 * keyorder: the one ordering of KV keys, equal to Consul's byte order.
 *
 * Consul (go-memdb radix trees) orders keys by their UTF-8 bytes. For
 * well-formed strings, UTF-8 byte order equals Unicode code point order.
 * JavaScript's `<` compares UTF-16 code units, which agrees with code point
 * order except when both differing units are >= 0xD800: a surrogate (part of a
 * code point >= U+10000) must sort after U+E000..U+FFFF. `compareKeys` fixes
 * exactly that case. `isPlainKey(k)` is true when k has no unit >= 0xD800; a
 * comparison where either side is plain can use native `<` (the fix-up needs
 * both sides >= 0xD800 at the first difference).
 *
 * Keys must be well-formed Unicode (no lone surrogates); the HTTP layer
 * validates that. Lone surrogates still get a consistent total order here.
 *
 * Must never: allocate per comparison or depend on locale (no localeCompare).
 */

const HIGH_UNITS = /[\ud800-\uffff]/;

/** True when native `<` on this key agrees with UTF-8 byte order against any key. */
export function isPlainKey(key: string): boolean {
  return !HIGH_UNITS.test(key);
}

/** Total order of keys by code point (= UTF-8 byte order). */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x !== y) {
      if (x >= 0xd800 && y >= 0xd800) {
        // Surrogates (0xD800-0xDFFF) go above 0xE000-0xFFFF.
        x = x < 0xe000 ? x + 0x2000 : x - 0x800;
        y = y < 0xe000 ? y + 0x2000 : y - 0x800;
      }
      return x - y;
    }
  }
  return a.length - b.length;
}

/** Comparison that uses native `<` when `plain` (see isPlainKey on either operand). */
export function lessThan(a: string, b: string, plain: boolean): boolean {
  return plain ? a < b : compareKeys(a, b) < 0;
}
