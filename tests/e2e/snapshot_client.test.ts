/**
 * tests/e2e/snapshot_client: `cairn snapshot save|restore` through a client agent (no
 * -server): the client forwards GET/PUT /v1/snapshot to its server over the server port
 * (agent/client.ts), so an archive saved through the client restores through it too.
 */

import { suite } from "../shared/suite.ts";
import * as assert from "uvu/assert";
import path from "node:path";
import { removeDir, startAgent, tempDir, type AgentProc } from "./agent_proc.ts";
import { runCli, waitFor } from "./watch_helpers.ts";

const FAST_GOSSIP = 'gossip_lan { probe_interval = "200ms" probe_timeout = "100ms" gossip_interval = "100ms" suspicion_mult = 3 }';

const t = suite("snapshot through a client agent");
let dir = "";
let srv: AgentProc | undefined;
let client: AgentProc | undefined;

async function call(a: AgentProc, p: string, method = "GET", body?: string): Promise<{ status: number; body: string }> {
  const r = await fetch(a.base + p, { method, ...(body === undefined ? {} : { body }), signal: AbortSignal.timeout(8000) });
  return { status: r.status, body: await r.text() };
}

t.before(async () => {
  dir = tempDir("cairn-snap-client-");
  srv = await startAgent({
    args: ["-server", "-bootstrap-expect", "1", "-data-dir", path.join(dir, "srv"), "-node", "srv", "-hcl", FAST_GOSSIP],
    serfLanPort: 0,
    serverPort: 0,
  });
  client = await startAgent({
    args: ["-data-dir", path.join(dir, "cl"), "-node", "cl", "-join", `127.0.0.1:${srv.serfLanPort}`, "-hcl", FAST_GOSSIP],
    serfLanPort: 0,
  });
});

t.after(async () => {
  await Promise.all([srv, client].filter((a) => a !== undefined).map((a) => a.stop("SIGKILL", 2000)));
  removeDir(dir);
});

t("save and restore through the client agent", async () => {
  const c = client!;
  await waitFor(async () => (await call(c, "/v1/kv/k", "PUT", "1")).status === 200, 10_000, "a write through the client");
  const file = path.join(dir, "c.snap");
  const s = await runCli(["snapshot", "save", "-http-addr", `127.0.0.1:${c.httpPort}`, file]);
  assert.is(s.code, 0, s.err);
  assert.match(s.out, /^Saved and verified snapshot to index \d+\n$/);
  assert.is((await call(c, "/v1/kv/k", "PUT", "2")).status, 200);
  const r = await runCli(["snapshot", "restore", "-http-addr", `127.0.0.1:${c.httpPort}`, file]);
  assert.is(r.code, 0, r.err);
  assert.is(r.out, "Restored snapshot\n");
  assert.is((await call(srv!, "/v1/kv/k?raw")).body, "1");
  assert.is((await call(c, "/v1/kv/k?raw")).body, "1");
});

t.run();
