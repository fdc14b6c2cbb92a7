/**
 * dns/records: the resource records cairn answers with, as plain data, and their
 * encoding into position-independent byte chunks (names compressed only against the
 * question, see wire.ts).
 *
 * Must never: do I/O or hold catalog knowledge.
 */

import {
  ByteWriter, C_IN, T_A, T_AAAA, T_CNAME, T_NS, T_PTR, T_SOA, T_SRV, T_TXT, nameWireLength, parseIp,
} from "./wire.ts";

export type Rr =
  | { readonly type: "A"; readonly name: string; readonly ttl: number; readonly address: string }
  | { readonly type: "AAAA"; readonly name: string; readonly ttl: number; readonly address: string }
  | { readonly type: "CNAME"; readonly name: string; readonly ttl: number; readonly target: string }
  | { readonly type: "PTR"; readonly name: string; readonly ttl: number; readonly target: string }
  | { readonly type: "NS"; readonly name: string; readonly ttl: number; readonly target: string }
  | {
    readonly type: "SRV"; readonly name: string; readonly ttl: number;
    readonly priority: number; readonly weight: number; readonly port: number; readonly target: string;
  }
  | { readonly type: "TXT"; readonly name: string; readonly ttl: number; readonly text: string }
  | {
    readonly type: "SOA"; readonly name: string; readonly ttl: number;
    readonly mname: string; readonly rname: string; readonly serial: number;
    readonly refresh: number; readonly retry: number; readonly expire: number; readonly minimum: number;
  };

/** What encodeRrInto reports of a record it appended: its uncompressed length and where an SOA serial sits in it (-1 if none). */
export interface EncodedRr {
  uncompressedLen: number;
  serialAt: number;
}

function typeCode(rr: Rr): number {
  switch (rr.type) {
    case "A": return T_A;
    case "AAAA": return T_AAAA;
    case "CNAME": return T_CNAME;
    case "PTR": return T_PTR;
    case "NS": return T_NS;
    case "SRV": return T_SRV;
    case "TXT": return T_TXT;
    case "SOA": return T_SOA;
  }
}

/** TXT character-strings: at most 255 bytes each, so longer text is split. */
function txtStrings(text: string): Buffer[] {
  const b = Buffer.from(text, "utf8");
  if (b.length === 0) return [b];
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; i += 255) out.push(b.subarray(i, Math.min(b.length, i + 255)));
  return out;
}

/** encodeRrInto's report, reused: read it before the next call. */
const report: EncodedRr = { uncompressedLen: 0, serialAt: -1 };

/**
 * Append one record to `w`. `suffixes` (from questionSuffixes) enables compression against the
 * question; null writes names in full. Returns null, with `w` as it was, for a record that cannot
 * be encoded (bad name or address): such records are left out of answers. The report is shared
 * between calls (read it at once).
 */
export function encodeRrInto(w: ByteWriter, rr: Rr, suffixes: Map<string, number> | null): EncodedRr | null {
  const at = w.length;
  const r = encodeBody(w, rr, suffixes, at);
  if (r === null) w.truncate(at);
  return r;
}

function encodeBody(w: ByteWriter, rr: Rr, suffixes: Map<string, number> | null, at: number): EncodedRr | null {
  if (!w.name(rr.name, suffixes)) return null;
  w.u16(typeCode(rr));
  w.u16(C_IN);
  w.u32(rr.ttl);
  const lenAt = w.length;
  w.u16(0);
  const start = w.length;
  let serialAt = -1;
  let unc = nameWireLength(rr.name) + 10;
  switch (rr.type) {
    case "A":
    case "AAAA": {
      const ip = parseIp(rr.address);
      if (ip === null || ip.length !== (rr.type === "A" ? 4 : 16)) return null;
      w.bytes(ip);
      unc += ip.length;
      break;
    }
    case "CNAME":
    case "PTR":
    case "NS":
      if (!w.name(rr.target, suffixes)) return null;
      unc += nameWireLength(rr.target);
      break;
    case "SRV":
      w.u16(rr.priority);
      w.u16(rr.weight);
      w.u16(rr.port);
      // RFC 2782: the target must not be compressed.
      if (!w.name(rr.target, null)) return null;
      unc += 6 + nameWireLength(rr.target);
      break;
    case "TXT":
      for (const s of txtStrings(rr.text)) {
        w.u8(s.length);
        w.bytes(s);
        unc += 1 + s.length;
      }
      break;
    case "SOA":
      if (!w.name(rr.mname, suffixes) || !w.name(rr.rname, suffixes)) return null;
      serialAt = w.length - at;
      w.u32(rr.serial);
      w.u32(rr.refresh);
      w.u32(rr.retry);
      w.u32(rr.expire);
      w.u32(rr.minimum);
      unc += nameWireLength(rr.mname) + nameWireLength(rr.rname) + 20;
      break;
  }
  const rdlen = w.length - start;
  if (rdlen > 0xffff) return null;
  w.setU16(lenAt, rdlen);
  report.uncompressedLen = unc;
  report.serialAt = serialAt;
  return report;
}
