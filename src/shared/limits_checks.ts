/**
 * limits_checks: the named bounds of health checks, anti-entropy and the agent's local state.
 * Imported through limits.ts, the one face of every bound.
 *
 * Must never: import anything or do I/O.
 */

/** Checks: Consul's MinInterval; shorter intervals are raised to it (ms). */
export const CHECK_MIN_INTERVAL_MS = 1_000;
/** Checks: Consul's checks.DefaultBufSize, the default cap on captured check output (bytes). */
export const CHECK_DEFAULT_OUTPUT_MAX = 4 * 1024;
/** Checks: default timeout of HTTP, TCP, UDP and gRPC checks (ms). */
export const CHECK_DEFAULT_TIMEOUT_MS = 10_000;
/** Checks: default timeout of script checks (ms). */
export const CHECK_SCRIPT_DEFAULT_TIMEOUT_MS = 30_000;
/** Checks: extra time the main thread gives a worker past a check's own timeout before aborting it (ms). */
export const CHECK_WORKER_GRACE_MS = 1_000;
/** Checks: worker threads running HTTP/TCP/UDP/gRPC/script checks. */
export const CHECK_POOL_MAX_THREADS = 2;
/** Checks: checks one worker thread runs at once (they are I/O-bound). */
export const CHECK_POOL_TASKS_PER_WORKER = 64;
/** Checks: queued check runs waiting for a worker; past it a run reports critical ("check queue full"). */
export const CHECK_POOL_MAX_QUEUE = 10_000;
/** Checks: HTTP redirects followed (Go's http.Client default). */
export const CHECK_HTTP_MAX_REDIRECTS = 10;
/** Checks: Consul's CheckDeregisterIntervalMin for deregister_critical_service_after (ms). */
export const CHECK_DEREGISTER_MIN_MS = 60_000;
/** Checks: Consul's CheckReapInterval: how often critical services are reaped (ms). */
export const CHECK_REAP_INTERVAL_MS = 30_000;
/** Anti-entropy: Consul's full-sync interval before cluster-size scaling (ms). */
export const AE_SYNC_INTERVAL_MS = 60_000;
/** Anti-entropy: clusters up to this size use the unscaled interval (Consul's scaleThreshold). */
export const AE_SCALE_THRESHOLD = 128;
/** Anti-entropy: wait before retrying a failed sync (Consul's retryFailIntv, ms). */
export const AE_RETRY_FAIL_MS = 15_000;
/** Local agent: services registered on one agent. */
export const LOCAL_MAX_SERVICES = 50_000;
/** Local agent: checks registered on one agent. */
export const LOCAL_MAX_CHECKS = 100_000;
/** Local agent: hash-blocking queries (/v1/agent/service/:id?hash=) parked at once. */
export const LOCAL_MAX_HASH_WAITERS = 10_000;
