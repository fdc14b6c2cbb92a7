/**
 * http/context: what a route handler receives (the request, decoded) and may use (the env).
 *
 * Must never: hold per-request state beyond one request, or expose node:http objects to handlers.
 */

import type { IncomingHttpHeaders } from "node:http";
import type { AgentView, Backend } from "../server/types.ts";
import type { LocalAgentApi } from "../agent/local/types.ts";
import type { Metrics } from "../shared/metrics.ts";
import type { BlockingEngine } from "./blocking.ts";
import type { ConnectHttp } from "./connect.ts";
import type { Query } from "./query.ts";
import type { Reply } from "./respond.ts";
import type { AgentOps } from "./agent_ops.ts";

export type BodyResult =
  | { readonly ok: true; readonly data: Buffer }
  /** The body passed `limit`; `received` is how many bytes were seen (or the declared length). */
  | { readonly ok: false; readonly received: number; readonly declared: boolean };

export interface RequestCtx {
  readonly method: string;
  /** Decoded path (percent escapes resolved, UTF-8). */
  readonly path: string;
  /** The path as sent (still escaped). */
  readonly rawPath: string;
  readonly query: Query;
  readonly headers: IncomingHttpHeaders;
  /** Declared Content-Length, -1 when absent (chunked). */
  readonly contentLength: number;
  /** Read the whole body up to `limit` bytes; never buffers more than limit. */
  readBody(limit: number): Promise<BodyResult>;
  /** Register a hook run once if the client goes away before the response. */
  onAbort(cb: () => void): void;
  isAborted(): boolean;
}

export interface HttpLimits {
  readonly kvMaxValueSize: number;
  readonly txnMaxReqLen: number;
}

export interface Env {
  readonly backend: Backend;
  readonly agent: AgentView;
  readonly limits: HttpLimits;
  readonly blocking: BlockingEngine;
  readonly metrics: Metrics;
  readonly disableKvKeyValidation: boolean;
  readonly now: () => number;
  /** The Connect CA (roots, configuration, leaf cache); absent when connect is disabled. */
  readonly connect?: ConnectHttp | undefined;
  /** The agent's own services and checks (absent in tests that do not need them). */
  readonly local?: LocalAgentApi | undefined;
  /** Events, reload and monitor of the running agent (agent_ops.ts; absent in tests that do not need them). */
  readonly ops?: AgentOps | undefined;
}

export type Handler = (ctx: RequestCtx, env: Env) => Promise<Reply | undefined> | Reply | undefined;
