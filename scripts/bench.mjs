// Runs one benchmark: node scripts/bench.mjs <name> [options]  (npm run bench -- <name> [options])
// <name> is kv|dns|raft|gossip|locks|ring|state and runs bench/<name>.ts under tsx in a child
// process; its stdout (the Markdown report) and stderr (progress) pass straight through.
// Must never: run a bench that does not exist silently, or leave the bench process behind.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const NAMES = ["kv", "dns", "raft", "gossip", "locks", "ring", "state"];
const [name, ...rest] = process.argv.slice(2);

if (!name || name === "--help" || name === "-h") {
  process.stderr.write(`usage: npm run bench -- <${NAMES.join("|")}> [options]   (e.g. npm run bench -- kv --help)\n`);
  process.exit(name ? 0 : 2);
}
if (!NAMES.includes(name)) {
  process.stderr.write(`bench: unknown bench "${name}"; known: ${NAMES.join(", ")}\n`);
  process.exit(2);
}
const file = path.join(root, "bench", `${name}.ts`);
if (!fs.existsSync(file)) {
  process.stderr.write(`bench: bench/${name}.ts does not exist yet\n`);
  process.exit(2);
}
const child = spawn(process.execPath, ["--import", "tsx", file, ...rest], { cwd: root, stdio: "inherit" });
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => child.kill(sig));
child.on("exit", (code, signal) => process.exit(code ?? 128 + (os.constants.signals[signal] ?? 1)));
