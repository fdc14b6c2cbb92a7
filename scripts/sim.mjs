// Runs the deterministic Raft simulator (tests/sim/cli.ts) on Node through tsx.
// Usage: npm run sim -- [--seeds N] [--seed S] [--safety-ms M] [--budget-s B]
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const r = spawnSync(process.execPath, ["--import", "tsx", path.join(root, "tests/sim/cli.ts"), ...process.argv.slice(2)], {
  cwd: root,
  stdio: "inherit",
});
process.exit(r.status ?? 1);
