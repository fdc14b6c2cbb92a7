/**
 * limits_cluster: the named bounds of Raft, server RPC, sessions, events, watches, exec, client agents and the Connect CA.
 * Imported through limits.ts, the one face of every bound.
 *
 * Must never: import anything or do I/O.
 */

/** Consul's raft_snapshot_threshold: entries between automatic snapshots. */
export const RAFT_SNAPSHOT_THRESHOLD = 16384;
/** Consul's raft_trailing_logs: entries kept in the log behind a snapshot. */
export const RAFT_TRAILING_LOGS = 10240;
/** Writes waiting for the log (not yet durable) before new writes are refused. */
export const MAX_PENDING_WRITES = 100_000;
/** Connect CA: Consul's MinLeafCertTTL and MaxLeafCertTTL (ms). */
export const CA_LEAF_CERT_TTL_MIN_MS = 60 * 60 * 1000;
export const CA_LEAF_CERT_TTL_MAX_MS = 365 * 24 * 60 * 60 * 1000;
/** Connect CA: Consul's IntermediateCertRenewInterval; intermediate TTL must be >= 3 of these (ms). */
export const CA_INTERMEDIATE_RENEW_INTERVAL_MS = 60 * 60 * 1000;
/** Connect CA: leaves and cross-signed certs start this far in the past (Consul's clock-drift buffer, ms). */
export const CA_CERT_TIME_DRIFT_MS = 60 * 1000;
/** Connect CA: a cross-signed root (old key signs new root) is valid this long (Consul: 7 days, ms). */
export const CA_CROSS_SIGN_VALIDITY_MS = 7 * 24 * 60 * 60 * 1000;
/** Connect CA: largest serial number handed out (2^52), so a root's SerialNumber is an exact JSON number. */
export const CA_SERIAL_MAX = 2n ** 52n;
/** Connect CA: how often the leader drops roots rotated out more than 2 x LeafCertTTL ago (Consul: 1 h, ms). */
export const CA_ROOT_PRUNE_INTERVAL_MS = 60 * 60 * 1000;
/** Connect CA: most services whose leaf certificate the agent keeps cached (the oldest is dropped). */
export const CA_LEAF_CACHE_MAX_ENTRIES = 10_000;
/** Raft: most entries in one AppendEntries message (hashicorp/raft MaxAppendEntries). */
export const RAFT_MAX_APPEND_ENTRIES = 64;
/** Raft: most bytes of entry data in one AppendEntries message (one entry may exceed it alone). */
export const RAFT_MAX_APPEND_BYTES = 1024 * 1024;
/** Raft: most AppendEntries messages in flight to one follower (pipelining window). */
export const RAFT_MAX_INFLIGHT = 256;
/** Raft: most uncommitted entries a leader accepts before refusing proposals. */
export const RAFT_MAX_UNCOMMITTED = 100_000;
/**
 * Raft: most Readies a driver has taken whose storage writes are not yet reported durable
 * (pipelined, asynchronous log writes: the next Ready is taken while earlier fsyncs run).
 */
export const RAFT_MAX_INFLIGHT_READIES = 16;
/** Raft: most committed entries handed to the driver in one Ready. */
export const RAFT_MAX_APPLY_BATCH = 1024;
/** Raft: bytes of snapshot data in one InstallSnapshot chunk. */
export const RAFT_SNAPSHOT_CHUNK_BYTES = 1024 * 1024;
/** Raft: most ReadIndex requests waiting on the leader at once. */
export const RAFT_MAX_PENDING_READS = 100_000;
/** Raft: most servers in one configuration (voters + non-voters). */
export const RAFT_MAX_SERVERS = 64;
/** Sessions: leader TTL timers fire on multiples of this (ms), so expiries due together share one wake-up. */
export const SESSION_TIMER_GRANULARITY_MS = 25;
/** Sessions: Consul's SessionTTLMultiplier — a TTL session is invalidated 2 x TTL after its last renewal. */
export const SESSION_TTL_MULTIPLIER = 2;
/** Sessions: Consul's session_ttl_min default (ms). */
export const SESSION_TTL_MIN_MS = 10_000;
/** Sessions: Consul's SessionTTLMax (ms). */
export const SESSION_TTL_MAX_MS = 24 * 3600_000;
/** Sessions: most sessions the store accepts (create answers 500 beyond it). */
export const MAX_SESSIONS = 1_000_000;
/** RPC: largest frame body on the server port (bytes); a bigger length prefix closes the connection. */
export const RPC_MAX_FRAME_BYTES = 16 * 1024 * 1024;
/** RPC: raft messages to one peer are packed into frames of about this many bytes of entry data. */
export const RPC_RAFT_BATCH_BYTES = 2 * 1024 * 1024;
/** RPC: calls in flight on one connection (either side); the next one is refused. */
export const RPC_MAX_INFLIGHT_CALLS = 1024;
/** RPC: bytes queued for writing on one connection before new calls are refused and casts dropped. */
export const RPC_MAX_WRITE_BUFFER_BYTES = 32 * 1024 * 1024;
/** RPC: default per-call timeout (ms). */
export const RPC_CALL_TIMEOUT_MS = 10_000;
/** RPC: time allowed to establish a TCP connection to a peer (ms). */
export const RPC_CONNECT_TIMEOUT_MS = 5_000;
/** RPC: first reconnect back-off after a failed dial (ms); doubles per failure. */
export const RPC_RECONNECT_MIN_MS = 50;
/** RPC: longest reconnect back-off (ms). */
export const RPC_RECONNECT_MAX_MS = 2_000;
/** RPC: connections the server port accepts at once. */
export const RPC_MAX_CONNECTIONS = 10_000;
/** RPC: longest method name in a frame. */
export const RPC_MAX_METHOD_LENGTH = 128;
/** Raft driver: a write or read waits this many election timeouts for a leader before "No cluster leader". */
export const RAFT_LEADER_WAIT_ELECTIONS = 3;
/** Raft driver: pause between retries of a write the leader refused as not-leader (ms). */
export const RAFT_FORWARD_RETRY_MS = 20;
/** Raft driver: a peer sent to but silent for this many election timeouts gets a fresh connection (partition heal). */
export const RAFT_SILENT_PEER_ELECTIONS = 2;
/** Events: user events kept by an agent for /v1/event/list (Consul's eventBuf of 256). */
export const EVENT_BUFFER_SIZE = 256;
/** Events: most bytes of name + payload in one user event (serf's UserEventSizeLimit default). */
export const EVENT_MAX_SIZE_BYTES = 512;
/** Events: /v1/event/list blocking waits at most this long (Consul's maxQueryTime, ms). */
export const EVENT_LIST_MAX_WAIT_MS = 600_000;
/** Events: most /v1/event/list requests parked at once. */
export const EVENT_MAX_WAITERS = 10_000;
/** Monitor: lines buffered per /v1/agent/monitor reader; more are dropped while it is slow. */
export const MONITOR_BUFFER_LINES = 512;
/** Monitor: most concurrent monitor readers. */
export const MONITOR_MAX_SUBSCRIBERS = 64;
/** Watches: first retry after a failed query (ms); the n-th is n^2 times this (api/watch retryInterval). */
export const WATCH_RETRY_BASE_MS = 5_000;
/** Watches: longest back-off between failed queries (ms) (api/watch maxBackoffTime). */
export const WATCH_RETRY_MAX_MS = 180_000;
/** Watches: after an index went backwards twice in a row, wait at least this long before asking again (ms). */
export const WATCH_RESET_MIN_INTERVAL_MS = 1_000;
/** Watches: blocking wait asked of the agent per query (ms). */
export const WATCH_BLOCK_WAIT_MS = 5 * 60_000;
/** Watches: an HTTP handler's default timeout (ms) (Consul's 10 s). */
export const WATCH_HTTP_HANDLER_TIMEOUT_MS = 10_000;
/** Watches: most bytes of a script handler's output kept for the log. */
export const WATCH_HANDLER_OUTPUT_BYTES = 4096;
/** Remote exec: output chunk size uploaded per KV key (Consul's remoteExecOutputSize). */
export const REXEC_OUTPUT_CHUNK_BYTES = 4096;
/** Remote exec: upload a partial chunk after this much output silence (ms). */
export const REXEC_OUTPUT_IDLE_MS = 500;
/** Remote exec: sessions the CLI creates have this TTL (Consul's rExecTTL). */
export const REXEC_SESSION_TTL = "15s";
/** Operator raft requests (configuration, remove-peer, transfer-leader) a follower forwards to the leader. */
export const CLUSTER_OPERATOR_RPC_TIMEOUT_MS = 10_000;
/** Client agents: a forwarded request without ?index waits at most this long for the server (ms). */
export const CLIENT_RPC_TIMEOUT_MS = 30_000;
/** Client agents: added to a blocking query's wait (plus its wait/16 jitter) for the forwarded call's timeout (ms). */
export const CLIENT_RPC_BLOCKING_MARGIN_MS = 10_000;
/** Client agents: largest request body forwarded to a server (bytes; bigger ones reach the handler as "too large"). */
export const CLIENT_RPC_MAX_BODY_BYTES = 8 * 1024 * 1024;
/** Client agents: the server list is shuffled this often to spread load (ms; Consul's clientRPCMinReuseDuration 120 s, plus jitter). */
export const CLIENT_POOL_REBALANCE_MS = 120_000;
/** Client agents: blocking wait of the watch on the agent's own node in the catalog (ms). */
export const CLIENT_NODE_WATCH_WAIT_MS = 60_000;
/** Client agents: pause before the node watch asks again after a failed call (ms). */
export const CLIENT_NODE_WATCH_RETRY_MS = 1_000;
/** Client agents: forwarded requests and DNS queries in flight per connection to a server. */
export const CLIENT_RPC_MAX_INFLIGHT = 4096;
