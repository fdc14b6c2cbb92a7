/**
 * Drop-in `consul` shutdown semantics the harness relies on (sdk/testutil Stop() sends SIGINT;
 * TestAPI_AgentLeave starts a client agent that joins the server through the API): SIGINT makes
 * an agent leave the LAN pool unless skip_leave_on_interrupt is set, in which case it stops
 * without a leave and the others see it fail, not leave. Both exit within a few seconds.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { removeDir, startAgent, tempDir, type AgentProc } from "./agent_proc.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const STATUS_LEFT = 3;
const STATUS_FAILED = 4;

function configFile(dir: string, name: string, cfg: Record<string, unknown>): string {
  const file = path.join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(cfg));
  return file;
}

async function memberStatus(a: AgentProc, node: string): Promise<number | undefined> {
  const ms = (await (await fetch(`${a.base}/v1/agent/members`)).json()) as Array<{ Name: string; Status: number }>;
  return ms.find((m) => m.Name === node)?.Status;
}

test("SIGINT leaves unless skip_leave_on_interrupt; either way the agent exits promptly", async () => {
  const dir = tempDir("cairn-harness-leave-");
  const agents: AgentProc[] = [];
  try {
    const id = randomUUID();
    const server = await startAgent({
      args: ["-config-file", configFile(dir, "server", {
        node_name: `node-${id}`, node_id: id, bootstrap: true, server: true, data_dir: path.join(dir, "server"),
        disable_update_check: true, skip_leave_on_interrupt: true, connect: { enabled: false },
      })],
      serfLanPort: 0,
      serverPort: 0,
    });
    agents.push(server);
    const clients: Record<"leaver" | "skipper", AgentProc> = {} as Record<"leaver" | "skipper", AgentProc>;
    for (const [name, skip] of [["leaver", false], ["skipper", true]] as const) {
      const c = await startAgent({
        args: ["-config-file", configFile(dir, name, { node_name: name, data_dir: path.join(dir, name), skip_leave_on_interrupt: skip })],
        serfLanPort: 0,
        readyWithoutLeader: true,
      });
      agents.push(c);
      clients[name] = c;
      // As TestAPI_AgentLeave: the client joins the server's LAN address through the API.
      const j = await fetch(`${c.base}/v1/agent/join/127.0.0.1:${server.serfLanPort}`, { method: "PUT" });
      assert.is(j.status, 200, await j.text());
    }
    for (const name of ["leaver", "skipper"]) {
      let alive = false;
      for (const t0 = Date.now(); Date.now() - t0 < 10_000 && !alive; await sleep(100)) alive = (await memberStatus(server, name)) === 1;
      assert.ok(alive, `${name} alive on the server`);
    }

    const t0 = Date.now();
    const codes = await Promise.all([clients.leaver.stop("SIGINT", 10_000), clients.skipper.stop("SIGINT", 10_000)]);
    assert.ok(Date.now() - t0 < 8000, `both exited within a few seconds (${Date.now() - t0} ms)`);
    assert.is(codes[0], 0, clients.leaver.output());
    assert.ok(codes[1] !== null, clients.skipper.output());

    // The leaver left gracefully; the skipper never shows as left, only as failed.
    let left = false;
    for (const t = Date.now(); Date.now() - t < 5000 && !left; await sleep(100)) left = (await memberStatus(server, "leaver")) === STATUS_LEFT;
    assert.ok(left, "leaver shows as left after SIGINT");
    let failed = false;
    for (const t = Date.now(); Date.now() - t < 15_000 && !failed; await sleep(200)) {
      const s = await memberStatus(server, "skipper");
      assert.is.not(s, STATUS_LEFT, "skip_leave_on_interrupt: no leave on SIGINT");
      failed = s === STATUS_FAILED;
    }
    assert.ok(failed, "skipper turns failed once gossip notices");
  } finally {
    for (const a of agents.reverse()) await a.stop("SIGKILL");
    removeDir(dir);
  }
});

test.run();
