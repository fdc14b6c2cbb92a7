/**
 * gossip/crc: CRC-32 IEEE (Go's crc32.ChecksumIEEE), the checksum of memberlist's
 * hasCrc packet header. (src/shared/crc32.ts is CRC-32C, a different polynomial.)
 *
 * Must never: allocate per call or do I/O.
 */

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32Ieee(data: Uint8Array, start = 0, end: number = data.length): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = (TABLE[(c ^ (data[i] ?? 0)) & 0xff] ?? 0) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
