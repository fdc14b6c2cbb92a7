#!/usr/bin/env node
// The cairn (and consul) command on Node: load TypeScript through tsx, then run src/main.ts.
// On Deno, run src/main.ts directly: deno run -A src/main.ts
import { register } from "tsx/esm/api";
register();
await import("../src/main.ts");
