/**
 * tests/e2e/exec: `cairn exec` against a real agent — runs the command on the local agent
 * and prints its output and exit code when disable_remote_exec = false; with the default
 * (disabled) nobody acknowledges and the agent logs that it ignored the event. The KV
 * data and session are cleaned up either way. Also `cairn event` and `cairn info`.
 */

import { test } from "uvu";
import * as assert from "uvu/assert";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { removeDir, startAgent, tempDir } from "./agent_proc.ts";
import { runCli, waitFor } from "./watch_helpers.ts";

test("exec runs on the local agent when remote exec is enabled", async () => {
  const dir = tempDir("cairn-exec-");
  writeFileSync(path.join(dir, "rexec.hcl"), "disable_remote_exec = false\nnode_name = \"exec-node\"\n");
  const agent = await startAgent({ args: ["-dev", "-config-file", path.join(dir, "rexec.hcl")] });
  const addr = `127.0.0.1:${agent.httpPort}`;
  try {
    const r = await runCli(["exec", "-http-addr", addr, "-wait", "1s", "echo hello-$((1+2))"]);
    assert.is(r.code, 0, r.out + r.err);
    assert.match(r.out, /^ {4}exec-node: hello-3$/m);
    assert.match(r.out, /^==> exec-node: finished with exit code 0$/m);
    assert.match(r.out, /^1 \/ 1 node\(s\) completed \/ acknowledged$/m);
    const bad = await runCli(["exec", "-http-addr", addr, "-wait", "1s", "-shell=false", "sh", "-c", "echo oops >&2; exit 7"]);
    assert.is(bad.code, 2, bad.out + bad.err);
    assert.match(bad.out, /exec-node: oops/);
    assert.match(bad.out, /==> exec-node: finished with exit code 7/);
    const script = await runCli(["exec", "-http-addr", addr, "-wait", "1s", "-"], {}, "echo from-script\n");
    assert.is(script.code, 0, script.out + script.err);
    assert.match(script.out, /exec-node: from-script/);
    const none = await runCli(["exec", "-http-addr", addr, "-wait", "500ms", "-node", "^nomatch$", "true"]);
    assert.match(none.out, /0 \/ 0 node\(s\) completed \/ acknowledged/);
    // Nothing left behind.
    const kv = await fetch(`${agent.base}/v1/kv/_rexec/?recurse`);
    assert.is(kv.status, 404);
    const sessions = (await (await fetch(`${agent.base}/v1/session/list`)).json()) as unknown[];
    assert.is(sessions.length, 0);
    const usage = await runCli(["exec", "-http-addr", addr]);
    assert.is(usage.code, 1);
    assert.match(usage.err, /Must specify a command to execute/);
  } finally {
    await agent.stop();
    removeDir(dir);
  }
});

test("exec is refused by an agent with remote exec disabled (the default); event and info", async () => {
  const agent = await startAgent({ args: ["-dev"] });
  const addr = `127.0.0.1:${agent.httpPort}`;
  try {
    const r = await runCli(["exec", "-http-addr", addr, "-wait", "500ms", "touch /tmp/should-not-run"]);
    assert.is(r.code, 0, r.err);
    assert.match(r.out, /^0 \/ 0 node\(s\) completed \/ acknowledged$/m);
    await waitFor(() => agent.output().includes("ignoring remote exec event"), 5000, "agent log");
    const ev = await runCli(["event", "-http-addr", addr, "-name", "deploy", "v42"]);
    assert.is(ev.code, 0, ev.err);
    const id = /^Event ID: ([0-9a-f-]{36})$/m.exec(ev.out)?.[1];
    assert.ok(id !== undefined, ev.out);
    const list = (await (await fetch(`${agent.base}/v1/event/list?name=deploy`)).json()) as Array<{ ID: string; Payload: string }>;
    assert.is(list[0]?.ID, id);
    assert.is(Buffer.from(list[0]?.Payload ?? "", "base64").toString(), "v42");
    const noName = await runCli(["event", "-http-addr", addr]);
    assert.is(noName.code, 1);
    assert.match(noName.err, /Event name must be specified/);
    const tagOnly = await runCli(["event", "-http-addr", addr, "-name", "x", "-tag", "a"]);
    assert.match(tagOnly.err, /Cannot provide tag filter without service filter\./);
    const info = await runCli(["info", "-http-addr", addr]);
    assert.is(info.code, 0);
    assert.match(info.out, /^agent:\n\tcheck_monitors = 0\n/);
    assert.match(info.out, /^build:\n/m);
  } finally {
    await agent.stop();
  }
});

test.run();
