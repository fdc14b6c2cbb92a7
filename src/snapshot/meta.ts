/**
 * snapshot/meta: meta.json of a snapshot archive — hashicorp/raft's SnapshotMeta
 * (Version, ID, Index, Term, Peers, Configuration, ConfigurationIndex, Size) as
 * Go's json.Encoder writes it (fields in struct order, []byte as base64, a
 * trailing newline), and a strict decoder for it.
 *
 * Must never: accept a meta whose numbers are not exact non-negative integers.
 */

import { Packr } from "msgpackr";

/** raft.ServerSuffrage: 0 Voter, 1 Nonvoter, 2 Staging. */
export type Suffrage = 0 | 1 | 2;

export interface MetaServer {
  readonly suffrage: Suffrage;
  readonly id: string;
  readonly address: string;
}

export interface SnapshotMeta {
  /** raft.SnapshotVersion (1). */
  readonly version: number;
  /** "<term>-<index>-<unix ms>", as raft names its snapshots. */
  readonly id: string;
  readonly index: number;
  readonly term: number;
  /** raft's deprecated encoded peer list (base64 in the JSON); empty when absent. */
  readonly peers: Uint8Array;
  readonly servers: readonly MetaServer[];
  readonly configurationIndex: number;
  /** Bytes of state.bin. */
  readonly size: number;
}

/** raft.SnapshotVersionMax. */
export const SNAPSHOT_META_VERSION = 1;

const packr = new Packr({ useRecords: false });

/** raft's snapshot name: term-index-milliseconds. */
export function snapshotId(term: number, index: number, nowMs: number): string {
  return `${term}-${index}-${Math.floor(nowMs)}`;
}

/** raft's encodePeers: the voters' addresses as a msgpack list of raw strings (go-msgpack writes []byte as str). */
export function encodePeers(servers: readonly MetaServer[]): Uint8Array {
  return packr.pack(servers.filter((s) => s.suffrage === 0).map((s) => s.address));
}

/** meta.json bytes, as Go's json.Encoder.Encode(&SnapshotMeta) writes them. */
export function encodeMeta(m: SnapshotMeta): Uint8Array {
  const servers = m.servers.map((s) => ({ Suffrage: s.suffrage, ID: s.id, Address: s.address }));
  const json = {
    Version: m.version,
    ID: m.id,
    Index: m.index,
    Term: m.term,
    Peers: m.peers.length === 0 ? null : Buffer.from(m.peers).toString("base64"),
    Configuration: { Servers: servers.length === 0 ? null : servers },
    ConfigurationIndex: m.configurationIndex,
    Size: m.size,
  };
  return new TextEncoder().encode(JSON.stringify(json) + "\n");
}

export class MetaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MetaError";
  }
}

function num(o: Record<string, unknown>, k: string): number {
  const v = o[k];
  if (v === undefined || v === null) return 0;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) throw new MetaError(`field ${k} is not a non-negative integer`);
  return v;
}

function str(o: Record<string, unknown>, k: string): string {
  const v = o[k];
  if (v === undefined || v === null) return "";
  if (typeof v !== "string") throw new MetaError(`field ${k} is not a string`);
  return v;
}

function obj(x: unknown, what: string): Record<string, unknown> {
  if (typeof x !== "object" || x === null || Array.isArray(x)) throw new MetaError(`${what} is not an object`);
  return x as Record<string, unknown>;
}

/** Parses meta.json (Go's json.Decoder: the first JSON value; field names case-insensitively as Go matches them). */
export function decodeMeta(bytes: Uint8Array): SnapshotMeta {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (e) {
    throw new MetaError(e instanceof Error ? e.message : String(e));
  }
  const o = lowerKeys(obj(raw, "meta"));
  const cfg = o["configuration"] === undefined || o["configuration"] === null ? {} : lowerKeys(obj(o["configuration"], "Configuration"));
  const list = cfg["servers"];
  if (list !== undefined && list !== null && !Array.isArray(list)) throw new MetaError("Configuration.Servers is not a list");
  const arr: unknown[] = Array.isArray(list) ? (list as unknown[]) : [];
  const servers: MetaServer[] = arr.map((x) => {
    const s = lowerKeys(obj(x, "server"));
    const suffrage = num(s, "suffrage");
    if (suffrage > 2) throw new MetaError(`unknown suffrage ${suffrage}`);
    return { suffrage: suffrage as Suffrage, id: str(s, "id"), address: str(s, "address") };
  });
  const peersB64 = str(o, "peers");
  return {
    version: num(o, "version"),
    id: str(o, "id"),
    index: num(o, "index"),
    term: num(o, "term"),
    peers: new Uint8Array(Buffer.from(peersB64, "base64")),
    servers,
    configurationIndex: num(o, "configurationindex"),
    size: num(o, "size"),
  };
}

function lowerKeys(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    const l = k.toLowerCase();
    if (!(l in out)) out[l] = v;
  }
  return out;
}
