/**
 * tests/e2e/raft_five: five real server processes on loopback (-bootstrap-expect 5,
 * raft_multiplier 1). Three rounds of: a bounded write load through the followers,
 * SIGKILL of the leader, a new leader agreed on by the four survivors, writes acknowledged
 * after the kill, the killed server restarted from its data dir. At the end every
 * acknowledged write is on every one of the five servers (?stale read locally on each,
 * and ?consistent), with the value that was acknowledged.
 */

import { suite } from "../shared/suite.ts";
import * as assert from "uvu/assert";
import { waitFor } from "./watch_helpers.ts";
import { agreedLeader, httpGet, missingOn, ServerProcs, Writer, type ServerNode as Node } from "./raft_helpers.ts";

const SIZE = 5;
const ROUNDS = 3;
const PREFIX = "five/";

const t = suite("raft five servers e2e");
let servers: ServerProcs | undefined;
let nodes: Node[] = [];
const acked = new Map<string, string>();
const leadersSeen: string[] = [];

function live(): Node[] {
  return (servers as ServerProcs).live();
}

async function start(n: Node): Promise<void> {
  await (servers as ServerProcs).start(n);
}

t.before(async () => {
  servers = await ServerProcs.create({ prefix: "cairn-raft5-", size: SIZE, readyTimeoutMs: 40_000 });
  nodes = servers.nodes;
});

t.after(async () => {
  await servers?.destroy();
});

t("five servers with bootstrap_expect 5 elect one leader; /v1/status/peers lists all five", async () => {
  await Promise.all(nodes.map((n) => start(n)));
  const leader = await agreedLeader(nodes, nodes, 30_000);
  leadersSeen.push(leader.rpcAddr);
  const r = await httpGet(nodes[0]!, "/v1/status/peers");
  assert.equal((JSON.parse(r.body) as string[]).slice().sort(), nodes.map((n) => n.rpcAddr).sort());
});

for (let round = 1; round <= ROUNDS; round++) {
  t(`round ${round}: SIGKILL of the leader under writes → a new leader, writes continue, the killed server restarts`, async () => {
    const leader = await agreedLeader(nodes, live(), 20_000);
    const survivors = live().filter((n) => n !== leader);
    // Bounded load: 3 sequential writers through the survivors, at most 1500 writes.
    const w = new Writer(`${PREFIX}r${round}-`, () => survivors, { lanes: 3, max: 1500, pauseMs: 2 });
    try {
      await waitFor(() => w.acked.size >= 15, 15_000, "writes before the kill");
      const t0 = Date.now();
      leader.proc!.child.kill("SIGKILL");
      await leader.proc!.exited;
      leader.proc = undefined;
      const next = await agreedLeader(nodes, survivors, 20_000, leader.rpcAddr);
      const ms = Date.now() - t0;
      assert.is.not(next.rpcAddr, leader.rpcAddr, "a different leader");
      leadersSeen.push(next.rpcAddr);
      console.log(`  round ${round}: killed ${leader.name}, new leader ${next.name} agreed by 4 survivors after ${ms} ms`);
      const before = w.acked.size;
      await waitFor(() => w.acked.size >= before + 15, 15_000, "writes acknowledged after the new leader");
    } finally {
      await w.stop();
      for (const [k, v] of w.acked) acked.set(k, v);
    }
    assert.ok(w.acked.size >= 30, `acknowledged writes in round ${round}: ${w.acked.size} of ${w.attempts}`);
    await start(leader);
    // The restarted server rejoins as itself: it names the same leader as everyone else.
    await agreedLeader(nodes, nodes, 20_000);
  });
}

t("every acknowledged write is on every server (?stale locally, ?consistent), with its value", async () => {
  assert.ok(acked.size >= ROUNDS * 30, `${acked.size} acknowledged writes`);
  assert.ok(leadersSeen.length === ROUNDS + 1);
  for (const n of nodes) {
    const stale = await missingOn(n, PREFIX, acked, "stale", 20_000);
    assert.equal(stale.slice(0, 5), [], `${n.name} ?stale misses ${stale.length} of ${acked.size}`);
    const consistent = await missingOn(n, PREFIX, acked, "consistent", 10_000);
    assert.equal(consistent.slice(0, 5), [], `${n.name} ?consistent misses ${consistent.length} of ${acked.size}`);
  }
});

t.run();
