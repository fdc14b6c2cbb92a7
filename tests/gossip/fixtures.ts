/**
 * tests/gossip/fixtures: loads the memberlist/serf wire captures from
 * ../shared/interop/memberlist/fixtures (annotated vectors and raw wiretap records).
 *
 * Must never: write to the fixture folder.
 */

import fs from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { Buffer } from "node:buffer";

export const FIXTURES = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "../../../shared/interop/memberlist/fixtures",
);

export function hex(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s, "hex"));
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b).toString("hex");
}

export function b64(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s, "base64"));
}

export interface VectorLayer {
  layer: string;
  vsn?: number;
  nonce?: string;
  aad?: string;
  label?: string;
  index?: number;
  parts?: number;
  lengths?: number[];
}

export interface Vector {
  file: string;
  run: string;
  kind: string;
  proto: "udp" | "tcp";
  key_b64: string | null;
  label: string | null;
  wire_hex: string;
  layers: VectorLayer[];
  msg: { type?: number; name: string; fields?: Record<string, unknown>; field_order?: string[]; body_hex?: string } | null;
}

export function loadVectors(): Vector[] {
  const dir = path.join(FIXTURES, "vectors");
  return fs.readdirSync(dir).filter((f) => f.endsWith(".json")).sort().map((f) => {
    const v = JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")) as Omit<Vector, "file">;
    return { ...v, file: f };
  });
}

export interface WireRecord {
  run: string;
  node: string;
  dir: "in" | "out";
  proto: "udp" | "tcp";
  hex: string;
  note?: string;
  conn?: number;
}

export function loadWireRecords(): WireRecord[] {
  const dir = path.join(FIXTURES, "raw");
  const out: WireRecord[] = [];
  for (const f of fs.readdirSync(dir).filter((x) => x.endsWith(".wire.jsonl")).sort()) {
    const m = /^(.*)-([a-z])\.wire\.jsonl$/.exec(f);
    if (!m) continue;
    for (const line of fs.readFileSync(path.join(dir, f), "utf8").split("\n")) {
      if (!line.trim()) continue;
      const r = JSON.parse(line) as Omit<WireRecord, "run" | "node">;
      out.push({ ...r, run: m[1] ?? "", node: m[2] ?? "" });
    }
  }
  return out;
}

/** Gossip key and label used by each capture run (from the fixture README / capture.sh). */
export const RUN_KEY: Record<string, string | undefined> = {
  encrypted: "MTIzNDU2Nzg5MDEyMzQ1Ng==",
  "label-key": "MTIzNDU2Nzg5MDEyMzQ1Ng==",
};
export const RUN_LABEL: Record<string, string | undefined> = { label: "dc1", "label-key": "dc1" };
