/**
 * limits: every named bound of cairn, in one place.
 *
 * Every queue, map and buffer that can grow is bounded by a constant here (or by
 * a config value whose default is here). At a limit, callers shed or refuse with
 * a clear error; nothing grows without bound.
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

/** WAL ring buffer between the main thread and the WAL worker (bytes). */
export const WAL_RING_BYTES = 32 * 1024 * 1024;
/** Largest single log record (bytes); bigger commands are refused. */
export const WAL_MAX_RECORD_BYTES = 4 * 1024 * 1024;
/** Log segment size before rolling to a new file (bytes). */
export const WAL_SEGMENT_BYTES = 64 * 1024 * 1024;
/** Consul's raft_snapshot_threshold: entries between automatic snapshots. */
export const RAFT_SNAPSHOT_THRESHOLD = 16384;
/** Consul's raft_trailing_logs: entries kept in the log behind a snapshot. */
export const RAFT_TRAILING_LOGS = 10240;
/** Snapshots kept on disk. */
export const SNAPSHOTS_RETAINED = 2;
/** Writes waiting for the log (not yet durable) before new writes are refused. */
export const MAX_PENDING_WRITES = 100_000;

/** Consul tombstone_ttl: KV tombstones are reaped after this long (ms). */
export const TOMBSTONE_TTL_MS = 15 * 60 * 1000;

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

/** State store: most entries (or children) in one B+tree node. */
export const BTREE_NODE_MAX = 64;
/** State store: KV values are copied into slabs of this many bytes (fewer, larger allocations). */
export const STATE_VALUE_SLAB_BYTES = 1024 * 1024;
/** State store: values larger than this get their own buffer instead of a slab slice. */
export const STATE_SLAB_MAX_VALUE = 64 * 1024;
/** State store: a full slab whose live bytes fall below used / this is compacted. */
export const STATE_SLAB_COMPACT_RATIO = 2;

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

/** Most bytes of log records the WAL worker writes in one batch (one write + one fdatasync). */
export const WAL_WRITE_BATCH_BYTES = 8 * 1024 * 1024;
/** Snapshots are written to disk in chunks of this size. */
export const SNAPSHOT_WRITE_CHUNK_BYTES = 4 * 1024 * 1024;
/**
 * Snapshot archives (GET/PUT /v1/snapshot, cairn snapshot): largest state.bin a restore
 * accepts. A big restore travels as several restore-chunk log entries (each at most
 * SNAPSHOT_RESTORE_CHUNK_BYTES); the store's pending restore buffer is bounded by this too.
 */
export const SNAPSHOT_MAX_STATE_BYTES = 256 * 1024 * 1024;
/**
 * Snapshot restore: largest piece of state.bin in one log entry (restore-chunk, or the
 * one-entry restore), so it fits a WAL record (WAL_MAX_RECORD_BYTES) with room for the
 * record header and the command's framing.
 */
export const SNAPSHOT_RESTORE_CHUNK_BYTES = 3.5 * 1024 * 1024;
/**
 * Snapshot restore: a Raft leader drops a chunked restore that has received no chunk for
 * this long (ms; the server serving its HTTP request died), since it blocks snapshots.
 */
export const SNAPSHOT_RESTORE_STALL_MS = 60_000;
/** Snapshot archives: largest meta.json and SHA256SUMS members (bytes). */
export const SNAPSHOT_MAX_SMALL_MEMBER_BYTES = 64 * 1024;
/** Snapshot archives: largest tar stream (after gunzip) read, members, headers and padding included. */
export const SNAPSHOT_MAX_TAR_BYTES = SNAPSHOT_MAX_STATE_BYTES + 4 * SNAPSHOT_MAX_SMALL_MEMBER_BYTES;
/** Snapshot archives: largest gzip archive accepted as a PUT /v1/snapshot body or read by the CLI (bytes). */
export const SNAPSHOT_MAX_ARCHIVE_BYTES = SNAPSHOT_MAX_TAR_BYTES + 1024 * 1024;
/** Snapshot archives: largest state.bin `snapshot save` verifies and `snapshot inspect` reads (restorable up to SNAPSHOT_MAX_STATE_BYTES). */
export const SNAPSHOT_MAX_READ_STATE_BYTES = 1024 * 1024 * 1024;
/** Snapshot archives: most members read from one tar stream (cairn writes three). */
export const SNAPSHOT_MAX_MEMBERS = 16;

/** DNS: cached prepared answers (one per question name + type + class). */
export const DNS_CACHE_ENTRIES = 16_384;
/** DNS: bytes of pre-encoded records kept in the answer cache. */
export const DNS_CACHE_BYTES = 64 * 1024 * 1024;
/** DNS: Consul's cap on a client's EDNS0 UDP payload size (65535 - 68). */
export const DNS_MAX_UDP_PAYLOAD = 65535 - 68;
/** DNS: Consul's hard cap on UDP answers when the limit is 512 bytes (maxUDPAnswerLimit). */
export const DNS_MAX_UDP_ANSWER_LIMIT = 8;
/** DNS: Consul's TCP response size limit (64 KiB - 12) and answer pre-caps (4096; 1024 for SRV). */
export const DNS_TCP_MAX_RESPONSE = 65523;
export const DNS_TCP_MAX_ANSWERS = 4096;
export const DNS_TCP_MAX_SRV_ANSWERS = 1024;
/** DNS: answers with at least this many shuffled entries are served from pre-assembled random orders (TCP, large EDNS). */
export const DNS_ORDER_POOL_MIN_ENTRIES = 16;
/** DNS: pre-assembled random orders kept per large answer. */
export const DNS_ORDER_POOL_SIZE = 8;
/** DNS: queries served from one pre-assembled order before it is re-shuffled. */
export const DNS_ORDER_POOL_REUSE = 16;
/**
 * DNS: the same for an order that carries every instance: each query already starts it at a
 * random record (a rotation), so the underlying shuffle is redone less often.
 */
export const DNS_ORDER_POOL_REUSE_ROTATING = 256;
/** DNS: most CNAME hops followed inside our own domain (Consul's maxRecursionLevelDefault). */
export const DNS_MAX_CNAME_DEPTH = 3;
/** DNS: UDP queries answered per event-loop turn before yielding. */
export const DNS_UDP_BATCH = 16;
/** DNS: UDP queries answered on arrival (skipping the fair queue while it is empty) per window; the rest are queued. */
export const DNS_UDP_INLINE_BUDGET = 32;
/** DNS: the window of DNS_UDP_INLINE_BUDGET (ms). */
export const DNS_UDP_INLINE_WINDOW_MS = 1;
/** DNS: queued UDP queries per source address; past it that source's oldest query is dropped. */
export const DNS_UDP_QUEUE_PER_SOURCE = 256;
/** DNS: queued UDP queries in total; past it the oldest query of the longest queue is dropped. */
export const DNS_UDP_QUEUE_TOTAL = 8192;
/** DNS: a queued UDP query older than this is dropped unanswered (the client gave up; Consul #1535). */
export const DNS_UDP_MAX_QUEUE_AGE_MS = 1_000;
/** DNS: source addresses tracked by the UDP scheduler at once. */
export const DNS_UDP_MAX_SOURCES = 65_536;
/** DNS: open TCP connections; past it new ones are closed at once. */
export const DNS_TCP_MAX_CONNECTIONS = 1024;
/** DNS: a TCP connection with no complete query for this long is closed (ms). */
export const DNS_TCP_IDLE_TIMEOUT_MS = 10_000;
/** DNS: queries answered from one TCP connection per turn before yielding to others. */
export const DNS_TCP_FRAMES_PER_TURN = 256;
/** DNS: unsent response bytes queued on one TCP connection before reading from it pauses. */
export const DNS_TCP_MAX_PENDING_WRITE = 1024 * 1024;
/** DNS: queries forwarded to recursors at once; past it the query gets SERVFAIL. */
export const DNS_RECURSOR_MAX_INFLIGHT = 1024;

/** ?filter= parsing: PEG steps before giving up (go-bexpr's newer default; Consul's v0.1.2 has none). */
export const FILTER_MAX_PARSE_STEPS = 2_000_000;
/** ?filter= parsing: nested grammar rules at once (bounds recursion on deeply parenthesised input). */
export const FILTER_MAX_PARSE_DEPTH = 600;
/** ?filter= `matches`: longest regular expression accepted (bytes of the pattern). */
export const FILTER_MAX_REGEX_LENGTH = 4096;
/** DNS: UDP replies handed to the socket but not yet sent; past it the queue waits (and ages out) instead of piling up sends. */
export const DNS_UDP_MAX_PENDING_SENDS = 256;
/** DNS: with no UDP send completing for this long the pending-send count is reset (ms). */
export const DNS_UDP_SEND_STALL_MS = 1_000;
/** DNS (Node): while the socket's own send queue is at DNS_UDP_MAX_PENDING_SENDS, look again after this long (ms). */
export const DNS_UDP_SEND_POLL_MS = 1;
/** DNS: UDP socket receive buffer asked for (the kernel caps it at net.core.rmem_max). */
export const DNS_UDP_RECV_BUFFER = 4 * 1024 * 1024;

/** Connect CA: how often the leader drops roots rotated out more than 2 x LeafCertTTL ago (Consul: 1 h, ms). */
export const CA_ROOT_PRUNE_INTERVAL_MS = 60 * 60 * 1000;
/** Connect CA: most services whose leaf certificate the agent keeps cached (the oldest is dropped). */
export const CA_LEAF_CACHE_MAX_ENTRIES = 10_000;

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

/** Gossip (memberlist wire): largest decompressed LZW payload (bytes), as memberlist. */
export const GOSSIP_MAX_DECOMPRESSED_BYTES = 40 * 1024 * 1024;
/** Gossip: largest push/pull state or stream user message accepted (bytes), memberlist's maxPushStateBytes. */
export const GOSSIP_MAX_STREAM_BYTES = 20 * 1024 * 1024;
/** Gossip: most nodes in one push/pull message. */
export const GOSSIP_MAX_PUSH_PULL_NODES = 1_000_000;
/** Gossip: most parts in one compound message (the count is one byte). */
export const GOSSIP_MAX_COMPOUND_PARTS = 255;
/** Gossip: longest label (its length is one byte). */
export const GOSSIP_MAX_LABEL_BYTES = 255;
/** Gossip: largest node meta (memberlist MetaMaxSize). */
export const GOSSIP_MAX_META_BYTES = 512;
/** Gossip: most members the SWIM core tracks; alive messages about new names past it are ignored. */
export const GOSSIP_MAX_MEMBERS = 200_000;
/** Gossip: queued broadcasts kept; past it the most-transmitted are dropped (serf's MinQueueDepth). */
export const GOSSIP_MAX_QUEUED_BROADCASTS = 4096;
/** Gossip: outstanding ack handlers (probes and forwarded indirect pings). */
export const GOSSIP_MAX_PENDING_ACKS = 4096;
/** Gossip: the awareness (Lifeguard health) score ranges over [0, this - 1] (AwarenessMaxMultiplier). */
export const GOSSIP_AWARENESS_MAX_MULTIPLIER = 8;
/** Gossip driver: how often the SWIM core is ticked on the real clock (ms). */
export const GOSSIP_DRIVER_TICK_MS = 10;
/** Gossip driver: inbound push/pulls handled at once; more get an err reply (memberlist's maxPushPullRequests). */
export const GOSSIP_MAX_CONCURRENT_PUSH_PULLS = 128;
/** Gossip driver: open inbound gossip TCP connections; more are closed at once. */
export const GOSSIP_MAX_INBOUND_STREAMS = 512;
/** Gossip driver: UDP receive buffer size requested from the OS (memberlist udpRecvBufSize). */
export const GOSSIP_UDP_RECV_BUFFER_BYTES = 2 * 1024 * 1024;
/** Gossip driver: how long a leave waits for its broadcasts to go out (serf BroadcastTimeout, ms). */
export const GOSSIP_LEAVE_BROADCAST_TIMEOUT_MS = 5_000;
/** Serf: user event name + payload limit (serf UserEventSizeLimit default). */
export const SERF_USER_EVENT_SIZE_LIMIT = 512;
/** Serf: hard cap on an encoded user event message (serf's UserEventSizeLimit ceiling). */
export const SERF_MAX_USER_EVENT_BYTES = 9 * 1024;
/** Serf: slots in the user event and query de-duplication ring buffers (EventBuffer, QueryBuffer). */
export const SERF_EVENT_BUFFER_SLOTS = 512;
/** Serf: query payload + header limit (QuerySizeLimit) and response limit (QueryResponseSizeLimit). */
export const SERF_QUERY_SIZE_LIMIT = 1024;
export const SERF_QUERY_RESPONSE_SIZE_LIMIT = 1024;
/** Serf: most outstanding queries this node waits on at once. */
export const SERF_MAX_PENDING_QUERIES = 1024;
/** Serf: join/leave intents kept for names not yet seen by memberlist (and how long, ms). */
export const SERF_MAX_RECENT_INTENTS = 16_384;
export const SERF_RECENT_INTENT_TIMEOUT_MS = 5 * 60_000;
/** Serf: user events held for coalescing at once (distinct names). */
export const SERF_MAX_COALESCED_EVENTS = 4096;
/** Gossip worker: heartbeat period and how long an unanswered heartbeat may stay out before a restart (ms). */
export const GOSSIP_WORKER_HEARTBEAT_MS = 1_000;
export const GOSSIP_WORKER_HEARTBEAT_TIMEOUT_MS = 5_000;
/** Gossip worker: restarts in a row without a healthy heartbeat before the supervisor gives up. */
export const GOSSIP_WORKER_MAX_RESTARTS = 10;

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
/** Keyring operations: largest relay factor accepted (Consul ParseRelayFactor: [0, 5]). */
export const KEYRING_MAX_RELAY_FACTOR = 5;
/** Vivaldi: largest RTT sample accepted (serf's maxRTT, 10 s). */
export const VIVALDI_MAX_RTT_SECONDS = 10;
/** Vivaldi: peers whose latency-filter samples are kept (oldest forgotten beyond this). */
export const VIVALDI_MAX_FILTERED_PEERS = 4096;
/** Coordinates: a sent coordinate update is at most this often per agent (ms; Consul: sync_coordinate_interval_min 15 s). */
export const COORDINATE_SYNC_MIN_MS = 15_000;
/** Coordinates: cluster-wide updates per second the agents aim at (Consul: sync_coordinate_rate_target 64); the interval grows with the pool. */
export const COORDINATE_SYNC_RATE_TARGET = 64;
/** WAN flood join: how often a server looks for LAN servers missing from its WAN pool (Consul FloodNotify on joins). */
export const WAN_FLOOD_POLL_MS = 1_000;
/** WAN flood join: the same server is tried again after this long (Consul SerfFloodInterval 60 s). */
export const WAN_FLOOD_RETRY_MS = 60_000;

/** Operator raft requests (configuration, remove-peer, transfer-leader) a follower forwards to the leader. */
export const CLUSTER_OPERATOR_RPC_TIMEOUT_MS = 10_000;
/** Gossip keyring file (`<data_dir>/serf/local.keyring`): largest file read at start. */
export const KEYRING_FILE_MAX_BYTES = 1024 * 1024;
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
/** Web UI: Cache-Control max-age of /ui/assets/* (s); the page names them with a content hash (?v=), it is never cached. */
export const UI_ASSET_MAX_AGE_S = 86_400;
