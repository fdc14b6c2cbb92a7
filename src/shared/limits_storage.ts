/**
 * limits_storage: the named bounds of the state store, the log and snapshots.
 * Imported through limits.ts, the one face of every bound.
 *
 * Must never: import anything or do I/O.
 */

/** WAL ring buffer between the main thread and the WAL worker (bytes). */
export const WAL_RING_BYTES = 32 * 1024 * 1024;
/** Largest single log record (bytes); bigger commands are refused. */
export const WAL_MAX_RECORD_BYTES = 4 * 1024 * 1024;
/** Log segment size before rolling to a new file (bytes). */
export const WAL_SEGMENT_BYTES = 64 * 1024 * 1024;
/** Snapshots kept on disk. */
export const SNAPSHOTS_RETAINED = 2;
/** Consul tombstone_ttl: KV tombstones are reaped after this long (ms). */
export const TOMBSTONE_TTL_MS = 15 * 60 * 1000;
/** State store: most entries (or children) in one B+tree node. */
export const BTREE_NODE_MAX = 64;
/** State store: KV values are copied into slabs of this many bytes (fewer, larger allocations). */
export const STATE_VALUE_SLAB_BYTES = 1024 * 1024;
/** State store: values larger than this get their own buffer instead of a slab slice. */
export const STATE_SLAB_MAX_VALUE = 64 * 1024;
/** State store: a full slab whose live bytes fall below used / this is compacted. */
export const STATE_SLAB_COMPACT_RATIO = 2;
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
