/**
 * limits_http: the named bounds of HTTP & API requests: bodies, blocking queries, filters, KV and txn.
 * Imported through limits.ts, the one face of every bound.
 *
 * Must never: import anything or do I/O.
 */

/** Consul's default `limits.kv_max_value_size`: 512 KiB. */
export const KV_MAX_VALUE_SIZE = 512 * 1024;
/** Consul's `txn_max_req_len`: largest /v1/txn body, 512 KiB. */
export const TXN_MAX_REQ_LEN = 512 * 1024;
/** Consul's maximum operations in one transaction. */
export const TXN_MAX_OPS = 128;
/** Largest JSON body accepted by endpoints other than KV PUT and txn. */
export const HTTP_MAX_JSON_BODY = 1024 * 1024;
/** Blocking queries: Consul's default_query_time and max_query_time (ms). */
export const BLOCKING_DEFAULT_WAIT_MS = 5 * 60 * 1000;
export const BLOCKING_MAX_WAIT_MS = 10 * 60 * 1000;
/** Jitter: a random extra in [0, wait / JITTER_FRACTION). */
export const BLOCKING_JITTER_FRACTION = 16;
/** Most blocking queries parked at once on one agent; past it, 429. */
export const MAX_PARKED_WATCHERS = 200_000;
/** Most open HTTP connections; past it new ones are closed at once. */
export const HTTP_MAX_CONNECTIONS = 60_000;
/** Time a client has to send its request headers (ms). */
export const HTTP_HEADERS_TIMEOUT_MS = 30_000;
/** Time a client has to send a whole request body (ms). */
export const HTTP_REQUEST_TIMEOUT_MS = 60_000;
/** Idle keep-alive connections are closed after this long (ms). */
export const HTTP_KEEPALIVE_TIMEOUT_MS = 5 * 60 * 1000 + 30_000;
/** Woken blocking queries answered per event-loop turn before yielding (setImmediate). */
export const BLOCKING_WAKE_CHUNK = 64;
/** Rendered (query, index) response bodies kept for sharing between blocking queries. */
export const HTTP_RENDER_CACHE_ENTRIES = 4096;
/** Bytes of rendered response bodies kept in that cache. */
export const HTTP_RENDER_CACHE_BYTES = 64 * 1024 * 1024;
/** On HTTP server close, in-flight requests get this long to finish (ms). */
export const HTTP_SHUTDOWN_GRACE_MS = 5_000;
/** HTTP wire transport: request line plus headers of one request (bytes); past it, 431. */
export const HTTP_MAX_HEADER_BYTES = 64 * 1024;
/** HTTP wire transport: longest request line (bytes); past it, 414. */
export const HTTP_MAX_REQUEST_LINE = 16 * 1024;
/** HTTP wire transport: most header fields in one request; past it, 431. */
export const HTTP_MAX_HEADER_COUNT = 256;
/** HTTP wire transport: longest chunk-size line of a chunked body, extensions included (bytes). */
export const HTTP_MAX_CHUNK_LINE = 4096;
/** HTTP wire transport: trailer section of a chunked body (bytes). */
export const HTTP_MAX_TRAILER_BYTES = 16 * 1024;
/** HTTP wire transport: requests queued (pipelined) on one connection before reading pauses. */
export const HTTP_MAX_PIPELINED = 32;
/** HTTP wire transport: body bytes buffered before a handler asks for them; then reading pauses. */
export const HTTP_BODY_PREBUFFER_BYTES = 64 * 1024;
/** HTTP wire transport: unread request body a reply may leave to discard and keep the connection. */
export const HTTP_MAX_DISCARD_BYTES = 1024 * 1024;
/** HTTP wire transport: a socket's unsent response bytes above which its requests stop being read. */
export const HTTP_WRITE_HIGH_WATER = 1024 * 1024;
/** HTTP wire transport: period of the timeout sweep over all connections (ms). */
export const HTTP_TIMEOUT_SWEEP_MS = 1_000;
/** HTTP wire transport: whole responses kept for reuse (same body buffer, same head, same second). */
export const HTTP_RESPONSE_CACHE_ENTRIES = 8;
/** ?filter= parsing: PEG steps before giving up (go-bexpr's newer default; Consul's v0.1.2 has none). */
export const FILTER_MAX_PARSE_STEPS = 2_000_000;
/** ?filter= parsing: nested grammar rules at once (bounds recursion on deeply parenthesised input). */
export const FILTER_MAX_PARSE_DEPTH = 600;
/** ?filter= `matches`: longest regular expression accepted (bytes of the pattern). */
export const FILTER_MAX_REGEX_LENGTH = 4096;
/** Web UI: Cache-Control max-age of /ui/assets/* (s); the page names them with a content hash (?v=), it is never cached. */
export const UI_ASSET_MAX_AGE_S = 86_400;
