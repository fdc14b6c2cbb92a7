/**
 * http/operator_keyring: /v1/operator/keyring (Consul operator_endpoint.go
 * OperatorKeyringEndpoint): GET lists the gossip keys (`?relay-factor` 0-5,
 * `?local-only` for GET only), POST installs, PUT makes primary, DELETE removes, each
 * with body {"Key": "<base64>"}. List answers `[{WAN, Datacenter, Segment, Messages,
 * Keys, PrimaryKeys, NumNodes, Error}]`; the others answer an empty 200. A pool that
 * reported errors turns the answer into a 500 whose text is go-multierror's list
 * ("<dc> (LAN) error: N/M nodes reported failure" and "<node>: <message>" lines).
 *
 * Must never: hold gossip logic (agent/lan.ts and gossip/keymanager.ts do), or accept a
 * relay factor outside [0, 5].
 */

import { CairnError } from "../shared/errors.ts";
import { KEYRING_MAX_RELAY_FACTOR } from "../shared/limits.ts";
import type { GossipOps, KeyringOp, KeyringPoolResult } from "./agent_ops.ts";
import { parseGoBool, readPlainBody } from "./agent_services.ts";
import type { Env, RequestCtx } from "./context.ts";
import { jsonReply, NO_BODY, textReply, type Reply } from "./respond.ts";

function badRequest(msg: string): CairnError {
  return new CairnError("bad-request", msg);
}

function opOf(method: string): KeyringOp {
  switch (method) {
    case "GET": return "list";
    case "POST": return "install";
    case "PUT": return "use";
    case "DELETE": return "remove";
    default: throw new CairnError("method-not-allowed", `method ${method} not allowed`);
  }
}

/** The Key of the body, as encoding/json would fill keyringArgs. */
function keyOf(body: unknown): string {
  if (body === null || body === undefined) return "";
  if (typeof body !== "object" || Array.isArray(body)) {
    const kind = Array.isArray(body) ? "array" : typeof body === "string" ? "string" : typeof body === "number" ? "number" : "bool";
    throw badRequest(`Request decode failed: json: cannot unmarshal ${kind} into Go value of type agent.keyringArgs`);
  }
  let key: unknown = undefined;
  for (const [k, v] of Object.entries(body)) if (k.toLowerCase() === "key") key = v;
  if (key === undefined || key === null) return "";
  if (typeof key !== "string") {
    throw badRequest(`Request decode failed: json: cannot unmarshal ${typeof key === "number" ? "number" : typeof key} into Go struct field keyringArgs.Key of type string`);
  }
  return key;
}

/** strconv.Atoi for the relay factor, then ParseRelayFactor. */
function relayFactorOf(raw: string): number {
  if (!/^[+-]?\d+$/.test(raw)) throw badRequest(`Error parsing relay factor: strconv.Atoi: parsing ${JSON.stringify(raw)}: invalid syntax`);
  const n = Number(raw);
  if (n < 0 || n > KEYRING_MAX_RELAY_FACTOR) throw badRequest(`Invalid relay-factor: Relay factor must be in range: [0, ${KEYRING_MAX_RELAY_FACTOR}]`);
  return n;
}

/** keyringErrorsOrNil, rendered as go-multierror does; null when no pool failed. */
export function keyringErrorText(results: readonly KeyringPoolResult[]): string | null {
  const errs: string[] = [];
  for (const r of results) {
    if (r.error === "") continue;
    errs.push(`${r.wan ? "WAN" : `${r.datacenter} (LAN)`} error: ${r.error}`);
    for (const node of Object.keys(r.messages).sort()) errs.push(`${node}: ${r.messages[node] ?? ""}`);
  }
  if (errs.length === 0) return null;
  const head = errs.length === 1 ? "1 error occurred:" : `${errs.length} errors occurred:`;
  return `${head}\n${errs.map((e) => `\t* ${e}`).join("\n")}\n\n`;
}

function renderList(results: readonly KeyringPoolResult[]): string {
  return JSON.stringify(results.map((r) => ({
    WAN: r.wan,
    Datacenter: r.datacenter,
    Segment: r.segment,
    Messages: r.messages,
    Keys: r.keys,
    PrimaryKeys: r.primaryKeys,
    NumNodes: r.numNodes,
    Error: r.error,
  })));
}

export async function operatorKeyring(ctx: RequestCtx, env: Env): Promise<Reply> {
  const op = opOf(ctx.method);
  const key = op === "list" ? "" : keyOf(await readPlainBody(ctx));
  let relayFactor = 0;
  const rf = ctx.query.get("relay-factor") ?? "";
  if (rf !== "") relayFactor = relayFactorOf(rf);
  let localOnly = false;
  const lo = ctx.query.get("local-only") ?? "";
  if (lo !== "") {
    const v = parseGoBool(lo);
    if (v === undefined) throw badRequest(`Error parsing local-only: strconv.ParseBool: parsing ${JSON.stringify(lo)}: invalid syntax`);
    localOnly = v;
    if (localOnly && op !== "list") throw badRequest("Invalid use of local-only: local-only can only be set for list requests");
  }
  const g: GossipOps | undefined = env.ops?.gossip;
  if (g?.keyring === undefined) throw new CairnError("internal", "gossip is not available on this agent");
  let results: KeyringPoolResult[];
  try {
    results = await g.keyring(op, key, relayFactor, localOnly);
  } catch (e) {
    if (e instanceof CairnError) throw new CairnError("internal", e.message);
    throw new CairnError("internal", e instanceof Error ? e.message : String(e));
  }
  const err = keyringErrorText(results);
  if (err !== null) return textReply(500, err);
  if (op === "list") return jsonReply(renderList(results));
  return { status: 200, headers: {}, body: NO_BODY };
}
