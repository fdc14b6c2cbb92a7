// Helpers for the connect tests: run Debian's openssl on PEM strings written to a temp dir.
// Not a test file. Returns undefined when openssl is not installed (callers skip with a message).
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

export interface OpensslResult {
  ok: boolean;
  out: string;
}

let available: boolean | undefined;

export function haveOpenssl(): boolean {
  if (available === undefined) {
    const r = spawnSync("openssl", ["version"], { encoding: "utf8", timeout: 10_000 });
    available = r.status === 0;
    if (!available) console.log("SKIP: openssl not found; the openssl checks in tests/connect are skipped");
  }
  return available;
}

/** Writes `files` (name -> content) to a fresh temp dir, runs openssl with `args` (names resolved there). */
export function openssl(files: Record<string, string>, args: (dir: string) => string[]): OpensslResult {
  const dir = mkdtempSync(path.join(tmpdir(), "cairn-connect-"));
  try {
    for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content);
    const r = spawnSync("openssl", args(dir), { encoding: "utf8", timeout: 10_000 });
    return { ok: r.status === 0, out: `${r.stdout ?? ""}${r.stderr ?? ""}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `openssl verify -CAfile ca.pem [-untrusted chain.pem] leaf.pem` (only the first cert of leaf is checked). */
export function verify(caPem: string, leafPem: string, untrustedPem?: string): OpensslResult {
  const files: Record<string, string> = { "ca.pem": caPem, "leaf.pem": leafPem };
  if (untrustedPem !== undefined) files["untrusted.pem"] = untrustedPem;
  return openssl(files, (d) => [
    "verify",
    "-CAfile",
    path.join(d, "ca.pem"),
    ...(untrustedPem === undefined ? [] : ["-untrusted", path.join(d, "untrusted.pem")]),
    path.join(d, "leaf.pem"),
  ]);
}

/** `openssl x509 -noout -text` of a PEM. */
export function x509Text(certPem: string): string {
  return openssl({ "c.pem": certPem }, (d) => ["x509", "-noout", "-text", "-in", path.join(d, "c.pem")]).out;
}
