/**
 * main: the `cairn` / `consul` executable: argv -> command table -> exit code.
 *
 * The program name shown in usage is "consul" when invoked as `consul`, else "cairn".
 * The exit code is set only after stdout and stderr have drained.
 *
 * Must never: hold command logic.
 */

import path from "node:path";
import { COMMANDS, runCli } from "./cli/index.ts";
import type { CliIO } from "./cli/index.ts";

/**
 * argv[1] is the script (or, in a Node single executable, the name it was started by);
 * a deno-compiled binary is known by its executable's own name (process.execPath),
 * which on node/deno run is the runtime ("node", "deno") and so never matches.
 */
function progName(argv1: string | undefined, execPath: string): string {
  const base = path.basename(argv1 ?? "").replace(/\.(mjs|js|ts)$/, "");
  const exe = path.basename(execPath).replace(/\.exe$/i, "");
  return base === "consul" || exe === "consul" ? "consul" : "cairn";
}

function readStdin(): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    process.stdin.on("data", (c: Buffer | string) => chunks.push(typeof c === "string" ? Buffer.from(c) : c));
    process.stdin.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    process.stdin.on("error", reject);
  });
}

/** Resolves once everything written so far to the stream has been handed to the OS. */
function drain(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.writableLength === 0) resolve();
    else stream.write("", () => resolve());
  });
}

const io: CliIO = {
  out: (d) => void process.stdout.write(d),
  err: (d) => void process.stderr.write(d),
  readStdin,
  env: process.env,
  prog: progName(process.argv[1], process.execPath),
};

/**
 * No top-level await: the Node single-executable build bundles this module as CommonJS,
 * which cannot hold one. Running main() unawaited changes nothing: it ends in process.exit.
 */
async function main(): Promise<never> {
  let code: number;
  try {
    code = await runCli(process.argv.slice(2), COMMANDS, io);
  } catch (e) {
    process.stderr.write(`Error executing CLI: ${(e as Error).message}\n`);
    code = 1;
  }
  await Promise.all([drain(process.stdout), drain(process.stderr)]);
  return process.exit(code);
}

void main();
