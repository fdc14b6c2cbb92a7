#!/usr/bin/env node
// The cairn (and consul) command on Node. Runs an esbuild bundle of src/ (built into
// dist/run/ when the sources change), or, when esbuild is missing or CAIRN_NO_BUNDLE=1,
// the TypeScript sources through tsx. On Deno: deno run -A src/main.ts
import { ensureBundle } from "../scripts/bundle.mjs";

let entry = null;
try {
  entry = await ensureBundle();
} catch (e) {
  process.stderr.write(`cairn: bundling failed, running from source: ${e instanceof Error ? e.message : String(e)}\n`);
}
if (entry) {
  await import(entry);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import("../src/main.ts");
}
