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

function progName(argv1: string | undefined): string {
  const base = path.basename(argv1 ?? "").replace(/\.(mjs|js|ts)$/, "");
  return base === "consul" ? "consul" : "cairn";
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
  prog: progName(process.argv[1]),
};

let code: number;
try {
  code = await runCli(process.argv.slice(2), COMMANDS, io);
} catch (e) {
  process.stderr.write(`Error executing CLI: ${(e as Error).message}\n`);
  code = 1;
}
await Promise.all([drain(process.stdout), drain(process.stderr)]);
process.exit(code);
