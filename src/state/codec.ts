/**
 * codec: Command and ApplyResult <-> bytes (msgpack via msgpackr), for the
 * log and for forwarding between servers.
 *
 * A command is a msgpack array [version, type, ...fields]; values travel as
 * msgpack bin, flags as unsigned integers (uint64 when large, so every value
 * up to 2^64-1 round-trips exactly as a bigint). Decoding validates the whole
 * shape and throws CairnError("bad-request", "invalid command: ...") on
 * anything else. Decoded values are copies, never views of the input.
 *
 * Must never: decode to a shape the store does not accept, or lose precision
 * on flags or indexes.
 */

import { Packr } from "msgpackr";
import type { ApplyResult, CatalogTxnVerb, Command, KVEntry, KVTxnOp, KVTxnVerb, TxnError, TxnOp, TxnResult } from "./types.ts";
import { CairnError, unreachable } from "../shared/errors.ts";
import {
  checkInputIn,
  checkInputOut,
  checkRowIn,
  checkRowOut,
  nodeInputIn,
  nodeInputOut,
  nodeRowIn,
  nodeRowOut,
  registerIn,
  registerOut,
  serviceInputIn,
  serviceInputOut,
  serviceRowIn,
  serviceRowOut,
} from "./catalog_codec.ts";
import { caConfigInputIn, caConfigInputOut, caRootIn, caRootOut } from "./ca_codec.ts";
import { sessionInputIn, sessionInputOut } from "./session_codec.ts";
import { coordRowIn, coordRowOut } from "./coord_tables.ts";
import { autopilotConfigIn, autopilotConfigOut } from "./autopilot_table.ts";

const VERSION = 1;
const MAX_U64 = 0xffffffffffffffffn;
const packr = new Packr({ useRecords: false, int64AsType: "bigint", copyBuffers: true } as ConstructorParameters<typeof Packr>[0]);

const VERBS: ReadonlySet<string> = new Set<KVTxnVerb>([
  "set",
  "cas",
  "lock",
  "unlock",
  "get",
  "get-or-empty",
  "get-tree",
  "check-index",
  "check-session",
  "check-not-exists",
  "delete",
  "delete-tree",
  "delete-cas",
]);

function bad(msg: string): CairnError {
  return new CairnError("bad-request", `invalid command: ${msg}`);
}

/** Flags as the smallest msgpack integer that holds them. */
function flagsOut(f: bigint): number | bigint {
  return f <= 0x1fffffffffffffn ? Number(f) : f;
}

function kvOpOut(o: KVTxnOp): unknown[] {
  return [o.verb, o.key, o.value, flagsOut(o.flags), o.index, o.session];
}

const CATALOG_VERBS: ReadonlySet<string> = new Set(["set", "cas", "get", "delete", "delete-cas"]);

function txnOpOut(o: TxnOp): unknown[] {
  switch (o.kind) {
    case "kv":
      return ["kv", ...kvOpOut(o.op)];
    case "node":
      return ["node", o.verb, o.index, nodeInputOut(o.node)];
    case "service":
      return ["service", o.verb, o.index, o.node, serviceInputOut(o.service)];
    case "check":
      return ["check", o.verb, o.index, checkInputOut(o.check)];
    default:
      return unreachable(o);
  }
}

function commandFields(cmd: Command): unknown[] {
  switch (cmd.type) {
    case "noop":
      return [];
    case "kv-set":
      return [cmd.key, cmd.value, flagsOut(cmd.flags)];
    case "kv-cas":
      return [cmd.key, cmd.value, flagsOut(cmd.flags), cmd.index];
    case "kv-delete":
      return [cmd.key];
    case "kv-delete-cas":
      return [cmd.key, cmd.index];
    case "kv-delete-tree":
      return [cmd.prefix];
    case "txn":
      return cmd.now === undefined ? [cmd.ops.map(txnOpOut)] : [cmd.ops.map(txnOpOut), cmd.now];
    case "tombstone-reap":
      return [cmd.index];
    case "kv-lock":
      return cmd.now === undefined
        ? [cmd.key, cmd.value, flagsOut(cmd.flags), cmd.session]
        : [cmd.key, cmd.value, flagsOut(cmd.flags), cmd.session, cmd.now];
    case "kv-unlock":
      return [cmd.key, cmd.value, flagsOut(cmd.flags), cmd.session];
    case "catalog-register":
      return [registerOut(cmd.req)];
    case "catalog-deregister":
      return [cmd.node, cmd.serviceId, cmd.checkId];
    case "ca-set":
      return [
        cmd.roots === null ? null : cmd.roots.map(caRootOut),
        cmd.config === null ? null : caConfigInputOut(cmd.config),
        cmd.cas,
      ];
    case "session-create":
      return [sessionInputOut(cmd.session)];
    case "session-destroy":
      return [cmd.id, cmd.now];
    case "lock-delay-stamp":
      return [cmd.now];
    case "restore":
      // The one-entry form keeps its original single field (older logs decode unchanged).
      return cmd.pending === undefined ? [cmd.data] : [cmd.data, cmd.pending.id, cmd.pending.total, cmd.pending.sha256];
    case "restore-chunk":
      return [cmd.id, cmd.seq, cmd.data];
    case "restore-abort":
      return [cmd.id ?? null];
    case "coordinate-batch-update":
      return [cmd.updates.map(coordRowOut)];
    case "autopilot-set":
      return [autopilotConfigOut(cmd.config), cmd.cas];
    default:
      return unreachable(cmd);
  }
}

export function encodeCommand(cmd: Command): Uint8Array {
  return packr.pack([VERSION, cmd.type, ...commandFields(cmd)]);
}

// ---- decoding --------------------------------------------------------------

function str(x: unknown, what: string): string {
  if (typeof x !== "string") throw bad(`${what} is not a string`);
  return x;
}
function bytes(x: unknown, what: string): Uint8Array {
  if (!(x instanceof Uint8Array)) throw bad(`${what} is not binary`);
  // Normalize Node Buffers to plain Uint8Array (copyBuffers already detached it from the input).
  return Object.getPrototypeOf(x) === Uint8Array.prototype ? x : new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
}
function index(x: unknown, what: string): number {
  if (typeof x === "bigint" && x >= 0n && x <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(x);
  if (typeof x !== "number" || !Number.isSafeInteger(x) || x < 0) throw bad(`${what} is not an index`);
  return x;
}
function flags(x: unknown, what: string): bigint {
  if (typeof x === "number" && Number.isSafeInteger(x) && x >= 0) return BigInt(x);
  if (typeof x === "bigint" && x >= 0n && x <= MAX_U64) return x;
  throw bad(`${what} is not a uint64`);
}
function arity(a: unknown[], n: number, what: string): void {
  if (a.length !== n) throw bad(`${what} has ${a.length} fields, expected ${n}`);
}
/** Leader wall-clock ms carried by a command. */
function clock(x: unknown, what: string): number {
  if (typeof x !== "number" || !Number.isFinite(x) || x < 0) throw bad(`${what} is not a time`);
  return x;
}

function catalogVerb(x: unknown, i: number): CatalogTxnVerb {
  const verb = str(x, `txn op ${i} verb`);
  if (!CATALOG_VERBS.has(verb)) throw bad(`txn op ${i} has unknown verb ${JSON.stringify(verb)}`);
  return verb as CatalogTxnVerb;
}

function txnOpIn(x: unknown, i: number): TxnOp {
  if (!Array.isArray(x)) throw bad(`txn op ${i} is not an array`);
  switch (x[0]) {
    case "kv":
      return kvOpIn(x, i);
    case "node":
      arity(x, 4, `txn op ${i}`);
      return { kind: "node", verb: catalogVerb(x[1], i), index: index(x[2], "index"), node: nodeInputIn(x[3], bad) };
    case "service":
      arity(x, 5, `txn op ${i}`);
      return {
        kind: "service",
        verb: catalogVerb(x[1], i),
        index: index(x[2], "index"),
        node: str(x[3], "node"),
        service: serviceInputIn(x[4], bad),
      };
    case "check":
      arity(x, 4, `txn op ${i}`);
      return { kind: "check", verb: catalogVerb(x[1], i), index: index(x[2], "index"), check: checkInputIn(x[3], bad) };
    default:
      throw bad(`txn op ${i} has unknown kind`);
  }
}

function kvOpIn(x: unknown[], i: number): TxnOp {
  arity(x, 7, `txn op ${i}`);
  const verb = str(x[1], `txn op ${i} verb`);
  if (!VERBS.has(verb)) throw bad(`txn op ${i} has unknown verb ${JSON.stringify(verb)}`);
  const op: KVTxnOp = {
    verb: verb as KVTxnVerb,
    key: str(x[2], `txn op ${i} key`),
    value: bytes(x[3], `txn op ${i} value`),
    flags: flags(x[4], `txn op ${i} flags`),
    index: index(x[5], `txn op ${i} index`),
    session: str(x[6], `txn op ${i} session`),
  };
  return { kind: "kv", op };
}

export function decodeCommand(data: Uint8Array): Command {
  let raw: unknown;
  try {
    raw = packr.unpack(data);
  } catch (e) {
    throw bad(`not msgpack (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!Array.isArray(raw) || raw.length < 2) throw bad("not a [version, type, ...] array");
  if (raw[0] !== VERSION) throw bad(`unsupported version ${String(raw[0])}`);
  const type = raw[1];
  const f = raw.slice(2) as unknown[];
  switch (type) {
    case "noop":
      arity(f, 0, type);
      return { type };
    case "kv-set":
      arity(f, 3, type);
      return { type, key: str(f[0], "key"), value: bytes(f[1], "value"), flags: flags(f[2], "flags") };
    case "kv-cas":
      arity(f, 4, type);
      return {
        type,
        key: str(f[0], "key"),
        value: bytes(f[1], "value"),
        flags: flags(f[2], "flags"),
        index: index(f[3], "index"),
      };
    case "kv-delete":
      arity(f, 1, type);
      return { type, key: str(f[0], "key") };
    case "kv-delete-cas":
      arity(f, 2, type);
      return { type, key: str(f[0], "key"), index: index(f[1], "index") };
    case "kv-delete-tree":
      arity(f, 1, type);
      return { type, prefix: str(f[0], "prefix") };
    case "txn": {
      if (f.length !== 2) arity(f, 1, type);
      if (!Array.isArray(f[0])) throw bad("txn ops is not an array");
      const ops = (f[0] as unknown[]).map(txnOpIn);
      return f.length === 2 ? { type, ops, now: clock(f[1], "now") } : { type, ops };
    }
    case "tombstone-reap":
      arity(f, 1, type);
      return { type, index: index(f[0], "index") };
    case "kv-lock":
    case "kv-unlock": {
      if (!(type === "kv-lock" && f.length === 5)) arity(f, 4, type);
      const base = {
        key: str(f[0], "key"),
        value: bytes(f[1], "value"),
        flags: flags(f[2], "flags"),
        session: str(f[3], "session"),
      };
      if (type === "kv-unlock") return { type, ...base };
      return f.length === 5 ? { type, ...base, now: clock(f[4], "now") } : { type, ...base };
    }
    case "catalog-register":
      arity(f, 1, type);
      return { type, req: registerIn(f[0], bad) };
    case "catalog-deregister":
      arity(f, 3, type);
      return { type, node: str(f[0], "node"), serviceId: str(f[1], "serviceId"), checkId: str(f[2], "checkId") };
    case "ca-set": {
      arity(f, 3, type);
      if (f[0] !== null && !Array.isArray(f[0])) throw bad("ca-set roots is not an array");
      return {
        type,
        roots: f[0] === null ? null : (f[0] as unknown[]).map((r) => caRootIn(r, bad)),
        config: f[1] === null ? null : caConfigInputIn(f[1], bad),
        cas: f[2] === null ? null : index(f[2], "cas"),
      };
    }
    case "session-create":
      arity(f, 1, type);
      return { type, session: sessionInputIn(f[0], bad) };
    case "session-destroy":
      arity(f, 2, type);
      return { type, id: str(f[0], "id"), now: clock(f[1], "now") };
    case "lock-delay-stamp":
      arity(f, 1, type);
      return { type, now: clock(f[0], "now") };
    case "restore":
      if (f.length === 1) return { type, data: bytes(f[0], "restore data") };
      arity(f, 4, type);
      return {
        type,
        data: bytes(f[0], "restore data"),
        pending: { id: str(f[1], "restore id"), total: index(f[2], "restore total"), sha256: str(f[3], "restore sha256") },
      };
    case "restore-chunk":
      arity(f, 3, type);
      return { type, id: str(f[0], "restore id"), seq: index(f[1], "restore seq"), data: bytes(f[2], "restore chunk") };
    case "restore-abort":
      arity(f, 1, type);
      return f[0] === null ? { type } : { type, id: str(f[0], "restore id") };
    case "coordinate-batch-update":
      arity(f, 1, type);
      if (!Array.isArray(f[0])) throw bad("coordinate-batch-update updates is not an array");
      return { type, updates: (f[0] as unknown[]).map((r) => coordRowIn(r, bad)) };
    case "autopilot-set":
      arity(f, 2, type);
      return { type, config: autopilotConfigIn(f[0], bad), cas: f[1] === null ? null : index(f[1], "cas") };
    default:
      throw bad(`unknown type ${JSON.stringify(type)}`);
  }
}

// ---- apply results -----------------------------------------------------------

function entryOut(e: KVEntry): unknown[] {
  return [e.key, e.value, flagsOut(e.flags), e.lockIndex, e.session, e.createIndex, e.modifyIndex];
}
function entryIn(x: unknown): KVEntry {
  if (!Array.isArray(x)) throw bad("entry is not an array");
  arity(x, 7, "entry");
  return {
    key: str(x[0], "entry key"),
    value: bytes(x[1], "entry value"),
    flags: flags(x[2], "entry flags"),
    lockIndex: index(x[3], "entry lockIndex"),
    session: str(x[4], "entry session"),
    createIndex: index(x[5], "entry createIndex"),
    modifyIndex: index(x[6], "entry modifyIndex"),
  };
}

function txnResultOut(x: TxnResult): unknown[] {
  switch (x.kind) {
    case "kv":
      return [x.kind, entryOut(x.entry), x.withValue];
    case "node":
      return [x.kind, nodeRowOut(x.node)];
    case "service":
      return [x.kind, serviceRowOut(x.service)];
    case "check":
      return [x.kind, checkRowOut(x.check)];
    default:
      return unreachable(x);
  }
}

function txnResultIn(x: unknown): TxnResult {
  if (!Array.isArray(x)) throw bad("txn result entry");
  switch (x[0]) {
    case "kv":
      if (typeof x[2] !== "boolean") throw bad("txn result entry");
      return { kind: "kv", entry: entryIn(x[1]), withValue: x[2] };
    case "node":
      return { kind: "node", node: nodeRowIn(x[1], bad) };
    case "service":
      return { kind: "service", service: serviceRowIn(x[1], bad) };
    case "check":
      return { kind: "check", check: checkRowIn(x[1], bad) };
    default:
      throw bad("txn result entry");
  }
}

export function encodeApplyResult(r: ApplyResult): Uint8Array {
  switch (r.type) {
    case "none":
      return packr.pack([VERSION, r.type]);
    case "bool":
      return packr.pack([VERSION, r.type, r.ok]);
    case "error":
      return packr.pack([VERSION, r.type, r.message]);
    case "txn":
      return packr.pack([
        VERSION,
        r.type,
        r.results.map(txnResultOut),
        r.errors.map((e) => [e.opIndex, e.what]),
      ]);
    default:
      return unreachable(r);
  }
}

export function decodeApplyResult(data: Uint8Array): ApplyResult {
  let raw: unknown;
  try {
    raw = packr.unpack(data);
  } catch (e) {
    throw bad(`not msgpack (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!Array.isArray(raw) || raw.length < 2 || raw[0] !== VERSION) throw bad("not a versioned result");
  const f = raw.slice(2) as unknown[];
  switch (raw[1]) {
    case "none":
      return { type: "none" };
    case "bool":
      if (typeof f[0] !== "boolean") throw bad("bool result");
      return { type: "bool", ok: f[0] };
    case "error":
      return { type: "error", message: str(f[0], "error message") };
    case "txn": {
      if (!Array.isArray(f[0]) || !Array.isArray(f[1])) throw bad("txn result");
      const results: TxnResult[] = (f[0] as unknown[]).map(txnResultIn);
      const errors: TxnError[] = (f[1] as unknown[]).map((x) => {
        if (!Array.isArray(x)) throw bad("txn error");
        return { opIndex: index(x[0], "opIndex"), what: str(x[1], "what") };
      });
      return { type: "txn", results, errors };
    }
    default:
      throw bad(`unknown result type ${JSON.stringify(raw[1])}`);
  }
}
