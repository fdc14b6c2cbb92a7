// CRC-32C against published vectors (RFC 3720 B.4, the "123456789" check value) and chaining.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { crc32c } from "../../src/shared/crc32.ts";

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

test("check value of 123456789", () => {
  assert.is(crc32c(ascii("123456789")), 0xe3069283);
});

test("RFC 3720 B.4 vectors", () => {
  assert.is(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.is(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assert.is(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
  assert.is(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c);
});

test("empty input and ranges", () => {
  assert.is(crc32c(new Uint8Array(0)), 0);
  const b = ascii("xx123456789yy");
  assert.is(crc32c(b, 2, 11), 0xe3069283);
});

test("chaining equals one pass, for every split point and odd lengths", () => {
  const data = Uint8Array.from({ length: 77 }, (_, i) => (i * 131 + 7) & 0xff);
  const whole = crc32c(data);
  for (let cut = 0; cut <= data.length; cut++) {
    const a = crc32c(data, 0, cut);
    assert.is(crc32c(data, cut, data.length, a), whole, `split at ${cut}`);
  }
  // slicing-by-8 and the bytewise tail agree with a bit-at-a-time reference
  let c = ~0;
  for (const byte of data) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  assert.is(whole, ~c >>> 0);
});

test.run();
