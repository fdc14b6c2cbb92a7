/**
 * rpc/errors: why an RPC call failed, in a form callers can act on.
 *
 * `code` tells whether the request may have reached the other side:
 *   unreachable  never sent (no connection, dial failed, in back-off): safe to retry
 *   overloaded   refused locally at a limit before sending: safe to retry later
 *   timeout      sent (or queued), no answer in time: outcome unknown
 *   closed       the connection closed with the call in flight: outcome unknown
 *   remote       the handler on the other side failed; `kind` is its ErrorKind
 *
 * Must never: carry transport objects (sockets) or stack traces from the peer.
 */

import { CairnError, type ErrorKind } from "../shared/errors.ts";

export type RpcErrorCode = "unreachable" | "overloaded" | "timeout" | "closed" | "remote";

export class RpcError extends CairnError {
  readonly code: RpcErrorCode;
  constructor(code: RpcErrorCode, kind: ErrorKind, message: string) {
    super(kind, message);
    this.code = code;
    this.name = "RpcError";
  }
}

export function isRpcError(e: unknown): e is RpcError {
  return e instanceof RpcError;
}

export function rpcError(code: Exclude<RpcErrorCode, "remote">, message: string): RpcError {
  return new RpcError(code, code === "overloaded" ? "rate-limited" : code === "unreachable" ? "unavailable" : "internal", message);
}
