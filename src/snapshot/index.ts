/**
 * snapshot: public face of the snapshot archive (Consul's format: gzip(tar(meta.json,
 * state.bin, SHA256SUMS))): writing and verified reading, the restore pre-checks, and
 * what `snapshot inspect` prints. state.bin is cairn's store snapshot: cairn archives
 * restore into cairn; Consul's state.bin is not readable by cairn, nor cairn's by Consul.
 *
 * Must never: export the tar internals others could use to bypass the checksums.
 */

export { ArchiveError, readArchive, writeArchive, META_FILE, STATE_FILE, SUMS_FILE, type Archive, type ReadOptions } from "./archive.ts";
export { SNAPSHOT_META_VERSION, MetaError, decodeMeta, encodeMeta, encodePeers, snapshotId, type MetaServer, type SnapshotMeta, type Suffrage } from "./meta.ts";
export { checkRestorable, isCairnState } from "./restore.ts";
export { byteSize, formatJson, formatPretty, inspectState, tabwrite, type InspectInfo, type InspectOptions, type TypeStats } from "./inspect.ts";
