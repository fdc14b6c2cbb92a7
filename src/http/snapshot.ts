/**
 * http/snapshot: /v1/snapshot (Consul's agent/snapshot_endpoint.go).
 *
 * GET: a point-in-time archive of the whole state (snapshot/: gzip(tar(meta.json,
 * state.bin, SHA256SUMS))), after a read barrier in the default mode (any server
 * with ?stale), taken from the store in one synchronous step; X-Consul-Index is the
 * snapshot's index, streamed as application/x-gzip (never gzipped again).
 * PUT: the body is an archive; it is read (bounded), verified (gzip, tar, both
 * sha256 sums, meta.Size, state.bin decodes as a cairn store snapshot) and then
 * applied through the Backend — the log, so every server of a cluster restores it:
 * one "restore" command when state.bin fits one log entry, else "restore-chunk"
 * commands of at most SNAPSHOT_RESTORE_CHUNK_BYTES (each applied, i.e. committed,
 * before the next) and a final "restore" naming them with their length and sha256;
 * if that fails after chunks were sent, a "restore-abort" drops them (a pending
 * restore blocks snapshots; state/restore.ts). 200 with an empty body. A bad archive
 * is refused with Consul's text as a 500 (413 when over the size limit) and nothing
 * changes. GET is refused while a chunked restore is pending (store snapshots never
 * hold one).
 *
 * cairn archives restore into cairn only: Consul's state.bin is not readable by
 * cairn, nor cairn's by Consul (the container and checksums are the same).
 *
 * Must never: put unverified bytes in the log, buffer a body past SNAPSHOT_MAX_ARCHIVE_BYTES,
 * or put more than SNAPSHOT_RESTORE_CHUNK_BYTES of state.bin in one log entry.
 */

import { createHash, randomUUID } from "node:crypto";

import type { StoreReader } from "../state/types.ts";
import { CairnError } from "../shared/errors.ts";
import { SNAPSHOT_MAX_ARCHIVE_BYTES, SNAPSHOT_MAX_STATE_BYTES, SNAPSHOT_RESTORE_CHUNK_BYTES } from "../shared/limits.ts";
import {
  ArchiveError,
  checkRestorable,
  encodePeers,
  readArchive,
  SNAPSHOT_META_VERSION,
  snapshotId,
  type MetaServer,
  type SnapshotMeta,
  writeArchive,
} from "../snapshot/index.ts";
import type { Env, RequestCtx } from "./context.ts";
import { checkDatacenter } from "./query.ts";
import { NO_BODY, type Reply } from "./respond.ts";

/** The store as the write path holds it: it can serialize itself. */
interface SnapshotSource extends StoreReader {
  snapshot(): Uint8Array;
  restorePending(): boolean;
}

function hasSnapshot(s: StoreReader): s is SnapshotSource {
  const p = s as Partial<SnapshotSource>;
  return typeof p.snapshot === "function" && typeof p.restorePending === "function";
}

/** Servers for meta.json's Configuration: the Raft operator view when there is one, else this server. */
async function metaServers(env: Env): Promise<{ servers: MetaServer[]; configurationIndex: number }> {
  const raft = env.ops?.raft;
  if (raft !== undefined) {
    try {
      const cfg = await raft.configuration(true);
      return {
        servers: cfg.servers.map((s) => ({ suffrage: s.voter ? 0 : 1, id: s.id, address: s.address })),
        configurationIndex: 0,
      };
    } catch {
      /* fall through: the local view */
    }
  }
  const addr = env.backend.leader().leaderAddr;
  return { servers: [{ suffrage: 0, id: env.agent.nodeId, address: addr }], configurationIndex: 1 };
}

async function snapshotSave(ctx: RequestCtx, env: Env): Promise<Reply> {
  const view = await env.backend.readBarrier(ctx.query.has("stale") ? "stale" : "default");
  const store = env.backend.store;
  if (!hasSnapshot(store)) throw new CairnError("internal", "snapshots are not available on this agent");
  if (store.restorePending()) throw new CairnError("internal", "a snapshot restore is in progress; try again when it is done");
  // One synchronous step: the bytes and their index belong together.
  const state = store.snapshot();
  const index = Math.max(1, store.lastIndex());
  const { servers, configurationIndex } = await metaServers(env);
  const now = Date.now();
  const term = 1; // cairn's Backend does not expose the Raft term; informational in meta.json
  const meta: SnapshotMeta = {
    version: SNAPSHOT_META_VERSION,
    id: snapshotId(term, index, now),
    index,
    term,
    peers: encodePeers(servers),
    servers,
    configurationIndex,
    size: state.length,
  };
  const archive = Buffer.from(await writeArchive(meta, state, now));
  const last = view.lastContactMs > 0 ? Math.floor(view.lastContactMs) : 0;
  return {
    status: 200,
    headers: {
      "X-Consul-Index": String(index),
      "X-Consul-KnownLeader": view.knownLeader ? "true" : "false",
      "X-Consul-LastContact": String(last),
    },
    body: {
      kind: "stream",
      contentType: "application/x-gzip",
      start: (w) => {
        w.write(archive);
        w.end();
      },
    },
  };
}

function tooLarge(n: number): CairnError {
  return new CairnError("too-large", `snapshot archive of ${n} bytes is too large: the limit is ${SNAPSHOT_MAX_ARCHIVE_BYTES} bytes`);
}

/** Applies a verified state.bin through the log: one entry when it fits, else chunks and a final restore. */
async function applyRestore(env: Env, state: Uint8Array): Promise<void> {
  if (state.length <= SNAPSHOT_RESTORE_CHUNK_BYTES) {
    const out = await env.backend.apply({ type: "restore", data: state });
    if (out.type === "error") throw new CairnError("internal", out.message);
    return;
  }
  const id = randomUUID();
  const sha256 = createHash("sha256").update(state).digest("hex");
  let sent = false;
  try {
    for (let seq = 0, at = 0; at < state.length; seq++, at += SNAPSHOT_RESTORE_CHUNK_BYTES) {
      const data = state.subarray(at, Math.min(state.length, at + SNAPSHOT_RESTORE_CHUNK_BYTES));
      sent = true;
      const out = await env.backend.apply({ type: "restore-chunk", id, seq, data });
      if (out.type === "error") throw new CairnError("internal", `failed to restore snapshot: ${out.message}`);
    }
    const out = await env.backend.apply({ type: "restore", data: new Uint8Array(0), pending: { id, total: state.length, sha256 } });
    if (out.type === "error") throw new CairnError("internal", out.message);
  } catch (e) {
    // The final restore clears the pending chunks itself; after anything else they are
    // dropped here (best effort: a new leader or a restarted server drops them too).
    if (sent) {
      try {
        await env.backend.apply({ type: "restore-abort", id });
      } catch {
        /* the leader is gone or stopping: see above */
      }
    }
    throw e;
  }
}

async function snapshotRestore(ctx: RequestCtx, env: Env): Promise<Reply> {
  if (ctx.contentLength > SNAPSHOT_MAX_ARCHIVE_BYTES) throw tooLarge(ctx.contentLength);
  const body = await ctx.readBody(SNAPSHOT_MAX_ARCHIVE_BYTES);
  if (!body.ok) throw tooLarge(body.received);
  try {
    const archive = await readArchive(new Uint8Array(body.data.buffer, body.data.byteOffset, body.data.byteLength), {
      maxStateBytes: SNAPSHOT_MAX_STATE_BYTES,
    });
    checkRestorable(archive);
    await applyRestore(env, archive.state);
  } catch (e) {
    if (e instanceof ArchiveError) {
      if (!e.tooLarge) throw new CairnError("internal", e.message);
      throw new CairnError("too-large", `${e.message}: a restored state.bin may be at most ${SNAPSHOT_MAX_STATE_BYTES} bytes`);
    }
    throw e;
  }
  return { status: 200, headers: {}, body: NO_BODY };
}

/** GET and PUT /v1/snapshot. */
export function snapshotHandler(ctx: RequestCtx, env: Env): Promise<Reply> {
  checkDatacenter(ctx.query, env.agent.datacenter);
  return ctx.method === "PUT" ? snapshotRestore(ctx, env) : snapshotSave(ctx, env);
}
