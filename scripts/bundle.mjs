// Builds (when stale) an esbuild bundle of the CLI and its worker entries into dist/run/,
// so `node bin/cairn.mjs` runs plain JavaScript: no TypeScript loader hooks at run time,
// no per-closure name helpers, faster start. Returns the path of dist/run/main.mjs, or
// null when esbuild is not available (bin/cairn.mjs then falls back to tsx).
// Must never: write outside dist/run, or leave a half-written bundle in place.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const outDir = path.join(root, "dist", "run");
const WORKERS = ["wal_worker", "checks_worker", "gossip_worker"];

function newestMtime(dir) {
  let m = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) m = Math.max(m, newestMtime(p));
    else m = Math.max(m, statSync(p).mtimeMs);
  }
  return m;
}

export async function ensureBundle() {
  if (process.env.CAIRN_NO_BUNDLE === "1") return null;
  const stampFile = path.join(outDir, "stamp.json");
  const stamp = String(Math.max(newestMtime(path.join(root, "src")), statSync(path.join(root, "package.json")).mtimeMs));
  try {
    if (JSON.parse(readFileSync(stampFile, "utf8")).stamp === stamp) return path.join(outDir, "main.mjs");
  } catch {
    // no bundle yet
  }
  let esbuild;
  try {
    esbuild = await import("esbuild");
  } catch {
    return null;
  }
  const tmp = `${outDir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  const entryPoints = { main: path.join(root, "src/main.ts") };
  for (const w of WORKERS) {
    const f = path.join(root, "src/workers", `${w}.ts`);
    if (existsSync(f)) entryPoints[`workers/${w}`] = f;
  }
  await esbuild.build({
    entryPoints,
    outdir: tmp,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    sourcemap: "linked",
    logLevel: "error",
    define: { "globalThis.__CAIRN_BUNDLED__": "true" },
  });
  // esbuild keeps a service process alive after build(); the agent must not carry it.
  await esbuild.stop?.();
  writeFileSync(path.join(tmp, "stamp.json"), JSON.stringify({ stamp }));
  mkdirSync(path.dirname(outDir), { recursive: true });
  try {
    rmSync(outDir, { recursive: true, force: true });
    renameSync(tmp, outDir);
  } catch {
    // another process installed its bundle first; use that one
    rmSync(tmp, { recursive: true, force: true });
  }
  return path.join(outDir, "main.mjs");
}
