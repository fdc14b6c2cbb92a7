/**
 * The persisted gossip keyring: the file codec and atomic writer (gossip/keyring_file.ts),
 * Consul's start-up choice between `encrypt` and the file (agent/keyring_file.ts
 * setupKeyring: init, file wins with a warning, disable_keyring_file, no data dir), and a
 * gossip pool keeping the file current on local changes and on `_serf_*-key` queries from
 * another member, then starting again from the file alone.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  encodeKeyringFile,
  KeyringFileWriter,
  parseKeyringFile,
  readKeyringFile,
  writeKeyringFile,
} from "../../src/gossip/keyring_file.ts";
import { SERF_LAN_KEYRING, SERF_WAN_KEYRING, setupKeyring } from "../../src/agent/keyring_file.ts";
import { GossipDriver, keyOperation } from "../../src/gossip/index.ts";
import type { GossipOptions } from "../../src/gossip/index.ts";

const K1 = "MTIzNDU2Nzg5MDEyMzQ1Ng==";
const K2 = "T1RIRVJLRVlPVEhFUktFWQ==";
const K3 = "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI=";

function tmp(): string {
  return mkdtempSync(path.join(os.tmpdir(), "cairn-keyring-file-"));
}

async function throwsWith(fn: () => Promise<unknown>, re: RegExp): Promise<void> {
  try {
    await fn();
  } catch (e) {
    assert.match(e instanceof Error ? e.message : String(e), re);
    return;
  }
  assert.unreachable(`expected an error matching ${re}`);
}

test("file codec: serf's indented JSON array, parse checks and de-duplicates", () => {
  assert.is(encodeKeyringFile([K1, K2]), `[\n  "${K1}",\n  "${K2}"\n]`);
  assert.is(encodeKeyringFile([K1], false), `["${K1}"]`);
  assert.equal(parseKeyringFile(encodeKeyringFile([K2, K1, K2]), "f"), [K2, K1]);
  assert.throws(() => parseKeyringFile("[]", "/d/serf/local.keyring"), /no keys present in keyring: \/d\/serf\/local.keyring/);
  assert.throws(() => parseKeyringFile("{", "f"), /Failed to read keyring file f/);
  assert.throws(() => parseKeyringFile('{"a":1}', "f"), /expected a JSON array/);
  assert.throws(() => parseKeyringFile('[1]', "f"), /expected a JSON array/);
  assert.throws(() => parseKeyringFile('["YWJj"]', "f"), /key size must be 16, 24 or 32/);
  assert.throws(() => parseKeyringFile('["not base64!"]', "f"), /Invalid key/);
});

test("atomic write: mode 0600, exact content, no temp files left, read back; missing file reads as null", async () => {
  const dir = tmp();
  try {
    const f = path.join(dir, "serf", "local.keyring");
    assert.is(await readKeyringFile(f), null);
    await writeKeyringFile(f, [K1, K2]);
    assert.is(readFileSync(f, "utf8"), encodeKeyringFile([K1, K2]));
    assert.is(statSync(f).mode & 0o777, 0o600);
    assert.equal(await readKeyringFile(f), [K1, K2]);
    await writeKeyringFile(f, [K2]);
    assert.equal(await readKeyringFile(f), [K2]);
    assert.equal(readdirSync(path.dirname(f)), ["local.keyring"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("writer: a burst of changes ends with the last snapshot; a failed write has serf's message", async () => {
  const dir = tmp();
  try {
    const w = new KeyringFileWriter(path.join(dir, "k"));
    await Promise.all([w.write([K1]), w.write([K1, K2]), w.write([K2, K1]), w.write([K2])]);
    assert.equal(await readKeyringFile(path.join(dir, "k")), [K2]);
    writeFileSync(path.join(dir, "plain"), "x");
    const bad = new KeyringFileWriter(path.join(dir, "plain", "k"));
    await throwsWith(() => bad.write([K1]), /^Failed to write keyring file: /);
    // The chain survives a failure.
    await w.write([K1]);
    assert.equal(await readKeyringFile(path.join(dir, "k")), [K1]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("setupKeyring: Consul's choice between encrypt and the keyring file", async () => {
  const dir = tmp();
  const logs: string[] = [];
  const log = (level: string, msg: string): void => void logs.push(`${level} ${msg}`);
  const base = { file: SERF_LAN_KEYRING, pool: "LAN" as const, log };
  try {
    // disable_keyring_file / no data dir: the encrypt key in memory, no file.
    assert.equal(await setupKeyring({ ...base, dataDir: dir, encrypt: K1, disableKeyringFile: true }), { keys: [K1], keyringFile: undefined });
    assert.equal(await setupKeyring({ ...base, dataDir: undefined, encrypt: K1, disableKeyringFile: false }), { keys: [K1], keyringFile: undefined });
    assert.equal(await setupKeyring({ ...base, dataDir: dir, encrypt: "", disableKeyringFile: true }), { keys: [], keyringFile: undefined });
    assert.equal(readdirSync(dir), []);
    // No key and no file: plaintext, no file created.
    assert.equal(await setupKeyring({ ...base, dataDir: dir, encrypt: "", disableKeyringFile: false }), { keys: [], keyringFile: undefined });
    assert.equal(readdirSync(dir), []);
    // First start with -encrypt: initKeyring writes ["K1"].
    const f = path.join(dir, "serf", "local.keyring");
    assert.equal(await setupKeyring({ ...base, dataDir: dir, encrypt: K1, disableKeyringFile: false }), { keys: [K1], keyringFile: f });
    assert.is(readFileSync(f, "utf8"), `["${K1}"]`);
    assert.is(statSync(f).mode & 0o777, 0o600);
    // The file changed since (rotation): it wins over -encrypt; warning only when it lacks the key.
    await writeKeyringFile(f, [K2, K1]);
    logs.length = 0;
    assert.equal(await setupKeyring({ ...base, dataDir: dir, encrypt: K1, disableKeyringFile: false }), { keys: [K2, K1], keyringFile: f });
    assert.not.ok(logs.some((l) => l.startsWith("warn")));
    await writeKeyringFile(f, [K2]);
    assert.equal(await setupKeyring({ ...base, dataDir: dir, encrypt: K1, disableKeyringFile: false }), { keys: [K2], keyringFile: f });
    assert.ok(logs.some((l) => l === "warn agent: keyring doesn't include key provided with -encrypt, using keyring: keyring=LAN"), logs.join("\n"));
    assert.is(readFileSync(f, "utf8"), encodeKeyringFile([K2]), "the file is not overwritten by -encrypt");
    // Without -encrypt an existing file still turns encryption on.
    assert.equal(await setupKeyring({ ...base, dataDir: dir, encrypt: "", disableKeyringFile: false }), { keys: [K2], keyringFile: f });
    // WAN has its own file.
    const w = await setupKeyring({ ...base, file: SERF_WAN_KEYRING, pool: "WAN", dataDir: dir, encrypt: K3, disableKeyringFile: false });
    assert.equal(w, { keys: [K3], keyringFile: path.join(dir, "serf", "remote.keyring") });
    // Bad input is refused.
    await throwsWith(() => setupKeyring({ ...base, dataDir: dir, encrypt: "YWJj", disableKeyringFile: false }), /Invalid key: key size/);
    writeFileSync(f, "[]");
    await throwsWith(() => setupKeyring({ ...base, dataDir: dir, encrypt: "", disableKeyringFile: false }), /no keys present in keyring/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const FAST = { probeIntervalMs: 200, probeTimeoutMs: 100, gossipIntervalMs: 50, suspicionMult: 3, pushPullIntervalMs: 5000 };

function pool(name: string, extra: Partial<GossipOptions>): Promise<GossipDriver> {
  return GossipDriver.start({ name, bindPort: 0, config: FAST, leavePropagateDelayMs: 100, tags: { role: "node" }, ...extra });
}

async function waitFor(what: string, fn: () => boolean | Promise<boolean>, timeoutMs = 8000): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    if (await fn()) return;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test("a pool keeps its keyring file current (queries from another member, local calls) and restarts from it", async () => {
  const dir = tmp();
  const fa = path.join(dir, "a", "local.keyring");
  const fb = path.join(dir, "b", "local.keyring");
  const pools: GossipDriver[] = [];
  try {
    await writeKeyringFile(fb, [K1]);
    const a = await pool("a", { encryptKeys: [K1], keyringFile: fa });
    // b starts from its file alone (no encryptKeys): the file's keys are used.
    const b = await pool("b", { keyringFile: fb });
    pools.push(a, b);
    assert.equal(await b.listKeys(), [K1]);
    await b.join([`127.0.0.1:${a.port}`]);
    await waitFor("two members", async () => (await a.members()).filter((m) => m.status === "alive").length === 2);
    // a asks the pool; b's answer comes only after b's file holds the change.
    const inst = await keyOperation(a, "install", K2);
    assert.is(inst.error, null);
    assert.equal(await readKeyringFile(fb), [K1, K2]);
    assert.equal(await readKeyringFile(fa), [K1, K2]);
    const use = await keyOperation(a, "use", K2);
    assert.is(use.error, null);
    assert.equal(await readKeyringFile(fb), [K2, K1]);
    const rm = await keyOperation(b, "remove", K1);
    assert.is(rm.error, null);
    assert.equal(await readKeyringFile(fa), [K2]);
    assert.equal(await readKeyringFile(fb), [K2]);
    // A refused change (primary removal) leaves the file as it was.
    const bad = await keyOperation(a, "remove", K2);
    assert.match(bad.error ?? "", /2\/2 nodes reported failure/);
    assert.equal(await readKeyringFile(fa), [K2]);
    // Local changes are written too.
    await a.installKey(K3);
    assert.equal(await readKeyringFile(fa), [K2, K3]);
    await a.removeKey(K3);
    assert.equal(await readKeyringFile(fa), [K2]);
    // b restarts from its file (told the old key, which the file overrides) and rejoins on K2.
    await b.close();
    pools.splice(pools.indexOf(b), 1);
    const b2 = await pool("b", { encryptKeys: [K1], keyringFile: fb });
    pools.push(b2);
    assert.equal(await b2.listKeys(), [K2]);
    await b2.join([`127.0.0.1:${a.port}`]);
    await waitFor("b back alive at a", async () => (await a.members()).some((m) => m.name === "b" && m.status === "alive"));
    // A pool with only K1 can no longer join.
    const old = await pool("old", { encryptKeys: [K1] });
    pools.push(old);
    await throwsWith(() => old.join([`127.0.0.1:${a.port}`]), /failed to join/);
  } finally {
    await Promise.all(pools.map((p) => p.close()));
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
