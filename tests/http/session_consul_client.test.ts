// The npm `consul` client (2.x) against cairn's session endpoints and KV acquire/release.
// consul@2 dropped the old `consul.lock()` helper; `clientLock` below is that helper's
// algorithm (session, acquire, watch the key, release) on the client's own kv/session calls.
import { test } from "../shared/suite.ts";
import * as assert from "uvu/assert";
import Consul from "consul";
import { startSessions, type SessHarness } from "./session_helpers.ts";

interface Sess {
  ID: string;
  Node: string;
  TTL: string;
  LockDelay: number;
  Behavior: string;
}

/** What node-consul 0.x's Lock did: acquire with a session, retry on change, release on end. */
async function clientLock(c: Consul, key: string, value: string): Promise<{ session: string; release: () => Promise<void> }> {
  const { ID: session } = (await c.session.create({ ttl: "15s", lockdelay: "1ms", behavior: "delete" })) as { ID: string };
  for (let i = 0; i < 100; i++) {
    if (await c.kv.set({ key, value, acquire: session })) {
      return {
        session,
        release: async () => {
          await c.kv.set({ key, value, release: session });
          await c.session.destroy(session);
        },
      };
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error("lock not acquired");
}

let h: SessHarness;

test.before(async () => {
  h = await startSessions();
});
test.after(async () => {
  await h.close();
});

test("session create/info/get/node/list/renew/destroy through the npm client", async () => {
  const c = new Consul({ host: "127.0.0.1", port: h.port });
  const created = (await c.session.create({ name: "npm", ttl: "10s", behavior: "delete", lockdelay: "2s" })) as { ID: string };
  assert.ok(typeof created.ID === "string" && created.ID.length === 36);
  const info = (await c.session.info(created.ID)) as Sess;
  assert.equal([info.Node, info.TTL, info.LockDelay, info.Behavior], ["node1", "10s", 2e9, "delete"]);
  assert.is(((await c.session.get(created.ID)) as Sess).ID, created.ID);
  assert.is(((await c.session.node("node1")) as Sess[]).length, 1);
  assert.is(((await c.session.list()) as Sess[]).length, 1);
  const renewed = (await c.session.renew(created.ID)) as Sess[];
  assert.is(renewed[0]?.ID, created.ID);
  await c.session.destroy(created.ID);
  assert.is(await c.session.info(created.ID), undefined);
  let status = 0;
  try {
    await c.session.renew(created.ID);
  } catch (e) {
    status = (e as { response?: { statusCode?: number } }).response?.statusCode ?? -1;
  }
  assert.is(status, 404);
});

test("locks through the npm client: exclusive, handed over on release, KV Session/LockIndex visible", async () => {
  const c = new Consul({ host: "127.0.0.1", port: h.port });
  const a = await clientLock(c, "locks/job", "a");
  const other = (await c.session.create({})) as { ID: string };
  // The client turns a JSON `false` body into undefined (it does so against Consul too).
  assert.ok(!(await c.kv.set({ key: "locks/job", value: "b", acquire: other.ID })));
  const got = (await c.kv.get("locks/job")) as unknown as { Session: string; LockIndex: number; Value: string };
  assert.equal([got.Session, got.LockIndex, got.Value], [a.session, 1, "a"]);
  const waiting = clientLock(c, "locks/job", "b");
  await new Promise((r) => setTimeout(r, 60));
  await a.release();
  const b = await waiting;
  const now = (await c.kv.get("locks/job")) as unknown as { Session: string; LockIndex: number };
  assert.equal([now.Session, now.LockIndex], [b.session, 2]);
  await b.release();
  // behavior "delete": destroying the session after the release leaves the released key in place.
  assert.is(((await c.kv.get("locks/job")) as unknown as { Session?: string }).Session, undefined);
});

test.run();
