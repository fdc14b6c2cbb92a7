/**
 * http/wire: the HTTP transports behind the API listeners. "wire" is the lean HTTP/1.1
 * server on node:net (the default); "node" is node:http (the fallback, chosen with
 * CAIRN_HTTP_TRANSPORT=node). Both hand the request handler the same Exchange.
 *
 * Must never: export parser or connection internals other folders could depend on.
 */

import { unreachable } from "../../shared/errors.ts";
import { createNodeTransport } from "./node.ts";
import { createWireTransport } from "./server.ts";
import type { ExchangeHandler, Transport, TransportOptions } from "./types.ts";

export type { Exchange, ExchangeHandler, ListenAddress, ListenArg, StreamWriter, Transport, TransportOptions } from "./types.ts";
export type { HeaderMap } from "./parser.ts";

export type TransportKind = "wire" | "node";

/** The transport named by CAIRN_HTTP_TRANSPORT ("node" or "wire"), else `fallback`. */
export function transportFromEnv(value: string | undefined, fallback: TransportKind = "wire"): TransportKind {
  if (value === "node" || value === "wire") return value;
  return fallback;
}

export function createTransport(kind: TransportKind, handler: ExchangeHandler, opts: TransportOptions): Transport {
  switch (kind) {
    case "wire":
      return createWireTransport(handler, opts);
    case "node":
      return createNodeTransport(handler, opts);
    default:
      return unreachable(kind);
  }
}
