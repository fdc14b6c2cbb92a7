/**
 * http: the public face of the HTTP API layer.
 *
 * Must never: export handler internals that other folders could come to depend on.
 */

export { startHttpServer, ROUTES } from "./server.ts";
export type { HttpServer, HttpServerOptions, HttpStats, HttpLogLevel } from "./server.ts";
export type { HttpLimits } from "./context.ts";
export type { BlockingDeps } from "./blocking.ts";
export type { ConnectHttp } from "./connect.ts";
export type { Exchange, ExchangeHandler, StreamWriter, HeaderMap } from "./wire/index.ts";
export { validateKvKey } from "./kv.ts";
