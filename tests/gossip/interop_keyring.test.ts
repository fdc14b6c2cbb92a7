/**
 * Interop of the cluster-wide keyring with the real thing: a cairn pool and mlpeer
 * (memberlist 0.2.2 + serf 0.9.4 in serf mode, whose internal query handler answers
 * `_serf_*-key(s)` on memberlist's keyring) sharing a 32-byte key. cairn lists the keys,
 * installs a new one, makes it primary and removes the old one through serf's internal
 * queries; mlpeer answers each with serf's keyResponse, and both stay alive and keep
 * exchanging user events on the new key. Skips only when mlpeer cannot be built.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { GossipDriver, keyOperation } from "../../src/gossip/index.ts";
import { ensureMlpeer, MlPeer, str } from "./interop_mlpeer.ts";

const OLD = "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI=";
const NEW = "T1RIRVJLRVlPVEhFUktFWU9USEVSS0VZT1RIRVJLRVk=";

const built = ensureMlpeer();
const bin = "bin" in built ? built.bin : "";
if ("skip" in built) console.log(`SKIP keyring interop: ${built.skip}`);
const run = "bin" in built ? test : test.skip;

run("key rotation with mlpeer through serf's internal key queries", async () => {
  const c = await GossipDriver.start({ name: "cairn-k", bindPort: 0, encryptKeys: [OLD], tags: { role: "node", dc: "dc1" }, leavePropagateDelayMs: 200 });
  let ml: MlPeer | undefined;
  try {
    ml = await MlPeer.start(bin, "ml-k", ["-serf", "-key", OLD, "-join", `127.0.0.1:${c.port}`, "-tags", "role=node,dc=dc1"]);
    const t0 = Date.now();
    while (!(await c.members()).some((m) => m.name === "ml-k" && m.status === "alive")) {
      if (Date.now() - t0 > 10_000) throw new Error("mlpeer did not join");
      await new Promise((r) => setTimeout(r, 50));
    }
    let r = await keyOperation(c, "list", "");
    assert.is(r.error, null, JSON.stringify(r.response.messages));
    assert.equal(r.response.keys, { [OLD]: 2 });
    assert.is(r.response.numResp, 2);

    r = await keyOperation(c, "install", NEW);
    assert.is(r.error, null, JSON.stringify(r.response.messages));
    r = await keyOperation(c, "remove", OLD);
    assert.is(r.error, "2/2 nodes reported failure");
    assert.is(r.response.messages["ml-k"], "Removing the primary key is not allowed");
    r = await keyOperation(c, "use", NEW);
    assert.is(r.error, null, JSON.stringify(r.response.messages));
    r = await keyOperation(c, "remove", OLD);
    assert.is(r.error, null, JSON.stringify(r.response.messages));
    r = await keyOperation(c, "list", "");
    assert.equal(r.response.keys, { [NEW]: 2 });
    assert.equal(await c.listKeys(), [NEW]);

    // both keep talking on the new key only
    await c.fireEvent("rotated", "yes");
    await ml.waitFor((e) => str(e, "event") === "serf_user" && str(e, "name") === "rotated", 10_000, "user event on the new key");
    await new Promise((res) => setTimeout(res, 1500));
    assert.is((await c.members()).find((m) => m.name === "ml-k")?.status, "alive");
  } finally {
    await ml?.stop("SIGKILL");
    await c.close();
  }
});

test.run();
