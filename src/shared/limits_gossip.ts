/**
 * limits_gossip: the named bounds of gossip pools (memberlist, serf), keyrings and coordinates.
 * Imported through limits.ts, the one face of every bound.
 *
 * Must never: import anything or do I/O.
 */

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
/** Gossip keyring file (`<data_dir>/serf/local.keyring`): largest file read at start. */
export const KEYRING_FILE_MAX_BYTES = 1024 * 1024;
