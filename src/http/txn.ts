/**
 * http/txn: PUT /v1/txn, Consul's atomic multi-operation endpoint (KV, Node, Service and
 * Check operations; the catalog ops take the fields Consul's convertOps takes).
 *
 * The body is parsed with an exact-integer JSON parser (Flags are uint64) and decoded
 * like Go's encoding/json into api.TxnOps (case-insensitive field names, base64 Value).
 * Read-only transactions (only get/check verbs) are served from the store with the
 * consistency headers; the rest go through backend.apply. 200 with Results, 409 with
 * Errors when rolled back, 413/400 with Consul's texts for oversize or malformed bodies.
 *
 * Must never: read more than the body limit, or accept a verb the store does not know.
 */

import { CairnError, unreachable } from "../shared/errors.ts";
import { TXN_MAX_OPS } from "../shared/limits.ts";
import type { CatalogTxnVerb, KVTxnOp, KVTxnVerb, TxnError, TxnOp, TxnResult } from "../state/types.ts";
import { NIL_MAP } from "../state/catalog_types.ts";
import { txnPreCheck } from "../state/txn.ts";
import { asObj, BodyDecodeError, decodeCheck, decodeNode, decodeService, int, str } from "./json_catalog_decode.ts";
import { renderCheck, renderNode, renderNodeService } from "./json_catalog.ts";
import type { Env, RequestCtx } from "./context.ts";
import { goQuote, jsonString, renderEntry } from "./json.ts";
import { field, type JsonValue, JsonSyntaxError, jsonKind, parseJson } from "./jsonparse.ts";
import { checkDatacenter, effectiveConsistency, parseQueryOptions } from "./query.ts";
import { jsonReply, type Reply, textReply } from "./respond.ts";

const TXN_DOC = "https://www.consul.io/docs/agent/config/config-files#txn_max_req_len";

const KV_VERBS: readonly KVTxnVerb[] = [
  "set", "cas", "lock", "unlock", "get", "get-or-empty", "get-tree",
  "check-index", "check-session", "check-not-exists", "delete", "delete-tree", "delete-cas",
];
const WRITE_VERBS = new Set<string>(["set", "delete", "delete-cas", "delete-tree", "cas", "lock", "unlock"]);

/** A decode failure that Consul reports as "Failed to parse body: <text>". */
class DecodeError extends Error {}

function typeError(v: JsonValue, structName: string, fieldPath: string, goType: string): DecodeError {
  const what = v.t === "num" ? `number ${v.src}` : jsonKind(v);
  return new DecodeError(`json: cannot unmarshal ${what} into Go struct field ${structName}.${fieldPath} of type ${goType}`);
}

function decodeString(v: JsonValue | undefined, path: string): string {
  if (v === undefined || v.t === "null") return "";
  if (v.t !== "str") throw typeError(v, "KVTxnOp", path, "string");
  return v.v;
}

function decodeUint64(v: JsonValue | undefined, path: string): bigint {
  if (v === undefined || v.t === "null") return 0n;
  if (v.t !== "num") throw typeError(v, "KVTxnOp", path, "uint64");
  if (!/^[0-9]+$/.test(v.src)) throw typeError(v, "KVTxnOp", path, "uint64");
  const n = BigInt(v.src);
  if (n > 0xffffffffffffffffn) throw typeError(v, "KVTxnOp", path, "uint64");
  return n;
}

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;

function decodeBytes(v: JsonValue | undefined, path: string): Uint8Array {
  if (v === undefined || v.t === "null") return new Uint8Array(0);
  if (v.t !== "str") throw typeError(v, "KVTxnOp", path, "[]uint8");
  const s = v.v.replace(/[\r\n]/g, "");
  if (s.length % 4 !== 0 || !B64.test(s)) {
    let at = 0;
    while (at < s.length && /[A-Za-z0-9+/]/.test(s[at] as string)) at++;
    if (at === s.length) at = s.length - (s.length % 4);
    throw new DecodeError(`illegal base64 data at input byte ${at}`);
  }
  const buf = Buffer.from(s, "base64");
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

interface Decoded {
  readonly ops: TxnOp[];
  readonly unknownVerbs: TxnError[];
  readonly writes: number;
}

const CATALOG_VERBS: readonly CatalogTxnVerb[] = ["set", "cas", "get", "delete", "delete-cas"];

function catalogVerb(verb: string, kind: string, opIndex: number, unknown: TxnError[]): CatalogTxnVerb {
  if ((CATALOG_VERBS as readonly string[]).includes(verb)) return verb as CatalogTxnVerb;
  unknown.push({ opIndex, what: `unknown ${kind} verb ${goQuote(verb)}` });
  return "get";
}

/** A Node, Service or Check op as Consul's convertOps builds it; undefined when the item has none. */
function decodeCatalogOp(item: [string, JsonValue][], opIndex: number, dc: string, unknown: TxnError[]): TxnOp | undefined {
  const nodeOp = asObj(field(item, "Node"), "TxnOp.Node", "api.NodeTxnOp");
  if (nodeOp !== undefined) {
    const verb = catalogVerb(str(nodeOp, "Verb", "NodeTxnOp"), "Node", opIndex, unknown);
    const n = asObj(field(nodeOp, "Node"), "NodeTxnOp.Node", "api.Node");
    const node = decodeNode(n, "NodeTxnOp.Node");
    return {
      kind: "node",
      verb,
      node: { ...node, datacenter: node.datacenter === "" ? dc : node.datacenter },
      index: int(n, "ModifyIndex", "NodeTxnOp.Node", "uint64"),
    };
  }
  const svcOp = asObj(field(item, "Service"), "TxnOp.Service", "api.ServiceTxnOp");
  if (svcOp !== undefined) {
    const verb = catalogVerb(str(svcOp, "Verb", "ServiceTxnOp"), "Service", opIndex, unknown);
    const so = asObj(field(svcOp, "Service"), "ServiceTxnOp.Service", "api.AgentService") ?? [];
    const s = decodeService(so, "ServiceTxnOp.Service");
    return {
      kind: "service",
      verb,
      node: str(svcOp, "Node", "ServiceTxnOp"),
      service: {
        ...s,
        kind: "",
        id: s.id === "" ? s.service : s.id,
        taggedAddresses: NIL_MAP,
        socketPath: "",
        weights: s.weights ?? { passing: 0, warning: 0 },
        proxy: null,
        connect: null,
        locality: null,
      },
      index: int(so, "ModifyIndex", "ServiceTxnOp.Service", "uint64"),
    };
  }
  const chkOp = asObj(field(item, "Check"), "TxnOp.Check", "api.CheckTxnOp");
  if (chkOp !== undefined) {
    const verb = catalogVerb(str(chkOp, "Verb", "CheckTxnOp"), "Check", opIndex, unknown);
    const co = asObj(field(chkOp, "Check"), "CheckTxnOp.Check", "api.HealthCheck") ?? [];
    const c = decodeCheck(co, "CheckTxnOp.Check");
    const d = c.definition;
    return {
      kind: "check",
      verb,
      check: {
        ...c,
        checkId: c.checkId === "" && c.name !== "" ? c.name : c.checkId,
        type: "",
        intervalNs: 0,
        timeoutNs: 0,
        exposedPort: 0,
        definition: { ...d, tlsServerName: "", udp: "", grpc: "", grpcUseTls: false },
      },
      index: int(co, "ModifyIndex", "CheckTxnOp.Check", "uint64"),
    };
  }
  return undefined;
}

function decodeOps(root: JsonValue, kvMaxValueSize: number, dc: string): Decoded | Reply {
  if (root.t === "null") return { ops: [], unknownVerbs: [], writes: 0 };
  if (root.t !== "arr") throw new DecodeError(`json: cannot unmarshal ${jsonKind(root)} into Go value of type api.TxnOps`);
  if (root.v.length > TXN_MAX_OPS) {
    return textReply(413, `Transaction contains too many operations (${root.v.length} > ${TXN_MAX_OPS})`);
  }
  const ops: TxnOp[] = [];
  const unknownVerbs: TxnError[] = [];
  let writes = 0;
  for (const item of root.v) {
    if (item.t === "null") continue; // a nil *TxnOp
    if (item.t !== "obj") throw new DecodeError(`json: cannot unmarshal ${jsonKind(item)} into Go value of type api.TxnOp`);
    const kv = field(item.v, "KV");
    if (kv === undefined || kv.t === "null") {
      let cat: TxnOp | undefined;
      try {
        cat = decodeCatalogOp(item.v, ops.length, dc, unknownVerbs);
      } catch (e) {
        if (e instanceof BodyDecodeError) throw new DecodeError(e.message);
        throw e;
      }
      if (cat !== undefined) {
        if (cat.kind !== "kv" && cat.verb !== "get") writes++;
        ops.push(cat);
      }
      continue;
    }
    if (kv.t !== "obj") throw new DecodeError(`json: cannot unmarshal ${jsonKind(kv)} into Go struct field TxnOp.KV of type api.KVTxnOp`);
    const verb = decodeString(field(kv.v, "Verb"), "KV.Verb");
    const key = decodeString(field(kv.v, "Key"), "KV.Key");
    const value = decodeBytes(field(kv.v, "Value"), "KV.Value");
    const flags = decodeUint64(field(kv.v, "Flags"), "KV.Flags");
    const index = decodeUint64(field(kv.v, "Index"), "KV.Index");
    const session = decodeString(field(kv.v, "Session"), "KV.Session");
    if (value.byteLength > kvMaxValueSize) {
      return textReply(413, `Value for key ${goQuote(key)} is too large (${value.byteLength} > ${kvMaxValueSize} bytes)`);
    }
    if (WRITE_VERBS.has(verb)) writes++;
    const known = (KV_VERBS as readonly string[]).includes(verb);
    if (!known) unknownVerbs.push({ opIndex: ops.length, what: `unknown KV verb ${goQuote(verb)}` });
    const op: KVTxnOp = { verb: (known ? verb : "get") as KVTxnVerb, key, value, flags, index: Number(index), session };
    ops.push({ kind: "kv", op });
  }
  return { ops, unknownVerbs, writes };
}

function renderResults(results: readonly TxnResult[]): string {
  if (results.length === 0) return "null";
  let out = "[";
  for (let i = 0; i < results.length; i++) {
    const r = results[i];
    if (r === undefined) continue;
    if (i > 0) out += ",";
    switch (r.kind) {
      case "kv":
        out += '{"KV":' + renderEntry(r.entry, r.withValue) + "}";
        break;
      case "node":
        out += '{"Node":' + renderNode(r.node) + "}";
        break;
      case "service":
        out += '{"Service":' + renderNodeService(r.service) + "}";
        break;
      case "check":
        out += '{"Check":' + renderCheck(r.check) + "}";
        break;
      default:
        unreachable(r);
    }
  }
  return out + "]";
}

function renderErrors(errors: readonly TxnError[]): string {
  if (errors.length === 0) return "null";
  return "[" + errors.map((e) => '{"OpIndex":' + e.opIndex + ',"What":' + jsonString(e.what) + "}").join(",") + "]";
}

export async function txnHandler(ctx: RequestCtx, env: Env): Promise<Reply> {
  // For backward compatibility Consul uses kv_max_value_size as the limit when it is larger.
  const max = Math.max(env.limits.txnMaxReqLen, env.limits.kvMaxValueSize);
  if (ctx.contentLength > max) {
    return {
      ...textReply(413, `Request body(${ctx.contentLength} bytes) too large, max size: ${max} bytes. See ${TXN_DOC}.`),
      close: true,
    };
  }
  const body = await ctx.readBody(max);
  if (!body.ok) {
    return { ...textReply(413, `Request body too large, max size: ${max} bytes. See ${TXN_DOC}.`), close: true };
  }
  let decoded: Decoded | Reply;
  try {
    decoded = decodeOps(parseJson(body.data.toString("utf8")), env.limits.kvMaxValueSize, env.agent.datacenter);
  } catch (e) {
    if (e instanceof JsonSyntaxError || e instanceof DecodeError) return textReply(400, `Failed to parse body: ${e.message}`);
    throw e;
  }
  if ("status" in decoded) return decoded;
  if (decoded.unknownVerbs.length > 0) {
    return jsonReply('{"Results":null,"Errors":' + renderErrors(decoded.unknownVerbs) + "}", 409);
  }
  if (decoded.writes === 0) {
    const opts = parseQueryOptions(ctx.query, ctx.headers, env.agent.datacenter);
    const leader = await env.backend.readBarrier(opts.consistency);
    const r = env.backend.store.txnRead(decoded.ops);
    const errors = r.value.errors;
    const results = errors.length > 0 ? [] : r.value.results;
    const last = leader.lastContactMs > 0 ? Math.floor(leader.lastContactMs) : 0;
    const json =
      '{"Results":' + renderResults(results) +
      ',"Errors":' + renderErrors(errors) +
      ',"Index":0,"LastContact":' + last * 1_000_000 +
      ',"KnownLeader":' + (leader.knownLeader ? "true" : "false") +
      ',"ConsistencyLevel":' + jsonString(effectiveConsistency(opts.consistency)) +
      ',"NotModified":false,"Backend":0,"ResultsFilteredByACLs":false}';
    const headers = {
      "X-Consul-LastContact": String(last),
      "X-Consul-KnownLeader": leader.knownLeader ? "true" : "false",
    };
    return jsonReply(json, errors.length > 0 ? 409 : 200, headers);
  }
  checkDatacenter(ctx.query, env.agent.datacenter);
  // Consul's Txn.Apply pre-checks catalog ops before applying (servicePreApply).
  const pre = txnPreCheck(decoded.ops).filter((e) => decoded.ops[e.opIndex]?.kind !== "kv");
  if (pre.length > 0) return jsonReply('{"Results":null,"Errors":' + renderErrors(pre) + "}", 409);
  // The leader's time travels with the command so lock verbs can check lock-delay deterministically.
  const out = await env.backend.apply({ type: "txn", ops: decoded.ops, now: env.now() });
  if (out.type === "error") throw new CairnError("internal", out.message);
  if (out.type !== "txn") throw new CairnError("internal", "unexpected apply result for a transaction");
  if (out.errors.length > 0) {
    return jsonReply('{"Results":null,"Errors":' + renderErrors(out.errors) + "}", 409);
  }
  return jsonReply('{"Results":' + renderResults(out.results) + ',"Errors":null}', 200);
}
