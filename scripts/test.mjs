// Runs every test with uvu on Node (through tsx) and on Deno, echoes their output,
// and ends with one line `N passed, N failed, N skipped` (node + deno combined).
// Usage: node scripts/test.mjs [all|node|deno] [dir] [pattern]
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const [which = "all", dir = "tests", pattern = "\\.test\\.ts$"] = process.argv.slice(2);
const uvuBin = path.join(root, "node_modules/uvu/bin.js");
const cmds = {
  node: [process.execPath, [uvuBin, "-r", "tsx", dir, pattern, "--no-color"]],
  deno: [path.join(root, "node_modules/.bin/deno"), ["run", "-A", uvuBin, dir, pattern, "--no-color"]],
};

function run(rt) {
  return new Promise((resolve) => {
    const [cmd, args] = cmds[rt];
    const child = spawn(cmd, args, {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        NO_COLOR: "1",
        DENO_NO_UPDATE_CHECK: "1",
        DENO_DIR: process.env.DENO_DIR ?? path.join(root, ".deno"),
        CAIRN_TEST_RUNTIME: rt,
      },
    });
    let out = "";
    child.stdout.on("data", (d) => { out += d; process.stdout.write(d); });
    child.stderr.on("data", (d) => { out += d; process.stderr.write(d); });
    child.on("error", (e) => { out += String(e); });
    child.on("close", (code) => {
      const num = (re) => { const m = out.match(re); return m ? Number(m[1]) : NaN; };
      const total = num(/^\s*Total:\s+(\d+)/m);
      const passed = num(/^\s*Passed:\s+(\d+)/m);
      const skipped = num(/^\s*Skipped:\s+(\d+)/m);
      const r = Number.isNaN(total)
        ? { passed: 0, failed: 1, skipped: 0 }
        : { passed, failed: total - passed, skipped };
      if (code !== 0 && r.failed === 0) r.failed = 1;
      console.log(`[${rt}] uvu exit=${code} total=${total} passed=${r.passed} skipped=${r.skipped}`);
      resolve(r);
    });
  });
}

const sum = { passed: 0, failed: 0, skipped: 0 };
for (const rt of which === "all" ? ["node", "deno"] : [which]) {
  const r = await run(rt);
  for (const k of Object.keys(sum)) sum[k] += r[k];
}
console.log(`${sum.passed} passed, ${sum.failed} failed, ${sum.skipped} skipped`);
process.exit(sum.failed ? 1 : 0);
