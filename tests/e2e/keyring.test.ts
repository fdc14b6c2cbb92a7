/**
 * tests/e2e/keyring: gossip key rotation across three real agents (a server and two
 * clients started with -encrypt) through /v1/operator/keyring and `cairn keyring`:
 * list, install a new key everywhere, removing the primary refused with Consul's error
 * text, use the new key, remove the old one, members alive after every step, and an agent
 * holding only the old key can no longer join. Also: `cairn keygen`, the relay-factor
 * and local-only checks, and an agent without encryption.
 */

import { suite } from "../shared/suite.ts";
import * as assert from "uvu/assert";
import path from "node:path";
import { Buffer } from "node:buffer";
import { removeDir, startAgent, tempDir, type AgentProc } from "./agent_proc.ts";
import { runCli, waitFor } from "./watch_helpers.ts";

const FAST_GOSSIP = 'gossip_lan { probe_interval = "200ms" probe_timeout = "100ms" gossip_interval = "100ms" suspicion_mult = 3 }';
const OLD = "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI=";
const NEW = "T1RIRVJLRVlPVEhFUktFWU9USEVSS0VZT1RIRVJLRVk=";

interface Member { Name: string; Status: number }

const t = suite("keyring e2e");
let dir = "";
let srv: AgentProc;
let c1: AgentProc;
let c2: AgentProc;
let late: AgentProc;
let plain: AgentProc;

async function req(a: AgentProc, method: string, p: string, body?: unknown): Promise<{ status: number; text: string }> {
  const r = await fetch(a.base + p, { method, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: r.status, text: await r.text() };
}

async function aliveNames(a: AgentProc): Promise<string[]> {
  const ms = JSON.parse((await req(a, "GET", "/v1/agent/members")).text) as Member[];
  return ms.filter((m) => m.Status === 1).map((m) => m.Name).sort();
}

async function allAlive(): Promise<void> {
  for (const a of [srv, c1, c2]) assert.equal(await aliveNames(a), ["c1", "c2", "srv"]);
}

function cli(a: AgentProc, ...args: string[]): Promise<{ code: number | string; out: string; err: string }> {
  return runCli(["keyring", ...args, "-http-addr", a.base.replace(/^http:\/\//, "")]);
}

t.before(async () => {
  dir = tempDir("cairn-keyring-");
  srv = await startAgent({
    args: ["-server", "-bootstrap-expect", "1", "-data-dir", path.join(dir, "srv"), "-node", "srv", "-encrypt", OLD, "-hcl", FAST_GOSSIP],
    serfLanPort: 0,
  });
  const join = `127.0.0.1:${srv.serfLanPort}`;
  const client = (name: string, key: string | null, joinIt: boolean): Promise<AgentProc> => startAgent({
    args: [
      "-data-dir", path.join(dir, name), "-node", name, "-hcl", FAST_GOSSIP,
      ...(key === null ? [] : ["-encrypt", key]), ...(joinIt ? ["-join", join] : []),
    ],
    serfLanPort: 0,
    readyWithoutLeader: true, // client agents: some never learn of a server
  });
  [c1, c2, late, plain] = await Promise.all([client("c1", OLD, true), client("c2", OLD, true), client("late", OLD, false), client("plain", null, false)]);
  await waitFor(async () => (await aliveNames(srv)).length === 3 && (await aliveNames(c2)).length === 3, 10_000, "three members");
});

t.after(async () => {
  await Promise.all([srv, c1, c2, late, plain].filter((a) => a !== undefined).map((a) => a.stop("SIGKILL", 2000)));
  removeDir(dir);
});

t("cairn keygen prints 32 random bytes in base64", async () => {
  const a = await runCli(["keygen"]);
  const b = await runCli(["keygen"]);
  assert.is(a.code, 0);
  assert.match(a.out, /^[A-Za-z0-9+/]{43}=\n$/);
  assert.is(Buffer.from(a.out.trim(), "base64").length, 32);
  assert.is.not(a.out, b.out);
});

t("rotation: list, install, primary removal refused, use, remove; members alive throughout", async () => {
  const l = await cli(srv, "-list");
  assert.is(l.code, 0, l.err);
  assert.is(l.out, `==> Gathering installed encryption keys...\n\ndc1 (LAN):\n  ${OLD} [3/3]\n`);
  await allAlive();

  const inst = await req(c1, "POST", "/v1/operator/keyring", { Key: NEW });
  assert.equal(inst, { status: 200, text: "" });
  let list = JSON.parse((await req(srv, "GET", "/v1/operator/keyring")).text) as unknown;
  assert.equal(list, [{
    WAN: false, Datacenter: "dc1", Segment: "", Messages: {}, Keys: { [OLD]: 3, [NEW]: 3 }, PrimaryKeys: { [OLD]: 3 }, NumNodes: 3, Error: "",
  }]);
  await allAlive();

  const refused = await req(srv, "DELETE", "/v1/operator/keyring", { Key: OLD });
  assert.is(refused.status, 500);
  assert.is(refused.text, "4 errors occurred:\n\t* dc1 (LAN) error: 3/3 nodes reported failure\n" +
    "\t* c1: Removing the primary key is not allowed\n\t* c2: Removing the primary key is not allowed\n" +
    "\t* srv: Removing the primary key is not allowed\n\n");
  const refusedCli = await cli(srv, "-remove", OLD);
  assert.is(refusedCli.code, 1);
  assert.is(refusedCli.out, "==> Removing gossip encryption key...\n");
  assert.match(refusedCli.err, /^error: Unexpected response code: 500 \(4 errors occurred:\n\t\* dc1 \(LAN\) error: 3\/3 nodes reported failure/);

  const use = await cli(c2, "-use", NEW);
  assert.is(use.code, 0, use.err);
  assert.is(use.out, "==> Changing primary gossip encryption key...\n");
  await allAlive();

  const rm = await cli(srv, "-remove", OLD);
  assert.is(rm.code, 0, rm.err);
  assert.is(rm.out, "==> Removing gossip encryption key...\n");
  list = JSON.parse((await req(c1, "GET", "/v1/operator/keyring?relay-factor=2")).text) as unknown;
  assert.equal(list, [{
    WAN: false, Datacenter: "dc1", Segment: "", Messages: {}, Keys: { [NEW]: 3 }, PrimaryKeys: { [NEW]: 3 }, NumNodes: 3, Error: "",
  }]);
  const local = JSON.parse((await req(c2, "GET", "/v1/operator/keyring?local-only=true")).text) as unknown;
  assert.equal(local, [{
    WAN: false, Datacenter: "dc1", Segment: "", Messages: {}, Keys: { [NEW]: 1 }, PrimaryKeys: { [NEW]: 1 }, NumNodes: 1, Error: "",
  }]);
  await new Promise((r) => setTimeout(r, 800)); // a few probe rounds on the new key only
  await allAlive();

  // an agent that only knows the old key cannot join any more
  const j = await req(late, "PUT", `/v1/agent/join/127.0.0.1:${srv.serfLanPort}`);
  assert.is(j.status, 500);
  assert.match(j.text, /failed to join/);
  await allAlive();
});

t("request checks: relay factor, local-only, body", async () => {
  assert.equal(await req(srv, "GET", "/v1/operator/keyring?relay-factor=6"),
    { status: 400, text: "Invalid relay-factor: Relay factor must be in range: [0, 5]" });
  assert.equal(await req(srv, "GET", "/v1/operator/keyring?relay-factor=asdf"),
    { status: 400, text: 'Error parsing relay factor: strconv.Atoi: parsing "asdf": invalid syntax' });
  assert.equal(await req(srv, "PUT", "/v1/operator/keyring?local-only=true", { Key: NEW }),
    { status: 400, text: "Invalid use of local-only: local-only can only be set for list requests" });
  const bad = await cli(srv, "-list", "-relay-factor", "9");
  assert.is(bad.code, 1);
  assert.is(bad.err, "Error parsing relay factor: Relay factor must be in range: [0, 5]\n");
  const two = await cli(srv, "-list", "-use", NEW);
  assert.is(two.err, "Only a single action is allowed\n");
});

t("an agent without gossip encryption answers with serf's error", async () => {
  const r = await req(plain, "GET", "/v1/operator/keyring");
  assert.equal(r, {
    status: 500,
    text: "2 errors occurred:\n\t* dc1 (LAN) error: 1/1 nodes reported failure\n\t* plain: Keyring is empty (encryption not enabled)\n\n",
  });
  const i = await req(plain, "POST", "/v1/operator/keyring", { Key: NEW });
  assert.match(i.text, /plain: No keyring to modify \(encryption not enabled\)/);
});

t.run();
