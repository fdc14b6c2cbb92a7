/**
 * crc32: CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), slicing-by-8.
 *
 * Used for WAL records, snapshots and the meta file. Pure table code so Node and
 * Deno compute the same thing (zlib.crc32 is plain CRC-32 and not on every runtime).
 *
 * Must never: do I/O, allocate per call, or depend on a runtime's zlib.
 */

const POLY = 0x82f63b78;

function buildTable(): Int32Array {
  const t = new Int32Array(256 * 8);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n] ?? 0;
    for (let k = 1; k < 8; k++) {
      c = (c >>> 8) ^ (t[c & 0xff] ?? 0);
      t[k * 256 + n] = c;
    }
  }
  return t;
}

const T = buildTable();

/**
 * CRC-32C of data[start, end). Pass a previous result as `prev` to continue a
 * running checksum over several ranges (crc(a ++ b) === crc32c(b, 0, b.length, crc32c(a))).
 */
export function crc32c(data: Uint8Array, start = 0, end: number = data.length, prev = 0): number {
  const t = T;
  let c = ~prev | 0;
  let i = start;
  const end8 = end - 8;
  while (i <= end8) {
    c ^= (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24));
    c =
      t[1792 + (c & 0xff)]! ^
      t[1536 + ((c >>> 8) & 0xff)]! ^
      t[1280 + ((c >>> 16) & 0xff)]! ^
      t[1024 + (c >>> 24)]! ^
      t[768 + data[i + 4]!]! ^
      t[512 + data[i + 5]!]! ^
      t[256 + data[i + 6]!]! ^
      t[data[i + 7]!]!;
    i += 8;
  }
  while (i < end) c = t[(c ^ data[i++]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}
