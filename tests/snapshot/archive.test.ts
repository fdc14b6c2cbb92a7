/**
 * tests/snapshot/archive: Consul's archive container — gzip(tar(meta.json, state.bin,
 * SHA256SUMS)): round trip, Go's meta.json and SHA256SUMS texts, and every refusal
 * with Consul's text (gzip header, truncation, gzip CRC, hash mismatch, missing sums,
 * unexpected member, trailing bytes, oversized state).
 */

import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHash } from "node:crypto";
import { gunzipSync, gzipSync } from "node:zlib";
import { ArchiveError, readArchive, writeArchive, type SnapshotMeta } from "../../src/snapshot/index.ts";
import { writeTarArchive } from "../../src/snapshot/archive.ts";
import { decodeMeta, encodeMeta, encodePeers } from "../../src/snapshot/meta.ts";
import { readTar, writeTar } from "../../src/snapshot/tar.ts";

const META: SnapshotMeta = {
  version: 1,
  id: "2-12426-1604593650375",
  index: 12426,
  term: 2,
  peers: new Uint8Array([0x91, 0xae]),
  servers: [{ suffrage: 0, id: "0c7e2b5e-0000-4000-8000-000000000001", address: "127.0.0.1:8300" }],
  configurationIndex: 1,
  size: 0,
};
const OPTS = { maxStateBytes: 1 << 20 };

function state(n = 20_000): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + 3) & 0xff;
  return b;
}

async function rejects(p: Promise<unknown>, re: RegExp): Promise<ArchiveError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ArchiveError, `expected ArchiveError, got ${String(e)}`);
    assert.match((e as ArchiveError).message, re);
    return e as ArchiveError;
  }
  assert.unreachable("no error");
  throw new Error("unreachable");
}

/** Rebuilds an archive from (possibly edited) members, gzipped. */
function regzip(ms: Array<{ name: string; data: Uint8Array }>, tail = new Uint8Array(0)): Uint8Array {
  const t = writeTar(ms, 1);
  const all = new Uint8Array(t.length + tail.length);
  all.set(t);
  all.set(tail, t.length);
  return new Uint8Array(gzipSync(all));
}

function membersOf(gz: Uint8Array): Array<{ name: string; data: Uint8Array }> {
  return readTar(new Uint8Array(gunzipSync(gz)), { maxMemberBytes: 1 << 24, maxMembers: 8 }).members.map((m) => ({ name: m.name, data: m.data.slice() }));
}

test("round trip: meta and state come back; size is set from the state", async () => {
  const s = state();
  const gz = await writeArchive(META, s, 1_604_593_650_375);
  assert.is(gz[0], 0x1f);
  assert.is(gz[1], 0x8b);
  const a = await readArchive(gz, OPTS);
  assert.equal(Buffer.from(a.state), Buffer.from(s));
  assert.is(a.meta.index, 12426);
  assert.is(a.meta.term, 2);
  assert.is(a.meta.id, META.id);
  assert.is(a.meta.size, s.length);
  assert.equal(a.meta.servers, META.servers);
  assert.equal([...a.meta.peers], [0x91, 0xae]);
  assert.equal(membersOf(gz).map((m) => m.name), ["meta.json", "state.bin", "SHA256SUMS"]);
});

test("meta.json is Go's json.Encoder output of raft.SnapshotMeta; SHA256SUMS is sha256sum style", () => {
  const s = state(10);
  const tar = writeTarArchive(META, s, 0);
  const ms = readTar(tar, { maxMemberBytes: 1 << 20, maxMembers: 8 }).members;
  const meta = Buffer.from(ms[0]!.data).toString("utf8");
  assert.is(
    meta,
    '{"Version":1,"ID":"2-12426-1604593650375","Index":12426,"Term":2,"Peers":"ka4=",' +
      '"Configuration":{"Servers":[{"Suffrage":0,"ID":"0c7e2b5e-0000-4000-8000-000000000001","Address":"127.0.0.1:8300"}]},' +
      '"ConfigurationIndex":1,"Size":10}\n',
  );
  const h = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");
  assert.is(Buffer.from(ms[2]!.data).toString("utf8"), `${h(ms[0]!.data)}  meta.json\n${h(s)}  state.bin\n`);
  // decodeMeta reads Go's field names case-insensitively and nulls as zero values
  const m = decodeMeta(new TextEncoder().encode('{"version":1,"id":"x","index":3,"term":1,"Peers":null,"Configuration":{"Servers":null},"size":4}'));
  assert.is(m.index, 3);
  assert.is(m.servers.length, 0);
  assert.is(m.peers.length, 0);
  assert.is(Buffer.from(encodeMeta({ ...m, peers: new Uint8Array(0) })).toString(), '{"Version":1,"ID":"x","Index":3,"Term":1,"Peers":null,"Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":4}\n');
});

test("Consul's own meta.json (command/snapshot/inspect/testdata/raw) decodes and re-encodes byte for byte", () => {
  const consul =
    '{"Version":1,"ID":"2-13-1602222343947","Index":13,"Term":2,"Peers":"ka4xMjcuMC4wLjE6ODMwMA==",' +
    '"Configuration":{"Servers":[{"Suffrage":0,"ID":"a577b288-b354-770e-e909-da0972eb20e8","Address":"127.0.0.1:8300"}]},' +
    '"ConfigurationIndex":1,"Size":5141}\n';
  const m = decodeMeta(new TextEncoder().encode(consul));
  assert.is(m.id, "2-13-1602222343947");
  assert.is(m.size, 5141);
  assert.is(Buffer.from(encodeMeta(m)).toString(), consul);
  // raft's encodePeers of that configuration gives the same Peers bytes
  assert.is(Buffer.from(encodePeers(m.servers)).toString("base64"), "ka4xMjcuMC4wLjE6ODMwMA==");
});

test("not gzip / truncated / bad gzip CRC are refused with Consul's texts", async () => {
  const gz = await writeArchive(META, state(), 1);
  await rejects(readArchive(new TextEncoder().encode("this is not a snapshot"), OPTS), /^failed to decompress snapshot: gzip: invalid header$/);
  await rejects(readArchive(gz.subarray(0, Math.floor(gz.length / 2)), OPTS), /^failed to read snapshot file: failed reading snapshot: unexpected EOF$/);
  const crc = gz.slice();
  crc[crc.length - 6] = crc[crc.length - 6]! ^ 0xff; // gzip trailer CRC32
  await rejects(readArchive(crc, OPTS), /^failed to read snapshot file: failed reading snapshot: gzip: invalid checksum$/);
});

test("a changed state.bin or meta.json fails the sha256 check", async () => {
  const gz = await writeArchive(META, state(), 1);
  const ms = membersOf(gz);
  ms[1]!.data[100] = ms[1]!.data[100]! ^ 1;
  await rejects(readArchive(regzip(ms), OPTS), /^failed to read snapshot file: failed checking integrity of snapshot: hash check failed for "state\.bin"$/);
  const ms2 = membersOf(gz);
  ms2[0]!.data = new TextEncoder().encode(Buffer.from(ms2[0]!.data).toString().replace('"Index":12426', '"Index":99999'));
  await rejects(readArchive(regzip(ms2), OPTS), /hash check failed for "meta\.json"/);
});

test("missing SHA256SUMS, a sums line for an unknown file, an unexpected member, a missing meta", async () => {
  const gz = await writeArchive(META, state(), 1);
  const ms = membersOf(gz);
  await rejects(readArchive(regzip(ms.slice(0, 2)), OPTS), /failed checking integrity of snapshot: file missing for "meta\.json"/);
  const extraLine = [ms[0]!, ms[1]!, { name: "SHA256SUMS", data: new TextEncoder().encode(Buffer.from(ms[2]!.data).toString() + `${"00".repeat(32)}  other\n`) }];
  await rejects(readArchive(regzip(extraLine), OPTS), /list missing hash for "other"/);
  await rejects(readArchive(regzip([...ms, { name: "evil.sh", data: new Uint8Array(3) }]), OPTS), /^failed to read snapshot file: unexpected file "evil\.sh" in snapshot$/);
  await rejects(readArchive(regzip([ms[0]!, ms[1]!, { name: "SHA256SUMS", data: new TextEncoder().encode("zz\n") }]), OPTS), /input does not match format/);
  await rejects(readArchive(regzip(ms.slice(1)), OPTS), /hash check failed for "meta\.json"/);
});

test("bytes after the end marker are refused unless they are zero padding", async () => {
  const gz = await writeArchive(META, state(), 1);
  const ms = membersOf(gz);
  await rejects(readArchive(regzip(ms, new Uint8Array([1, 2, 3])), OPTS), /^3 unread uncompressed bytes remain$/);
  const ok = await readArchive(regzip(ms, new Uint8Array(9216)), OPTS);
  assert.is(ok.state.length, 20_000);
});

test("a state.bin over the limit is refused (tooLarge), from the tar header or the inflate bound", async () => {
  const gz = await writeArchive(META, state(300_000), 1);
  const e = await rejects(readArchive(gz, { maxStateBytes: 200_000 }), /failed reading snapshot: tar member "state\.bin" is too large \(300000 bytes; the limit is 200000\)/);
  assert.ok(e.tooLarge);
  const e2 = await rejects(readArchive(gz, { maxStateBytes: 10_000 }), /snapshot is too large \(more than \d+ bytes uncompressed\)/);
  assert.ok(e2.tooLarge);
  // a meta.json that is not JSON
  const ms = membersOf(gz);
  const bad = [{ name: "meta.json", data: new TextEncoder().encode("{nope") }, ms[1]!, ms[2]!];
  await rejects(readArchive(regzip(bad), { maxStateBytes: 1 << 20 }), /^failed to read snapshot file: failed to decode snapshot metadata: /);
});

test.run();
