// Crash: a child process appends and reports durable indexes; it is SIGKILLed
// mid-stream; reopening must contain every index it reported durable, intact.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { isDeno } from "../../src/platform/runtime.ts";
import { openWal } from "../../src/wal/index.ts";
import { range, removeDir, sameEntries, tempDir } from "./helpers.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");

async function crashOnce(dir: string, killAfter: number): Promise<number> {
  const script = path.join(here, "crash_child.ts");
  const args = isDeno ? ["run", "-A", script, dir] : ["--import", "tsx", script, dir];
  const child = spawn(process.execPath, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, DENO_NO_UPDATE_CHECK: "1", CAIRN_WAL_CHILD_DIR: dir } });
  let reported = 0;
  let start = -1;
  let buf = "";
  let err = "";
  child.stderr.on("data", (d: Buffer) => (err += String(d)));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child made no progress: ${err}`)), 15_000);
    child.stdout.on("data", (d: Buffer) => {
      buf += String(d);
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const [kind, n] = buf.slice(0, nl).split(" ");
        buf = buf.slice(nl + 1);
        if (kind === "ready") start = Number(n);
        if (kind === "durable") reported = Math.max(reported, Number(n));
      }
      if (start >= 0 && reported >= start + killAfter) {
        clearTimeout(timer);
        child.kill("SIGKILL"); // mid-stream: more appends are in flight
        resolve();
      }
    });
    child.once("exit", () => {
      clearTimeout(timer);
      reject(new Error(`child exited early: ${err}`));
    });
  });
  await exited;
  return reported;
}

test("SIGKILL mid-append: every index reported durable is on disk after reopen", async () => {
  const dir = tempDir("cairn-walcrash-");
  try {
    for (const killAfter of [3000, 5000]) {
      const reported = await crashOnce(dir, killAfter);
      const { log, recovered } = await openWal(dir, { segmentBytes: 256 * 1024 });
      const got = recovered.entries;
      assert.ok(got.length >= reported, `reported ${reported} durable, recovered ${got.length}`);
      assert.is(sameEntries(got.slice(0, reported), range(1, reported)), undefined);
      assert.is(got[got.length - 1]!.index, got.length, "contiguous from 1");
      await log.close();
    }
  } finally {
    removeDir(dir);
  }
});

test.run();
