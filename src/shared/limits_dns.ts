/**
 * limits_dns: the named bounds of the DNS interface.
 * Imported through limits.ts, the one face of every bound.
 *
 * Must never: import anything or do I/O.
 */

/** DNS: cached prepared answers (one per question name + type + class). */
export const DNS_CACHE_ENTRIES = 16_384;
/** DNS: recently parsed question keys remembered by a hash of their bytes (direct-mapped slots). */
export const DNS_KEY_MEMO_SLOTS = 1024;
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
/** DNS: UDP replies sent together in a drain turn (and the count between its clock checks). */
export const DNS_UDP_BATCH = 16;
/** DNS: time a drain turn of the fair UDP queue may take before it yields to the event loop (ms). */
export const DNS_UDP_DRAIN_BUDGET_MS = 1;
/** DNS: time per DNS_UDP_INLINE_WINDOW_MS spent answering UDP queries on arrival, past which they are queued (ms). */
export const DNS_UDP_INLINE_BUDGET_MS = 0.9;
/** DNS: the window of DNS_UDP_INLINE_BUDGET_MS (ms). */
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
/** DNS: UDP replies handed to the socket but not yet sent; past it the queue waits (and ages out) instead of piling up sends. */
export const DNS_UDP_MAX_PENDING_SENDS = 256;
/** DNS: with no UDP send completing for this long the pending-send count is reset (ms). */
export const DNS_UDP_SEND_STALL_MS = 1_000;
/** DNS (Node): while the socket's own send queue is at DNS_UDP_MAX_PENDING_SENDS, look again after this long (ms). */
export const DNS_UDP_SEND_POLL_MS = 1;
/** DNS: UDP socket receive buffer asked for (the kernel caps it at net.core.rmem_max). */
export const DNS_UDP_RECV_BUFFER = 4 * 1024 * 1024;
