/**
 * server/rpc_endpoints_wire: the messages client agents and servers exchange on the server
 * port (method names, request and reply shapes, and their checks). Both sides import it:
 * servers in server/rpc_endpoints.ts, client agents in agent/client.ts.
 *
 *   Client.HTTP        {id, method, target, headers, contentLength, body | tooLarge} -> {status, headers, body}
 *   Client.HTTPCancel  (cast) {id}: the client's caller left; abort the forwarded request
 *   Client.Apply       {cmd: encodeCommand bytes} -> {result: encodeApplyResult bytes}
 *   Client.NodeState   {node, minIndex, waitMs} -> {index, rows: encodeApplyResult(txn) bytes}
 *   Client.DNS         {query: raw DNS message, tcp} -> {answer: raw DNS message | null}
 *   Client.Ping        {} -> {ok: true}
 *   Internal.KeyringOperation {op, key, relayFactor} -> {results: KeyringPoolResult[]}: a server of
 *                      another datacenter runs a keyring operation on its own LAN pool (Consul's
 *                      KeyringOperation with Forwarded set: the WAN pool was done by the caller)
 *
 * Must never: trust a decoded body without its guard (they come from the network).
 */

import type { KeyringOp, KeyringPoolResult } from "../http/agent_ops.ts";

export const METHOD_CLIENT_HTTP = "Client.HTTP";
export const METHOD_CLIENT_HTTP_CANCEL = "Client.HTTPCancel";
export const METHOD_CLIENT_APPLY = "Client.Apply";
export const METHOD_CLIENT_NODE_STATE = "Client.NodeState";
export const METHOD_CLIENT_DNS = "Client.DNS";
export const METHOD_CLIENT_PING = "Client.Ping";
export const METHOD_INTERNAL_KEYRING = "Internal.KeyringOperation";

export type KeyringWireOp = KeyringOp;

export interface KeyringForwardRequest {
  readonly op: KeyringWireOp;
  readonly key: string;
  readonly relayFactor: number;
}

/** One pool's answer, as the HTTP layer renders it. */
export type KeyringWireResult = KeyringPoolResult;

export interface HttpForwardRequest {
  /** Unique per client agent (for Client.HTTPCancel). */
  readonly id: string;
  readonly method: string;
  /** Path and query as the caller sent them (origin-form). */
  readonly target: string;
  /** Lower-cased names, hop-by-hop headers removed. */
  readonly headers: Readonly<Record<string, string>>;
  /** Declared Content-Length, -1 when absent. */
  readonly contentLength: number;
  readonly body: Uint8Array | null;
  /** Set when the body was over the client's forwarding limit (the handler answers "too large"). */
  readonly tooLarge: { readonly received: number; readonly declared: boolean } | null;
}

export interface HttpForwardReply {
  readonly status: number;
  /** Flat name/value pairs as the server's handler rendered them. */
  readonly headers: readonly string[];
  readonly body: Uint8Array | null;
}

export interface NodeStateRequest {
  readonly node: string;
  readonly minIndex: number;
  readonly waitMs: number;
}

export interface NodeStateReply {
  readonly index: number;
  /** encodeApplyResult of a txn result holding the node row, its service rows and its check rows. */
  readonly rows: Uint8Array;
}

/** Whether a request path is answered by the client agent itself (not forwarded). */
export function isAgentLocal(path: string): boolean {
  if (!path.startsWith("/v1/")) return true;
  if (path.startsWith("/v1/agent/")) return path.startsWith("/v1/agent/connect/") ? false : true;
  if (path === "/v1/agent") return true;
  if (path.startsWith("/v1/event/")) return true;
  if (path === "/v1/operator/keyring" || path.startsWith("/v1/operator/keyring/")) return true;
  return false;
}

/** Path and raw query of a request target (origin- or absolute-form). */
export function splitTarget(target: string): { path: string; query: string; origin: string } {
  let t = target;
  if (t.charCodeAt(0) !== 47) {
    const abs = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/]*/.exec(t);
    if (abs) t = t.slice(abs[0].length) || "/";
  }
  const qi = t.indexOf("?");
  return { path: qi < 0 ? t : t.slice(0, qi), query: qi < 0 ? "" : t.slice(qi + 1), origin: t };
}

const isObj = (b: unknown): b is Record<string, unknown> => typeof b === "object" && b !== null;
const isBytes = (b: unknown): b is Uint8Array => b instanceof Uint8Array;

export function isHttpForwardRequest(b: unknown): b is HttpForwardRequest {
  if (!isObj(b)) return false;
  if (typeof b.id !== "string" || typeof b.method !== "string" || typeof b.target !== "string") return false;
  if (typeof b.contentLength !== "number" || !isObj(b.headers)) return false;
  for (const v of Object.values(b.headers)) if (typeof v !== "string") return false;
  if (b.body !== null && !isBytes(b.body)) return false;
  if (b.tooLarge !== null) {
    if (!isObj(b.tooLarge) || typeof b.tooLarge.received !== "number" || typeof b.tooLarge.declared !== "boolean") return false;
  }
  return true;
}

export function isHttpForwardReply(b: unknown): b is HttpForwardReply {
  if (!isObj(b) || typeof b.status !== "number" || !Array.isArray(b.headers)) return false;
  if (!b.headers.every((h) => typeof h === "string")) return false;
  return b.body === null || isBytes(b.body);
}

export function isNodeStateRequest(b: unknown): b is NodeStateRequest {
  return isObj(b) && typeof b.node === "string" && typeof b.minIndex === "number" && typeof b.waitMs === "number";
}

export function isNodeStateReply(b: unknown): b is NodeStateReply {
  return isObj(b) && typeof b.index === "number" && isBytes(b.rows);
}

export function isKeyringForwardRequest(b: unknown): b is KeyringForwardRequest {
  if (!isObj(b) || typeof b.key !== "string" || typeof b.relayFactor !== "number") return false;
  return b.op === "install" || b.op === "use" || b.op === "remove" || b.op === "list";
}

const isRecordOf = (b: unknown, t: "string" | "number"): boolean =>
  isObj(b) && Object.values(b).every((v) => typeof v === t);

function isKeyringWireResult(b: unknown): b is KeyringWireResult {
  return isObj(b) && typeof b.wan === "boolean" && typeof b.datacenter === "string" && typeof b.segment === "string" &&
    isRecordOf(b.messages, "string") && isRecordOf(b.keys, "number") && isRecordOf(b.primaryKeys, "number") &&
    typeof b.numNodes === "number" && typeof b.error === "string";
}

/** The results of an Internal.KeyringOperation reply, or undefined when it is malformed. */
export function keyringResultsOf(b: unknown): KeyringWireResult[] | undefined {
  if (!isObj(b) || !Array.isArray(b.results)) return undefined;
  const out: KeyringWireResult[] = [];
  for (const r of b.results) {
    if (!isKeyringWireResult(r)) return undefined;
    out.push(r);
  }
  return out;
}

export function bytesField(b: unknown, name: string): Uint8Array | undefined {
  if (!isObj(b)) return undefined;
  const v = b[name];
  return isBytes(v) ? v : undefined;
}

export function stringField(b: unknown, name: string): string | undefined {
  if (!isObj(b)) return undefined;
  const v = b[name];
  return typeof v === "string" ? v : undefined;
}
