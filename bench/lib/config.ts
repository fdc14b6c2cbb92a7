/**
 * bench/lib/config: every bound and default the benches use, as named constants.
 *
 * Must never: import anything or hold logic; it is a list of numbers and names.
 */

/** Length of one autocannon run in seconds (overridable with --duration=S). */
export const LOAD_RUN_SECONDS = 5;
/** Connection counts every throughput scenario runs at. */
export const LOAD_CONNECTIONS: readonly number[] = [1, 16, 64];
/** Per-request timeout given to autocannon, seconds. */
export const LOAD_REQUEST_TIMEOUT_S = 10;
/** How often a load child reports progress, ms. */
export const LOAD_PROGRESS_MS = 250;
/** Slack beyond the planned duration before a load child is declared hung, ms. */
export const LOAD_CHILD_SLACK_MS = 30_000;

/** Keys used by the KV throughput scenarios: bench/key-0..999. */
export const KV_KEY_PREFIX = "bench/key-";
export const KV_KEY_COUNT = 1_000;
/** Size of every value written by the KV scenarios, bytes. */
export const KV_VALUE_BYTES = 256;

/** Watchers parked by the blocking-query scenarios (overridable with --watchers=N). */
export const BQ_WATCHERS = 10_000;
/** Distinct-key watchers use keys k-0..N-1. */
export const BQ_DISTINCT_PREFIX = "k-";
/** Single-key fan-out watches this key. */
export const BQ_FANOUT_KEY = "bench/watched";
/** wait= given to parked watchers (Go duration; 300s = 5m, also understood by the naive peer). */
export const BQ_WAIT = "300s";
/** At most this many parked GETs may be written but not yet flushed at once (smooths the connect storm). */
export const BQ_PARK_WINDOW = 1_000;
/** After the last parked GET is flushed, wait this long plus BQ_SETTLE_PER_WATCHER_MS per watcher. */
export const BQ_SETTLE_BASE_MS = 1_000;
export const BQ_SETTLE_PER_WATCHER_MS = 0.1;
/** Give up waiting for a wake-all after this long, ms. */
export const BQ_WAKE_TIMEOUT_MS = 60_000;
/** Fan-out rounds per target (overridable with --rounds=N). */
export const BQ_ROUNDS = 3;
/** File descriptors needed per watcher process beyond the watchers themselves. */
export const BQ_FD_MARGIN = 512;
/** The low-rate probe sends one GET every this many ms (open loop). */
export const PROBE_INTERVAL_MS = 2;
/** Probe baseline before the PUT and tail after wake-all, ms. */
export const PROBE_MARGIN_MS = 300;
/** Targets from the brief. */
export const TARGET_PUT64_RATIO = 0.5;
export const TARGET_GET64_RATIO = 0.8;
export const TARGET_PROBE_P99_MS = 50;
export const TARGET_FANOUT_RATIO = 0.5;
/** Soft target chosen by the bench (not from the brief): parked watchers cost at most 10 % of GET throughput. */
export const TARGET_PARKED_RATIO = 0.9;

/** Scale step: keys loaded (overridable with --keys=N), ops per /v1/txn, txns in flight. */
export const SCALE_KEYS = 1_000_000;
export const SCALE_KEY_PREFIX = "scale/key-";
export const SCALE_TXN_OPS = 128;
export const SCALE_TXN_IN_FLIGHT = 8;
/** Targets without txn load with plain PUTs, this many in flight. */
export const SCALE_PUT_IN_FLIGHT = 64;
/** Keys sampled after a restart to check they survived. */
export const SCALE_SAMPLE_KEYS = 100;
/** The scale load stops starting new writes after this long (keeps the whole bench bounded), ms. */
export const SCALE_LOAD_BUDGET_MS = 150_000;
export const TARGET_RSS_BYTES = 1024 * 1024 * 1024;
export const TARGET_RESTART_MS = 10_000;

/** Server lifecycle bounds, ms. */
export const SERVER_READY_TIMEOUT_MS = 60_000;
export const SERVER_RESTART_TIMEOUT_MS = 60_000;
export const SERVER_STOP_TIMEOUT_MS = 30_000;
export const READY_POLL_MS = 25;
/** Timeout of a single helper HTTP request (readiness polls, seeding), ms. */
export const HTTP_TIMEOUT_MS = 10_000;
/** Lines of server output kept for error reports. */
export const SERVER_OUTPUT_LINES = 40;
/** Concurrency for small setup passes (seeding keys, reading indexes). */
export const SETUP_CONCURRENCY = 64;
