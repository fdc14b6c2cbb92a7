/**
 * http/wire/types: the transport-neutral request/response pair both HTTP transports (the
 * lean node:net one and the node:http fallback) hand to the request handler, and the
 * transport's own face (listen, stats, graceful close).
 *
 * Must never: mention node:http or node:net objects (handlers stay transport-agnostic).
 */

import type { BodyResult } from "../context.ts";
import type { HeaderMap } from "./parser.ts";

export interface Exchange {
  readonly method: string;
  /** Request target as sent (may be absolute-form). */
  readonly target: string;
  /** Lower-cased names; duplicates combined as node:http does. */
  readonly headers: HeaderMap;
  /** Declared Content-Length, -1 when absent (chunked or none). */
  readonly contentLength: number;
  /** The client left before the response was written. */
  readonly aborted: boolean;
  /** The whole body up to `limit` bytes (a second call gets an empty body). */
  readBody(limit: number): Promise<BodyResult>;
  /** Run cb once if the client leaves before the response (at once when it already left). */
  onAbort(cb: () => void): void;
  /**
   * Send the response. `headers` are flat name/value pairs in their final case, without
   * Date, Content-Length and Connection (the transport adds those; `close` asks for
   * Connection: close). The body is not sent for HEAD. No-op once sent or when the client
   * left. `body` may be shared between responses and is never modified.
   */
  reply(status: number, headers: readonly string[], body: Buffer | undefined, close: boolean): void;
  /**
   * Start a streamed response (chunked on HTTP/1.1, until close on HTTP/1.0): headers as
   * for reply(), no Content-Length. Undefined once replied or when the client left. The
   * request stays in flight until the writer's end(); a client that leaves runs the
   * abort hooks.
   */
  stream(status: number, headers: readonly string[], close: boolean): StreamWriter | undefined;
}

/** The body side of a streamed response. */
export interface StreamWriter {
  /** Queue bytes; false when the transport holds more than its high-water mark (wait for onDrain). */
  write(data: Buffer): boolean;
  /** Run cb once when the held bytes drained (at once when nothing is held). */
  onDrain(cb: () => void): void;
  /** Finish the response (no-op when finished or the client left). */
  end(): void;
  /** The response finished or the client left. */
  readonly closed: boolean;
}

export type ExchangeHandler = (ex: Exchange) => void;

export interface TransportOptions {
  readonly maxConnections: number;
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly log: (level: "warn" | "error", msg: string) => void;
}

export type ListenArg = { readonly port: number; readonly host: string } | { readonly path: string };

export interface ListenAddress {
  readonly address: string;
  readonly family: string;
  readonly port: number;
}

export interface Transport {
  /** Open one more listener (TCP or unix socket); resolves with its TCP address, if any. */
  listen(arg: ListenArg): Promise<ListenAddress | undefined>;
  /** Open client connections over all listeners. */
  connections(): number;
  /**
   * Stop accepting; from now on every response carries Connection: close. `stopped` runs
   * right after (answer parked work there); idle connections are destroyed, busy ones may
   * finish within `graceMs`, then everything left is destroyed.
   */
  close(graceMs: number, stopped: () => void): Promise<void>;
}
