// npm run compile: cairn as a single executable that answers to `cairn` and `consul`.
//
// * `deno compile` when a denort runtime can be had: DENORT_BIN (a real denort, not the
//   deno CLI), the DENO_DIR cache ($DENO_DIR/dl/release/v<ver>/denort-<target>.zip), or
//   ALLOW_DENORT_DOWNLOAD=1 (deno fetches it from dl.deno.land). Output: dist/deno/.
// * Otherwise (or with --sea) a Node single executable (scripts/sea/build.mjs): dist/sea/.
// Every step is logged and bounded in time.
// Must never: download anything unasked, write outside dist/, or wait without a bound.
//
// Usage: node scripts/compile.mjs [--sea] [--force]
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, linkSync, mkdirSync, realpathSync, renameSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { buildSea, SEA_BUILD_DEADLINE_MS } from "./sea/build.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const DENO_COMPILE_TIMEOUT_MS = 300_000;
const DENO_VERSION_TIMEOUT_MS = 20_000;
const WORKERS = ["src/workers/wal_worker.ts", "src/workers/checks_worker.ts"];
// Dev-only packages and deno's own 90 MB binary must not be embedded (runtime-notes §2).
const EXCLUDES = [
  "node_modules/.bin",
  "node_modules/deno",
  "node_modules/@deno",
  "node_modules/typescript",
  "node_modules/@typescript",
  "node_modules/esbuild",
  "node_modules/@esbuild",
  "node_modules/tsx",
  "node_modules/uvu",
  "node_modules/@types",
  "node_modules/postject",
];

const log = (msg) => process.stdout.write(`compile: ${msg}\n`);
const args = process.argv.slice(2);

function denoBin() {
  const local = path.join(root, "node_modules/.bin/deno");
  return process.env.DENO_BIN ?? (existsSync(local) ? local : "deno");
}

function denoTarget() {
  const arch = { x64: "x86_64", arm64: "aarch64" }[process.arch];
  const sys = { linux: "unknown-linux-gnu", darwin: "apple-darwin", win32: "pc-windows-msvc" }[process.platform];
  return arch && sys ? `${arch}-${sys}` : null;
}

function denoDir() {
  if (process.env.DENO_DIR) return path.resolve(process.env.DENO_DIR);
  const home = os.homedir();
  if (process.platform === "darwin") return path.join(home, "Library/Caches/deno");
  if (process.platform === "win32") return path.join(process.env.LOCALAPPDATA ?? home, "deno");
  return path.join(process.env.XDG_CACHE_HOME ?? path.join(home, ".cache"), "deno");
}

/** { ok: true, how } when deno compile can get a denort without a download, else { ok: false, why }. */
function findDenort(deno) {
  const v = spawnSync(deno, ["--version"], { encoding: "utf8", timeout: DENO_VERSION_TIMEOUT_MS });
  const m = /^deno (\d+\.\d+\.\d+)/m.exec(v.stdout ?? "");
  if (!m) return { ok: false, why: `no usable deno (${deno}: ${v.error?.message ?? `exit ${v.status}`})` };
  const version = m[1];
  if (process.env.DENORT_BIN) {
    const bin = process.env.DENORT_BIN;
    if (!existsSync(bin)) return { ok: false, why: `DENORT_BIN=${bin} does not exist` };
    let same = false;
    try {
      same = realpathSync(bin) === realpathSync(deno) || statSync(bin).ino === statSync(realpathSync(deno)).ino;
    } catch {
      // cannot compare; trust the caller
    }
    if (same) return { ok: false, why: `DENORT_BIN=${bin} is the deno CLI, not denort (its output would start a REPL)` };
    return { ok: true, how: `DENORT_BIN=${bin}`, version };
  }
  const target = denoTarget();
  const zip = target ? path.join(denoDir(), "dl", "release", `v${version}`, `denort-${target}.zip`) : null;
  if (zip && existsSync(zip)) return { ok: true, how: `cached ${zip}`, version };
  if (process.env.ALLOW_DENORT_DOWNLOAD === "1") return { ok: true, how: "download from dl.deno.land (ALLOW_DENORT_DOWNLOAD=1)", version };
  return {
    ok: false,
    why: `no denort for deno ${version}: DENORT_BIN is unset, ${zip ?? `no target for ${process.platform}/${process.arch}`} does not exist, and ALLOW_DENORT_DOWNLOAD is not 1`,
  };
}

function installAlias(dir, exe) {
  const alias = path.join(dir, `consul${path.extname(exe)}`);
  rmSync(alias, { force: true });
  try {
    linkSync(exe, alias);
  } catch {
    copyFileSync(exe, alias);
  }
  return alias;
}

function denoCompile(deno) {
  const outDir = path.join(root, "dist", "deno");
  mkdirSync(outDir, { recursive: true });
  const tmpOut = path.join(outDir, `cairn.tmp-${process.pid}`);
  const cmd = ["compile", "-A", "--no-check", "-o", tmpOut];
  for (const w of WORKERS) cmd.push("--include", w);
  for (const e of EXCLUDES) cmd.push("--exclude", e);
  cmd.push("src/main.ts");
  log(`deno ${cmd.join(" ")}`);
  const t = Date.now();
  const r = spawnSync(deno, cmd, {
    cwd: root,
    stdio: "inherit",
    timeout: DENO_COMPILE_TIMEOUT_MS,
    killSignal: "SIGKILL",
    env: { ...process.env, DENO_NO_UPDATE_CHECK: "1" },
  });
  if (r.error || r.status !== 0) {
    rmSync(tmpOut, { force: true });
    throw new Error(`deno compile failed: ${r.error?.message ?? (r.signal ? `killed by ${r.signal}` : `exit ${r.status}`)}`);
  }
  const produced = existsSync(tmpOut) ? tmpOut : `${tmpOut}.exe`;
  const exe = path.join(outDir, `cairn${path.extname(produced)}`);
  renameSync(produced, exe);
  const alias = installAlias(outDir, exe);
  log(`deno compile done in ${Date.now() - t} ms: ${path.relative(root, exe)} (${(statSync(exe).size / 1e6).toFixed(1)} MB), ${path.relative(root, alias)}`);
}

async function main() {
  const deno = denoBin();
  if (!args.includes("--sea")) {
    const d = findDenort(deno);
    if (d.ok) {
      log(`deno compile with denort from ${d.how} (deno ${d.version})`);
      denoCompile(deno);
      return;
    }
    log(`deno compile SKIPPED - ${d.why}`);
  } else {
    log("deno compile SKIPPED - --sea given");
  }
  log(`building the Node single executable instead (dist/sea/cairn, dist/sea/consul; at most ${SEA_BUILD_DEADLINE_MS / 1000} s)`);
  const exe = await buildSea({ force: args.includes("--force") });
  log(`done: ${path.relative(root, exe)} and ${path.relative(root, path.join(path.dirname(exe), "consul"))}`);
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`compile: FAILED: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
