/**
 * agent/lan: a server writes its own gossip coordinate into the coordinates table
 * through its write path (coordinate-batch-update), on the configured interval.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { startLan } from "../../src/agent/lan.ts";
import { EventBus } from "../../src/agent/events.ts";
import { Store, type Command } from "../../src/state/index.ts";
import { newCoordinate } from "../../src/coordinate/index.ts";
import { reg } from "../state/session_helpers.ts";

test("a server syncs its coordinate into the store", async () => {
  const store = new Store();
  let index = 0;
  const applied: Command[] = [];
  const apply = async (cmd: Command) => {
    applied.push(cmd);
    return store.apply(++index, cmd);
  };
  await apply(reg("srv1"));
  const events = new EventBus({ nodeName: "srv1", services: () => [], newId: () => "id", log: () => {} });
  const lan = await startLan(
    {
      nodeName: "srv1", nodeId: "6e2d1f1a-0000-4000-8000-00000000000a", datacenter: "dc1", server: true, bootstrap: true,
      bootstrapExpect: 0, serverPort: 8300, build: "1.21.5:abc", bindAddr: "127.0.0.1", advertiseAddr: "127.0.0.1", port: 0,
      dev: true, encrypt: "", retryJoin: [], retryIntervalMs: 30_000, retryMax: 0, coordinateSyncMs: 100,
    },
    { events, catalog: { apply, reader: store }, writeCoordinate: apply, log: () => {} },
  );
  try {
    const t0 = Date.now();
    while (store.coordinatesOfNode("srv1").value.length === 0 && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 20));
    const rows = store.coordinatesOfNode("srv1").value;
    assert.is(rows.length, 1);
    assert.is(rows[0]!.segment, "");
    // Alone in the pool: serf's initial coordinate.
    assert.equal(rows[0]!.coord, newCoordinate());
    assert.ok(applied.some((c) => c.type === "coordinate-batch-update"));
  } finally {
    await lan.close();
  }
  const n = applied.length;
  await new Promise((r) => setTimeout(r, 300));
  assert.is(applied.length, n, "no writes after close");
});

test.run();
