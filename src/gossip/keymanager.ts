/**
 * gossip/keymanager: cluster-wide keyring operations over a running pool (serf
 * KeyManager): one `_serf_<op>-key(s)` query with serf's default parameters, every
 * member answering on its own keyring, the answers aggregated into serf's KeyResponse.
 * NumNodes is the count of members memberlist believes alive when the query goes out;
 * as in serf, the answer comes as soon as that many nodes responded.
 *
 * Must never: change a keyring itself (only the answering nodes do), or wait past the
 * query's timeout.
 */

import { Buffer } from "node:buffer";
import { CairnError } from "../shared/errors.ts";
import type { GossipHandle } from "./driver_types.ts";
import { aggregateKeyResponses, encodeKeyRequest, keyQueryName } from "./serf/keys.ts";
import type { KeyOp, KeyResponse } from "./serf/keys.ts";

/** Go's base64.StdEncoding.DecodeString (strict, padded); throws Go's error text. */
export function decodeStdBase64(s: string): Uint8Array {
  const bad = /[^A-Za-z0-9+/=]/.exec(s);
  if (bad !== null) throw new CairnError("bad-request", `illegal base64 data at input byte ${bad.index}`);
  const pad = s.indexOf("=");
  if (s.length % 4 !== 0 || (pad >= 0 && (pad < s.length - 2 || !/^=+$/.test(s.slice(pad))))) {
    const at = pad >= 0 ? pad : s.length - (s.length % 4);
    throw new CairnError("bad-request", `illegal base64 data at input byte ${at}`);
  }
  return Uint8Array.from(Buffer.from(s, "base64"));
}

export interface KeyOperationResult {
  response: KeyResponse;
  /** serf's error ("2/3 nodes reported failure", ...) or null. */
  error: string | null;
}

/** Runs one key operation across the pool ("" as the key for list). */
export async function keyOperation(
  handle: Pick<GossipHandle, "query" | "members">,
  op: KeyOp,
  keyB64: string,
  relayFactor = 0,
): Promise<KeyOperationResult> {
  const raw = decodeStdBase64(keyB64);
  const numNodes = (await handle.members()).filter((m) => m.status === "alive" || m.status === "leaving").length;
  const res = await handle.query(keyQueryName(op), encodeKeyRequest(raw), { relayFactor, expectResponses: numNodes });
  return aggregateKeyResponses(res.responses, numNodes);
}
