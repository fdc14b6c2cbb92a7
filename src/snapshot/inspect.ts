/**
 * snapshot/inspect: what `cairn snapshot inspect` prints about an archive: the meta
 * table (ID, Size, Index, Term, Version) and a per-type breakdown of state.bin
 * (Consul's message-type names: KVS, Tombstone, Register, Session, ConnectCA,
 * CoordinateBatchUpdate, Index), optionally by KV key prefix (-kvdetails, -kvdepth,
 * -kvfilter), as Consul's pretty (text/tabwriter) or JSON formatter lays it out.
 *
 * Sizes are the bytes each kind takes in cairn's columnar state.bin (section sizes
 * from its header, read by state's snapshotSizes; per KV entry: its key, value and session plus 44 bytes of fixed
 * columns), so the totals add up to state.bin, not to Consul's msgpack stream.
 *
 * Must never: trust state.bin before the store decoded it (decodeSnapshot checks
 * sizes and the checksum), or do I/O.
 */

import { SNAPSHOT_KV_FIXED_BYTES as KV_FIXED_BYTES, SNAPSHOT_TOMB_FIXED_BYTES as TOMB_FIXED_BYTES, Store, snapshotSizes } from "../state/index.ts";
import type { SnapshotMeta } from "./meta.ts";


export interface TypeStats {
  readonly name: string;
  readonly sum: number;
  readonly count: number;
}

export interface InspectOptions {
  readonly kvDetails: boolean;
  readonly kvDepth: number;
  readonly kvFilter: string;
}

export interface InspectInfo {
  readonly meta: SnapshotMeta;
  readonly stats: TypeStats[];
  readonly statsKV: TypeStats[];
  readonly totalSize: number;
  readonly totalSizeKV: number;
}

/** Consul's sortTypeStats: by size, largest first, then by name. */
function sortStats(s: TypeStats[]): TypeStats[] {
  return s.sort((a, b) => (a.sum === b.sum ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : b.sum - a.sum));
}

const utf8 = (s: string): number => Buffer.byteLength(s, "utf8");

/**
 * Decodes state.bin (throws CairnError "invalid snapshot: ..." when it is not a
 * readable cairn snapshot) and gathers the breakdown.
 */
export function inspectState(meta: SnapshotMeta, state: Uint8Array, o: InspectOptions): InspectInfo {
  const store = Store.restore(state);
  const h = snapshotSizes(state);
  const stats: TypeStats[] = [];
  const add = (name: string, count: number, sum: number): void => {
    if (count > 0) stats.push({ name, count, sum });
  };
  add("KVS", store.kvCount(), h.kvCount * KV_FIXED_BYTES + h.keyBytes + h.valueBytes + h.sessionBytes);
  add("Tombstone", store.tombstoneCount(), h.tombCount * TOMB_FIXED_BYTES + h.tombKeyBytes);
  add("Register", store.catalogNodes().value.length, h.catalogBytes);
  add("Session", store.sessionCount(), h.sessionsTableBytes);
  add("ConnectCA", store.caRoots().value.length + (store.caConfig().value === undefined ? 0 : 1), h.caBytes);
  add("CoordinateBatchUpdate", store.coordinates().value.length, h.coordBytes);
  add("Index", h.tableIndexes, h.headerBytes);
  const kv = new Map<string, { sum: number; count: number }>();
  let totalKV = 0;
  if (o.kvDetails) {
    for (const e of store.kvList("").value) {
      if (o.kvFilter !== "" && !e.key.startsWith(o.kvFilter)) continue;
      const parts = e.key.split("/");
      const prefix = parts.slice(0, Math.min(Math.max(o.kvDepth, 0), parts.length)).join("/");
      const size = KV_FIXED_BYTES + utf8(e.key) + e.value.length + utf8(e.session);
      const cur = kv.get(prefix) ?? { sum: 0, count: 0 };
      cur.sum += size;
      cur.count++;
      kv.set(prefix, cur);
      totalKV += size;
    }
  }
  return {
    meta,
    stats: sortStats(stats),
    statsKV: sortStats([...kv].map(([name, v]) => ({ name, sum: v.sum, count: v.count }))),
    totalSize: state.length,
    totalSizeKV: totalKV,
  };
}

/** Consul's inspect.ByteSize. */
export function byteSize(bytes: number): string {
  const units: Array<[number, string]> = [
    [1024 ** 4, "TB"],
    [1024 ** 3, "GB"],
    [1024 ** 2, "MB"],
    [1024, "KB"],
    [1, "B"],
  ];
  if (bytes === 0) return "0";
  for (const [size, unit] of units) {
    if (bytes >= size) {
      const s = (bytes / size).toFixed(1);
      return (s.endsWith(".0") ? s.slice(0, -2) : s) + unit;
    }
  }
  return "0";
}

const runeLen = (s: string): number => [...s].length;

/**
 * Go's text/tabwriter (flags 0, padchar ' ') over `text`: cells end with a tab, a
 * column block is a run of lines that have a cell in that column; trailing spaces
 * are trimmed from each line (as Consul's golden outputs show them).
 */
export function tabwrite(text: string, minwidth: number, padding: number): string {
  const lines = text.split("\n").map((l) => l.split("\t"));
  const widths: number[] = [];
  const out: string[] = [];
  const writeLines = (a: number, b: number): void => {
    for (let i = a; i < b; i++) {
      const line = lines[i] as string[];
      let s = "";
      line.forEach((c, j) => {
        s += c;
        if (j < widths.length) s += " ".repeat(Math.max(0, (widths[j] as number) - runeLen(c)));
      });
      out.push(s.replace(/ +$/, ""));
    }
  };
  const format = (line0: number, line1: number): void => {
    const column = widths.length;
    for (let t = line0; t < line1; t++) {
      if (column >= (lines[t] as string[]).length - 1) continue;
      writeLines(line0, t);
      line0 = t;
      let width = minwidth;
      for (; t < line1; t++) {
        const l = lines[t] as string[];
        if (column >= l.length - 1) break;
        width = Math.max(width, runeLen(l[column] as string) + padding);
      }
      widths.push(width);
      format(line0, t);
      widths.pop();
      line0 = t;
    }
    writeLines(line0, line1);
  };
  format(0, lines.length);
  return out.join("\n");
}

/** Consul's pretty formatter (one tabwriter: minwidth 8, tabwidth 8, padding 6). */
export function formatPretty(i: InspectInfo, kvDetails: boolean): string {
  let t = ` ID\t${i.meta.id}\n Size\t${i.meta.size}\n Index\t${i.meta.index}\n Term\t${i.meta.term}\n Version\t${i.meta.version}\n`;
  t += "\n Type\tCount\tSize\t\n";
  t += " ----\t----\t----\t";
  for (const s of i.stats) t += `\n ${s.name}\t${s.count}\t${byteSize(s.sum)}\t`;
  t += "\n ----\t----\t----\t";
  t += `\n Total\t\t${byteSize(i.totalSize)}\t`;
  if (kvDetails) {
    t += "\n\n Key Name\tCount\tSize\t\n";
    t += " ----\t----\t----\t";
    for (const s of i.statsKV) t += `\n ${s.name}\t${s.count}\t${byteSize(s.sum)}\t`;
    t += "\n ----\t----\t----\t";
    t += `\n Total\t\t${byteSize(i.totalSizeKV)}\t`;
  }
  return tabwrite(t, 8, 6);
}

/** Consul's JSON formatter (json.MarshalIndent with three spaces). */
export function formatJson(i: InspectInfo, kvDetails: boolean): string {
  const stats = (s: TypeStats[]): Array<{ Name: string; Sum: number; Count: number }> => s.map((x) => ({ Name: x.name, Sum: x.sum, Count: x.count }));
  return JSON.stringify(
    {
      Meta: { ID: i.meta.id, Size: i.meta.size, Index: i.meta.index, Term: i.meta.term, Version: i.meta.version },
      Stats: stats(i.stats),
      StatsKV: kvDetails && i.statsKV.length > 0 ? stats(i.statsKV) : null,
      TotalSize: i.totalSize,
      TotalSizeKV: i.totalSizeKV,
    },
    null,
    3,
  );
}
