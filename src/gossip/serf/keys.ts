/**
 * gossip/serf/keys: serf's cluster-wide keyring operations (serf keymanager.go and the
 * key half of internal_query.go): the internal query names `_serf_install-key`,
 * `_serf_use-key`, `_serf_remove-key`, `_serf_list-keys`; the keyRequest (`[7]` +
 * {Key}) and nodeKeyResponse (`[8]` + {Keys, Message, PrimaryKey, Result}) messages;
 * answering one on this node's keyring (list responses trimmed to the response size
 * limit with serf's "truncated key list response" message); and aggregating the
 * responses into serf's KeyResponse (NumNodes, NumResp, NumErr, Messages, Keys,
 * PrimaryKeys) with serf's "N/M nodes reported failure|success" errors.
 *
 * Must never: do I/O (the driver sends the query and the responses), or throw on a
 * malformed request or response (it becomes a failure message, as in serf).
 */

import { Buffer } from "node:buffer";
import {
  asMap,
  ByteReader,
  ByteWriter,
  fieldBool,
  fieldBytes,
  fieldStr,
  readValue,
  writeArrayHeader,
  writeBool,
  writeBytesOrNil,
  writeMapHeader,
  writeNil,
  writeStr,
} from "../msgpack.ts";
import type { Keyring } from "../keyring.ts";
import { SERF_MSG } from "./messages.ts";

export const INTERNAL_QUERY_PREFIX = "_serf_";

export type KeyOp = "install" | "use" | "remove" | "list";

/** The serf query name of a key operation. */
export function keyQueryName(op: KeyOp): string {
  switch (op) {
    case "install": return "_serf_install-key";
    case "use": return "_serf_use-key";
    case "remove": return "_serf_remove-key";
    case "list": return "_serf_list-keys";
  }
}

/** The operation of an internal key query name, or null for any other query. */
export function keyOpOf(queryName: string): KeyOp | null {
  switch (queryName) {
    case "_serf_install-key": return "install";
    case "_serf_use-key": return "use";
    case "_serf_remove-key": return "remove";
    case "_serf_list-keys": return "list";
    default: return null;
  }
}

/** serf nodeKeyResponse. */
export interface NodeKeyResponse {
  result: boolean;
  message: string;
  keys: string[];
  primaryKey: string;
}

/** `[keyRequest]` + {Key: raw bytes}. */
export function encodeKeyRequest(key: Uint8Array | null): Uint8Array {
  const w = new ByteWriter(64);
  w.u8(SERF_MSG.keyRequest);
  writeMapHeader(w, 1);
  writeStr(w, "Key"), writeBytesOrNil(w, key);
  return w.finish();
}

/** The key of a keyRequest; throws on a malformed one. */
export function decodeKeyRequest(buf: Uint8Array): Uint8Array {
  if (buf.length < 1 || buf[0] !== SERF_MSG.keyRequest) throw new Error("not a key request");
  const m = asMap(readValue(new ByteReader(buf, 1)), "key request");
  return fieldBytes(m, "Key") ?? new Uint8Array(0);
}

export function encodeKeyResponse(r: NodeKeyResponse): Uint8Array {
  const w = new ByteWriter(128 + r.keys.length * 48);
  w.u8(SERF_MSG.keyResponse);
  writeMapHeader(w, 4);
  writeStr(w, "Keys");
  if (r.keys.length === 0) writeNil(w);
  else {
    writeArrayHeader(w, r.keys.length);
    for (const k of r.keys) writeStr(w, k);
  }
  writeStr(w, "Message"), writeStr(w, r.message);
  writeStr(w, "PrimaryKey"), writeStr(w, r.primaryKey);
  writeStr(w, "Result"), writeBool(w, r.result);
  return w.finish();
}

/** Throws on anything that is not a keyResponse. */
export function decodeKeyResponse(buf: Uint8Array): NodeKeyResponse {
  if (buf.length < 1 || buf[0] !== SERF_MSG.keyResponse) throw new Error("not a key response");
  const m = asMap(readValue(new ByteReader(buf, 1)), "key response");
  const kv = m.get("Keys");
  const keys: string[] = [];
  if (Array.isArray(kv)) {
    for (const k of kv) if (k instanceof Uint8Array) keys.push(new TextDecoder().decode(k));
  }
  return { result: fieldBool(m, "Result"), message: fieldStr(m, "Message"), keys, primaryKey: fieldStr(m, "PrimaryKey") };
}

/** What one node answers to an internal key query (handleInstallKey/UseKey/RemoveKey/ListKeys). */
export function answerKeyQuery(
  op: KeyOp,
  payload: Uint8Array,
  keyring: Keyring | null,
  maxEncodedBytes: number,
): NodeKeyResponse {
  const out: NodeKeyResponse = { result: false, message: "", keys: [], primaryKey: "" };
  if (op === "list") {
    if (keyring === null) {
      out.message = "Keyring is empty (encryption not enabled)";
      return out;
    }
    const all = keyring.keys().map((k) => Buffer.from(k).toString("base64"));
    out.primaryKey = Buffer.from(keyring.primaryKey() ?? new Uint8Array(0)).toString("base64");
    out.result = true;
    out.keys = all;
    // serf keyListResponseWithCorrectSize: drop keys until the response fits.
    for (let i = all.length; i >= 0; i--) {
      out.keys = all.slice(0, i);
      if (i < all.length) out.message = `truncated key list response, showing first ${i} of ${all.length} keys`;
      if (encodeKeyResponse(out).length <= maxEncodedBytes) return out;
    }
    return out;
  }
  let key: Uint8Array;
  try {
    key = decodeKeyRequest(payload);
  } catch {
    return out; // serf: "Failed to decode key request" is only logged; Result false, no message
  }
  if (keyring === null) {
    out.message = "No keyring to modify (encryption not enabled)";
    return out;
  }
  try {
    switch (op) {
      case "install": keyring.addKey(key); break;
      case "use": keyring.useKey(key); break;
      case "remove": keyring.removeKey(key); break;
    }
  } catch (e) {
    out.message = e instanceof Error ? e.message : String(e);
    return out;
  }
  out.result = true;
  return out;
}

/** serf KeyResponse. */
export interface KeyResponse {
  messages: Record<string, string>;
  numNodes: number;
  numResp: number;
  numErr: number;
  keys: Record<string, number>;
  primaryKeys: Record<string, number>;
}

/** streamKeyResp + handleKeyRequest's checks: the aggregate and serf's error text (or null). */
export function aggregateKeyResponses(
  responses: readonly { from: string; payload: Uint8Array }[],
  numNodes: number,
): { response: KeyResponse; error: string | null } {
  const r: KeyResponse = { messages: {}, numNodes, numResp: 0, numErr: 0, keys: {}, primaryKeys: {} };
  for (const { from, payload } of responses) {
    r.numResp++;
    if (payload.length < 1 || payload[0] !== SERF_MSG.keyResponse) {
      r.messages[from] = `Invalid key query response type: [${Array.from(payload).join(" ")}]`;
      r.numErr++;
      continue;
    }
    let nr: NodeKeyResponse;
    try {
      nr = decodeKeyResponse(payload);
    } catch {
      r.messages[from] = `Failed to decode key query response: [${Array.from(payload).join(" ")}]`;
      r.numErr++;
      continue;
    }
    if (!nr.result) {
      r.messages[from] = nr.message;
      r.numErr++;
    } else if (nr.message.length > 0) {
      r.messages[from] = nr.message;
    }
    for (const k of nr.keys) r.keys[k] = (r.keys[k] ?? 0) + 1;
    r.primaryKeys[nr.primaryKey] = (r.primaryKeys[nr.primaryKey] ?? 0) + 1;
  }
  if (r.numErr !== 0) return { response: r, error: `${r.numErr}/${r.numNodes} nodes reported failure` };
  if (r.numResp !== r.numNodes) return { response: r, error: `${r.numResp}/${r.numNodes} nodes reported success` };
  return { response: r, error: null };
}
