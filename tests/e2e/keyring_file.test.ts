/**
 * tests/e2e/keyring_file: the gossip keyring persisted in <data_dir>/serf/local.keyring on
 * real agents. A server and a client start with -encrypt K1; `cairn keyring -install K2`
 * and `-use K2` land in both agents' files; the server restarted without -encrypt comes
 * back on the file's keyring (primary K2), rejoins, `keyring -list` shows both keys on
 * both nodes, and an agent holding only K2 can join it; after K1 is removed, the client
 * restarted with the stale -encrypt K1 logs Consul's warning and keeps using the file;
 * -disable-keyring-file writes no file.
 */

import { suite } from "../shared/suite.ts";
import * as assert from "uvu/assert";
import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { freePort, removeDir, startAgent, tempDir, type AgentProc } from "./agent_proc.ts";
import { runCli, waitFor } from "./watch_helpers.ts";

const FAST_GOSSIP = 'gossip_lan { probe_interval = "200ms" probe_timeout = "100ms" gossip_interval = "100ms" suspicion_mult = 3 }';
const K1 = "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI=";
const K2 = "T1RIRVJLRVlPVEhFUktFWU9USEVSS0VZT1RIRVJLRVk=";

interface Member { Name: string; Status: number }

const t = suite("keyring file e2e");
let dir = "";
let a: AgentProc | undefined;
let b: AgentProc | undefined;
const extra: AgentProc[] = [];
let aSerf = 0;
let aHttp = 0;
let aServer = 0;
let bSerf = 0;
let bHttp = 0;

function keyringFile(name: string): string {
  return path.join(dir, name, "serf", "local.keyring");
}

function fileKeys(name: string): unknown {
  return JSON.parse(readFileSync(keyringFile(name), "utf8")) as unknown;
}

async function alive(p: AgentProc): Promise<string[]> {
  const r = await fetch(`${p.base}/v1/agent/members`);
  const ms = (await r.json()) as Member[];
  return ms.filter((m) => m.Status === 1).map((m) => m.Name).sort();
}

function cli(p: AgentProc, ...args: string[]): Promise<{ code: number | string; out: string; err: string }> {
  return runCli(["keyring", ...args, "-http-addr", p.base.replace(/^http:\/\//, "")]);
}

function startA(args: string[]): Promise<AgentProc> {
  return startAgent({
    args: ["-server", "-bootstrap-expect", "1", "-data-dir", path.join(dir, "a"), "-node", "a", "-hcl", FAST_GOSSIP, ...args],
    serfLanPort: aSerf,
    httpPort: aHttp,
    serverPort: aServer,
  });
}

function startB(args: string[]): Promise<AgentProc> {
  return startAgent({
    args: ["-data-dir", path.join(dir, "b"), "-node", "b", "-hcl", FAST_GOSSIP, ...args],
    serfLanPort: bSerf,
    httpPort: bHttp,
    readyWithoutLeader: true, // a client agent (its server serves no client RPC here)
  });
}

t.before(async () => {
  dir = tempDir("cairn-keyring-file-");
  [aSerf, aHttp, aServer, bSerf, bHttp] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
  a = await startA(["-encrypt", K1]);
  b = await startB(["-encrypt", K1, "-join", `127.0.0.1:${aSerf}`]);
  const pa = a;
  await waitFor(async () => (await alive(pa)).length === 2, 10_000, "a and b alive");
});

t.after(async () => {
  await Promise.all([a, b, ...extra].filter((p): p is AgentProc => p !== undefined).map((p) => p.stop("SIGKILL", 2000)));
  removeDir(dir);
});

t("the first start writes -encrypt into the keyring file; install and use land in every agent's file", async () => {
  assert.ok(a !== undefined && b !== undefined);
  assert.equal(fileKeys("a"), [K1]);
  assert.equal(fileKeys("b"), [K1]);
  assert.is(statSync(keyringFile("a")).mode & 0o777, 0o600);
  const inst = await cli(a, "-install", K2);
  assert.is(inst.code, 0, inst.err);
  assert.equal(fileKeys("a"), [K1, K2]);
  assert.equal(fileKeys("b"), [K1, K2]);
  const use = await cli(b, "-use", K2);
  assert.is(use.code, 0, use.err);
  assert.equal(fileKeys("a"), [K2, K1]);
  assert.equal(fileKeys("b"), [K2, K1]);
  assert.equal(await alive(a), ["a", "b"]);
});

t("restarted without -encrypt, the server uses the file's keyring (primary K2) and talks to its peer", async () => {
  assert.ok(a !== undefined && b !== undefined);
  await a.stop("SIGTERM");
  const pb = b;
  await waitFor(async () => !(await alive(pb)).includes("a"), 10_000, "b sees a gone");
  a = await startA(["-join", `127.0.0.1:${bSerf}`]);
  const pa = a;
  assert.match(a.output(), /gossip keyring loaded from .*local\.keyring \(2 keys\)/);
  await waitFor(async () => (await alive(pa)).length === 2 && (await alive(pb)).length === 2, 10_000, "a and b alive again");
  const list = await cli(a, "-list");
  assert.is(list.code, 0, list.err);
  // Keys in sorted order (K1 < K2), each installed on both nodes.
  assert.is(list.out, `==> Gathering installed encryption keys...\n\ndc1 (LAN):\n  ${K1} [2/2]\n  ${K2} [2/2]\n`);
  const local = (await (await fetch(`${a.base}/v1/operator/keyring?local-only=true`)).json()) as { PrimaryKeys: Record<string, number> }[];
  assert.equal(local[0]?.PrimaryKeys, { [K2]: 1 });
  // An agent holding only K2 (no keyring file) can join the restarted server.
  const only2 = await startAgent({
    args: ["-data-dir", path.join(dir, "c"), "-node", "c", "-hcl", FAST_GOSSIP, "-disable-keyring-file", "-encrypt", K2, "-join", `127.0.0.1:${aSerf}`],
    serfLanPort: 0,
    readyWithoutLeader: true, // a client agent
  });
  extra.push(only2);
  await waitFor(async () => (await alive(pa)).length === 3, 10_000, "c joined a");
  assert.not.ok(existsSync(path.join(dir, "c", "serf", "local.keyring")), "-disable-keyring-file writes no file");
  await only2.stop("SIGKILL", 2000);
});

t("the file wins over a stale -encrypt (Consul's warning) after the old key is removed everywhere", async () => {
  assert.ok(a !== undefined && b !== undefined);
  const pa = a;
  await waitFor(async () => !(await alive(pa)).includes("c"), 10_000, "c gone");
  const rm = await cli(a, "-remove", K1);
  assert.is(rm.code, 0, rm.err);
  assert.equal(fileKeys("a"), [K2]);
  assert.equal(fileKeys("b"), [K2]);
  await b.stop("SIGTERM");
  b = await startB(["-encrypt", K1, "-join", `127.0.0.1:${aSerf}`]);
  const pb = b;
  assert.match(b.output(), /keyring doesn't include key provided with -encrypt, using keyring: keyring=LAN/);
  assert.equal(fileKeys("b"), [K2], "the file is not overwritten with -encrypt");
  await waitFor(async () => (await alive(pb)).includes("a") && (await alive(pa)).includes("b"), 10_000, "b rejoined on K2");
  const list = await cli(b, "-list");
  assert.is(list.code, 0, list.err);
  assert.is(list.out, `==> Gathering installed encryption keys...\n\ndc1 (LAN):\n  ${K2} [2/2]\n`);
});

t.run();
