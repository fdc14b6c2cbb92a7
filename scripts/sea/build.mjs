// Builds the Node single executable (SEA) of cairn into dist/sea/: `cairn` and `consul`
// (a hard link, or a copy where links are not possible) answer to either name.
//
//   1. esbuild bundles src/main.ts and each worker entry (ours and piscina's own worker
//      script) into CommonJS with every npm package inside (a SEA has no node_modules);
//   2. the worker bundles and a manifest (content hash) become SEA assets, extracted at
//      run time by src/platform/sea.ts;
//   3. node --experimental-sea-config writes the blob, postject injects it into a copy of
//      this Node binary.
// Reuses dist/sea when its stamp (sources, package.json, these scripts, Node version)
// matches. Every child step has a timeout and the whole build a deadline.
// Must never: write outside dist/sea, leave a half-built binary under the final names,
// or run longer than SEA_BUILD_DEADLINE_MS.
//
// Usage: node scripts/sea/build.mjs [--force]   (also imported by scripts/compile.mjs)
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const outDir = path.join(root, "dist", "sea");
const WORKERS = ["wal_worker", "checks_worker"];
const PISCINA_WORKER = "piscina_worker"; // must match SEA_PISCINA_WORKER in src/platform/sea.ts
const MANIFEST = "sea-manifest.json"; // must match SEA_MANIFEST_ASSET in src/platform/sea.ts
const FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";
/** Whole build, and each child step. */
export const SEA_BUILD_DEADLINE_MS = 240_000;
const SEA_STEP_TIMEOUT_MS = 120_000;
/** getAsset (20.12) and process.getBuiltinModule (20.16), which src/platform/sea.ts uses. */
const MIN_NODE = [20, 16];

const log = (msg) => process.stdout.write(`sea: ${msg}\n`);

function newestMtime(p) {
  const st = statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  let m = 0;
  for (const e of readdirSync(p)) m = Math.max(m, newestMtime(path.join(p, e)));
  return m;
}

function stampOf() {
  const inputs = ["src", "package.json", "scripts/sea", "scripts/compile.mjs"].map((p) => path.join(root, p));
  const m = Math.max(...inputs.filter((p) => existsSync(p)).map(newestMtime));
  return `${m}|${process.version}|${process.execPath}`;
}

function upToDate(stamp) {
  try {
    const s = JSON.parse(readFileSync(path.join(outDir, "stamp.json"), "utf8"));
    return s.stamp === stamp && existsSync(path.join(outDir, "cairn")) && existsSync(path.join(outDir, "consul"));
  } catch {
    return false;
  }
}

function run(cmd, args, cwd, deadline) {
  const timeout = Math.max(1_000, Math.min(SEA_STEP_TIMEOUT_MS, deadline - Date.now()));
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", timeout, killSignal: "SIGKILL" });
  if (r.error || r.status !== 0) {
    const why = r.error ? r.error.message : r.signal ? `killed by ${r.signal} (timeout ${timeout} ms?)` : `exit ${r.status}`;
    throw new Error(`${path.basename(cmd)} ${args.join(" ")}: ${why}\n${r.stdout ?? ""}${r.stderr ?? ""}`);
  }
  return r;
}

/**
 * esbuild plugin: piscina starts its worker from `<its package dir>/dist/worker.js`,
 * which a SEA does not have; point it at the extracted copy (src/platform/sea.ts).
 */
function piscinaPlugin() {
  const seaTs = path.join(root, "src/platform/sea.ts");
  return {
    name: "cairn-sea-piscina",
    setup(build) {
      build.onLoad({ filter: /[\\/]piscina[\\/]dist[\\/]index\.js$/ }, (args) => {
        const src = readFileSync(args.path, "utf8");
        const needle = "(0, node_path_1.resolve)(__dirname, 'worker.js')";
        const parts = src.split(needle);
        if (parts.length !== 2) throw new Error(`piscina: expected one "${needle}" in ${args.path} (piscina changed?)`);
        const patched = parts.join(`require(${JSON.stringify(seaTs)}).piscinaWorkerFile()`);
        return { contents: patched, loader: "js", resolveDir: path.dirname(args.path) };
      });
    },
  };
}

/**
 * esbuild plugin: native addons cannot load in a SEA (its main's require takes builtins
 * only, and Node warns on every other name). Both users try them inside try/catch and fall
 * back to JavaScript, so they get a module that throws at once, quietly.
 */
function nativeStubPlugin() {
  return {
    name: "cairn-sea-native-stub",
    setup(build) {
      build.onResolve({ filter: /^(msgpackr-extract|@napi-rs\/nice)$/ }, (args) => ({ path: args.path, namespace: "cairn-sea-stub" }));
      build.onLoad({ filter: /.*/, namespace: "cairn-sea-stub" }, (args) => ({
        contents: `throw new Error(${JSON.stringify(`${args.path}: native addons are not available in the single executable`)});`,
        loader: "js",
      }));
    },
  };
}

async function bundle(tmp) {
  const esbuild = await import("esbuild");
  const req = createRequire(path.join(root, "package.json"));
  const entryPoints = { main: path.join(root, "src/main.ts") };
  for (const w of WORKERS) entryPoints[w] = path.join(root, "src/workers", `${w}.ts`);
  // piscina's "exports" hides package.json; its CommonJS main is dist/main.js, next to dist/worker.js.
  entryPoints[PISCINA_WORKER] = path.join(path.dirname(req.resolve("piscina")), "worker.js");
  try {
    await esbuild.build({
      entryPoints,
      outdir: tmp,
      outExtension: { ".js": ".cjs" },
      bundle: true,
      platform: "node",
      format: "cjs",
      target: "node20",
      minify: false,
      legalComments: "none",
      logLevel: "error",
      // import.meta is empty in CommonJS; the code that reads it never runs in the SEA
      // (platform/runtime.ts answers worker URLs from the extracted assets instead).
      logOverride: { "empty-import-meta": "silent" },
      define: { "globalThis.__CAIRN_BUNDLED__": "true", "globalThis.__CAIRN_SEA__": "true" },
      plugins: [piscinaPlugin(), nativeStubPlugin()],
    });
  } finally {
    await esbuild.stop?.();
  }
}

/** Builds dist/sea unless it is up to date. Returns the path of dist/sea/cairn. */
export async function buildSea({ force = false } = {}) {
  const t0 = Date.now();
  const deadline = t0 + SEA_BUILD_DEADLINE_MS;
  const [maj, min] = process.versions.node.split(".").map(Number);
  if (maj < MIN_NODE[0] || (maj === MIN_NODE[0] && min < MIN_NODE[1])) {
    throw new Error(`Node ${process.version} is too old for the single-executable build (need >= ${MIN_NODE.join(".")})`);
  }
  const stamp = stampOf();
  if (!force && upToDate(stamp)) {
    log(`dist/sea is up to date (${path.join(outDir, "cairn")})`);
    return path.join(outDir, "cairn");
  }
  mkdirSync(outDir, { recursive: true });
  const work = path.join(outDir, `build.tmp-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  try {
    let t = Date.now();
    log(`1/4 esbuild: src/main.ts + ${[...WORKERS, PISCINA_WORKER].join(", ")} -> CommonJS`);
    await bundle(work);
    log(`    done in ${Date.now() - t} ms`);

    t = Date.now();
    const assetNames = [...WORKERS, PISCINA_WORKER].map((w) => `${w}.cjs`);
    const h = createHash("sha256");
    for (const a of assetNames) h.update(`${a}\0`).update(readFileSync(path.join(work, a))).update("\0");
    const hash = h.digest("hex").slice(0, 16);
    writeFileSync(path.join(work, MANIFEST), JSON.stringify({ hash, files: assetNames }));
    const assets = Object.fromEntries([MANIFEST, ...assetNames].map((a) => [a, a]));
    writeFileSync(
      path.join(work, "sea-config.json"),
      JSON.stringify({ main: "main.cjs", output: "sea-prep.blob", disableExperimentalSEAWarning: true, useCodeCache: true, assets }),
    );
    log(`2/4 node --experimental-sea-config (assets ${assetNames.join(", ")}, hash ${hash})`);
    run(process.execPath, ["--experimental-sea-config", "sea-config.json"], work, deadline);
    log(`    done in ${Date.now() - t} ms`);

    t = Date.now();
    const bin = path.join(work, "cairn");
    log(`3/4 postject NODE_SEA_BLOB into a copy of ${process.execPath}`);
    copyFileSync(process.execPath, bin);
    const postject = path.join(path.dirname(createRequire(path.join(root, "package.json")).resolve("postject/package.json")), "dist", "cli.js");
    run(process.execPath, [postject, bin, "NODE_SEA_BLOB", "sea-prep.blob", "--sentinel-fuse", FUSE], work, deadline);
    log(`    done in ${Date.now() - t} ms`);

    t = Date.now();
    log("4/4 smoke test, then install dist/sea/cairn and dist/sea/consul");
    const v = run(bin, ["version"], work, deadline);
    if (!/^Consul v/m.test(v.stdout)) throw new Error(`built binary answered: ${v.stdout}${v.stderr}`);
    for (const n of ["cairn", "consul", "stamp.json"]) rmSync(path.join(outDir, n), { force: true });
    renameSync(bin, path.join(outDir, "cairn"));
    try {
      linkSync(path.join(outDir, "cairn"), path.join(outDir, "consul"));
    } catch {
      copyFileSync(path.join(outDir, "cairn"), path.join(outDir, "consul"));
    }
    writeFileSync(path.join(outDir, "stamp.json"), JSON.stringify({ stamp, hash }));
    const mb = (statSync(path.join(outDir, "cairn")).size / 1e6).toFixed(1);
    log(`    done in ${Date.now() - t} ms; dist/sea/cairn (${mb} MB) and dist/sea/consul, total ${Date.now() - t0} ms`);
    if (Date.now() > deadline) throw new Error(`build overran its deadline (${SEA_BUILD_DEADLINE_MS} ms)`);
    return path.join(outDir, "cairn");
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const timer = setTimeout(() => {
    process.stderr.write(`sea: build timed out after ${SEA_BUILD_DEADLINE_MS} ms\n`);
    process.exit(1);
  }, SEA_BUILD_DEADLINE_MS + 10_000);
  buildSea({ force: process.argv.includes("--force") }).then(
    () => {
      clearTimeout(timer);
    },
    (e) => {
      process.stderr.write(`sea: FAILED: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
